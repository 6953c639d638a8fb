"""The desktop-notification screenshot: a real X server with a system tray, the console not in front,
an alert arriving; Qt's notification from the tray icon, grabbed from the X root window.

    dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" \\
        sh -c 'trayer --edge bottom --align right --widthtype pixel --width 120 --height 28 & sleep 1;
               QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots/make_desktop_notification.py OUT.png'

(trayer is Debian's small stand-alone system tray; any desktop's tray works the same way.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(out: str) -> int:
    home = Path(tempfile.mkdtemp())
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(home / var.lower())
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication
    from tests.support.sandbox import test_settings
    from tests.support.signed_in import config_for, sandbox_profile, store_sign_in

    from opsconsole.events.model import Phase
    from opsconsole.sandbox.server import start_background
    from opsconsole.ui.events.room import room_for
    from opsconsole.ui.shell.app import ensure_application, start_gui

    app = ensure_application(["shot"])
    sandbox = start_background(test_settings(home / "sandbox"))
    store_sign_in(sandbox)
    profile = sandbox_profile(sandbox)
    session = start_gui(
        app, config_for(profile), profile=profile.name, install_qt_log=False, show_problems=False
    )
    room = room_for(session.window.context)

    def wait(condition: Callable[[], bool], ms: int = 15_000) -> None:
        timer = QElapsedTimer()
        timer.start()
        while not condition() and timer.elapsed() < ms:
            loop = QEventLoop()
            QTimer.singleShot(30, loop.quit)
            loop.exec()

    wait(lambda: room.feed.status.phase is Phase.LIVE and room.notifier is not None)
    assert room.notifier is not None and room.notifier.available, "no system tray on this display"
    session.window.showMinimized()
    wait(lambda: False, 800)
    summary = "api-gateway: 7.2% of requests fail (over 5%)"
    sandbox.app.state.bus.publish("alert.fired", {"alert": {"summary": summary, "severity": "critical"}})
    wait(lambda: bool(room.notifier and room.notifier.shown), 5000)
    wait(lambda: False, 1500)  # the balloon fades in
    QGuiApplication.primaryScreen().grabWindow(0).save(out, "PNG")
    print(out, room.notifier.shown)
    session.shutdown()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
