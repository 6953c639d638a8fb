"""What /ws/notifications lets a caller read, and how long, against a real sandbox on SQLite and PostgreSQL.

The stream is read like the REST API: `user.*` needs read:users and `role.*` read:roles, in the token and
in the caller's current roles, for subscribing, resubscribing and replay; patterns like `#` are filtered
per topic family. An open stream is re-checked at every heartbeat (short here, through the settings):
a revoked token, an ended session or a disabled account close it with 4401, a lost permission with 4403.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from opsconsole.sandbox.server import RunningSandbox
from opsconsole.sandbox.settings import SandboxSettings
from tests.sandbox.live_support import closed, recv, recv_events, sandbox_on, ws_url
from tests.support.sandbox import ADMIN, bearer, obtain_tokens

PASSWORD = "stream access pass"
HEARTBEAT = 0.3


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with sandbox_on(request, tmp_path_factory, heartbeat_interval=HEARTBEAT) as running:
        yield running


@pytest.fixture(scope="module")
def admin(sb: RunningSandbox) -> dict[str, str]:
    return bearer(obtain_tokens(sb.url, ADMIN))


async def _account(sb: RunningSandbox, admin: dict[str, str], roles: list[str]) -> dict[str, Any]:
    email = f"stream-{uuid.uuid4().hex[:10]}@example.org"
    async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
        made = await api.post(
            "/users", json={"email": email, "name": "Stream Reader", "roles": roles, "password": PASSWORD}
        )
    assert made.status_code == 201, made.text
    user: dict[str, Any] = made.json()
    user["etag"] = made.headers["etag"]
    return user


async def _sign_in(sb: RunningSandbox, email: str, scopes: tuple[str, ...]) -> dict[str, Any]:
    return await asyncio.to_thread(obtain_tokens, sb.url, email, PASSWORD, scopes)


async def _until_marker(conn: ClientConnection, marker: str) -> list[dict[str, Any]]:
    """Every event up to and including the one whose data carries ``marker``."""
    got: list[dict[str, Any]] = []
    while True:
        message = await recv(conn)
        if "id" not in message:
            continue
        got.append(message)
        if message["data"].get("marker") == marker:
            return got


def _mark(sb: RunningSandbox, topic: str = "alert.fired") -> str:
    marker = uuid.uuid4().hex
    sb.app.state.bus.publish(topic, {"marker": marker})
    return marker


async def test_a_token_without_read_users_gets_no_user_events_live_or_replayed(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    reader = await _account(sb, admin, ["viewer"])  # the roles would allow it; the token does not
    await _account(sb, admin, [])  # history: user.created events before the subscription
    tokens = await _sign_in(sb, reader["email"], ("openid",))
    async with connect(
        ws_url(sb, "?topics=user.*,alert.*&last_event_id=0"), additional_headers=bearer(tokens)
    ) as conn:
        subscribed = await recv(conn)
        assert subscribed["type"] == "stream.subscribed"
        assert subscribed["topics"] == ["alert.*"]
        [refusal] = subscribed["refused"]
        assert (
            refusal["topic"] == "user.*"
            and "read:users" in refusal["reason"]
            and "scope" in refusal["reason"]
        )
        await _account(sb, admin, [])  # live, too
        got = await _until_marker(conn, await asyncio.to_thread(_mark, sb))
    assert {e["topic"].split(".")[0] for e in got} == {"alert"}


async def test_wildcards_are_filtered_per_topic_family(sb: RunningSandbox, admin: dict[str, str]) -> None:
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid", "read:roles"))
    await _account(sb, admin, [])
    async with connect(
        ws_url(sb, "?topics=%23,*.created&last_event_id=0"), additional_headers=bearer(tokens)
    ) as conn:
        subscribed = await recv(conn)
        assert subscribed["topics"] == ["#", "*.created"]
        assert subscribed["refused"] == []
        assert [f["topic"] for f in subscribed["filtered"]] == ["#", "*.created"]
        hash_all, created = subscribed["filtered"]
        assert hash_all["withheld"] == ["role.granted", "role.revoked", "user"]
        assert created["withheld"] == ["user"] and "read:users" in created["reason"]
        await asyncio.to_thread(_mark, sb, "role.created")
        got = await _until_marker(conn, await asyncio.to_thread(_mark, sb, "alert.created"))
    families = {e["topic"].split(".")[0] for e in got}
    assert "user" not in families and {"role", "alert"} <= families


async def test_resubscribing_is_checked_like_subscribing(sb: RunningSandbox, admin: dict[str, str]) -> None:
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid",))
    async with connect(ws_url(sb, "?topics=alert.*"), additional_headers=bearer(tokens)) as conn:
        assert (await recv(conn))["refused"] == []
        await conn.send(json.dumps({"op": "subscribe", "topics": ["user.#", "alert.#"], "last_event_id": 0}))
        subscribed = await recv(conn)
        assert subscribed["topics"] == ["alert.#"]
        assert [r["topic"] for r in subscribed["refused"]] == ["user.#"]
        got = await _until_marker(conn, await asyncio.to_thread(_mark, sb))
    assert all(e["topic"].startswith("alert.") for e in got)


async def test_the_scope_alone_is_not_enough_without_the_role(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid", "read:users", "read:roles"))
    async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
        revoked = await api.delete(
            f"/users/{reader['id']}/roles/viewer", headers={"If-Match": reader["etag"]}
        )
    assert revoked.status_code == 200
    async with connect(ws_url(sb, "?topics=user.*,alert.*"), additional_headers=bearer(tokens)) as conn:
        subscribed = await recv(conn)
    assert [r["topic"] for r in subscribed["refused"]] == ["user.*"]
    assert "roles" in subscribed["refused"][0]["reason"]


async def test_membership_events_carry_a_user_and_need_read_users_too(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    # role.granted and role.revoked carry the user's record (email, name, roles): read:roles alone
    # reads role.created and friends, not them.
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid", "read:roles"))
    target = await _account(sb, admin, [])
    async with connect(
        ws_url(sb, "?topics=role.*&last_event_id=0"), additional_headers=bearer(tokens)
    ) as conn:
        subscribed = await recv(conn)
        [filtered] = subscribed["filtered"]
        assert filtered["topic"] == "role.*" and filtered["withheld"] == ["role.granted", "role.revoked"]
        async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
            assert (await api.put(f"/users/{target['id']}/roles/viewer")).status_code == 200
        got = await _until_marker(conn, await asyncio.to_thread(_mark, sb, "role.created"))
    assert all(e["topic"] not in ("role.granted", "role.revoked") for e in got)


async def _new_role(api: httpx.AsyncClient, permissions: list[str] | None = None) -> str:
    name = f"r-{uuid.uuid4().hex[:10]}"
    made = await api.post("/roles", json={"name": name, "permissions": permissions or []})
    assert made.status_code == 201, made.text
    return name


async def _admin_id(api: httpx.AsyncClient) -> str:
    me = await api.get("/me")
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


async def test_role_events_name_their_actor_by_id_to_a_read_roles_only_reader(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    # The actor's email is account data (GET /api/users, /api/audit: read:users); the role family is
    # readable with read:roles alone, so its events give such a reader the actor's id only.
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid", "read:roles"))
    async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
        admin_id = await _admin_id(api)
        start = sb.app.state.bus.last_id
        replayed = await _new_role(api)
        async with connect(
            ws_url(sb, f"?topics=role.*&last_event_id={start}"),
            additional_headers=bearer(tokens),
        ) as conn:
            assert (await recv(conn))["type"] == "stream.subscribed"
            live = await _new_role(api)
            etag = (await api.get(f"/roles/{live}")).headers["etag"]
            deleted = await api.delete(f"/roles/{live}", headers={"If-Match": etag})
            assert deleted.status_code in (200, 204), deleted.text
            raw: list[str] = []
            while len(raw) < 3:
                text = await asyncio.wait_for(conn.recv(), 10)
                assert isinstance(text, str)
                if '"id":' in text:
                    raw.append(text)
    events = [json.loads(text) for text in raw]
    assert [(e["topic"], e["data"]["role"]["name"]) for e in events] == [
        ("role.created", replayed),
        ("role.created", live),
        ("role.deleted", live),
    ]
    for event, text in zip(events, raw, strict=True):
        assert event["data"]["actor_id"] == admin_id
        assert "actor" not in event["data"]
        assert ADMIN not in text


async def test_a_reader_with_read_users_too_sees_the_actors_email(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    reader = await _account(sb, admin, ["viewer"])
    tokens = await _sign_in(sb, reader["email"], ("openid", "read:users", "read:roles"))
    async with (
        httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api,
        connect(ws_url(sb, "?topics=role.created"), additional_headers=bearer(tokens)) as conn,
    ):
        assert (await recv(conn))["type"] == "stream.subscribed"
        name = await _new_role(api)
        [event] = await recv_events(conn, 1)
        admin_id = await _admin_id(api)
    assert event["topic"] == "role.created" and event["data"]["role"]["name"] == name
    assert event["data"]["actor"] == ADMIN and event["data"]["actor_id"] == admin_id


async def test_losing_read_users_hides_the_actors_email_on_a_stream_that_stays_open(
    sb: RunningSandbox, admin: dict[str, str]
) -> None:
    # `role.created` reaches nothing that needs read:users, so losing it does not close the stream;
    # the events that follow are shaped for what the reader may read now.
    async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
        roles_only = await _new_role(api, ["read:roles"])
        reader = await _account(sb, admin, ["viewer", roles_only])
        tokens = await _sign_in(sb, reader["email"], ("openid", "read:users", "read:roles"))
        async with connect(ws_url(sb, "?topics=role.created"), additional_headers=bearer(tokens)) as conn:
            assert (await recv(conn))["type"] == "stream.subscribed"
            before = await _new_role(api)
            [first] = await recv_events(conn, 1)
            assert first["data"]["role"]["name"] == before and first["data"]["actor"] == ADMIN
            taken = await api.delete(
                f"/users/{reader['id']}/roles/viewer", headers={"If-Match": reader["etag"]}
            )
            assert taken.status_code == 200, taken.text
            # Two heartbeats after the change: the re-check has run.
            beats = 0
            while beats < 2:
                beats += (await recv(conn))["type"] == "stream.heartbeat"
            after = await _new_role(api)
            [event] = await recv_events(conn, 1)
    assert event["data"]["role"]["name"] == after
    assert "actor" not in event["data"] and event["data"]["actor_id"] == first["data"]["actor_id"]


# --- open streams are re-checked at each heartbeat ------------------------------------------------


async def _streaming(sb: RunningSandbox, admin: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    reader = await _account(sb, admin, ["viewer"])
    return reader, await _sign_in(
        sb, reader["email"], ("openid", "offline_access", "read:users", "read:roles")
    )


async def _revoke_token(
    http: httpx.AsyncClient, sb: RunningSandbox, reader: dict[str, Any], tokens: dict[str, Any]
) -> httpx.Response:
    return await http.post(
        f"{sb.url}/revoke", data={"token": tokens["access_token"], "client_id": "opsconsole"}
    )


async def _disable(
    http: httpx.AsyncClient, sb: RunningSandbox, reader: dict[str, Any], tokens: dict[str, Any]
) -> httpx.Response:
    return await http.post(f"{sb.url}/api/users/{reader['id']}/disable")


async def _change_password(
    http: httpx.AsyncClient, sb: RunningSandbox, reader: dict[str, Any], tokens: dict[str, Any]
) -> httpx.Response:
    return await http.patch(
        f"{sb.url}/api/users/{reader['id']}",
        headers={"If-Match": reader["etag"]},
        json={"password": "another-one-9"},
    )


async def _take_role(
    http: httpx.AsyncClient, sb: RunningSandbox, reader: dict[str, Any], tokens: dict[str, Any]
) -> httpx.Response:
    return await http.delete(
        f"{sb.url}/api/users/{reader['id']}/roles/viewer", headers={"If-Match": reader["etag"]}
    )


Change = Callable[
    [httpx.AsyncClient, RunningSandbox, dict[str, Any], dict[str, Any]], Awaitable[httpx.Response]
]


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        (_revoke_token, 4401, "revoked"),
        (_disable, 4401, "disabled"),
        (_change_password, 4401, "session"),
        (_take_role, 4403, "read:users"),
    ],
    ids=["revoked-token", "disabled", "password-changed", "permission-lost"],
)
async def test_an_open_stream_closes_at_the_next_heartbeat(
    sb: RunningSandbox, admin: dict[str, str], change: Change, code: int, says: str
) -> None:
    reader, tokens = await _streaming(sb, admin)
    async with connect(ws_url(sb, "?topics=user.*,alert.*"), additional_headers=bearer(tokens)) as conn:
        await recv(conn)
        async with httpx.AsyncClient(headers=admin, timeout=20) as http:
            done = await change(http, sb, reader, tokens)
        assert done.status_code == 200, done.text
        closed_with, reason = await closed(conn)
    assert closed_with == code and reason and says in reason


async def test_a_stream_that_needs_nothing_lost_stays_open(sb: RunningSandbox, admin: dict[str, str]) -> None:
    reader, tokens = await _streaming(sb, admin)
    async with connect(ws_url(sb, "?topics=alert.*"), additional_headers=bearer(tokens)) as conn:
        await recv(conn)
        async with httpx.AsyncClient(base_url=f"{sb.url}/api", headers=admin, timeout=20) as api:
            revoked = await api.delete(
                f"/users/{reader['id']}/roles/viewer", headers={"If-Match": reader["etag"]}
            )
        assert revoked.status_code == 200
        # Two heartbeats after the change: the re-check ran and found alert.* still readable.
        beats = 0
        while beats < 2:
            beats += (await recv(conn))["type"] == "stream.heartbeat"
        got = await _until_marker(conn, await asyncio.to_thread(_mark, sb))
    assert got[-1]["topic"] == "alert.fired"


def test_the_heartbeat_and_so_the_recheck_is_at_most_15_seconds() -> None:
    assert SandboxSettings(heartbeat_interval=15).heartbeat_interval == 15
    with pytest.raises(ValueError, match="heartbeat_interval"):
        SandboxSettings(heartbeat_interval=16)


@pytest.mark.parametrize(
    ("change", "code"),
    [(_disable, 4401), (_take_role, 4403), (_revoke_token, 4401)],
    ids=["disabled", "role-taken", "token-revoked"],
)
async def test_the_api_has_the_streams_of_a_changed_account_rechecked_at_once(
    make_sandbox: Callable[..., RunningSandbox], change: Change, code: int
) -> None:
    # The heartbeat is 15 s, longer than `closed` waits: only the API's nudge can close the stream in time.
    sb = await asyncio.to_thread(make_sandbox, heartbeat_interval=15.0)
    admin = bearer(await asyncio.to_thread(obtain_tokens, sb.url, ADMIN))
    reader, tokens = await _streaming(sb, admin)
    async with connect(ws_url(sb, "?topics=user.*"), additional_headers=bearer(tokens)) as conn:
        await recv(conn)
        async with httpx.AsyncClient(headers=admin, timeout=20) as http:
            assert (await change(http, sb, reader, tokens)).status_code == 200
        assert (await closed(conn))[0] == code
