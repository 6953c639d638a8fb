"""Throttling of password guesses on the login form, per account and per client address.

Each key (an account, an address) has a count of failed sign-ins. The first ``free`` failures cost
nothing; the one that reaches ``free`` locks the key for ``base`` seconds, and every failure after a
lock has ended doubles that, up to ``cap``. While a key is locked, sign-ins that involve it are refused
(429 with Retry-After) without the password being checked, so guessing gains nothing from speed. A
success resets the account's count; an address's count is only forgotten with time (``FORGET`` after
its last failure), so a guesser cannot clear it by signing in to an account of its own.

Attempts are counted *before* the password is checked, in one write transaction that locks the rows
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and given back on success:
concurrent guesses cannot slip past the limit. The counts live in the database, so every worker and a
restarted sandbox see the same ones.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import db
from .common import sha256_hex


@dataclass(frozen=True, slots=True)
class Rule:
    free: int
    base: float
    cap: float

    def lock_for(self, failures: int) -> float | None:
        """Seconds of lock-out after the ``failures``-th failure in a row, or None."""
        if failures < self.free:
            return None
        return float(min(self.base * 2 ** min(failures - self.free, 16), self.cap))


ACCOUNT = Rule(free=5, base=30.0, cap=15 * 60.0)
# Higher for an address: offices and carrier NAT put many people behind one.
ADDRESS = Rule(free=20, base=30.0, cap=15 * 60.0)
FORGET = dt.timedelta(hours=1)


def account_key(email: str) -> str:
    return "account:" + sha256_hex(email.strip().lower())


def address_key(address: str) -> str:
    return "address:" + address[:64]


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of :func:`begin`: refused for ``retry_after`` seconds, or counted (and if it fails,
    the keys are locked for ``lock_if_wrong`` seconds)."""

    retry_after: int | None
    lock_if_wrong: int | None = None


def begin(conn: Connection, rules: dict[str, Rule], now: dt.datetime) -> Attempt:
    """Refuse the attempt if any key is locked; otherwise count it as a failure of every key."""
    for key in rules:
        db.insert_new(
            conn, db.login_throttle, key=key, failures=0, locked_until=None, expires_at=now + FORGET
        )
    rows = conn.execute(
        sa.select(db.login_throttle).where(db.login_throttle.c.key.in_(list(rules))).with_for_update()
    ).all()
    locked = [row.locked_until for row in rows if row.locked_until is not None and row.locked_until > now]
    if locked:
        return Attempt(retry_after=math.ceil((max(locked) - now).total_seconds()))
    longest: float | None = None
    for row in rows:
        failures = (0 if row.expires_at <= now else row.failures) + 1
        lock = rules[row.key].lock_for(failures)
        conn.execute(
            sa.update(db.login_throttle)
            .where(db.login_throttle.c.key == row.key)
            .values(
                failures=failures,
                locked_until=now + dt.timedelta(seconds=lock) if lock is not None else None,
                expires_at=now + FORGET,
            )
        )
        if lock is not None:
            longest = max(longest or 0.0, lock)
    return Attempt(retry_after=None, lock_if_wrong=math.ceil(longest) if longest is not None else None)


def succeeded(conn: Connection, account: str | None, address: str | None) -> None:
    """Give back a counted attempt that succeeded: the account starts afresh, the address loses one."""
    if account is not None:
        conn.execute(sa.delete(db.login_throttle).where(db.login_throttle.c.key == account))
    if address is not None:
        conn.execute(
            sa.update(db.login_throttle)
            .where(db.login_throttle.c.key == address, db.login_throttle.c.failures > 0)
            .values(failures=db.login_throttle.c.failures - 1, locked_until=None)
        )


def wait_words(seconds: int) -> str:
    """``seconds`` as a person would say it: "30 seconds", "2 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
