"""Start an installed app from its desktop entry on the X display at hand and photograph the screen.

    python packaging/desktop_screenshot.py /usr/share/applications/ID.desktop OUT.png [--expect-production]

Runs the entry's Exec line (field codes dropped) in the environment this script was given, waits for a
top-level window whose name contains the entry's Name (``xwininfo``), then for the screen to stop
changing (two equal grabs in a row: painted), saves what the X server shows (the root window, grabbed
with Qt), stops the app with SIGTERM and prints one JSON line of facts. Exit 1 when the window never
appears, the app dies first, the screen is blank, or (``--expect-production``) no red production band
shows. Used by packaging/check-deb.sh under xvfb-run.
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

WINDOW_TIMEOUT = 60.0
POLL = 0.25


def exec_line(desktop_file: Path) -> tuple[list[str], str]:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(desktop_file, encoding="utf-8")
    section = entry["Desktop Entry"]
    words = [w for w in shlex.split(section["Exec"]) if not (len(w) == 2 and w.startswith("%"))]
    return words, section["Name"]


def window_named(name: str) -> bool:
    """Whether a window whose name contains ``name`` is mapped (viewable) on the display."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False)  # noqa: S607
    # Lines such as: 0x200008 "PRODUCTION - Prod EU — Ops Console": ("opsconsole" "opsconsole")  1200x760+0+0
    for line in tree.stdout.splitlines()[3:]:
        if name in line:
            window = line.split()[0]
            info = subprocess.run(["xwininfo", "-id", window], capture_output=True, text=True, check=False)  # noqa: S603, S607
            if "Map State: IsViewable" in info.stdout:
                return True
    return False


def main(argv: list[str]) -> int:
    desktop_file, out = Path(argv[0]), Path(argv[1])
    expect_production = "--expect-production" in argv[2:]
    command, name = exec_line(desktop_file)
    from PySide6.QtGui import QGuiApplication, QImage

    qt = QGuiApplication([sys.argv[0], "-platform", "xcb"])  # noqa: F841 - the grabs need it
    screen = QGuiApplication.primaryScreen()
    empty = screen.grabWindow(0).toImage()  # the screen before the app: what "not painted yet" looks like
    app = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    started = time.monotonic()
    facts: dict[str, object] = {"exec": " ".join(command)}
    try:
        while not window_named(name):
            if app.poll() is not None:
                sys.stderr.write(f"desktop_screenshot: {command[0]} exited with {app.returncode}\n")
                sys.stderr.write(app.stderr.read() if app.stderr else "")
                return 1
            if time.monotonic() - started > WINDOW_TIMEOUT:
                sys.stderr.write(f"desktop_screenshot: no window named {name!r} within {WINDOW_TIMEOUT} s\n")
                return 1
            time.sleep(POLL)
        facts["window_after_s"] = round(time.monotonic() - started, 2)
        previous: QImage | None = None
        while True:  # painted: the screen no longer changes between two grabs
            image = screen.grabWindow(0).toImage()
            if previous is not None and image == previous and image != empty:
                break
            if time.monotonic() - started > WINDOW_TIMEOUT:
                break
            previous = image
            time.sleep(POLL)
        image.save(str(out))
        colours = {
            image.pixel(x, y) for x in range(0, image.width(), 16) for y in range(0, image.height(), 16)
        }
        reds = sum(
            1
            for x in range(0, image.width(), 8)
            for y in range(0, image.height(), 8)
            if (c := image.pixelColor(x, y)).red() > 150 and c.green() < 80 and c.blue() < 80
        )
        facts.update(size=f"{image.width()}x{image.height()}", colours=len(colours), red_samples=reds)
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
        facts["app_exit"] = app.returncode
    print(json.dumps(facts), flush=True)
    if len(colours) < 4:
        sys.stderr.write("desktop_screenshot: the screen is blank\n")
        return 1
    if expect_production and reds < 20:
        sys.stderr.write("desktop_screenshot: no red production band on the screen\n")
        return 1
    return 0


if __name__ == "__main__":
    os.environ.pop("QT_QPA_PLATFORM", None)
    sys.exit(main(sys.argv[1:]))
