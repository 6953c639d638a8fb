"""The demo's sign-in through the real GUI entry point against the real sandbox.

``start_gui`` builds the window with its sign-in coordinator; the sign-in page lists the demo
accounts; *Sign in with browser* runs the system-browser path (``webbrowser.open``, here the scripted
browser script run as a browser command would be), and the window comes back signed in, with the
user in the status bar and the support role's missing scope gating an action.
"""

from __future__ import annotations

import subprocess
import sys
import webbrowser
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QAction

from opsconsole.auth.store import MemoryStore
from opsconsole.config import ConfigSet, Profile
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.ui.shell.app import start_gui
from opsconsole.ui.signin.page import SignInView

SCRIPT = Path(__file__).resolve().parents[2] / "support" / "scripted_browser.py"
DEMO = [
    ("admin@sandbox.test", "admin"),
    ("support@sandbox.test", "support"),
    ("viewer@sandbox.test", "viewer"),
]


def _scripted_browser(url: str, new: int = 0, autoraise: bool = True) -> bool:
    # What webbrowser does with BROWSER=<command>: run it with the URL and report whether it succeeded.
    return subprocess.run([sys.executable, str(SCRIPT), url], timeout=60, check=False).returncode == 0


@pytest.mark.slow
def test_the_demo_sign_in_through_the_window(
    qapp: Any, qtbot: Any, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    MemoryStore.clear_all()
    monkeypatch.setattr(webbrowser, "open", _scripted_browser)
    monkeypatch.setenv("OPSCONSOLE_TEST_EMAIL", "support@sandbox.test")
    url = sandbox.url.rstrip("/")
    profile = Profile(
        name="demo",
        label="Demo sandbox",
        api_url=f"{url}/api",
        issuer=url,
        client_id="opsconsole",
        audience="opsconsole-api",
        token_storage="memory",
    )
    session = start_gui(
        qapp,
        ConfigSet.in_memory(profile),
        profile="demo",
        demo_accounts=DEMO,
        demo_password="sandbox",
        install_qt_log=False,
        show_problems=False,
    )
    try:
        window = session.window
        coordinator = session.sign_in
        assert coordinator is not None
        create_role = QAction("Create role", window)
        coordinator.scopes.require(create_role, "write:roles")
        qtbot.waitUntil(lambda: isinstance(window.gate, SignInView), timeout=10_000)
        gate: SignInView = window.gate
        assert [a.text() for a, _ in gate.demo_rows] == [email for email, _ in DEMO]
        assert coordinator.controller is not None
        with qtbot.waitSignal(coordinator.controller.signedIn, timeout=30_000):
            gate.sign_in_button.click()
        qtbot.waitUntil(lambda: window.gate is None, timeout=5000)
        assert window.status.sign_in.value.startswith("support@sandbox.test \u00b7 ")
        assert "read:users" in window.status.sign_in.toolTip()
        assert not create_role.isEnabled() and "write:roles" in create_role.toolTip()
        assert window.menu_actions.sign_out.isEnabled()
        window.menu_actions.sign_out.trigger()
        qtbot.waitUntil(lambda: isinstance(window.gate, SignInView), timeout=10_000)
    finally:
        session.shutdown()
        MemoryStore.clear_all()
