"""Opening the sign-in session on a worker thread, in steps that a quit can stop between.

Opening a session first imports the network and token stack (httpx, authlib, pyjwt, cryptography,
keyring: 0.3 to 0.5 s) and then reads the OS keyring. It runs on a worker thread (``asyncio.to_thread``)
so the window stays responsive, and a thread cannot be stopped from outside: cancelling the job that
awaits it leaves it running, and the bridge's shutdown waits for every worker thread to end (it must:
one may be writing tokens). So quitting right after start waited for the whole opening of a session
nobody would use, and then logged its keyring warning.

Here the work goes in steps (the stack's larger packages one at a time, then the keyring) and before
each step the worker looks whether the opening was abandoned; a cancelled opening ends at the next
step. Opening only reads (modules, the keyring), so stopping it loses nothing. A step is a whole import,
never half of one: a module that failed half-way would be imported again, with its side effects twice.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ...config import Profile

if TYPE_CHECKING:
    from ...auth import Session

__all__ = ["IMPORT_STEPS", "Abandoned", "Step", "open_in_steps"]

Step = Callable[[], object]

# What ``opsconsole.auth`` imports, in an order where each name is a share of the whole (measured with
# ``python -X importtime``); the last one imports the rest. A name missing from an installation (click
# and rich come with httpx's optional command line) is skipped. No authlib.integrations.httpx_client:
# imported before auth/flow.py has filtered it, it warns that its httpx module is deprecated.
IMPORT_STEPS: tuple[str, ...] = (
    "keyring",
    "secretstorage",
    "cryptography.x509",
    "jwt",
    "anyio",
    "click",
    "rich.console",
    "rich.progress",
    "httpx",
    "filelock",
    "joserfc.jwt",
    "authlib.oauth2",
    "authlib.oidc.core",
    "authlib.integrations.base_client",
    "opsconsole.auth",
)


class Abandoned(Exception):
    """The opening was cancelled before it finished; nobody awaits its result."""


def _import_step(name: str) -> Step:
    def step() -> None:
        # Only a warm-up: what opening needs, the factory imports itself, and reports if it cannot.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    return step


DEFAULT_STEPS: tuple[Step, ...] = tuple(_import_step(name) for name in IMPORT_STEPS)


async def open_in_steps(
    factory: Callable[[Profile], Session], profile: Profile, steps: Sequence[Step] = DEFAULT_STEPS
) -> Session:
    """``factory(profile)`` on a worker thread after ``steps``; cancelled, it stops at the next step."""
    import asyncio

    abandoned = threading.Event()

    def work() -> Session:
        for step in steps:
            if abandoned.is_set():
                raise Abandoned
            step()
        if abandoned.is_set():
            raise Abandoned
        return factory(profile)

    try:
        return await asyncio.to_thread(work)
    except asyncio.CancelledError:
        abandoned.set()  # the worker ends at its next step, and what it raises goes nowhere
        raise
