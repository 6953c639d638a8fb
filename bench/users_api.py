"""The console's users client at 100k users, each figure against the raw HTTP call in the same run.

A sandbox seeded with 100,000 users (``opsconsole sandbox --users 100000``) runs in a child process,
so this process holds only the client: its time and memory are the console's alone. Signed in as the
demo admin through the sandbox's real pages, the console's client (a session-backed
``session.client()``, :class:`opsconsole.users.UsersClient`, strict parsing into records) is measured
against a bare ``httpx.AsyncClient`` GET plus ``response.json()`` on the same server, interleaved so
both see the same machine load:

1. the first page (100 users, the Users page's first fetch): p50 and p95;
2. a search (``search=garcia``, 100 users): p50 and p95;
3. a full keyset walk of all 100k users, 500 a page, into the paged list state (the rows a Users page
   holds after scrolling to the end), against the raw walk keeping the decoded JSON dicts, the two
   taken page and page about: the time, and (tracemalloc, in a second pair of walks) the memory the
   loaded rows keep and the peak.

Run it with ``python -m bench users_api``: ``run() -> list[dict]`` gives one result per figure,
``{"name","value","unit","baseline","ratio"}``. ``OPSCONSOLE_BENCH_USERS`` (default 100000) and
``OPSCONSOLE_BENCH_REQUESTS`` (default 100) shrink a quick run.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.run import result
from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from opsconsole.users import UserQuery, UsersClient
from opsconsole.users.paging import PagedUsers, fetch_next

PAGE = 100
WALK_PAGE = 500
SEARCH = "garcia"
WARMUP = 10
_BANNER = re.compile(r"sandbox on (http://127\.0\.0\.1:\d+)")


def _users() -> int:
    return max(1000, int(os.environ.get("OPSCONSOLE_BENCH_USERS", "100000")))


def _requests() -> int:
    return max(20, int(os.environ.get("OPSCONSOLE_BENCH_REQUESTS", "100")))


_result = functools.partial(result, digits=3)  # (name, value, baseline, unit="ms")


@contextmanager
def _sandbox(users: int) -> Iterator[str]:
    """A seeded sandbox in a child process; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-") as data_dir:
        log_path = Path(data_dir) / "sandbox.log"
        with log_path.open("w") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "opsconsole", "sandbox", "--port", "0", "--users", str(users),
                 "--data-dir", data_dir],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            url = None
            while url is None:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start:\n{log_path.read_text()[-2000:]}")
                found = _BANNER.search(log_path.read_text())
                url = found.group(1) if found else None
                if url is None:
                    time.sleep(0.2)
            while httpx.get(f"{url}/api/users", timeout=10).status_code != 401:  # serving the API
                time.sleep(0.2)
            yield url
        finally:
            child.terminate()
            child.wait(30)


def _sign_in(url: str) -> Profile:
    """Sign in as the demo admin through the real pages; the tokens go where the session finds them."""
    from tests.support.sandbox import ADMIN, CLIENT_ID, obtain_tokens

    body = obtain_tokens(url, ADMIN)
    now = time.time()
    profile = Profile(name="bench", api_url=f"{url}/api", issuer=url, client_id=CLIENT_ID,
                      audience="opsconsole-api", token_storage="memory")  # fmt: skip
    MemoryStore().save(
        profile.name,
        TokenSet(access_token=body["access_token"], issuer=url, client_id=CLIENT_ID,
                 expires_at=now + float(body["expires_in"]), issued_at=now,
                 scopes=tuple(str(body["scope"]).split()), username=ADMIN),
    )  # fmt: skip
    return profile


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=100, method="inclusive")[94]


async def _compare(
    ours: Callable[[], Awaitable[object]], raw: Callable[[], Awaitable[object]], count: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    for _ in range(WARMUP):
        await ours()
        await raw()
    mine, base = [], []
    for _ in range(count):
        mine.append(await _timed(ours))
        base.append(await _timed(raw))
    return _percentiles(mine), _percentiles(base)


async def _console_walk(client: UsersClient) -> PagedUsers:
    state = PagedUsers(page_size=WALK_PAGE)
    while state.can_fetch_more():
        await fetch_next(state, client)
    return state


async def _raw_page(raw: httpx.AsyncClient, cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": WALK_PAGE, "sort": "created_at"}
    if cursor:
        params["cursor"] = cursor
    page: dict[str, Any] = (await raw.get("users", params=params)).raise_for_status().json()
    return page


async def _raw_walk(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await _raw_page(raw, cursor)
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


async def _walk_times(client: UsersClient, raw: httpx.AsyncClient) -> tuple[float, float, int]:
    """(console ms, raw ms, users) of two full walks taken page and page about, so both see the same load."""
    state = PagedUsers(page_size=WALK_PAGE)
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    raw_done = False
    ours = base = 0.0
    while state.can_fetch_more() or not raw_done:
        if state.can_fetch_more():
            started = time.perf_counter()
            await fetch_next(state, client)
            ours += time.perf_counter() - started
        if not raw_done:
            started = time.perf_counter()
            page = await _raw_page(raw, cursor)
            rows.extend(page["items"])
            base += time.perf_counter() - started
            cursor = page["next_cursor"]
            raw_done = not cursor
    if len(state) != len(rows):
        raise RuntimeError(f"the walks differ: {len(state)} users against {len(rows)}")
    return ours * 1000, base * 1000, len(state)


async def _retained(walk: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(MB still held by what ``walk`` returns, peak MB during it), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = await walk()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept
    return current / 2**20, peak / 2**20


async def _measure(url: str, profile: Profile, users: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    token = (MemoryStore().load(profile.name) or TokenSet("", "", "")).access_token
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        Session(profile, store=MemoryStore()) as session,
        session.client() as http,
        httpx.AsyncClient(base_url=f"{url}/api/", headers=headers, timeout=30) as raw,
    ):
        client = UsersClient(http)
        count = _requests()
        cases: dict[str, tuple[UserQuery, dict[str, Any]]] = {
            "first_page": (UserQuery(), {"limit": PAGE, "sort": "created_at"}),
            "search": (UserQuery(search=SEARCH), {"limit": PAGE, "sort": "created_at", "search": SEARCH}),
        }
        for case, (query, params) in cases.items():

            async def ours(query: UserQuery = query) -> object:
                return await client.list_users(query, limit=PAGE)

            async def bare(params: dict[str, Any] = params) -> object:
                return (await raw.get("users", params=params)).raise_for_status().json()

            (p50, p95), (b50, b95) = await _compare(ours, bare, count)
            results.append(_result(f"users_api.{case}.p50", p50, b50))
            results.append(_result(f"users_api.{case}.p95", p95, b95))

        walk_ms, raw_ms, walked = await _walk_times(client, raw)
        if walked < users:
            raise RuntimeError(f"the walk found {walked} users, expected at least {users}")
        results.append(_result(f"users_api.walk_{users // 1000}k.time", walk_ms, raw_ms))

        kept, peak = await _retained(lambda: _console_walk(client))
        raw_kept, raw_peak = await _retained(lambda: _raw_walk(raw))
        results.append(_result(f"users_api.walk_{users // 1000}k.rows_memory", kept, raw_kept, "MB"))
        results.append(_result(f"users_api.walk_{users // 1000}k.peak_memory", peak, raw_peak, "MB"))
    return results


def run() -> list[dict[str, Any]]:
    users = _users()
    started = time.perf_counter()
    with _sandbox(users) as url:
        print(f"sandbox with {users} users ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        profile = _sign_in(url)
        try:
            return asyncio.run(_measure(url, profile, users))
        finally:
            MemoryStore().delete(profile.name)
