"""The paged list state: tickets, generations, failures, duplicates and in-place updates."""

from __future__ import annotations

import pytest

from opsconsole import net
from opsconsole.users import User, UserQuery
from opsconsole.users.models import Page
from opsconsole.users.paging import PagedUsers, fetch_next
from tests.unit.users.stub import StubApi, ok, problem, user_json


def page(*numbers: int, cursor: str | None = None) -> Page[User]:
    return Page(tuple(User.parse(user_json(n)) for n in numbers), cursor)


def test_pages_append_until_the_server_says_there_are_no_more() -> None:
    state = PagedUsers(page_size=2)
    assert state.can_fetch_more() and len(state) == 0
    first = state.begin_fetch()
    assert first is not None and first.cursor is None and first.limit == 2
    assert state.loading and not state.can_fetch_more() and state.begin_fetch() is None
    added = state.apply(first, page(1, 2, cursor="c1"))
    assert added is not None and (added.first, added.last, added.count) == (0, 1, 2)
    second = state.begin_fetch()
    assert second is not None and second.cursor == "c1"
    added = state.apply(second, page(3))
    assert added is not None and (added.first, added.last) == (2, 2)
    assert state.complete and not state.can_fetch_more() and state.begin_fetch() is None
    assert [u.email for u in state.rows] == [f"user{n}@example.com" for n in (1, 2, 3)]


def test_a_late_page_of_an_old_query_is_dropped() -> None:
    state = PagedUsers()
    old = state.begin_fetch()
    assert old is not None
    assert state.set_query(UserQuery(search="ann"))
    assert not state.set_query(UserQuery(search="ann"))  # the same query: nothing to do
    new = state.begin_fetch()
    assert new is not None and new.query.search == "ann" and new.generation == old.generation + 1
    assert state.apply(old, page(1, cursor="x")) is None
    assert state.failed(old, RuntimeError("late")) is False and state.error is None
    assert len(state) == 0 and state.loading
    assert state.apply(new, page(2)) is not None
    assert [u.email for u in state.rows] == ["user2@example.com"]


def test_a_failed_page_stops_fetching_until_retried() -> None:
    state = PagedUsers()
    ticket = state.begin_fetch()
    assert ticket is not None
    boom = RuntimeError("down")
    assert state.failed(ticket, boom)
    assert state.error is boom and not state.can_fetch_more() and state.begin_fetch() is None
    again = state.retry()
    assert again is not None and again.cursor is None and state.error is None


def test_a_user_seen_twice_keeps_one_row_and_updates_replace_it() -> None:
    state = PagedUsers()
    ticket = state.begin_fetch()
    assert ticket is not None
    state.apply(ticket, page(1, 2, cursor="c"))
    ticket = state.begin_fetch()
    assert ticket is not None
    added = state.apply(ticket, page(2, 3))
    assert added is not None and added.count == 1 and len(state) == 3
    renamed = User.parse(user_json(2, name="Renamed"))
    assert state.replace(renamed) == 1 and state.rows[1].name == "Renamed"
    assert state.index_of(user_json(3)["id"]) == 2
    assert state.replace(User.parse(user_json(99))) is None


async def test_fetch_next_walks_through_a_client_and_records_errors() -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(1)], "next_cursor": "c"}), problem(503, "busy"))
    client = api.client()
    state = PagedUsers(UserQuery(status="active"), page_size=1)
    assert await fetch_next(state, client) is not None
    with pytest.raises(net.ApiError, match="busy"):
        await fetch_next(state, client)
    assert isinstance(state.error, net.ApiError) and len(state) == 1
    assert await fetch_next(state, client) is None  # stopped until retry
    assert dict(api.requests[1].url.params) == {
        "status": "active",
        "sort": "created_at",
        "limit": "1",
        "cursor": "c",
    }


def test_a_query_rejects_unknown_sorts_and_statuses() -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        UserQuery(sort="password")
    with pytest.raises(ValueError, match="status must be one of"):
        UserQuery(status="locked")


def test_the_first_page_asks_for_the_total_and_keeps_it_until_the_query_changes() -> None:
    state = PagedUsers(UserQuery(status="active"), page_size=2)
    first = state.begin_fetch()
    assert first is not None and first.count and state.total is None
    state.apply(first, Page((User.parse(user_json(1)), User.parse(user_json(2))), "c", total=5))
    assert state.total == 5
    second = state.begin_fetch()
    assert second is not None and not second.count  # later pages do not count again
    state.apply(second, page(3, cursor="d"))
    assert state.total == 5
    state.set_query(UserQuery(status="disabled"))
    assert state.total is None
    again = state.begin_fetch()
    assert again is not None and again.count


def test_a_text_search_is_not_counted() -> None:
    state = PagedUsers(UserQuery(search="garcia", role="admin"))
    ticket = state.begin_fetch()
    assert ticket is not None and not ticket.count
    assert PagedUsers.counts(UserQuery(search="  ")) and PagedUsers.counts(
        UserQuery(role="x", status="active")
    )


async def test_fetch_next_asks_the_server_to_count_the_first_page() -> None:
    api = StubApi()
    api.on(
        "GET /users",
        ok({"items": [user_json(1)], "next_cursor": "c", "total": 2}),
        ok({"items": [user_json(2)], "next_cursor": None}),
    )
    state = PagedUsers(page_size=1)
    client = api.client()
    await fetch_next(state, client)
    await fetch_next(state, client)
    assert [r.url.params.get("count") for r in api.requests] == ["true", None]
    assert state.total == 2 and state.complete
