"""Fixtures for the Qt tests: offscreen Qt and no leftovers (tests/conftest.py isolates the home).

Every test here fails if it leaves behind a running QThread, an active QTimer (including a pending
``QTimer.singleShot``), a visible top-level widget or a running bridge thread, in the style of napari's
conftest: what one test leaves running makes the next one flaky. Qt warnings fail tests too
(``qt_log_level_fail = WARNING`` in pyproject.toml), except the two the offscreen platform emits for
every dialog it shows (it cannot raise windows or pass size hints), which say nothing about our code.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OFFSCREEN_NOISE = (
    re.escape("This plugin does not support propagateSizeHints()"),
    re.escape("This plugin does not support raise()"),
)
HERE = Path(__file__).resolve().parent
BRIDGE_THREAD_PREFIX = "opsconsole-asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (
            HERE in Path(str(item.path)).resolve().parents
            and item.get_closest_marker("qt_log_ignore") is None
        ):
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def _no_theme_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's OPSCONSOLE_THEME must not change what the tests see; tests that want it set it.
    monkeypatch.delenv("OPSCONSOLE_THEME", raising=False)
    monkeypatch.delenv("OPSCONSOLE_STALL_PROBE", raising=False)
    monkeypatch.delenv("OPSCONSOLE_STALL_PROBE_FILE", raising=False)
    monkeypatch.delenv("OPSCONSOLE_EXIT_WHEN_IDLE", raising=False)


def _calling_place(depth: int = 2) -> str:
    frame = traceback.extract_stack(limit=depth + 2)[0]
    return f"{frame.filename}:{frame.lineno}"


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch, qapp: Any, qtbot: Any) -> Iterator[None]:
    from PySide6.QtCore import QThread

    started: WeakKeyDictionary[QThread, str] = WeakKeyDictionary()
    original_start = QThread.start

    def start(self: QThread, *args: Any) -> None:
        started[self] = _calling_place()
        original_start(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    dangling = []
    for thread, place in list(started.items()):
        try:
            if thread.isRunning():
                dangling.append(place)
                thread.quit()
                thread.wait(2000)
        except RuntimeError:  # its C++ object is gone: it is not running
            continue
    if dangling:
        pytest.fail("QThread(s) left running, started at: " + ", ".join(dangling), pytrace=False)


@pytest.fixture(autouse=True)
def _dangling_qtimers(monkeypatch: pytest.MonkeyPatch, qapp: Any) -> Iterator[None]:
    from PySide6.QtCore import QObject, Qt, QTimer

    started: WeakKeyDictionary[QTimer, str] = WeakKeyDictionary()
    single_shots: list[tuple[QTimer, str]] = []
    original_start = QTimer.start
    original_single_shot = QTimer.singleShot

    def start(self: QTimer, *args: Any) -> None:
        started[self] = _calling_place()
        original_start(self, *args)

    def single_shot(msec: int, *args: Any) -> None:
        # Re-created as a tracked QTimer for the forms the project uses; anything else goes to Qt as is.
        rest = list(args)
        timer_type = rest.pop(0) if rest and isinstance(rest[0], Qt.TimerType) else None
        context = rest.pop(0) if len(rest) == 2 and isinstance(rest[0], QObject) else None
        if len(rest) != 1 or not callable(rest[0]):
            original_single_shot(msec, *args)
            return
        callback: Callable[[], Any] = rest[0]
        timer = QTimer(context) if context is not None else QTimer()
        timer.setSingleShot(True)
        if timer_type is not None:
            timer.setTimerType(timer_type)
        timer.timeout.connect(callback)
        single_shots.append((timer, _calling_place()))
        original_start(timer, msec)

    monkeypatch.setattr(QTimer, "start", start)
    monkeypatch.setattr(QTimer, "singleShot", staticmethod(single_shot))
    yield
    dangling = []
    for timer, place in [*started.items(), *single_shots]:
        try:
            if timer.isActive():
                dangling.append(place)
                timer.stop()
        except RuntimeError:  # deleted with its parent: not active
            continue
    single_shots.clear()
    if dangling:
        pytest.fail("QTimer(s) left active, started at: " + ", ".join(dangling), pytrace=False)


@pytest.fixture(autouse=True)
def _dangling_widgets(qapp: Any) -> Iterator[None]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    def visible_windows() -> dict[int, Any]:
        return {
            id(w): w
            for w in QApplication.topLevelWidgets()
            if w.isVisible() and w.windowType() != Qt.WindowType.ToolTip
        }

    before = set(visible_windows())
    yield
    left = [w for key, w in visible_windows().items() if key not in before]
    names = [f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in left]
    for widget in left:
        widget.close()
        widget.deleteLater()
    if left:
        pytest.fail("visible top-level widget(s) left behind: " + ", ".join(names), pytrace=False)


@pytest.fixture(autouse=True)
def _dangling_bridge_threads() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield
    left = [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(BRIDGE_THREAD_PREFIX) and t.ident not in before and t.is_alive()
    ]
    if left:
        pytest.fail(
            "bridge loop thread(s) left running (call bridge.shutdown()): " + ", ".join(left), pytrace=False
        )


PROFILES_TOML = """\
default_profile = "sandbox"

[profiles.sandbox]
label = "Local sandbox"
environment = "development"
api_url = "http://127.0.0.1:8700/api"
issuer = "http://127.0.0.1:8700"
client_id = "opsconsole"

[profiles.prod]
label = "Prod EU"
environment = "production"
api_url = "https://api.eu.example.com/api"
issuer = "https://login.example.com"
client_id = "opsconsole"

[profiles.staging]
label = "Staging"
environment = "staging"
api_url = "https://staging.example.com/api"
issuer = "https://login.example.com"
client_id = "opsconsole"

[profiles.broken]
api_url = "ftp://legacy.example.com"
issuer = "https://login.example.com"
client_id = "opsconsole"
"""


@pytest.fixture
def profiles_file(tmp_path: Path) -> Path:
    """A profile file with a development, a production, a staging and a broken profile."""
    path = tmp_path / "profiles.toml"
    path.write_text(PROFILES_TOML, encoding="utf-8")
    return path


@pytest.fixture
def config_set(profiles_file: Path) -> Any:
    from opsconsole import config

    loaded = config.load(profiles_file)
    assert set(loaded.profiles) == {"sandbox", "prod", "staging"}
    assert loaded.broken_profiles == {"broken"}
    return loaded


@pytest.fixture
def theme(qapp: Any) -> Iterator[Any]:
    """The console's light theme on the test QApplication, put back afterwards."""
    from opsconsole.ui.shell.palette import ThemeController

    controller = ThemeController(qapp, override="light")
    yield controller
    controller.close()
