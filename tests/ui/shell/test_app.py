"""run_gui end to end (the real entry point in a child process) and the in-process session's order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication, QWidget

from opsconsole import config
from opsconsole.ui.shell import qtlog
from opsconsole.ui.shell.app import HEAVY_IMPORTS, _quit_on_signals, start_gui
from opsconsole.ui.shell.problems import ProblemsDialog

RUN_GUI = """\
import sys
from opsconsole import config
from opsconsole.ui.shell.app import run_gui
sys.exit(run_gui(config.load(sys.argv[1])))
"""
FORBIDDEN = (
    "Traceback",
    "Event loop is closed",
    "Task was destroyed but it is pending",
    "QThread: Destroyed while thread is still running",
    "was never awaited",
)


def run_console(tmp_path: Path, profiles: Path | None, **env_extra: str) -> tuple[dict[str, Any], str]:
    """Run run_gui on ``profiles`` in a child process; None: `python -m opsconsole` with no arguments."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env.update(QT_QPA_PLATFORM="offscreen", OPSCONSOLE_EXIT_WHEN_IDLE="1", **env_extra)
    command = (
        [sys.executable, "-m", "opsconsole"]
        if profiles is None
        else [sys.executable, "-c", RUN_GUI, str(profiles)]
    )
    proc = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    idle = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(idle) == 1, proc.stdout
    for text in FORBIDDEN:
        assert text not in proc.stderr, proc.stderr
    return idle[0], proc.stderr


def test_the_console_starts_and_stops_cleanly(tmp_path: Path, profiles_file: Path) -> None:
    report, _ = run_console(tmp_path, profiles_file)
    assert report["event"] == "idle"
    assert report["platform"] == "offscreen"
    assert report["title"] == "Local sandbox \u2014 Ops Console"
    assert report["peak_rss_mib"] > 0
    # Window state was saved on the way out, in the isolated user config folder.
    assert (Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "ui-state.ini").is_file()


def test_the_desktop_start_keeps_to_the_start_up_budget(tmp_path: Path, profiles_file: Path) -> None:
    # Started as the desktop entry starts it: no arguments, the profiles in the user's config folder.
    # PySide6 builds all ~130 enums of `Qt` on first touch (25-45 ms): the shell's start-up path must
    # not (ui/shell/qtprops.py). The first run asks the system for its colour scheme, which needs `Qt`; later
    # runs start in the remembered scheme and ask once the loop is idle.
    user_file = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "profiles.toml"
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text(profiles_file.read_text(encoding="utf-8"), encoding="utf-8")
    first, _ = run_console(tmp_path, None)
    second, _ = run_console(tmp_path, None)
    assert first["qt_namespace_loaded"] is True
    assert second["title"] == "Local sandbox \u2014 Ops Console"
    assert second["qt_namespace_loaded"] is False, (
        "something on the start-up path touched PySide6.QtCore.Qt; see opsconsole/ui/shell/qtprops.py"
    )
    # Heavy work waits for the first idle (docs/architecture.md, "Start-up"): the network stack, the
    # keyring, Qt's SVG support, the charts. (The log file's RotatingFileHandler, platformdirs and
    # dataclasses may load before it: they cost little and read better than what they replaced.)
    assert set(HEAVY_IMPORTS) >= {"asyncio", "httpx", "keyring", "PySide6.QtSvg", "pyqtgraph"}
    assert second["heavy_imports"] == [], "see 'Start-up' in docs/architecture.md"
    ini = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "ui-state.ini"
    assert "scheme=light" in ini.read_text(encoding="utf-8")


def test_a_broken_profile_file_still_opens_the_window(tmp_path: Path) -> None:
    broken = tmp_path / "profiles.toml"
    broken.write_text('default_profile = "x"\n[profiles.x]\napi_url = \n', encoding="utf-8")
    report, stderr = run_console(tmp_path, broken)
    assert report["problems"] == 1
    assert report["title"] == "Ops Console"
    assert "is not valid TOML" in stderr  # logged as well as shown in the dialog


def test_the_stall_probe_writes_its_report_at_exit(tmp_path: Path, profiles_file: Path) -> None:
    target = tmp_path / "stall.json"
    report, _ = run_console(
        tmp_path, profiles_file, OPSCONSOLE_STALL_PROBE="1", OPSCONSOLE_STALL_PROBE_FILE=str(target)
    )
    assert "stall_probe" in report
    written = json.loads(target.read_text())
    assert set(written) >= {"max_stall_ms", "stalls_over_100ms", "ticks", "running_s"}


def test_problems_are_shown_in_one_dialog_after_the_window(
    qtbot: Any, qapp: Any, config_set: config.ConfigSet
) -> None:
    session = start_gui(qapp, config_set, install_qt_log=False)
    try:
        qtbot.waitUntil(lambda: isinstance(session.window.dialog("problems"), ProblemsDialog), timeout=5000)
        dialog = session.window.dialog("problems")
        assert isinstance(dialog, ProblemsDialog)
        qtbot.waitExposed(dialog)
        text = dialog.details.toPlainText()
        for problem in config_set.problems:
            assert str(problem) in text
        assert "1 error" in dialog.summary.text()
        assert session.window.isVisible()
    finally:
        session.shutdown()


def test_an_unknown_requested_profile_is_explained_in_the_dialog(
    qtbot: Any, qapp: Any, tmp_path: Path
) -> None:
    good = tmp_path / "profiles.toml"
    good.write_text(
        '[profiles.a]\napi_url = "http://127.0.0.1:1/api"\nissuer = "http://127.0.0.1:1"\nclient_id = "x"\n'
        '[profiles.b]\napi_url = "http://127.0.0.1:1/api"\nissuer = "http://127.0.0.1:1"\nclient_id = "x"\n',
        encoding="utf-8",
    )
    cfg = config.load(good)
    assert cfg.problems == []
    session = start_gui(qapp, cfg, profile="prod-eu", install_qt_log=False)
    try:
        qtbot.waitUntil(lambda: isinstance(session.window.dialog("problems"), ProblemsDialog), timeout=5000)
        dialog = session.window.dialog("problems")
        assert isinstance(dialog, ProblemsDialog)
        qtbot.waitExposed(dialog)
        assert dialog.summary.text() == 'There is no profile "prod-eu". Profiles: a, b.'
        assert not dialog.details.isVisible()
        assert session.window.current_profile is None  # never another profile in its place
    finally:
        session.shutdown()


def test_several_profiles_without_a_default_is_not_an_error(qtbot: Any, qapp: Any, tmp_path: Path) -> None:
    two = tmp_path / "profiles.toml"
    two.write_text(
        '[profiles.a]\napi_url = "http://127.0.0.1:1/api"\nissuer = "http://127.0.0.1:1"\nclient_id = "x"\n'
        '[profiles.b]\napi_url = "http://127.0.0.1:1/api"\nissuer = "http://127.0.0.1:1"\nclient_id = "x"\n',
        encoding="utf-8",
    )
    session = start_gui(qapp, config.load(two), install_qt_log=False)
    try:
        qtbot.waitExposed(session.window)
        qtbot.wait(50)  # the dialog would be opened by a zero-delay timer: give it the chance
        assert session.window.dialog("problems") is None
        assert session.window.switcher.combo.placeholderText() == "Choose a profile"
    finally:
        session.shutdown()


def test_shutdown_cancels_view_jobs_and_restores_the_application(
    qtbot: Any, qapp: Any, config_set: config.ConfigSet
) -> None:
    import asyncio

    style_before = qapp.style().name()
    session = start_gui(qapp, config_set, show_problems=False)
    assert qtlog.is_installed()
    page = session.window.current_page()
    assert isinstance(page, QWidget)
    cancelled: list[bool] = []
    started = threading.Event()

    async def view_load() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    job = session.bridge.run(view_load(), on_success=pytest.fail, on_failure=pytest.fail, owner=page)
    thread = session.bridge.loop_thread
    assert thread is not None and thread.is_alive()
    qtbot.waitUntil(started.is_set, timeout=5000)
    session.shutdown()
    assert not shiboken6.isValid(session.window)
    assert job.state == "cancelled" and cancelled == [True]
    assert not thread.is_alive()
    assert not qtlog.is_installed()
    assert qapp.style().name() == style_before
    session.shutdown()  # idempotent


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_closes_the_window_in_order(qtbot: Any, qapp: Any, config_set: config.ConfigSet) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    session = start_gui(qapp, config_set, install_qt_log=False, show_problems=False)
    restore = _quit_on_signals(QApplication.instance(), session.window)  # type: ignore[arg-type]
    try:
        qtbot.waitExposed(session.window)
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not session.window.isVisible(), timeout=5000)
    finally:
        restore()
        session.shutdown()
    assert signal.getsignal(signal.SIGTERM) == previous


SIGNAL_CHILD = """\
import os, signal, sys
from PySide6.QtCore import QTimer
from opsconsole import config
from opsconsole.ui.shell import app as ui_app

when = sys.argv[2]
if when == "first-pass":  # during the event loop's first pass, before it is idle
    start_gui = ui_app.start_gui
    def start(*args, **kwargs):
        session = start_gui(*args, **kwargs)
        QTimer.singleShot(0, lambda: os.kill(os.getpid(), signal.SIGINT))
        return session
    ui_app.start_gui = start
else:  # once run_gui has installed its handlers at the first idle
    quit_on_signals = ui_app._quit_on_signals
    def installed(app, window):
        restore = quit_on_signals(app, window)
        QTimer.singleShot(50, lambda: os.kill(os.getpid(), getattr(signal, when)))
        return restore
    ui_app._quit_on_signals = installed
sys.exit(ui_app.run_gui(config.load(sys.argv[1])))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("when", ["first-pass", "SIGINT", "SIGTERM"])
def test_signals_during_and_after_start_up(tmp_path: Path, profiles_file: Path, when: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_CHILD, str(profiles_file), when], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    ini = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "ui-state.ini"
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr
    if when == "first-pass":  # nothing to save yet: the default action, at once
        assert proc.returncode == -signal.SIGINT, proc.stderr
        assert not ini.exists()
    else:  # the window is closed like File > Quit: state saved, clean exit
        assert proc.returncode == 0, proc.stderr
        assert ini.is_file()


def test_the_gui_hands_the_interpreter_lock_round_often_and_puts_it_back(qapp: Any) -> None:
    # A busy bridge thread (a notification flood) must not make every repaint wait 5 ms per Python call.
    import sys

    from opsconsole.config import ConfigSet
    from opsconsole.ui.shell.app import GUI_SWITCH_INTERVAL, start_gui

    before = sys.getswitchinterval()
    session = start_gui(qapp, ConfigSet(), install_qt_log=False, show_problems=False)
    try:
        assert sys.getswitchinterval() == pytest.approx(GUI_SWITCH_INTERVAL)
    finally:
        session.shutdown()
    assert sys.getswitchinterval() == pytest.approx(before)
