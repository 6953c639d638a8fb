"""The main window: the shell every feature's page lives in.

Layout: menu bar and a toolbar with the profile switcher; the environment band (red for production,
amber for staging) across the top; the navigation rail on the left; the current page in the middle and
a detail panel on the right, in a splitter; the status bar below. With no profile configured at all,
a welcome page takes the place of the workspace.

Pages get what they need from :attr:`MainWindow.context` (context.py), never from the window. What
the shell itself offers the sign-in coordinator and the application: ``current_profile`` and
``profileChanged(str)``, ``set_gate`` (a full-window page such as sign-in, shown instead of the
workspace), ``set_sign_in_state``/``set_live_state`` (status bar), ``actions.sign_out`` and
``clear_views`` (what signing out does: every built page and the detail panel are dropped).

Keyboard: Ctrl+1..5 pages, Ctrl+F find in the page (when the page has ``focus_find``), F1 About,
Ctrl+Q quit, Alt+P the profile switcher; every focusable control has an accessible name. Window
geometry, splitter sizes and the current page are kept between runs (window_state.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...config import ConfigError, ConfigSet, Profile
from . import window_state
from .actions import build_actions, build_menus
from .bridge import AsyncBridge
from .context import Demo, PageContext
from .pages import PAGES, PageSpec
from .panels import DetailPanel, EnvironmentBand
from .profile_switcher import ProfileSwitcher
from .rail import NavRail
from .status_bar import ShellStatusBar

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QDialog

DEFAULT_SIZE = QSize(1200, 760)
DETAIL_WIDTH = 340


class MainWindow(QMainWindow):
    profileChanged = Signal(str)
    """The user (or code) switched to another profile; the argument is its name."""

    pageChanged = Signal(str)
    """Another page is shown; the argument is its key (``PageSpec.key``)."""

    def __init__(
        self,
        config: ConfigSet,
        *,
        bridge: AsyncBridge | None = None,
        profile: str | None = None,
        demo: Demo | None = None,
        settings: QSettings | None = None,
        pages: Sequence[PageSpec] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.current_profile: Profile | None = None
        self.profile_error = ""
        self.requested_profile = profile
        self.detail_width = DETAIL_WIDTH
        self._settings = settings
        self._specs = list(PAGES if pages is None else pages)
        self._pages: dict[str, QWidget] = {}
        self._current_key: str | None = None
        self._dialogs: dict[str, QDialog] = {}
        self._constructed = False

        self.setObjectName("mainWindow")
        self.setAccessibleName("Ops Console")
        self.setMinimumSize(760, 480)

        self.status = ShellStatusBar(self)
        self.context = PageContext(
            config,
            bridge=bridge,
            demo=demo,
            show_message=self.status.showMessage,
            show_detail=self.show_detail,
            parent=self,
        )
        self.context.openRequested.connect(self.open_target)
        self.menu_actions = build_actions(self, self._specs)
        self._connect_actions()
        build_menus(self, self.menu_actions)
        self.switcher = ProfileSwitcher(self)
        self.switcher.combo.activated.connect(self._on_profile_activated)
        self.addToolBar(self.switcher)  # the top area
        self._build_body()
        self.setStatusBar(self.status)
        self.status.set_demo(self.is_demo)

        self.switcher.fill(config)
        self._select_initial_profile(profile)
        if not config.names():
            self._show_welcome()
        restored = settings is not None and window_state.restore(self, settings)
        if not restored:
            self.resize(DEFAULT_SIZE)
        self.menu_actions.detail.setChecked(self.detail_visible())
        if self._current_key is None:
            self.show_page(self._specs[0].key)
        self._update_title()
        self._constructed = True

    @property
    def bridge(self) -> AsyncBridge | None:
        return self.context.bridge

    @property
    def is_demo(self) -> bool:
        return self.context.demo is not None

    # -- construction ------------------------------------------------------------------------------

    def _connect_actions(self) -> None:
        actions = self.menu_actions
        actions.quit.triggered.connect(self.close)
        for key, action in actions.pages.items():
            action.triggered.connect(lambda _checked=False, key=key: self.show_page(key))
        actions.find.triggered.connect(self.find_in_page)
        actions.detail.toggled.connect(self.set_detail_visible)
        actions.about.triggered.connect(self.show_about)
        actions.problems.setEnabled(bool(self.config.problems))
        actions.problems.triggered.connect(self.show_config_problems)

    def _build_body(self) -> None:
        self.band = EnvironmentBand()
        self.rail = NavRail(self._specs)
        self.rail.currentRowChanged.connect(self._on_rail_row_changed)
        self.rail.activated.connect(lambda _index: self._focus_page())

        self.stack = QStackedWidget()
        self.stack.setObjectName("pageStack")
        self.stack.setAccessibleName("Page")
        self.detail = DetailPanel()

        self.splitter = QSplitter()  # horizontal
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(True)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)
        self.splitter.setSizes([DEFAULT_SIZE.width() - 200, 0])
        self.splitter.splitterMoved.connect(self._on_splitter_moved)

        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Plain)
        separator.setFixedWidth(1)
        separator.setForegroundRole(QPalette.ColorRole.Mid)

        self.workspace = QWidget()
        self.workspace.setObjectName("workspace")
        row = QHBoxLayout(self.workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.rail)
        row.addWidget(separator)
        row.addWidget(self.splitter, 1)

        self.outer = QStackedWidget()
        self.outer.setObjectName("outerStack")
        self.outer.addWidget(self.workspace)
        self.welcome: QWidget | None = None
        self.gate: QWidget | None = None

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.band)
        column.addWidget(self.outer, 1)
        self.setCentralWidget(central)
        QWidget.setTabOrder(self.switcher.combo, self.rail)

    # -- profiles ----------------------------------------------------------------------------------

    def _select_initial_profile(self, requested: str | None) -> None:
        if not self.config.names():
            self.status.set_profile(None, "No profile is configured")
            return
        try:
            chosen = self.config.resolve(requested)
        except ConfigError as exc:
            # Never fall back to another profile on our own: picking one the user did not ask for could
            # mean operating production by surprise. The switcher asks instead.
            self.profile_error = str(exc)
            if requested is not None:  # asked for by name (--profile): say why it is not in use
                self.menu_actions.problems.setEnabled(True)
            self.switcher.select(None)
            self.status.set_profile(None, self.profile_error)
            self.band.show_profile(None)
            return
        self.set_profile(chosen.name, emit=False)

    def set_profile(self, name: str, *, emit: bool = True) -> bool:
        """Switch to profile ``name``; False (and nothing changes) when it is unknown or unusable."""
        profile = self.config.profiles.get(name)
        if profile is None:
            return False
        self.switcher.select(name)
        if self.current_profile is not None and self.current_profile.name == name:
            return True
        self.current_profile = profile
        self.profile_error = ""
        self.band.show_profile(profile)
        self.status.set_profile(profile)
        self._update_title()
        self.context.set_profile(profile)
        if emit:
            self.profileChanged.emit(name)
        return True

    def _on_profile_activated(self, index: int) -> None:
        name = self.switcher.combo.itemData(index)
        if isinstance(name, str) and not self.set_profile(name):
            # A disabled entry cannot normally be activated; put the switcher back if it was.
            self.switcher.select(self.current_profile.name if self.current_profile else None)

    def _update_title(self) -> None:
        profile = self.current_profile
        if profile is None:
            head = ""
        elif profile.is_production:
            head = f"PRODUCTION - {profile.display_name}"
        else:
            head = profile.display_name
        if self.is_demo:
            head = f"{head} (demo)" if head else "Demo"
        self.setWindowTitle(f"{head} \u2014 Ops Console" if head else "Ops Console")

    # -- pages -------------------------------------------------------------------------------------

    @property
    def page_keys(self) -> list[str]:
        return [spec.key for spec in self._specs]

    @property
    def current_page_key(self) -> str | None:
        return self._current_key

    def page(self, key: str) -> QWidget | None:
        """The page widget for ``key`` if it has been built (pages are built when first shown)."""
        return self._pages.get(key)

    def current_page(self) -> QWidget | None:
        return self._pages.get(self._current_key) if self._current_key else None

    def show_page(self, key: str) -> None:
        spec = next((s for s in self._specs if s.key == key), None)
        if spec is None:
            raise KeyError(f"no page {key!r}; pages: {', '.join(self.page_keys)}")
        page = self._pages.get(key)
        if page is None:
            page = spec.build(self.context)
            self._pages[key] = page
            self.stack.addWidget(page)
            # Rail, then the page; detail-panel content comes after (it is added later, at the end).
            self._stitch_tab_order(self.rail, page)
        self.stack.setCurrentWidget(page)
        row = self.rail.row_of(key)
        if self.rail.currentRow() != row:
            self.rail.setCurrentRow(row)
        self.menu_actions.pages[key].setChecked(True)
        if key != self._current_key:
            self._current_key = key
            self.pageChanged.emit(key)

    def open_target(self, key: str, target: str) -> None:
        """Show page ``key`` and hand it ``target`` to open (its ``open_target``), if it can."""
        self.show_page(key)
        page = self.page(key)
        opener = getattr(page, "open_target", None)
        if callable(opener):
            opener(target)
        else:
            self.status.showMessage(f"The {key} page cannot open {target} yet", 5000)

    def clear_views(self) -> None:
        """Drop every built page and the detail panel's content (signing out: nothing of the previous
        user stays on screen); the current page is built afresh."""
        self.show_detail(None)
        for page in self._pages.values():
            self.stack.removeWidget(page)
            page.deleteLater()  # its jobs are cancelled as their owner goes (bridge.py)
        self._pages.clear()
        current, self._current_key = self._current_key, None
        if current is not None:
            self.show_page(current)

    def _on_rail_row_changed(self, row: int) -> None:
        key = self.rail.key_at(row)
        if key is not None:
            self.show_page(key)

    def _focus_page(self) -> None:
        page = self.current_page()
        if page is None:
            return
        target = page.focusProxy() or next(iter(_tab_block(page)), None)
        if target is not None:
            from PySide6.QtCore import Qt

            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def find_in_page(self) -> None:
        # Duck-typed (see pages.Findable): a view opts in by defining focus_find().
        focus_find = getattr(self.current_page(), "focus_find", None)
        if callable(focus_find):
            focus_find()
            return
        title = next((s.title for s in self._specs if s.key == self._current_key), "This page")
        self.status.showMessage(f"{title}: nothing to search on this page yet", 4000)

    def set_gate(self, widget: QWidget | None) -> None:
        """Show ``widget`` across the whole window instead of the workspace (e.g. sign-in); None: back."""
        if self.gate is not None and self.gate is not widget:
            self.outer.removeWidget(self.gate)
            self.gate.deleteLater()
            self.gate = None
        if widget is None:
            back = self.welcome if self.welcome is not None and self._welcome_active() else self.workspace
            self.outer.setCurrentWidget(back)
            return
        self.gate = widget
        self.outer.addWidget(widget)
        self.outer.setCurrentWidget(widget)

    def _welcome_active(self) -> bool:
        return self.welcome is not None and not self.config.names()

    def _show_welcome(self) -> None:
        from .welcome import WelcomePage

        self.welcome = WelcomePage()
        self.outer.addWidget(self.welcome)
        self.outer.setCurrentWidget(self.welcome)
        for action in (*self.menu_actions.pages.values(), self.menu_actions.find, self.menu_actions.detail):
            action.setEnabled(False)
        self._stitch_tab_order(self.switcher.combo, self.welcome)

    # -- detail panel ------------------------------------------------------------------------------

    def show_detail(self, widget: QWidget | None, title: str = "Details") -> None:
        """Put ``widget`` in the detail panel and open it; None empties it and closes the panel."""
        self.detail.set_content(widget, title)
        self.set_detail_visible(widget is not None)

    def detail_visible(self) -> bool:
        return self.splitter.sizes()[1] > 0

    def set_detail_visible(self, visible: bool) -> None:
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if visible and sizes[1] == 0:
            width = min(self.detail_width, max(total // 2, 1))
            self.splitter.setSizes([max(total - width, 1), width])
        elif not visible and sizes[1] > 0:
            self.detail_width = sizes[1]
            self.splitter.setSizes([total, 0])
        if self.menu_actions.detail.isChecked() != visible:
            self.menu_actions.detail.setChecked(visible)

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        sizes = self.splitter.sizes()
        if sizes[1] > 0:
            self.detail_width = sizes[1]
        self.menu_actions.detail.setChecked(sizes[1] > 0)

    # -- status bar (for later features) -----------------------------------------------------------

    def set_sign_in_state(self, text: str, tooltip: str = "") -> None:
        self.status.set_sign_in_state(text, tooltip)

    def set_live_state(self, state: str, tooltip: str = "", text: str | None = None) -> None:
        self.status.set_live_state(state, tooltip, text)

    # -- dialogs -----------------------------------------------------------------------------------

    def show_about(self) -> QDialog:
        from .about import AboutDialog

        return self._open_dialog("about", lambda: AboutDialog(self.config, self))

    def show_config_problems(self) -> QDialog | None:
        """The problems dialog: the configuration's problems and, when a profile was asked for by name
        and cannot be used, why. None when there is nothing to report."""
        headline = self.requested_profile_problem()
        if not self.config.problems and not headline:
            return None
        from .problems import ProblemsDialog

        return self._open_dialog(
            "problems", lambda: ProblemsDialog(self.config.problems, self, headline=headline)
        )

    def requested_profile_problem(self) -> str:
        """Why the profile asked for by name (``--profile``) is not in use; empty when it is."""
        if self.requested_profile is None or not self.profile_error:
            return ""
        return self.profile_error.splitlines()[0]

    def dialog(self, name: str) -> QDialog | None:
        return self._dialogs.get(name)

    def _open_dialog(self, name: str, factory: Callable[[], QDialog]) -> QDialog:
        dialog = self._dialogs.get(name)
        if dialog is None:
            dialog = factory()
            self._dialogs[name] = dialog
        # open(): window-modal and non-blocking, so the event loop (and the bridge's deliveries) go on.
        dialog.open()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # -- keyboard ----------------------------------------------------------------------------------

    def _stitch_tab_order(self, anchor: QWidget, block: QWidget) -> None:
        """Put the widgets of ``block`` right after ``anchor`` in the Tab order, keeping their own order.

        A widget added to the window joins the focus chain at its end as one contiguous run (Qt moves a
        reparented widget's subtree as a block), so only that run is walked, not the whole window.

        Nothing to do while the window is being constructed: the only widgets with Tab focus so far
        are the profile switcher and the rail, ahead of anything added now, so the chain is already in
        order (and reading focus policies would touch ``Qt`` before the first paint, see qtprops.py).
        """
        if not self._constructed:
            return
        previous = anchor
        for widget in _tab_block(block):
            QWidget.setTabOrder(previous, widget)
            previous = widget

    # -- state -------------------------------------------------------------------------------------

    def save_state(self) -> None:
        if self._settings is not None:
            window_state.save(self, self._settings)

    # -- events ------------------------------------------------------------------------------------

    def refresh_colors(self) -> None:
        """Re-colour what the palette does not reach (rail, band, status dots): call on a scheme change.

        Connected to the theme's schemeChanged by start_gui, rather than handled in changeEvent: a
        Python changeEvent would run for every change event of the window, from the first one on.
        """
        self.rail.refresh_style()
        self.band.refresh_colors()
        self.status.refresh_colors()
        for key in self.page_keys:  # pages with colours of their own (banners, charts) follow too
            refresh = getattr(self.page(key), "refresh_colors", None)
            if callable(refresh):
                refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        for dialog in self._dialogs.values():
            dialog.close()
        super().closeEvent(event)


def _tab_block(root: QWidget) -> list[QWidget]:
    """The Tab-reachable widgets of ``root``'s contiguous run in the focus chain, in chain order."""
    from PySide6.QtCore import Qt

    found: list[QWidget] = []
    if root.focusPolicy() & Qt.FocusPolicy.TabFocus and root.focusProxy() is None:
        found.append(root)
    widget = root.nextInFocusChain()
    while widget is not None and widget is not root and root.isAncestorOf(widget):
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.focusProxy() is None:
            found.append(widget)
        widget = widget.nextInFocusChain()
    return found
