"""Sign-in in the real main window: the gate page, the status bar, scope gating, re-sign-in, sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit

from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.config import ConfigSet, Profile
from opsconsole.ui.shell.bridge import AsyncBridge
from opsconsole.ui.shell.context import Demo
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.ui.signin.controller import ReauthDialog
from opsconsole.ui.signin.coordinator import SignInCoordinator
from opsconsole.ui.signin.page import SignInView
from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, Behaviour, MiniProvider

DEMO = [("alice@example.test", "admin")]


@pytest.fixture
def provider() -> Iterator[MiniProvider]:
    MemoryStore.clear_all()
    with MiniProvider(Behaviour()) as running:
        yield running
    MemoryStore.clear_all()


@pytest.fixture
def window(qtbot: Any, provider: MiniProvider) -> Iterator[tuple[MainWindow, SignInCoordinator]]:
    profile = Profile(
        name="mini",
        label="Mini provider",
        api_url=f"{provider.issuer}/api",
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        audience=AUDIENCE,
        token_storage="memory",
        scopes=("openid", "offline_access", "read:users", "write:users"),
    )
    bridge = AsyncBridge()
    main = MainWindow(
        ConfigSet.in_memory(profile), bridge=bridge, profile="mini", demo=Demo(tuple(DEMO), "pw")
    )
    qtbot.addWidget(main)

    def factory(p: Profile) -> Session:
        return Session(
            p, store=MemoryStore(), interactive=True, discovery=DiscoveryCache(), open_browser=provider.browse
        )

    coordinator = SignInCoordinator(main, session_factory=factory)
    main.show()
    yield main, coordinator
    coordinator.shutdown()
    main.close()
    main.deleteLater()
    qtbot.wait_until(lambda: not bridge.pending_jobs(), timeout=5000)
    bridge.shutdown()


def _sign_in(qtbot: Any, main: MainWindow, coordinator: SignInCoordinator) -> None:
    qtbot.waitUntil(lambda: isinstance(main.gate, SignInView), timeout=10_000)
    assert coordinator.controller is not None
    with qtbot.waitSignal(coordinator.controller.signedIn, timeout=15_000):
        main.gate.sign_in_button.click()


def test_a_profile_that_is_not_signed_in_shows_the_sign_in_page(qtbot: Any, window: Any) -> None:
    main, _coordinator = window
    qtbot.waitUntil(lambda: isinstance(main.gate, SignInView), timeout=10_000)
    gate: SignInView = main.gate
    assert gate.profile.name == "mini"
    assert [(a.text(), r.text()) for a, r in gate.demo_rows] == DEMO  # the demo lists its accounts
    assert main.outer.currentWidget() is gate
    assert main.status.sign_in.value == "not signed in"


def test_signing_in_brings_the_workspace_back_and_fills_the_status_bar(qtbot: Any, window: Any) -> None:
    main, coordinator = window
    _sign_in(qtbot, main, coordinator)
    qtbot.waitUntil(lambda: main.outer.currentWidget() is main.workspace, timeout=5000)
    assert main.gate is None
    value = main.status.sign_in.value
    assert value.startswith("alice@example.test \u00b7 ") and value.endswith("min left")
    assert "Scopes: read:users, write:users" in main.status.sign_in.toolTip()  # from the access token


def test_pages_get_the_session_through_their_context(qtbot: Any, window: Any) -> None:
    # The session opens on the first idle, after the first page was built: a page learns of it from
    # context.sessionChanged, and context.client() gives it an HTTP client carrying the token.
    main, coordinator = window
    context = main.context
    assert context.session is None and main.current_page() is not None
    seen: list[object] = []
    context.sessionChanged.connect(seen.append)
    _sign_in(qtbot, main, coordinator)
    assert seen == [coordinator.session] and context.session is coordinator.session
    assert context.profile is main.current_profile

    async def me() -> dict[str, Any]:
        client = context.client()
        assert client is not None
        async with client:
            response = await client.get("/me")  # relative to the profile's API URL
            response.raise_for_status()
            return dict(response.json())

    results: list[dict[str, Any]] = []
    # Not the next jobFinished: the pages' own jobs (the Users page reading its list) finish too.
    main.bridge.run(me(), on_success=results.append, on_failure=results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert len(results) == 1 and isinstance(results[0], dict), results
    assert results[0].get("sub")


def test_actions_needing_a_missing_scope_are_disabled_with_the_scope_named(qtbot: Any, window: Any) -> None:
    main, coordinator = window
    edit_users, edit_roles = QAction("Edit user", main), QAction("Edit role", main)
    coordinator.scopes.require(edit_users, "write:users")
    coordinator.scopes.require(edit_roles, "write:roles")
    assert not edit_users.isEnabled()
    _sign_in(qtbot, main, coordinator)
    qtbot.waitUntil(edit_users.isEnabled, timeout=5000)
    assert not edit_roles.isEnabled() and "\u201cwrite:roles\u201d" in edit_roles.toolTip()


def test_an_ended_session_asks_again_without_touching_the_workspace(
    qtbot: Any, window: Any, provider: MiniProvider
) -> None:
    main, coordinator = window
    _sign_in(qtbot, main, coordinator)
    page = main.current_page()
    form = QLineEdit(page)
    form.setText("a half-filled form")
    provider.refresh_tokens.clear()  # the provider ended the grant
    assert coordinator.controller is not None and coordinator.session is not None
    with qtbot.waitSignal(coordinator.controller.sessionEnded, timeout=15_000):
        main.bridge.run(coordinator.session.refresh(force=True))
    qtbot.waitUntil(lambda: coordinator.reauth is not None and coordinator.reauth.isVisible(), timeout=5000)
    assert isinstance(coordinator.reauth, ReauthDialog)
    qtbot.wait_until(lambda: main.status.sign_in.value == "not signed in", timeout=5000)
    assert main.gate is None and main.outer.currentWidget() is main.workspace
    assert main.current_page() is page and form.text() == "a half-filled form"
    with qtbot.waitSignal(coordinator.controller.signedIn, timeout=15_000):
        coordinator.reauth.view.sign_in_button.click()
    qtbot.waitUntil(lambda: not coordinator.reauth.isVisible(), timeout=5000)
    assert main.current_page() is page and form.text() == "a half-filled form"


def test_a_pages_sign_in_button_opens_the_sign_in_again_dialog_after_a_session_ended(
    qtbot: Any, window: Any, provider: MiniProvider
) -> None:
    # The user closed the sign-in-again dialog; a page's *Sign in…* (PageContext.request_sign_in) brings
    # it back, and the workspace stays.
    main, coordinator = window
    _sign_in(qtbot, main, coordinator)
    provider.refresh_tokens.clear()
    assert coordinator.controller is not None and coordinator.session is not None
    with qtbot.waitSignal(coordinator.controller.sessionEnded, timeout=15_000):
        main.bridge.run(coordinator.session.refresh(force=True))
    qtbot.waitUntil(lambda: coordinator.reauth is not None and coordinator.reauth.isVisible(), timeout=5000)
    coordinator.reauth.reject()
    assert not coordinator.reauth.isVisible()
    main.context.request_sign_in()
    assert isinstance(coordinator.reauth, ReauthDialog) and coordinator.reauth.isVisible()
    assert main.gate is None and main.outer.currentWidget() is main.workspace


def test_signing_out_shows_the_sign_in_page_again(qtbot: Any, window: Any, provider: MiniProvider) -> None:
    main, coordinator = window
    _sign_in(qtbot, main, coordinator)
    qtbot.waitUntil(lambda: main.gate is None, timeout=5000)
    coordinator.sign_out()
    qtbot.waitUntil(lambda: isinstance(main.gate, SignInView), timeout=10_000)
    assert len(provider.revoked) == 1
    qtbot.waitUntil(lambda: main.status.sign_in.value == "not signed in", timeout=5000)


def test_the_sign_out_action_clears_every_view(qtbot: Any, window: Any, provider: MiniProvider) -> None:
    main, coordinator = window
    assert not main.menu_actions.sign_out.isEnabled()
    _sign_in(qtbot, main, coordinator)
    qtbot.waitUntil(main.menu_actions.sign_out.isEnabled, timeout=5000)
    page = main.current_page()
    key = main.current_page_key
    main.show_detail(QLineEdit("details of the previous user"))
    main.menu_actions.sign_out.trigger()
    qtbot.waitUntil(lambda: isinstance(main.gate, SignInView), timeout=10_000)
    assert main.current_page() is not page and main.current_page_key == key  # rebuilt, empty
    assert main.detail.content is None
    qtbot.waitUntil(lambda: not main.menu_actions.sign_out.isEnabled(), timeout=5000)
    assert len(provider.revoked) == 1


def test_start_gui_attaches_the_sign_in(qapp: Any, qtbot: Any, tmp_path: Any) -> None:
    from opsconsole import config
    from opsconsole.ui.shell.app import start_gui

    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[profiles.work]\napi_url = "https://api.example.com"\nissuer = "https://login.example.com"\n'
        'client_id = "opsconsole"\ntoken_storage = "memory"\n',
        encoding="utf-8",
    )
    session = start_gui(qapp, config.load(profiles), install_qt_log=False, show_problems=False)
    try:
        assert isinstance(session.sign_in, SignInCoordinator)
        qtbot.waitUntil(lambda: isinstance(session.window.gate, SignInView), timeout=10_000)
        assert session.window.gate.profile.name == "work"
    finally:
        session.shutdown()


def test_the_session_is_opened_off_the_gui_thread_after_the_window_shows(
    qtbot: Any, provider: MiniProvider
) -> None:
    import threading

    profile = Profile(
        name="mini", api_url=provider.issuer + "/api", issuer=provider.issuer, client_id=CLIENT_ID,
        token_storage="memory",
    )  # fmt: skip
    bridge = AsyncBridge()
    main = MainWindow(ConfigSet.in_memory(profile), bridge=bridge, profile="mini")
    qtbot.addWidget(main)
    opened_on: list[threading.Thread] = []

    def factory(p: Profile) -> Session:
        # Reading the keyring may wait on an unlock prompt: never on the GUI thread.
        opened_on.append(threading.current_thread())
        return Session(p, store=MemoryStore(), discovery=DiscoveryCache(), open_browser=provider.browse)

    coordinator = SignInCoordinator(main, session_factory=factory)
    assert opened_on == [] and coordinator.session is None  # nothing before the event loop runs
    main.show()
    qtbot.waitUntil(lambda: isinstance(main.gate, SignInView), timeout=10_000)
    assert len(opened_on) == 1 and opened_on[0] is not threading.main_thread()
    coordinator.shutdown()
    main.close()
    qtbot.wait_until(lambda: not bridge.pending_jobs(), timeout=5000)
    bridge.shutdown()
