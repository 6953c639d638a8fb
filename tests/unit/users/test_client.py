"""The users client against a stub transport: parsing, malformed answers, error mapping, If-Match."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from opsconsole import net
from opsconsole.users import Conflict, MissingVersion, NotFound, Refused, User, UserQuery
from opsconsole.users.parse import ShapeError
from tests.unit.users.stub import StubApi, ok, problem, user_json

ID = user_json()["id"]


async def test_a_page_is_parsed_into_records() -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(1), user_json(2, roles=[])], "next_cursor": "abc"}))
    client = api.client()
    page = await client.list_users(UserQuery(search=" ann ", role="admin", sort="-email"), limit=7)
    assert [u.email for u in page.items] == ["user1@example.com", "user2@example.com"]
    assert page.items[0].created_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert page.items[1].roles == () and page.items[0].etag is None
    assert page.next_cursor == "abc"
    params = dict(api.requests[0].url.params)
    assert params == {"search": "ann", "role": "admin", "sort": "-email", "limit": "7"}
    assert page.items[0].to_json() == user_json(1)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"items": [user_json(1), {k: v for k, v in user_json(2).items() if k != "email"}]}, "items[1].email: missing"),
        ({"items": [user_json(1, roles=["a", 3])], "next_cursor": None}, "items[0].roles[1]: expected a string, got a number"),
        ({"items": [user_json(1, created_at="yesterday")], "next_cursor": None}, "items[0].created_at: expected an RFC 3339 time"),
        ({"items": [user_json(1, name=None)], "next_cursor": None}, "items[0].name: expected a string, got null"),
        ({"items": {}, "next_cursor": None}, "items: expected an array, got an object"),
        ([], "the response: expected an object, got an array"),
    ],
)  # fmt: skip
async def test_a_malformed_page_names_what_is_wrong(body: object, where: str) -> None:
    api = StubApi()
    api.on("GET /users", ok(body))
    with pytest.raises(net.MalformedResponse) as info:
        await api.client().list_users()
    assert where in str(info.value)
    assert info.value.exit_code == 1


async def test_a_body_that_is_not_json_is_a_malformed_response() -> None:
    api = StubApi()
    api.on(
        "GET /roles", httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"})
    )
    with pytest.raises(net.MalformedResponse, match="not JSON"):
        await api.client().list_roles()


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [(404, NotFound, 4), (401, Refused, 3), (403, Refused, 3), (409, Conflict, 5), (422, net.ApiError, 1)],
)
async def test_problem_details_map_to_errors_with_exit_codes(
    status: int, kind: type[net.ApiError], code: int
) -> None:
    api = StubApi()
    api.on(f"GET /users/{ID}", problem(status, "the server's own words", request_id="req-1"))
    with pytest.raises(kind) as info:
        await api.client().get_user(ID)
    assert type(info.value) is kind
    assert info.value.exit_code == code
    assert "the server's own words" in str(info.value) and "req-1" in str(info.value)
    if isinstance(info.value, Refused):
        assert info.value.why == "the server's own words"


async def test_an_html_error_page_is_summarised() -> None:
    api = StubApi()
    api.on(
        "GET /me",
        httpx.Response(502, text="<title>Bad gateway</title>", headers={"content-type": "text/html"}),
    )
    with pytest.raises(net.ApiError, match="Bad gateway") as info:
        await api.client().me()
    assert info.value.exit_code == 1


async def test_every_write_sends_the_records_etag() -> None:
    api = StubApi()
    user = User.parse(user_json(), etag='"3-abc"')
    after = ok(user_json(name="New"), etag='"4-abc"')
    for route in (f"PATCH /users/{ID}", f"POST /users/{ID}/disable", f"POST /users/{ID}/enable",
                  f"PUT /users/{ID}/roles/support", f"DELETE /users/{ID}/roles/support"):  # fmt: skip
        api.on(route, after)
    api.on(f"DELETE /users/{ID}", httpx.Response(204))
    client = api.client()
    updated = await client.update_user(user, name="New")
    assert updated.name == "New" and updated.etag == '"4-abc"'
    await client.disable_user(user)
    await client.enable_user(user)
    await client.grant_role(user, "support")
    await client.revoke_role(user, "support")
    await client.delete_user(user)
    assert [r.headers.get("If-Match") for r in api.requests] == ['"3-abc"'] * 6
    assert api.requests[0].read() == b'{"name":"New"}'


async def test_a_record_without_etag_is_never_written() -> None:
    api = StubApi()
    with pytest.raises(MissingVersion, match="read it again"):
        await api.client().disable_user(User.parse(user_json()))
    assert api.requests == []


@pytest.mark.parametrize("status", [412, 428])
async def test_a_stale_version_is_a_conflict_carrying_the_current_one(status: int) -> None:
    api = StubApi()
    api.on(f"PATCH /users/{ID}", problem(status, "the resource changed since you read it"))
    api.on(f"GET /users/{ID}", ok(user_json(name="Theirs"), etag='"5-abc"'))
    mine = User.parse(user_json(), etag='"3-abc"')
    with pytest.raises(Conflict) as info:
        await api.client().update_user(mine, name="Yours")
    conflict = info.value
    assert conflict.stale and conflict.exit_code == 5
    assert isinstance(conflict.current, User)
    assert conflict.current.name == "Theirs" and conflict.current.etag == '"5-abc"'
    assert conflict.attempted == {"name": "Yours"} and conflict.sent_etag == '"3-abc"'
    assert "changed since you read it" in str(conflict)


async def test_a_stale_role_is_a_conflict_with_the_current_role() -> None:
    api = StubApi()
    role = {"name": "ops", "description": "", "permissions": ["read:users"]}
    api.on("PUT /roles/ops/permissions", problem(412, "stale"))
    api.on("GET /roles/ops", ok({**role, "permissions": ["read:users", "read:roles"]}, etag='"2-x"'))
    client = api.client()
    from opsconsole.users import Role

    with pytest.raises(Conflict) as info:
        await client.set_role_permissions(Role.parse(role, etag='"1-x"'), ["write:users"])
    assert info.value.current == Role("ops", "", ("read:users", "read:roles"), '"2-x"')
    assert info.value.attempted == {"permissions": ["write:users"]}


async def test_a_write_to_a_user_deleted_meanwhile_is_not_found() -> None:
    api = StubApi()
    api.on(f"POST /users/{ID}/disable", problem(412, "stale"))
    api.on(f"GET /users/{ID}", problem(404, "no such user"))
    with pytest.raises(NotFound, match="no such user"):
        await api.client().disable_user(User.parse(user_json(), etag='"1-a"'))


async def test_a_duplicate_is_a_conflict_but_not_a_stale_one() -> None:
    api = StubApi()
    api.on("POST /users", problem(409, "a user with this email exists"))
    with pytest.raises(Conflict) as info:
        await api.client().create_user(email="a@b.c", name="A")
    assert not info.value.stale and info.value.current is None


async def test_a_user_is_found_by_email_then_read_for_its_etag() -> None:
    api = StubApi()
    api.on(
        "GET /users",
        ok({"items": [user_json()], "next_cursor": None}),
        ok({"items": [], "next_cursor": None}),
    )
    api.on(f"GET /users/{ID}", ok(user_json(), etag='"1-a"'))
    client = api.client()
    user = await client.resolve_user("USER1@example.com ")
    assert user.etag == '"1-a"'
    assert dict(api.requests[0].url.params) == {"email": "USER1@example.com", "limit": "1"}
    with pytest.raises(NotFound, match=r"no user has the email x@y\.z") as info:
        await client.resolve_user("x@y.z")
    assert info.value.exit_code == 4


async def test_path_segments_are_quoted() -> None:
    api = StubApi()
    await_error = api.client().get_role("../users")
    with pytest.raises(NotFound):
        await await_error
    assert api.requests[0].url.raw_path == b"/api/roles/..%2Fusers"


async def test_me_permissions_and_audit_are_parsed() -> None:
    api = StubApi()
    me = {**user_json(), "permissions": ["read:users", "write:users"], "scopes": ["read:users"]}
    api.on("GET /me", ok(me, etag='"1-a"'))
    api.on(
        f"GET /users/{ID}/permissions",
        ok(
            {
                "user_id": ID,
                "items": [{"name": "read:users", "description": "d", "roles": ["viewer", "admin"]}],
            }
        ),
    )
    entry = {"id": 9, "time": "2026-01-02T03:04:05+00:00", "actor": "a@b.c", "actor_id": None,
             "action": "user.updated", "target_type": "user", "target_id": ID,
             "old": {"name": "A", "updated_at": "1"}, "new": {"name": "B", "updated_at": "2"}, "request_id": "r"}  # fmt: skip
    api.on("GET /audit", ok({"items": [entry], "next_cursor": "9"}))
    client = api.client()
    who = await client.me()
    assert who.holds("read:users") and not who.holds("write:users") and who.user.etag == '"1-a"'
    perms = await client.permissions_of(ID)
    assert perms.items[0].roles == ("viewer", "admin") and perms.names == {"read:users"}
    audit = await client.audit(target_id=ID, limit=5)
    assert audit.items[0].changes() == [("name", "A", "B")] and audit.next_cursor == "9"
    assert dict(api.requests[-1].url.params) == {"target_id": ID, "limit": "5"}


async def test_walk_follows_cursors_to_the_end() -> None:
    api = StubApi()
    api.on(
        "GET /users",
        ok({"items": [user_json(1)], "next_cursor": "c1"}),
        ok({"items": [user_json(2)], "next_cursor": "c2"}),
        ok({"items": [user_json(3)], "next_cursor": None}),
    )
    pages = [p async for p in api.client().walk_users(page_size=1)]
    assert [p.items[0].email for p in pages] == [f"user{n}@example.com" for n in (1, 2, 3)]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "c1", "c2"]


@pytest.mark.parametrize(
    ("changes", "where"),
    [({"created_at": "2026-01-02T03:04:05"}, "created_at: expected a time with a UTC offset"),
     ({"updated_at": 5}, "updated_at: expected a string, got a number"),
     ({"id": ""}, "id: expected a non-empty string"),
     ({"status": ""}, "status: expected a non-empty string"),
     ({"roles": "admin"}, "roles: expected an array, got a string")],
)  # fmt: skip
def test_the_quick_path_hands_every_flaw_to_the_checked_readers(
    changes: dict[str, object], where: str
) -> None:
    with pytest.raises(ShapeError, match=where):
        User.parse(user_json(**changes))


def test_both_paths_give_the_same_record() -> None:
    data = user_json(updated_at="2026-02-03T04:05:06.789+01:00", roles=["b", "a"])
    quick = User.parse(data, etag='"1-a"')

    class Mapping(dict[str, object]):  # not exactly a dict: only the checked readers take it
        pass

    assert type(Mapping(data)) is not dict
    assert User.parse(Mapping(data), etag='"1-a"') == quick
    assert quick.updated_at == dt.datetime(2026, 2, 3, 3, 5, 6, 789000, tzinfo=dt.UTC)
    assert quick.roles == ("b", "a") and quick.to_json()["updated_at"] == "2026-02-03T03:05:06.789000Z"


async def test_list_items_carry_their_etag_and_a_counted_page_its_total() -> None:
    api = StubApi()
    api.on(
        "GET /users",
        ok({"items": [user_json(1, etag='"4-a"'), user_json(2, etag='"9-b"')], "next_cursor": "c", "total": 1234}),
        ok({"items": [user_json(3, etag='"1-c"')], "next_cursor": None}),
    )  # fmt: skip
    client = api.client()
    counted = await client.list_users(UserQuery(role="admin"), count=True)
    assert [u.etag for u in counted.items] == ['"4-a"', '"9-b"'] and counted.total == 1234
    assert dict(api.requests[0].url.params) == {
        "role": "admin",
        "sort": "created_at",
        "limit": "100",
        "count": "true",
    }
    assert "etag" not in counted.items[0].to_json()  # the contract's user shape has no version
    plain = await client.list_users(UserQuery(role="admin"), cursor="c")
    assert plain.total is None and "count" not in dict(api.requests[1].url.params)


@pytest.mark.parametrize(
    ("body", "where"),
    [({"items": [user_json(1, etag=5)], "next_cursor": None}, "items[0].etag: expected a string or null, got a number"),
     ({"items": [], "next_cursor": None, "total": "12"}, "total: expected a whole number or null, got a string"),
     ({"items": [], "next_cursor": None, "total": -1}, "total: expected a whole number or null, got a number"),
     ({"items": [], "next_cursor": None, "total": True}, "total: expected a whole number or null, got a boolean")],
)  # fmt: skip
async def test_a_malformed_etag_or_total_names_what_is_wrong(body: object, where: str) -> None:
    api = StubApi()
    api.on("GET /users", ok(body))
    with pytest.raises(net.MalformedResponse) as info:
        await api.client().list_users(count=True)
    assert where in str(info.value)


async def test_a_list_row_is_written_with_its_own_version_without_a_read() -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(1, etag='"4-a"')], "next_cursor": None}))
    api.on(f"POST /users/{ID}/disable", ok(user_json(1, status="disabled"), etag='"5-a"'))
    client = api.client()
    [row] = (await client.list_users()).items
    disabled = await client.disable_user(row)
    assert disabled.status == "disabled" and disabled.etag == '"5-a"'
    assert [(r.method, r.url.path, r.headers.get("If-Match")) for r in api.requests] == [
        ("GET", "/api/users", None),
        ("POST", f"/api/users/{ID}/disable", '"4-a"'),
    ]


async def test_a_stale_list_row_is_a_conflict_carrying_the_current_version() -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(1, etag='"4-a"')], "next_cursor": None}))
    api.on(f"PATCH /users/{ID}", problem(412, "the resource changed since you read it"))
    api.on(f"GET /users/{ID}", ok(user_json(1, name="Theirs"), etag='"6-a"'))
    client = api.client()
    [row] = (await client.list_users()).items
    with pytest.raises(Conflict) as info:
        await client.update_user(row, name="Mine")
    assert info.value.sent_etag == '"4-a"' and info.value.current.etag == '"6-a"'
    assert info.value.current.name == "Theirs"


async def test_a_user_found_by_email_needs_no_second_read_when_the_list_gives_its_etag() -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(etag='"2-a"')], "next_cursor": None}))
    user = await api.client().resolve_user("user1@example.com")
    assert user.etag == '"2-a"' and len(api.requests) == 1


async def test_roles_from_the_list_carry_their_member_counts() -> None:
    api = StubApi()
    role = {"name": "ops", "description": "", "permissions": ["read:users"]}
    api.on("GET /roles", ok({"items": [{**role, "member_count": 12}, {**role, "name": "old"}]}))
    api.on("GET /roles/ops", ok(role, etag='"1-x"'))
    client = api.client()
    listed = await client.list_roles()
    assert [r.member_count for r in listed] == [12, None]  # None: a server that does not count
    assert listed[0].to_json() == role
    assert (await client.get_role("ops")).member_count is None
    api.on("GET /roles", ok({"items": [{**role, "member_count": "12"}]}))
    api.routes["GET /roles"].pop(0)
    with pytest.raises(net.MalformedResponse, match=r"items\[0\]\.member_count: expected a whole number"):
        await client.list_roles()


def test_both_paths_read_a_list_items_etag_and_a_header_wins() -> None:
    data = user_json(etag='"3-z"')

    class Mapping(dict[str, object]):
        pass

    assert User.parse(data).etag == User.parse(Mapping(data)).etag == '"3-z"'
    assert User.parse(data, etag='"4-z"').etag == User.parse(Mapping(data), etag='"4-z"').etag == '"4-z"'
    assert User.parse(user_json(etag=None)).etag is None
