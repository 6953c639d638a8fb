"""The main window: the shell every feature's view lives in.

Layout: menu bar and a toolbar with the profile switcher; the environment band (red for production,
amber for staging) across the top; the navigation rail on the left; the current page in the middle and
a detail panel on the right, in a splitter; the status bar below. With no profile configured at all,
a welcome page takes the place of the workspace.

What later features use: ``current_profile`` and ``profileChanged(str)``, ``set_sign_in_state`` and
``set_live_state`` (status bar), ``show_detail`` (detail panel), ``set_gate`` (a full-window page such
as sign-in, shown instead of the workspace), ``bridge`` (background work), ``demo_accounts`` and
``demo_password`` (the demo's sign-in page), ``sign_in`` (the ``signin.coordinator.SignInCoordinator`` that
``app.start_gui`` attaches: ``sign_in.session.client()`` for an authorized HTTP client,
``sign_in.scopes.require(action, "write:users")`` to gate an action on a scope) and ``clear_views``
(what signing out does: every built page and the detail panel are dropped).

Keyboard: Ctrl+1..5 pages, Ctrl+F find in the page (when the page has ``focus_find``), F1 About,
Ctrl+Q quit, Alt+P the profile switcher; every focusable control has an accessible name. Window
geometry, splitter sizes and the current page are kept in an INI file in the user config folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, QSize, Signal
from PySide6.QtGui import QAction, QActionGroup, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ... import paths
from ...config import ConfigError, ConfigSet, Profile
from .bridge import AsyncBridge
from .pages import PAGES, PageContext, PageSpec
from .palette import shell_colors
from .qtprops import TOOLTIP_ROLE, set_enum_property, set_shortcut
from .rail import NavRail
from .status_bar import ShellStatusBar

if TYPE_CHECKING:  # (importing a Qt class from Python builds it and its enums: start-up time)
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QDialog

    from ..signin.coordinator import SignInCoordinator

SETTINGS_FILE = "ui-state.ini"
DEFAULT_SIZE = QSize(1200, 760)
DETAIL_WIDTH = 340


def ui_settings() -> QSettings:
    """The window-state store: an INI file in the user config folder (never the registry or the
    platform default location), so tests isolate it with XDG_CONFIG_HOME and users can delete it."""
    return QSettings(str(paths.user_config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


class EnvironmentBand(QLabel):
    """The strip across the top that makes a production (red) or staging (amber) profile unmistakable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("environmentBand")
        set_enum_property(self, "alignment", "AlignCenter")  # a QLabel takes no focus by default
        self.environment: str | None = None
        self.hide()

    def show_profile(self, profile: Profile | None) -> None:
        self.environment = profile.environment if profile is not None else None
        if profile is None or profile.environment == "development":
            self.hide()
            self.setAccessibleName("")
            return
        word = profile.environment.upper()
        self.setText(f"{word} - {profile.display_name}")
        self.setAccessibleName(f"{profile.environment.capitalize()} environment: {profile.display_name}")
        self.setToolTip(
            "This profile operates the production system: changes affect real users."
            if profile.is_production
            else "This profile operates a shared staging system."
        )
        self.refresh_colors()
        self.show()

    def refresh_colors(self) -> None:
        colors = shell_colors()
        if self.environment == "production":
            background, text = colors.production_band, colors.production_text
        else:
            background, text = colors.staging_band, colors.staging_text
        # A style sheet rather than a palette: the band must keep its colours whatever the scheme.
        self.setStyleSheet(
            f"QLabel#environmentBand {{ background: {background}; color: {text}; font-weight: bold;"
            " letter-spacing: 0.6px; padding: 6px 8px; }"
        )


class DetailPanel(QFrame):
    """The right-hand panel: details of what is selected in the page. Collapsed until used."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.setAccessibleName("Details")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(0)
        self.title = QLabel("<b>Details</b>")
        self.title.setObjectName("detailTitle")
        self.empty = QLabel("Select an item to see its details here.")
        self.empty.setWordWrap(True)
        self.empty.setObjectName("detailEmpty")
        self.content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(14, 14, 14, 14)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def set_content(self, widget: QWidget | None, title: str = "Details") -> None:
        if self.content is not None:
            self._layout.removeWidget(self.content)
            self.content.deleteLater()
            self.content = None
        self.title.setText(f"<b>{_escape(title or 'Details')}</b>")
        self.empty.setVisible(widget is None)
        if widget is not None:
            self.content = widget
            self._layout.insertWidget(2, widget, 1)


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
        demo_accounts: Sequence[tuple[str, str]] | None = None,
        demo_password: str | None = None,
        settings: QSettings | None = None,
        pages: Sequence[PageSpec] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.bridge = bridge
        self.demo_accounts: list[tuple[str, str]] | None = (
            list(demo_accounts) if demo_accounts is not None else None
        )
        self.demo_password = demo_password
        self.is_demo = demo_accounts is not None or demo_password is not None
        self.current_profile: Profile | None = None
        self.sign_in: SignInCoordinator | None = None  # attached by app.start_gui
        self.profile_error = ""
        self.requested_profile = profile
        self._settings = settings
        self._specs = list(PAGES if pages is None else pages)
        self._pages: dict[str, QWidget] = {}
        self._current_key: str | None = None
        self._detail_width = DETAIL_WIDTH
        self._dialogs: dict[str, QDialog] = {}
        self._constructed = False

        self.setObjectName("mainWindow")
        self.setAccessibleName("Ops Console")
        self.setMinimumSize(760, 480)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_body()
        self.status = ShellStatusBar(self)
        self.setStatusBar(self.status)
        self.status.set_demo(self.is_demo)

        self._fill_profile_switcher()
        self._select_initial_profile(profile)
        if not self.config.names():
            self._show_welcome()
        self._restore_state()
        if self._current_key is None:
            self.show_page(self._specs[0].key)
        self._update_title()
        self._constructed = True

    # -- construction ------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.quit_action = QAction("&Quit", self)
        set_shortcut(self.quit_action, "Ctrl+Q")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)

        self.page_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for number, spec in enumerate(self._specs, start=1):
            action = QAction(spec.title, self)
            action.setCheckable(True)
            action.setData(spec.key)
            if number <= 9:
                set_shortcut(action, f"Ctrl+{number}")
            action.triggered.connect(lambda _checked=False, key=spec.key: self.show_page(key))
            group.addAction(action)
            self.page_actions[spec.key] = action

        self.find_action = QAction("&Find in Page", self)
        set_shortcut(self.find_action, "Ctrl+F")
        self.find_action.triggered.connect(self.find_in_page)

        self.detail_action = QAction("&Details Panel", self)
        self.detail_action.setCheckable(True)
        set_shortcut(self.detail_action, "Ctrl+D")
        self.detail_action.toggled.connect(self.set_detail_visible)

        self.about_action = QAction("&About Ops Console", self)
        set_shortcut(self.about_action, "F1")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

        # Enabled and connected by the sign-in coordinator (signin/coordinator.py) while someone is signed in.
        self.sign_out_action = QAction("Sign &Out", self)
        self.sign_out_action.setEnabled(False)

        self.problems_action = QAction("Configuration &Problems\u2026", self)
        self.problems_action.setEnabled(bool(self.config.problems))
        self.problems_action.triggered.connect(self.show_config_problems)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        bar.setAccessibleName("Menu bar")
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = bar.addMenu("&View")
        for action in self.page_actions.values():
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.find_action)
        view_menu.addAction(self.detail_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.problems_action)

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Profile", self)
        self.toolbar.setObjectName("profileToolbar")
        self.toolbar.setAccessibleName("Profile toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setFloatable(False)
        self.toolbar.toggleViewAction().setVisible(False)
        self.addToolBar(self.toolbar)  # the top area

        label = QLabel("&Profile:")
        label.setContentsMargins(6, 0, 4, 0)
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profileSwitcher")
        self.profile_combo.setAccessibleName("Profile")
        self.profile_combo.setAccessibleDescription("The environment the console operates")
        self.profile_combo.setToolTip("The environment the console operates")
        self.profile_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.profile_combo.setMinimumContentsLength(18)
        self.profile_combo.activated.connect(self._on_profile_activated)
        label.setBuddy(self.profile_combo)
        self.toolbar.addWidget(label)
        self.toolbar.addWidget(self.profile_combo)

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
        QWidget.setTabOrder(self.profile_combo, self.rail)

    # -- profiles ----------------------------------------------------------------------------------

    def _fill_profile_switcher(self) -> None:
        combo = self.profile_combo
        combo.clear()
        for name in self.config.names():
            profile = self.config.profiles.get(name)
            if profile is not None:
                combo.addItem(f"{profile.display_name} \u00b7 {profile.environment}", name)
                combo.setItemData(
                    combo.count() - 1,
                    f"{name}: {profile.environment}, {profile.api_url}",
                    TOOLTIP_ROLE,
                )
                continue
            combo.addItem(f"{name} \u00b7 unavailable", name)
            index = combo.count() - 1
            reasons = [str(p) for p in self.config.errors if p.profile == name] or [
                str(p) for p in self.config.errors if p.profile is None
            ]
            combo.setItemData(
                index,
                "Cannot be used:\n" + "\n".join(reasons or ["the profile is invalid"]),
                TOOLTIP_ROLE,
            )
            model = combo.model()
            item = model.item(index) if hasattr(model, "item") else None
            if item is not None:
                item.setEnabled(False)
        if not self.config.names():
            combo.setPlaceholderText("No profiles")
            combo.setEnabled(False)
        else:
            combo.setPlaceholderText("Choose a profile")

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
                self.problems_action.setEnabled(True)
            self.profile_combo.setCurrentIndex(-1)
            self.status.set_profile(None, self.profile_error)
            self.band.show_profile(None)
            return
        self.set_profile(chosen.name, emit=False)

    def set_profile(self, name: str, *, emit: bool = True) -> bool:
        """Switch to profile ``name``; False (and nothing changes) when it is unknown or unusable."""
        profile = self.config.profiles.get(name)
        if profile is None:
            return False
        index = self.profile_combo.findData(name)
        if index >= 0 and self.profile_combo.currentIndex() != index:
            self.profile_combo.setCurrentIndex(index)
        if self.current_profile is not None and self.current_profile.name == name:
            return True
        self.current_profile = profile
        self.profile_error = ""
        self.band.show_profile(profile)
        self.status.set_profile(profile)
        self._update_title()
        if emit:
            self.profileChanged.emit(name)
        return True

    def _on_profile_activated(self, index: int) -> None:
        name = self.profile_combo.itemData(index)
        if isinstance(name, str) and not self.set_profile(name):
            # A disabled entry cannot normally be activated; put the switcher back if it was.
            current = self.current_profile.name if self.current_profile else None
            self.profile_combo.setCurrentIndex(self.profile_combo.findData(current) if current else -1)

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
            page = spec.build(PageContext(window=self, bridge=self.bridge, config=self.config))
            self._pages[key] = page
            self.stack.addWidget(page)
            # Rail, then the page; detail-panel content comes after (it is added later, at the end).
            self._stitch_tab_order(self.rail, page)
        self.stack.setCurrentWidget(page)
        row = self.rail.row_of(key)
        if self.rail.currentRow() != row:
            self.rail.setCurrentRow(row)
        self.page_actions[key].setChecked(True)
        if key != self._current_key:
            self._current_key = key
            self.pageChanged.emit(key)

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
        for action in (*self.page_actions.values(), self.find_action, self.detail_action):
            action.setEnabled(False)
        self._stitch_tab_order(self.profile_combo, self.welcome)

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
            width = min(self._detail_width, max(total // 2, 1))
            self.splitter.setSizes([max(total - width, 1), width])
        elif not visible and sizes[1] > 0:
            self._detail_width = sizes[1]
            self.splitter.setSizes([total, 0])
        if self.detail_action.isChecked() != visible:
            self.detail_action.setChecked(visible)

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        sizes = self.splitter.sizes()
        if sizes[1] > 0:
            self._detail_width = sizes[1]
        self.detail_action.setChecked(sizes[1] > 0)

    # -- status bar (for later features) -----------------------------------------------------------

    def set_sign_in_state(self, text: str, tooltip: str = "") -> None:
        self.status.set_sign_in_state(text, tooltip)

    def set_live_state(self, state: str, tooltip: str = "") -> None:
        self.status.set_live_state(state, tooltip)

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

    def _restore_state(self) -> None:
        settings = self._settings
        restored = False
        if settings is not None:
            geometry = settings.value("window/geometry")
            if isinstance(geometry, QByteArray) and not geometry.isEmpty():
                restored = self.restoreGeometry(geometry)
            state = settings.value("window/state")
            if isinstance(state, QByteArray) and not state.isEmpty():
                self.restoreState(state)
            splitter = settings.value("window/splitter")
            if isinstance(splitter, QByteArray) and not splitter.isEmpty():
                self.splitter.restoreState(splitter)
            width = settings.value("window/detail_width")
            try:
                self._detail_width = max(120, int(str(width))) if width is not None else DETAIL_WIDTH
            except ValueError:
                self._detail_width = DETAIL_WIDTH
            page = settings.value("window/page")
            if isinstance(page, str) and page in self.page_keys:
                self.show_page(page)
        if not restored:
            self.resize(DEFAULT_SIZE)
        self.detail_action.setChecked(self.detail_visible())

    def save_state(self) -> None:
        settings = self._settings
        if settings is None:
            return
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/detail_width", self._detail_width)
        if self._current_key is not None:
            settings.setValue("window/page", self._current_key)
        settings.sync()

    # -- events ------------------------------------------------------------------------------------

    def refresh_colors(self) -> None:
        """Re-colour what the palette does not reach (rail, band, status dots): call on a scheme change.

        Connected to the theme's schemeChanged by start_gui, rather than handled in changeEvent: a
        Python changeEvent would run for every change event of the window, from the first one on.
        """
        self.rail.refresh_style()
        self.band.refresh_colors()
        self.status.refresh_colors()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        for dialog in self._dialogs.values():
            dialog.close()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
