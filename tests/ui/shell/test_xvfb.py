"""The console in a real X11 window (xcb under Xvfb), started as the desktop starts it.

Offscreen rendering needs none of the X libraries; a real window does, and a fresh machine may lack
some (libxcb-cursor0...), in which case Qt aborts with "could not load the Qt platform plugin xcb".
Without Xvfb the test is skipped, except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROFILES = """\
default_profile = "prod"

[profiles.prod]
label = "Prod EU"
environment = "production"
api_url = "https://api.eu.example.com/api"
issuer = "https://login.example.com"
client_id = "opsconsole"
"""

GRAB = """\
import json, os, sys
from PySide6.QtCore import QAbstractEventDispatcher, QTimer
from PySide6.QtGui import QGuiApplication
from opsconsole import config
from opsconsole.ui.shell import app as ui_app

qapp = ui_app.ensure_application()
session = ui_app.start_gui(qapp, config.load(), settings=ui_app.ui_settings())

def grab():
    try:
        # What the X server shows (the root window), not a widget rendering itself.
        image = QGuiApplication.primaryScreen().grabWindow(0).toImage()
        image.save(sys.argv[1])
        window = session.window
        print(json.dumps({"platform": QGuiApplication.platformName(), "title": window.windowTitle(),
                          "band": window.band.isVisible(), "width": image.width()}), flush=True)
    finally:
        grabbed.append(True)
        session.window.close()
        qapp.quit()  # also with a tooltip or popup still up (the X pointer rests mid-screen)

grabbed = []

def watchdog():
    # Say where it stands before giving up, so a hang on a CI machine can be diagnosed.
    import faulthandler
    from PySide6.QtWidgets import QApplication
    shown = [type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()]
    print(f"watchdog: not done within 30 s; grab ran: {bool(grabbed)}; visible windows: {shown}",
          file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    os._exit(3)

QTimer.singleShot(500, grab)  # the window mapped and painted by the X server
QTimer.singleShot(30_000, watchdog)
code = qapp.exec()
session.shutdown()
sys.exit(code)
"""


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, timeout=45, check=False
        )
    except subprocess.TimeoutExpired as exc:  # say what the child printed, not just that it hung
        pytest.fail(f"{command[-3:]} hung; stdout: {exc.stdout!r}; stderr: {exc.stderr!r}")


def desktop_session() -> list[str]:
    """The command prefix that gives a child an X server and a D-Bus session bus, as a desktop does
    (without a bus, Qt may try to autolaunch one through the X server)."""
    missing = [tool for tool in ("xvfb-run", "dbus-run-session") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{', '.join(missing)} missing, and CI must have it (scripts/system-deps.sh test)")
        pytest.skip(f"{', '.join(missing)} not installed")
    return ["dbus-run-session", "--", "xvfb-run", "-a", "-s", "-screen 0 1280x800x24"]


def test_the_console_opens_a_real_window(tmp_path: Path) -> None:
    session = desktop_session()
    user_file = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "profiles.toml"
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text(PROFILES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "QT_QPA", "DBUS_"))}
    env.update(QT_QPA_PLATFORM="xcb", OPSCONSOLE_THEME="dark")

    # The real entry point, as the desktop starts it: exits by itself once the window is idle.
    started = run(
        [*session, sys.executable, "-m", "opsconsole"], {**env, "OPSCONSOLE_EXIT_WHEN_IDLE": "1"}, tmp_path
    )
    assert started.returncode == 0, started.stderr
    report = json.loads(next(ln for ln in started.stdout.splitlines() if '"idle"' in ln))
    assert report["platform"] == "xcb"
    assert report["title"] == "PRODUCTION - Prod EU \u2014 Ops Console"
    assert "could not load the Qt platform plugin" not in started.stderr

    # What the X server shows: the window with its red production band.
    shot = tmp_path / "xvfb.png"
    grabbed = run([*session, sys.executable, "-c", GRAB, str(shot)], env, tmp_path)
    assert grabbed.returncode == 0, grabbed.stderr
    facts = json.loads(grabbed.stdout.strip().splitlines()[-1])
    assert facts == {"platform": "xcb", "title": "PRODUCTION - Prod EU \u2014 Ops Console", "band": True,
                     "width": 1280}  # fmt: skip
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    reds = sum(
        1
        for x in range(0, image.width(), 8)
        for y in range(0, image.height(), 8)
        if (c := image.pixelColor(x, y)).red() > 150 and c.green() < 80 and c.blue() < 80
    )
    assert reds > 20, "no production band on the X server's screen"
    if os.environ.get("OPSCONSOLE_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["OPSCONSOLE_KEEP_SCREENSHOT"])
