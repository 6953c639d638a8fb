"""Regenerate the Notifications screenshots (offscreen, light and dark) against a real sandbox.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_notifications.py [OUTPUT_DIR]

Starts a sandbox on a free loopback port, signs the admin in through its real login form, opens the
console's window on it, publishes a mix of events (alerts, a new user, a role granted) and saves the
feed, the dock beside the Users page, a reported gap and the reconnecting state after the server stops.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    home = Path(tempfile.mkdtemp(prefix="opsconsole-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(home / var.lower())

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from tests.support.sandbox import test_settings
    from tests.support.signed_in import config_for, sandbox_profile, store_sign_in

    from opsconsole.events.model import Phase
    from opsconsole.sandbox.server import start_background
    from opsconsole.ui.events.dock import NotificationsDock
    from opsconsole.ui.events.room import room_for
    from opsconsole.ui.shell.app import ensure_application, start_gui

    app = ensure_application(["screenshots"])
    sandbox = start_background(test_settings(home / "sandbox", events_keep=30))
    store_sign_in(sandbox)
    profile = sandbox_profile(sandbox)
    session = start_gui(
        app, config_for(profile), profile=profile.name, install_qt_log=False, show_problems=False
    )
    window = session.window
    window.resize(1200, 720)
    room = room_for(window.context)

    def wait(condition: object, ms: int = 15_000) -> None:
        # A real event loop that blocks between events: the window's first-idle work (opening the
        # session) runs only when the loop is about to wait.
        timer = QElapsedTimer()
        timer.start()
        while not condition() and timer.elapsed() < ms:  # type: ignore[operator]
            loop = QEventLoop()
            QTimer.singleShot(30, loop.quit)
            loop.exec()

    def save(widget: object, name: str) -> None:
        wait(lambda: False, 300)
        path = out / name
        if not widget.grab().save(str(path), "PNG"):  # type: ignore[attr-defined]
            raise SystemExit(f"cannot write {path}")
        print(path)

    wait(lambda: room.feed.status.phase is Phase.LIVE and window.findChild(NotificationsDock) is not None)
    bus = sandbox.app.state.bus
    bus.publish_many(
        [
            (
                "alert.fired",
                {
                    "alert": {
                        "summary": "api-gateway: 7.2% of requests fail (over 5%)",
                        "severity": "critical",
                    }
                },
                None,
            ),
            (
                "user.created",
                {
                    "user": {
                        "id": "0b5e4c1e-7d7e-4f38-9a4b-6c1d8e2f3a10",
                        "email": "amara.okafor@example.com",
                    },
                    "actor": "admin@sandbox.test",
                },
                None,
            ),
            (
                "role.granted",
                {
                    "user": {
                        "id": "0b5e4c1e-7d7e-4f38-9a4b-6c1d8e2f3a10",
                        "email": "amara.okafor@example.com",
                    },
                    "role": "support",
                    "actor": "admin@sandbox.test",
                },
                None,
            ),
            (
                "alert.fired",
                {"alert": {"summary": "postgres: replica 42 s behind", "severity": "warning"}},
                None,
            ),
            (
                "alert.resolved",
                {"alert": {"summary": "resolved: api-gateway: 7.2% of requests fail (over 5%)"}},
                None,
            ),
            (
                "user.disabled",
                {"user": {"id": "9f1a", "email": "j.doe@example.com"}, "actor": "support@sandbox.test"},
                None,
            ),
        ]
    )
    window.show_page("notifications")
    page = window.page("notifications")
    wait(lambda: page.model.rowCount() >= 6)  # type: ignore[union-attr]
    page.table.selectRow(1)  # type: ignore[union-attr]
    for scheme in ("light", "dark"):
        session.theme.set_scheme(scheme)  # type: ignore[arg-type]
        save(window, f"notifications-feed-{scheme}.png")

    session.theme.set_scheme("light")  # type: ignore[arg-type]
    window.show_page("users")
    dock = window.findChild(NotificationsDock, "notificationsDock")
    assert dock is not None
    dock.show()
    bus.publish("alert.fired", {"alert": {"summary": "auth-service: 12 token signing failures a minute"}})
    wait(lambda: dock.table.model().rowCount() >= 7)
    save(window, "notifications-dock-light.png")
    dock.hide()

    window.show_page("notifications")
    room.feed.stop()
    bus.publish_many([("alert.fired", {"alert": {"summary": f"load spike {i}"}}, None) for i in range(60)])
    room.feed.restart()
    wait(lambda: page.gap_banner.isVisibleTo(page))  # type: ignore[union-attr]
    save(window, "notifications-gap-light.png")

    sandbox.stop()
    wait(lambda: window.status.live.value.startswith("reconnecting in"))
    save(window, "notifications-reconnecting-light.png")
    session.theme.set_scheme("dark")  # type: ignore[arg-type]
    save(window, "notifications-reconnecting-dark.png")
    window.close()
    session.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
