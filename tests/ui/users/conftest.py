"""The users pages in a real main window, signed in against a real sandbox.

``open_console(account, users=N, environment=...)`` starts a sandbox seeded with ``N`` users, signs
the demo account in through the sandbox's real pages (tokens in the memory store, as the e2e tests
do), builds a :class:`MainWindow` on a real bridge and hands it the account's real session. The
returned :class:`Console` reaches the Users view once it is built (on the first idle) and runs a
second client (``other()``) for changes made behind the window's back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.config import ConfigSet, Profile
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.ui.shell.bridge import AsyncBridge
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.users import UsersClient
from tests.e2e.users.conftest import ACCOUNTS, sign_in
from tests.support.sandbox import CLIENT_ID

T = TypeVar("T")


@dataclass
class Console:
    qtbot: Any
    sandbox: RunningSandbox
    profile: Profile
    window: MainWindow
    bridge: AsyncBridge
    session: Session
    extra: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.sandbox.url.rstrip("/")

    def page(self, key: str = "users") -> Any:
        self.window.show_page(key)
        page = self.window.page(key)
        self.qtbot.waitUntil(lambda: page.view is not None, timeout=10_000)
        return page.view

    def users(self) -> Any:
        view = self.page("users")
        self.qtbot.waitUntil(
            lambda: len(view.model.state) > 0 and not view.model.state.loading, timeout=15_000
        )
        self.qtbot.waitUntil(lambda: view.service.policy is not None, timeout=10_000)
        return view

    def other(self, work: Callable[[UsersClient], Awaitable[T]], account: str = "admin") -> T:
        """``work`` on a second client (its own session and loop): a colleague at another desk."""

        async def run() -> T:
            profile = _profile(self.url, account)
            async with Session(profile, store=MemoryStore()) as session, session.client() as http:
                return await work(UsersClient(http))

        return asyncio.run(run())


def _profile(url: str, name: str, **extra: Any) -> Profile:
    return Profile(name=name, api_url=f"{url}/api", issuer=url, client_id=CLIENT_ID,
                   audience="opsconsole-api", token_storage="memory", **extra)  # fmt: skip


@pytest.fixture
def open_console(
    qtbot: Any, theme: Any, make_sandbox: Callable[..., RunningSandbox]
) -> Iterator[Callable[..., Console]]:
    MemoryStore.clear_all()
    made: list[Console] = []

    def make(account: str = "admin", *, users: int = 0, live: bool = False, **profile_extra: Any) -> Console:
        sandbox = make_sandbox(users=users)
        url = sandbox.url.rstrip("/")
        for name, email in ACCOUNTS.items():
            sign_in(sandbox, name, email)
        if live:
            profile_extra["events_url"] = url.replace("http://", "ws://") + "/ws/notifications"
        profile = _profile(url, account, **profile_extra)
        bridge = AsyncBridge()
        window = MainWindow(ConfigSet.in_memory(profile), bridge=bridge, profile=account)
        window.resize(1200, 760)
        qtbot.addWidget(window)
        window.show()
        session = Session(profile, store=MemoryStore())
        window.context.set_session(session)
        window.context.set_signed_in(True)  # what the sign-in coordinator says once the session has tokens
        console = Console(qtbot, sandbox, profile, window, bridge, session)
        made.append(console)
        return console

    yield make
    for console in made:
        console.window.close()
        console.window.context.set_session(None)  # the pages stop their streams and close their clients
        console.bridge.run(console.session.aclose())
        qtbot.waitUntil(lambda console=console: not console.bridge.pending_jobs(), timeout=10_000)
        console.bridge.shutdown()
    MemoryStore.clear_all()
