"""One action over many users: bounded concurrency, a result per user, cancel, and a summary.

:func:`run_bulk` runs ``action(user)`` for each user with at most ``concurrency`` in flight, calls
``on_result`` as each one finishes (a view shows per-user results and a progress bar from it), and
returns a :class:`BulkSummary`: how many succeeded, failed (each with the reason, grouped for the
summary line) or were skipped because the run was cancelled. :class:`CancelToken` may be set from any
thread; actions already sent finish (a request in flight is not half-undone), the rest are skipped.

The stock actions (:func:`grant`, :func:`revoke`, :func:`disable`, :func:`enable`) write with the
version the row carries (list pages give each user's ETag), one request a user; a row that changed
since it was listed gets the server's 412, and the action is applied once more to the version the
client read back (they are changes, not overwrites: granting a role to a user renamed meanwhile loses
nothing). A row without a version is read first.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ..errors import OpsError
from .client import UsersClient
from .errors import Conflict
from .models import User

Action = Callable[[User], Awaitable[object]]


class CancelToken:
    """Set it (from any thread) to stop starting new items."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(slots=True, frozen=True)
class ItemResult:
    user: User
    ok: bool
    skipped: bool = False
    error: str = ""  # the reason, in words, when it failed
    exit_code: int = 0  # the error's CLI status (3 refused, 4 gone, 5 conflict, 1 other)


@dataclass(slots=True, frozen=True)
class BulkSummary:
    results: tuple[ItemResult, ...]

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if not r.ok and not r.skipped)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.results if r.skipped)

    def text(self) -> str:
        """One line, then one line per distinct reason: ``2 failed: ... (x@..., y@...)``."""
        total = len(self.results)
        head = f"{self.succeeded} of {total} done"
        if self.failed:
            head += f", {len(self.failed)} failed"
        if self.skipped:
            head += f", {self.skipped} not started (cancelled)"
        reasons = Counter(r.error for r in self.failed)
        lines = [head]
        for reason, count in reasons.most_common():
            who = [r.user.email for r in self.failed if r.error == reason]
            shown = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
            lines.append(f"  {count} × {reason} ({shown})")
        return "\n".join(lines)


def _describe(error: BaseException) -> tuple[str, int]:
    if isinstance(error, OpsError):
        code = getattr(error, "exit_code", 1)
        return str(error), code if isinstance(code, int) else 1
    return f"{error.__class__.__name__}: {error}", 1


async def run_bulk(
    users: Sequence[User],
    action: Action,
    *,
    concurrency: int = 4,
    on_result: Callable[[ItemResult], None] | None = None,
    cancel: CancelToken | None = None,
) -> BulkSummary:
    """Run ``action`` over ``users``; the summary lists every user in the order given."""
    results: list[ItemResult | None] = [None] * len(users)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(users)):
        queue.put_nowait(i)

    def record(i: int, result: ItemResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            user = users[i]
            if cancel is not None and cancel.cancelled:
                record(i, ItemResult(user, ok=False, skipped=True))
                continue
            try:
                await action(user)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure is this user's result, never the run's end
                text, code = _describe(exc)
                record(i, ItemResult(user, ok=False, error=text, exit_code=code))
            else:
                record(i, ItemResult(user, ok=True))

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(users))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return BulkSummary(tuple(r if r is not None else ItemResult(users[i], ok=False, skipped=True)
                             for i, r in enumerate(results)))  # fmt: skip


def fresh(client: UsersClient, write: Callable[[User], Awaitable[User]]) -> Action:
    """An action that writes with the row's version, or the current one when the row is stale or has none."""

    async def act(user: User) -> User:
        if not user.etag:
            return await write(await client.get_user(user.id))
        try:
            return await write(user)
        except Conflict as exc:
            if not (exc.stale and isinstance(exc.current, User)):
                raise
            return await write(exc.current)  # a second 412 (changed again meanwhile) is reported

    return act


def grant(client: UsersClient, role: str) -> Action:
    return fresh(client, lambda user: client.grant_role(user, role))


def revoke(client: UsersClient, role: str) -> Action:
    return fresh(client, lambda user: client.revoke_role(user, role))


def disable(client: UsersClient) -> Action:
    return fresh(client, client.disable_user)


def enable(client: UsersClient) -> Action:
    return fresh(client, client.enable_user)
