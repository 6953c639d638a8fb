"""Bulk actions: bounded concurrency, per-user results, a failure in the middle, cancel, the summary."""

from __future__ import annotations

import asyncio

from opsconsole.users import NotFound, User
from opsconsole.users.bulk import BulkSummary, CancelToken, ItemResult, grant, run_bulk
from tests.unit.users.stub import StubApi, ok, problem, user_json

USERS = [User.parse(user_json(n)) for n in range(1, 11)]


async def test_at_most_concurrency_actions_run_at_once() -> None:
    running = peak = 0
    gate = asyncio.Event()

    async def action(user: User) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            gate.set()
        await gate.wait()
        running -= 1

    summary = await run_bulk(USERS, action, concurrency=3)
    assert peak == 3 and summary.succeeded == 10 and not summary.failed


async def test_a_failure_in_the_middle_is_that_users_result_and_the_rest_go_on() -> None:
    seen: list[ItemResult] = []

    async def action(user: User) -> None:
        if user.email == "user5@example.com":
            raise NotFound(status=404, title="Not found", detail="no such user")

    summary = await run_bulk(USERS, action, concurrency=2, on_result=seen.append)
    assert len(seen) == 10 and summary.succeeded == 9
    [failed] = summary.failed
    assert failed.user.email == "user5@example.com" and failed.exit_code == 4
    assert "no such user" in failed.error
    assert [r.user.email for r in summary.results] == [u.email for u in USERS]
    assert summary.text().splitlines() == [
        "9 of 10 done, 1 failed",
        "  1 × Not found (HTTP 404): no such user (user5@example.com)",
    ]


async def test_cancel_skips_what_has_not_started() -> None:
    cancel = CancelToken()
    done: list[str] = []

    async def action(user: User) -> None:
        done.append(user.email)
        if len(done) == 3:
            cancel.cancel()

    summary = await run_bulk(USERS, action, concurrency=1, cancel=cancel)
    assert summary.succeeded == 3 and summary.skipped == 7 and not summary.failed
    assert summary.text() == "3 of 10 done, 7 not started (cancelled)"


def test_the_summary_groups_reasons() -> None:
    results = tuple(
        ItemResult(u, ok=False, error="refused" if i % 2 else "gone", exit_code=3)
        for i, u in enumerate(USERS)
    )
    lines = BulkSummary(results).text().splitlines()
    assert lines[0] == "0 of 10 done, 10 failed"
    assert lines[1] == "  5 × gone (user1@example.com, user3@example.com, user5@example.com and 2 more)"


async def test_the_grant_action_reads_each_user_for_its_version_first() -> None:
    api = StubApi()
    user = USERS[0]
    api.on(f"GET /users/{user.id}", ok(user_json(1), etag='"7-a"'))
    api.on(f"PUT /users/{user.id}/roles/support", ok(user_json(1, roles=["support", "viewer"]), etag='"8-a"'))
    other = USERS[1]
    api.on(f"GET /users/{other.id}", problem(403, "you may not"))
    summary = await run_bulk([user, other], grant(api.client(), "support"))
    assert summary.succeeded == 1 and summary.failed[0].exit_code == 3
    put = [r for r in api.requests if r.method == "PUT"]
    assert len(put) == 1 and put[0].headers["If-Match"] == '"7-a"'


async def test_rows_with_a_version_are_written_at_once_and_a_stale_one_with_the_current_version() -> None:
    api = StubApi()
    fresh_row, stale_row, twice = (User.parse(user_json(n), etag=f'"1-{n}"') for n in (1, 2, 3))
    api.on(
        f"PUT /users/{fresh_row.id}/roles/support",
        ok(user_json(1, roles=["support", "viewer"]), etag='"2-1"'),
    )
    api.on(
        f"PUT /users/{stale_row.id}/roles/support",
        problem(412, "changed since you read it"),
        ok(user_json(2, roles=["support", "viewer"]), etag='"3-2"'),
    )
    api.on(f"GET /users/{stale_row.id}", ok(user_json(2, name="Renamed"), etag='"2-2"'))
    api.on(f"PUT /users/{twice.id}/roles/support", problem(412, "changed since you read it"))
    api.on(f"GET /users/{twice.id}", ok(user_json(3), etag='"5-3"'))
    summary = await run_bulk([fresh_row, stale_row, twice], grant(api.client(), "support"), concurrency=1)
    assert summary.succeeded == 2 and [f.user.id for f in summary.failed] == [twice.id]
    assert summary.failed[0].exit_code == 5  # changed again meanwhile: reported, not forced
    sent = [
        (r.method, r.url.path.removeprefix("/api/users/"), r.headers.get("If-Match")) for r in api.requests
    ]
    assert sent == [
        ("PUT", f"{fresh_row.id}/roles/support", '"1-1"'),  # no read first
        ("PUT", f"{stale_row.id}/roles/support", '"1-2"'),
        ("GET", stale_row.id, None),  # the client reads the current version for the conflict
        ("PUT", f"{stale_row.id}/roles/support", '"2-2"'),
        ("PUT", f"{twice.id}/roles/support", '"1-3"'),
        ("GET", twice.id, None),
        ("PUT", f"{twice.id}/roles/support", '"5-3"'),
        ("GET", twice.id, None),
    ]
