"""Screenshots of the sign-in GUI, rendered offscreen: the test renders them, the docs keep them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.signin.test_screenshots docs/screenshots

writes docs/screenshots/signin-page.png (the demo's sign-in page in the window),
signin-statusbar.png (the status bar of a signed-in window, tooltip text included below it) and
signin-no-keyring.png (the sign-in page's warning when there is no usable keyring). The test renders
the same images into a temporary folder and checks that each is a real, non-blank picture.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from keyring.backends import fail
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from opsconsole.auth import AuthStatus
from opsconsole.auth.store import MEMORY_WARNING, refusal_reason
from opsconsole.config import ConfigSet, Profile
from opsconsole.ui.shell.context import Demo
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.ui.signin.page import SignInView
from opsconsole.ui.signin.status import SignInStatus

DEMO_ACCOUNTS = [
    ("admin@sandbox.test", "admin"),
    ("support@sandbox.test", "support"),
    ("viewer@sandbox.test", "viewer"),
]
NO_KEYRING = MEMORY_WARNING.format(reason=refusal_reason(fail.Keyring()))


def _demo_profile() -> Profile:
    return Profile(
        name="demo",
        label="Demo sandbox",
        api_url="http://127.0.0.1:8700/api",
        issuer="http://127.0.0.1:8700",
        client_id="opsconsole",
        audience="opsconsole-api",
        token_storage="memory",
    )


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def render(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(widget: QWidget, name: str) -> None:
        _settle()
        path = out / name
        if not widget.grab().save(str(path), "PNG"):
            raise RuntimeError(f"cannot write {path}")
        written.append(path)

    profile = _demo_profile()
    window = MainWindow(
        ConfigSet.in_memory(profile), profile="demo", demo=Demo(tuple(DEMO_ACCOUNTS), "sandbox")
    )
    window.resize(1200, 760)
    window.set_gate(SignInView(profile, demo_accounts=DEMO_ACCOUNTS, demo_password="sandbox"))
    window.show()
    save(window, "signin-page.png")

    window.set_gate(None)
    status = SignInStatus(window.set_sign_in_state)
    status.update(
        AuthStatus(
            profile="demo",
            signed_in=True,
            subject="5c1f3a2e-support",
            username="support@sandbox.test",
            scopes=("openid", "offline_access", "read:users", "write:users", "read:roles"),
            access_expires_at=time.time() + 14 * 60 + 30,
            storage="keyring",
        )
    )
    # The status bar as it is, with the field's tooltip beneath it (tooltips cannot be grabbed).
    strip = QWidget()
    column = QVBoxLayout(strip)
    column.setContentsMargins(0, 0, 0, 8)
    _settle()
    bar = QLabel()
    bar.setPixmap(window.statusBar().grab())
    tip = QLabel("Tooltip of the sign-in field:\n" + status.tooltip)
    tip.setContentsMargins(12, 4, 12, 0)
    column.addWidget(bar)
    column.addWidget(tip)
    strip.resize(window.width(), strip.sizeHint().height())
    save(strip, "signin-statusbar.png")
    status.stop()
    strip.deleteLater()
    window.close()
    window.deleteLater()

    view = SignInView(
        Profile(
            name="staging",
            label="Staging",
            environment="staging",
            api_url="https://staging.example.com/api",
            issuer="https://login.example.com/realms/ops",
            client_id="opsconsole",
        ),
        storage_warning=NO_KEYRING,
    )
    view.resize(900, 520)
    view.show()
    save(view, "signin-no-keyring.png")
    view.close()
    view.deleteLater()
    _settle()
    return written


def test_the_screenshots_render(tmp_path: Path, qapp: Any, theme: Any) -> None:
    paths = render(tmp_path)
    assert [p.name for p in paths] == ["signin-page.png", "signin-statusbar.png", "signin-no-keyring.png"]
    for path in paths:
        image = QImage(str(path))
        assert image.width() >= 600 and image.height() >= 40
        colours = {
            image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 17)
        }
        assert len(colours) > 3, f"{path.name} is blank"


if __name__ == "__main__":
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from opsconsole.ui.shell.app import ensure_application
    from opsconsole.ui.shell.palette import ThemeController

    application = ensure_application(["screenshots"])
    controller = ThemeController(application, override="light")
    for written_path in render(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(written_path)
    controller.close()
