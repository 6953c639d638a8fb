"""Starting and stopping the desktop console: the QApplication, the bridge, the window, in order.

``run_gui`` is what ``opsconsole gui`` and ``opsconsole demo`` call. It is split in two so tests (and
the self-test) can drive the same code inside an existing QApplication: ``start_gui`` builds and
shows everything and returns a :class:`GuiSession`; ``GuiSession.shutdown`` takes it down in order:
stall probe, window (its views' jobs are cancelled as they are destroyed), bridge (remaining tasks
cancelled and cleaned up, loop closed, thread joined), theme, Qt message handler last so Qt's shutdown
messages are still logged.

Environment variables:
- ``OPSCONSOLE_THEME=light|dark``: force a colour scheme (see palette.py);
- ``OPSCONSOLE_STALL_PROBE=1`` (and ``OPSCONSOLE_STALL_PROBE_FILE``): the GUI stall probe;
- ``OPSCONSOLE_EXIT_WHEN_IDLE=1``: once the window is shown and the event loop first goes idle, print
  one JSON line to stdout (``{"event": "idle", "time": ..., "peak_rss_mib": ...}``) and quit. The
  startup benchmark and smoke tests use it to run the real entry point end to end.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QAbstractEventDispatcher, QSettings, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ... import APP_ID, APP_NAME, __version__
from ...config import ConfigSet
from . import qtlog
from .assets import ResourceError, app_icon
from .bridge import AsyncBridge
from .context import Demo
from .idle import call_when_idle
from .main_window import MainWindow
from .palette import ThemeController, scheme_override
from .window_state import ui_settings

if TYPE_CHECKING:
    from ..signin.coordinator import SignInCoordinator
    from .stall_probe import StallProbe

log = logging.getLogger("opsconsole.ui")

ENV_EXIT_WHEN_IDLE = "OPSCONSOLE_EXIT_WHEN_IDLE"
# Heavy modules that wait for the first idle (docs/architecture.md, "Start-up"); the idle report
# lists those imported anyway.
HEAVY_IMPORTS = ("asyncio", "httpx", "keyring", "PySide6.QtSvg", "pyqtgraph")
_FUSION_APP: list[QApplication] = []  # the application ensure_application created with -style Fusion


def ensure_application(argv: Sequence[str] | None = None) -> QApplication:
    """The process's QApplication, created with the console's identity if there is none yet."""
    existing = QApplication.instance()
    if existing is not None:
        if not isinstance(existing, QApplication):
            raise RuntimeError(
                "a QCoreApplication/QGuiApplication exists already; the console needs QApplication"
            )
        return existing
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    # Wayland uses this as the app id and desktops match it to the .desktop file and its icon.
    QGuiApplication.setDesktopFileName(APP_ID)
    arguments = list(argv) if argv is not None else sys.argv[:1]
    # Fusion through the command line rather than app.setStyle(): the same result, without building
    # Python wrappers for QStyle at startup (about 15 ms). A -style given by the user still wins.
    fusion = not any(a == "-style" or a.startswith(("-style=", "--style")) for a in arguments[1:])
    if fusion:
        arguments[1:1] = ["-style", "Fusion"]
    app = QApplication(arguments)
    if fusion:
        _FUSION_APP[:] = [app]
    return app


def set_window_icon(app: QApplication) -> None:
    """Give the application its icon unless it has one. start_gui calls it once the window is painted:
    the icon is for the title bar and task switcher, and loading Qt's SVG support costs start-up time."""
    if not app.windowIcon().isNull():
        return
    try:
        app.setWindowIcon(app_icon())
    except ResourceError as exc:  # a broken installation still opens; the self-test reports it
        log.error("%s", exc)


class GuiSession:
    """Everything ``start_gui`` built, and the order to take it down."""

    def __init__(
        self,
        app: QApplication,
        window: MainWindow,
        bridge: AsyncBridge,
        theme: ThemeController,
        probe: StallProbe | None = None,
        installed_qt_log: bool = False,
    ) -> None:
        self.app = app
        self.window = window
        self.bridge = bridge
        self.theme = theme
        self.probe = probe
        self.installed_qt_log = installed_qt_log
        self.sign_in: SignInCoordinator | None = None
        self._cleanups: list[Callable[[], None]] = []
        self._down = False

    def shutdown(self) -> None:
        if self._down:
            return
        self._down = True
        if self.probe is not None:
            from . import stall_probe

            stall_probe.finish()
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception:
                log.exception("shutdown step failed")
        if shiboken6.isValid(self.window):
            if self.window.isVisible():
                self.window.close()
            # Deleted now, while the bridge still runs: views' jobs are cancelled as their owners go.
            shiboken6.delete(self.window)
        self.bridge.shutdown()
        if shiboken6.isValid(self.bridge):
            shiboken6.delete(self.bridge)
        self.theme.close()
        if self.installed_qt_log:
            qtlog.uninstall()


def start_gui(
    app: QApplication,
    config: ConfigSet,
    *,
    profile: str | None = None,
    demo_accounts: Sequence[tuple[str, str]] | None = None,
    demo_password: str | None = None,
    settings: QSettings | None = None,
    install_qt_log: bool = True,
    show_problems: bool = True,
) -> GuiSession:
    """Build the theme, bridge and window, show the window, schedule the problems dialog."""
    installed = False
    if install_qt_log and not qtlog.is_installed():
        qtlog.install()
        installed = True
    theme = ThemeController(
        app, override=scheme_override(), set_style=not _created_with_fusion(app), settings=settings
    )
    bridge = AsyncBridge()
    # The GUI thread enters Python for every model call while it paints, and each entry waits for the
    # interpreter lock. While the bridge's thread is busy (a flood of notifications: parsing thousands
    # of frames a second) the lock changes hands only every switch interval, 5 ms by default, and a
    # repaint waited for it hundreds of times: GUI stalls of 300 ms. At 0.2 ms the longest stall under
    # a 10,000 events/s flood is ~40 ms, and the reader keeps up (bench/events_gui.py).
    previous_switch = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    demo = None
    if demo_accounts is not None or demo_password is not None:
        demo = Demo(tuple(demo_accounts or ()), demo_password)
    window = MainWindow(config, bridge=bridge, profile=profile, demo=demo, settings=settings)
    theme.schemeChanged.connect(lambda _scheme: window.refresh_colors())
    session = GuiSession(app=app, window=window, bridge=bridge, theme=theme, installed_qt_log=installed)
    session._cleanups.append(lambda: sys.setswitchinterval(previous_switch))
    # Sign-in: the sign-in page for a profile that is not signed in, the user in the status bar, scope
    # gating; it opens the session on the first idle and publishes it to the pages through
    # window.context. The session is closed before the bridge stops (cleanups run first).
    from ..signin.coordinator import SignInCoordinator

    session.sign_in = SignInCoordinator(window)
    session._cleanups.append(session.sign_in.shutdown)
    # The live stream starts when the session opens (after the first idle); the room's status, badge,
    # dock and desktop notifications are in place before that.
    call_when_idle(window, lambda: _install_rooms(window))
    if os.environ.get("OPSCONSOLE_STALL_PROBE"):  # opt-in: the module is not even imported otherwise
        from . import stall_probe

        session.probe = stall_probe.install_from_env(window)
    window.show()
    call_when_idle(window, lambda: set_window_icon(app))
    for problem in config.problems:
        log.log(logging.ERROR if problem.severity == "error" else logging.WARNING, "config: %s", problem)
    if window.requested_profile_problem():
        log.error("%s", window.requested_profile_problem())
    if show_problems and (config.problems or window.requested_profile_problem()):
        # After the window is on screen, so the dialog has a parent to centre on and the user sees both.
        QTimer.singleShot(0, window.show_config_problems)
    return session


GUI_SWITCH_INTERVAL = 0.0002  # seconds; see start_gui


def _install_rooms(window: MainWindow) -> None:
    from ..events import install as install_notifications

    install_notifications(window)


def _created_with_fusion(app: QApplication) -> bool:
    return app is _FUSION_APP[0] if _FUSION_APP else False


def run_gui(
    config: ConfigSet,
    *,
    profile: str | None = None,
    demo_accounts: list[tuple[str, str]] | None = None,
    demo_password: str | None = None,
    argv: list[str] | None = None,
) -> int:
    """The desktop console: returns the exit code when its window has closed and all is shut down."""
    app = ensure_application(argv)
    session = start_gui(
        app,
        config,
        profile=profile,
        demo_accounts=demo_accounts,
        demo_password=demo_password,
        settings=ui_settings(),
    )
    previous_hook = sys.excepthook
    sys.excepthook = _log_uncaught
    session._cleanups.append(lambda: setattr(sys, "excepthook", previous_hook))
    # SIGINT/SIGTERM close the window in order from the first idle on. Before that there is nothing to
    # save and both end the process the default way: Python's own SIGINT handler would raise
    # KeyboardInterrupt inside a Qt callback, where it is only logged and the console stays open.
    python_sigint = signal.getsignal(signal.SIGINT)
    if python_sigint is not None:  # None: set outside Python, leave it alone
        signal.signal(signal.SIGINT, signal.SIG_DFL)

        def restore_sigint() -> None:
            signal.signal(signal.SIGINT, python_sigint)

        session._cleanups.append(restore_sigint)
    call_when_idle(session.window, lambda: session._cleanups.append(_quit_on_signals(app, session.window)))
    if os.environ.get(ENV_EXIT_WHEN_IDLE, "").strip() in ("1", "true", "yes"):
        _exit_when_idle(session)
    try:
        code = app.exec()
    finally:
        session.shutdown()
    log.info("the console exited with code %d", code)
    return int(code)


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    # Exceptions raised in slots land here (PySide6 reports them through sys.excepthook); in a GUI
    # started from a desktop entry stderr goes nowhere, so they must reach the log file.
    log.error("uncaught exception in the GUI", exc_info=(kind, value, traceback))


def _quit_on_signals(app: QApplication, window: MainWindow) -> Callable[[], None]:
    """SIGINT/SIGTERM close the window like File > Quit (state saved, work cancelled, loop closed).

    Python runs signal handlers only between bytecodes, which never happens while Qt's loop waits;
    ``signal.set_wakeup_fd`` writes to a pipe that Qt watches, so Qt wakes and Python gets its turn.
    """
    if sys.platform == "win32":  # no wakeup-fd integration with Qt there; Ctrl+C ends the process
        return lambda: None
    from PySide6.QtCore import QSocketNotifier

    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    os.set_blocking(writer, False)
    notifier = QSocketNotifier(reader, QSocketNotifier.Type.Read, app)

    def drain() -> None:
        try:
            while os.read(reader, 64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    notifier.activated.connect(drain)

    def handle(signum: int, _frame: object) -> None:
        # A second Ctrl+C (or TERM) while shutting down ends the process the default way.
        signal.signal(signum, signal.SIG_DFL)
        log.info("received signal %d: closing", signum)
        QTimer.singleShot(0, window.close)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_fd = signal.set_wakeup_fd(writer, warn_on_full_buffer=False)

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        notifier.setEnabled(False)
        notifier.deleteLater()
        os.close(reader)
        os.close(writer)

    return restore


def _exit_when_idle(session: GuiSession) -> None:
    """Quit once the window is shown and the event loop is about to wait for the first time.

    ``aboutToBlock`` is emitted when the loop has nothing left to do: the window has been laid out and
    painted and every timer due so far has run. The figures go to stdout as one JSON line.
    """
    dispatcher = QAbstractEventDispatcher.instance()
    if dispatcher is None:
        raise RuntimeError("no event dispatcher: create the QApplication first")
    done: list[bool] = []

    def on_idle() -> None:
        if done or not session.window.isVisible():
            return
        done.append(True)
        dispatcher.aboutToBlock.disconnect(on_idle)
        report: dict[str, Any] = {
            "event": "idle",
            "time": time.time(),
            "platform": QGuiApplication.platformName(),
            "title": session.window.windowTitle(),
            "problems": len(session.window.config.problems),
            **memory_figures(),
        }
        if session.probe is not None:
            report["stall_probe"] = session.probe.report()
        # What the first paint should not have needed (docs/architecture.md, "Start-up").
        report["qt_namespace_loaded"] = "Qt" in vars(sys.modules["PySide6.QtCore"])
        report["heavy_imports"] = [name for name in HEAVY_IMPORTS if name in sys.modules]
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
        session.window.close()
        session.app.quit()

    dispatcher.aboutToBlock.connect(on_idle)


def memory_figures() -> dict[str, float]:
    """Peak and current resident memory of this process in MiB (Linux /proc; empty elsewhere)."""
    figures: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    figures["peak_rss_mib" if key == "VmHWM" else "rss_mib"] = round(
                        int(value.split()[0]) / 1024, 1
                    )
    except OSError:
        pass
    return figures
