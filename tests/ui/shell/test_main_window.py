"""The main window shell: navigation, shortcuts, profiles and the production band, status bar,
detail panel, dialogs, remembered state and keyboard accessibility."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QColor, QGuiApplication, QStatusTipEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QVBoxLayout, QWidget

from opsconsole import __version__, config, paths
from opsconsole.ui.shell import window_state
from opsconsole.ui.shell.context import Demo, PageContext
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.ui.shell.pages import PAGES, PageSpec
from opsconsole.ui.shell.welcome import EXAMPLE_PROFILES
from opsconsole.ui.shell.window_state import ui_settings
from tests.ui.shown import shown_text


@pytest.fixture
def make_window(qtbot: Any, theme: Any) -> Iterator[Callable[..., MainWindow]]:
    made: list[MainWindow] = []

    def make(cfg: config.ConfigSet, **kwargs: Any) -> MainWindow:
        window = MainWindow(cfg, **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def activate(qtbot: Any, window: QWidget) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def test_the_rail_lists_the_five_pages_in_order(make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    rail = window.rail
    titles = [rail.item(row).text() for row in range(rail.count())]
    assert titles == ["Users", "Roles", "Notifications", "Metrics", "Traces"]
    assert all(not rail.item(row).icon().isNull() for row in range(rail.count()))
    assert window.current_page_key == "users"
    assert rail.currentRow() == 0


def test_ctrl_1_to_5_switch_pages(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    window.show_page("traces")  # start elsewhere, so every shortcut below changes the page
    for number, key in enumerate(["users", "roles", "notifications", "metrics", "traces"], start=1):
        with qtbot.waitSignal(window.pageChanged, timeout=2000) as changed:
            QTest.keyClick(window, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert changed.args == [key]
        assert window.current_page_key == key
        assert window.stack.currentWidget() is window.page(key)
        assert window.rail.currentRow() == number - 1
        assert window.menu_actions.pages[key].isChecked()


def test_arrow_keys_in_the_rail_switch_pages(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    window.rail.setFocus()
    with qtbot.waitSignal(window.pageChanged, timeout=2000) as changed:
        QTest.keyClick(window.rail, Qt.Key.Key_Down)
    assert changed.args == ["roles"]
    QTest.keyClick(window.rail, Qt.Key.Key_End)
    assert window.current_page_key == "traces"


def test_pages_are_honest_placeholders_built_on_first_show(make_window: Any, config_set: Any) -> None:
    # Every entry as a placeholder, as before its feature's view lands (the traces view has).
    window = make_window(config_set, pages=[dataclasses.replace(spec, create=None) for spec in PAGES])
    assert window.page("traces") is None  # not built until shown
    window.show_page("traces")
    page = window.page("traces")
    assert page is not None
    labels = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "Coming with the \u201cTraces\u201d feature" in labels
    assert page.accessibleName() == "Traces page"


def test_ctrl_f_routes_to_the_page_find(qtbot: Any, make_window: Any, config_set: Any) -> None:
    class SearchablePage(QWidget):
        def __init__(self, context: PageContext) -> None:
            super().__init__()
            self.context = context
            self.search = QLineEdit()
            self.search.setAccessibleName("Search")
            QVBoxLayout(self).addWidget(self.search)

        def focus_find(self) -> None:
            self.search.setFocus()
            self.search.selectAll()

    specs = [
        PageSpec("users", "Users", "users", feature="Users and roles", summary="s", create=SearchablePage)
    ]
    specs += PAGES[1:]
    window = make_window(config_set, pages=specs)
    activate(qtbot, window)
    page = window.page("users")
    assert isinstance(page, SearchablePage)
    assert page.context is window.context and page.context.profile is window.current_profile
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.search.hasFocus, timeout=2000)

    window.show_page("metrics")  # a placeholder: Ctrl+F says there is nothing to search yet
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert "nothing to search" in window.status.currentMessage()
    window.status.clearMessage()


def band_color(window: MainWindow) -> QColor:
    """The band's colour as painted (a corner pixel, away from the text)."""
    image = window.band.grab().toImage()
    return image.pixelColor(2, 2)


def test_production_band_and_profile_switching(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    assert window.current_profile is not None and window.current_profile.name == "sandbox"
    assert not window.band.isVisible()
    assert window.windowTitle() == "Local sandbox \u2014 Ops Console"

    combo = window.switcher.combo
    with qtbot.waitSignal(window.profileChanged, timeout=2000) as changed:
        combo.activated.emit(combo.findData("prod"))  # what a user's pick in the list emits
    assert changed.args == ["prod"]
    assert window.band.isVisible()
    assert window.band.text() == "PRODUCTION - Prod EU"
    background = band_color(window)
    assert background.red() > 150 and background.green() < 80 and background.blue() < 80
    assert window.windowTitle().startswith("PRODUCTION - Prod EU")
    assert window.status.environment.value == "production"
    assert window.status.profile.value == "Prod EU"

    assert window.set_profile("staging") is True
    assert window.band.text() == "STAGING - Staging"
    amber = band_color(window)
    assert amber.red() > 200 and amber.green() > 150 and amber.blue() < 80

    with qtbot.assertNotEmitted(window.profileChanged):
        assert window.set_profile("staging") is True  # already current: no change, no signal
    window.set_profile("sandbox")
    assert not window.band.isVisible()


def test_a_broken_profile_is_listed_as_unavailable(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    combo = window.switcher.combo
    index = combo.findData("broken")
    assert index >= 0
    assert "unavailable" in combo.itemText(index)
    assert not combo.model().item(index).isEnabled()
    tooltip = combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert 'profile "broken"' in tooltip and 'key "api_url"' in tooltip
    with qtbot.assertNotEmitted(window.profileChanged):
        assert window.set_profile("broken") is False
        assert window.set_profile("no-such-profile") is False
    assert window.current_profile is not None and window.current_profile.name == "sandbox"


def test_a_requested_broken_profile_selects_nothing(make_window: Any, config_set: Any) -> None:
    window = make_window(config_set, profile="broken")
    assert window.current_profile is None
    assert window.switcher.combo.currentIndex() == -1
    assert 'Profile "broken" cannot be used' in window.profile_error
    assert window.requested_profile_problem() == 'Profile "broken" cannot be used:'
    assert window.menu_actions.problems.isEnabled()
    assert window.status.profile.value == "none"
    assert "cannot be used" in window.status.profile.toolTip()
    assert not window.band.isVisible()


def test_status_bar_fields_for_later_features(make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    status = window.status
    assert [f.caption for f in status.fields()] == ["Mode", "Profile", "Environment", "Sign-in", "Live"]
    window.set_sign_in_state("admin@sandbox.test, 54 min left", "Access token valid until 14:02")
    assert status.sign_in.accessibleName() == "Sign-in: admin@sandbox.test, 54 min left"
    assert shown_text(status.sign_in.toolTip()) == "Access token valid until 14:02"
    window.set_live_state("live", "Connected to ws://127.0.0.1:8700/ws/notifications")
    assert status.live.accessibleName() == "Live: live"
    assert status.live.dot_role == "ok"
    assert "\u25cf" in status.live.text()
    window.set_live_state("reconnecting", "Retrying in 4 s")
    assert status.live.dot_role == "busy"
    assert not status.demo.isVisible()


LONG_MESSAGE = (
    "The keyring is locked and could not be unlocked (the unlock prompt was dismissed or could not "
    "be shown). Unlock your keyring, then try again."
)


def _message_fits(status: Any) -> bool:
    """The message shown fits between the bar's margin and its first field, on either side."""
    shown = status.currentMessage()
    fields = [f.geometry() for f in status.fields() if f.isVisible()]
    if status.isRightToLeft():
        room = status.width() - 12 - max(g.right() for g in fields)
    else:
        room = min(g.left() for g in fields) - 8
    return bool(shown) and status.fontMetrics().horizontalAdvance(shown) <= room


def _window_900_wide(qtbot: Any, make_window: Any, config_set: Any) -> MainWindow:
    window: MainWindow = make_window(config_set)
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.status.live.geometry().right() > 700)  # laid out at the new width
    return window


def test_a_message_too_long_for_the_status_bar_ends_in_an_ellipsis_and_shows_whole_on_hover(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    window = _window_900_wide(qtbot, make_window, config_set)
    status = window.status
    status.showMessage(LONG_MESSAGE, 5000)
    shown = status.currentMessage()
    assert shown.endswith("\u2026") and LONG_MESSAGE.startswith(shown[:-1])
    assert _message_fits(status) and status.message() == LONG_MESSAGE
    assert shown_text(status.toolTip()) == LONG_MESSAGE
    # Fitted again when the window narrows, and when a field grows while the message shows.
    window.resize(760, 600)
    qtbot.waitUntil(lambda: _message_fits(status) and status.currentMessage() != shown)
    window.set_sign_in_state("administrator@example.com, 54 min left")
    window.set_live_state("reconnecting", text="reconnecting in 7 s")
    qtbot.waitUntil(lambda: _message_fits(status))
    window.resize(1900, 600)  # room again: the whole message
    qtbot.waitUntil(lambda: status.currentMessage() == LONG_MESSAGE and status.toolTip() == "")
    window.resize(900, 600)
    qtbot.waitUntil(lambda: _message_fits(status) and status.toolTip() != "")
    status.clearMessage()
    assert status.toolTip() == "" and status.message() == ""
    status.showMessage("Saved", 5000)
    assert status.currentMessage() == "Saved" and status.toolTip() == ""
    status.clearMessage()  # its timeout stopped with it
    status.showMessage(LONG_MESSAGE)
    status.showMessage("")  # as QStatusBar's: clears
    assert status.currentMessage() == "" and status.message() == "" and status.toolTip() == ""


def test_a_status_bar_message_times_out_with_its_tooltip(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    status = _window_900_wide(qtbot, make_window, config_set).status
    window = status.window()
    status.showMessage(LONG_MESSAGE, 300)
    assert status.toolTip() != ""
    window.resize(880, 600)  # refitting does not restart the timeout
    qtbot.waitUntil(lambda: status.currentMessage() == "" and status.toolTip() == "", timeout=3_000)
    status.showMessage(LONG_MESSAGE)
    QApplication.sendEvent(status, QStatusTipEvent("Open the Metrics page"))  # a status tip, from Qt
    assert status.currentMessage() == "Open the Metrics page" and status.toolTip() == ""


def test_a_message_shown_before_the_window_is_fitted_when_it_shows(qtbot: Any, config_set: Any) -> None:
    window = MainWindow(config_set)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.status.showMessage(LONG_MESSAGE)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: _message_fits(window.status) and window.status.toolTip() != "")
    window.close()


def test_a_right_to_left_status_bar_fits_its_message_on_its_side(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    window = make_window(config_set)
    window.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    window.resize(900, 600)
    status = window.status
    qtbot.waitUntil(lambda: status.live.geometry().left() < 200)  # the fields on the left now
    status.showMessage(LONG_MESSAGE)
    qtbot.waitUntil(lambda: _message_fits(status))
    assert status.currentMessage().endswith("\u2026")


def test_demo_mode_is_indicated_and_keeps_the_accounts(make_window: Any) -> None:
    profile = config.Profile(
        name="demo", label="Demo sandbox", api_url="http://127.0.0.1:1/api", issuer="http://127.0.0.1:1",
        client_id="opsconsole",
    )  # fmt: skip
    accounts = (("admin@sandbox.test", "admin"), ("viewer@sandbox.test", "viewer"))
    demo = Demo(accounts, "sandbox")
    window = make_window(config.ConfigSet.in_memory(profile), demo=demo)
    assert window.is_demo
    assert window.context.demo is demo
    assert window.windowTitle() == "Demo sandbox (demo) \u2014 Ops Console"
    assert window.status.demo.isVisible()


def test_welcome_page_without_any_profile(make_window: Any, tmp_path: Path) -> None:
    window = make_window(config.ConfigSet())
    assert window.welcome is not None
    assert window.outer.currentWidget() is window.welcome
    text = " ".join(label.text() for label in window.welcome.findChildren(QLabel))
    assert str(paths.user_config_file()) in text
    assert "opsconsole demo" in text
    assert not window.switcher.combo.isEnabled()
    assert not window.menu_actions.pages["users"].isEnabled()
    # The example is valid as it stands.
    example = tmp_path / "example.toml"
    example.write_text(EXAMPLE_PROFILES, encoding="utf-8")
    loaded = config.load(example)
    assert loaded.errors == [] and set(loaded.profiles) == {"staging"}


def test_detail_panel_opens_and_closes(make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    assert not window.detail_visible()
    content = QLabel("user 42")
    window.show_detail(content, "User 42")
    assert window.detail_visible()
    assert window.detail.title.text() == "<b>User 42</b>"
    assert window.menu_actions.detail.isChecked()
    window.show_detail(None)
    assert not window.detail_visible()
    assert not window.menu_actions.detail.isChecked()


def test_gate_replaces_the_workspace(make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    gate = QLabel("Sign in to continue")
    window.set_gate(gate)
    assert window.outer.currentWidget() is gate
    window.set_gate(None)
    assert window.outer.currentWidget() is window.workspace


def test_about_dialog_on_f1_with_versions_and_paths(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_F1)
    dialog = window.dialog("about")
    assert dialog is not None
    qtbot.waitExposed(dialog)
    text = dialog.text()  # type: ignore[attr-defined]
    assert f"Ops Console: {__version__}" in text
    assert "PySide6: " in text and "Qt: " in text and "Python: " in text
    assert config_set.files[0] in text
    assert str(paths.user_log_dir()) in text
    assert str(paths.user_cache_dir()) in text and str(paths.user_data_dir()) in text
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert QGuiApplication.clipboard().text() == text
    dialog.close()


def test_file_quit_closes_the_window(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)


def test_window_state_is_remembered_in_the_user_config_folder(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    first = make_window(config_set, settings=ui_settings())
    first.resize(780, 600)  # within the offscreen screen (800x800): restoreGeometry keeps windows on it
    qtbot.waitUntil(lambda: first.splitter.width() < 780, timeout=2000)
    first.show_page("metrics")
    first.show_detail(QLabel("something"), "Something")
    total = sum(first.splitter.sizes())
    first.splitter.setSizes([total - 150, 150])
    detail_width = first.splitter.sizes()[1]
    assert 140 <= detail_width <= 160
    first.close()

    ini = paths.user_config_dir() / window_state.SETTINGS_FILE
    assert ini.is_file()
    stored = QSettings(str(ini), QSettings.Format.IniFormat)
    assert stored.value("window/page") == "metrics"

    second = make_window(config_set, settings=ui_settings())
    # The remembered page comes back once the window has painted (it may be a heavy one).
    qtbot.waitUntil(lambda: second.current_page_key == "metrics", timeout=5000)
    assert (second.width(), second.height()) == (780, 600)
    assert second.detail_visible()
    assert second.splitter.sizes()[1] == detail_width


def test_corrupt_saved_state_is_ignored(make_window: Any, config_set: Any) -> None:
    ini = paths.user_config_dir() / window_state.SETTINGS_FILE
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text("[window]\ngeometry=@ByteArray(garbage)\npage=nonsense\ndetail_width=wide\n")
    window = make_window(config_set, settings=ui_settings())
    assert window.current_page_key == "users"
    assert window.width() >= 760


def focus_chain(start: QWidget) -> list[QWidget]:
    """Every widget Tab can reach from ``start``'s window, in order."""
    seen: list[QWidget] = []
    widget = start.nextInFocusChain()
    for _ in range(5000):
        if widget is start:
            break
        if (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.isVisibleTo(start)
            and widget.isEnabled()
            and widget.focusProxy() is None
        ):
            seen.append(widget)
        widget = widget.nextInFocusChain()
    return seen


def describe(widget: QWidget) -> str:
    return f"{type(widget).__name__}(objectName={widget.objectName()!r})"


@pytest.mark.parametrize("which", ["shell", "welcome", "about", "problems"])
def test_every_focusable_control_has_an_accessible_name(
    qtbot: Any, make_window: Any, config_set: Any, which: str
) -> None:
    if which == "welcome":
        root: QWidget = make_window(config.ConfigSet())
    else:
        window = make_window(config_set)
        for key in window.page_keys:  # build every page, so their controls are in the chain
            window.show_page(key)
        window.show_detail(QLabel("detail"), "Detail")
        root = window
        if which == "about":
            root = window.show_about()
        elif which == "problems":
            dialog = window.show_config_problems()
            assert dialog is not None
            root = dialog
        qtbot.waitExposed(root)
    chain = focus_chain(root)
    assert chain, "nothing is reachable by keyboard"
    unnamed = [describe(w) for w in chain if not w.accessibleName().strip()]
    assert unnamed == [], f"focusable without an accessible name: {unnamed}"
    if which == "shell":
        assert isinstance(root, MainWindow)
        assert chain[:2] == [root.switcher.combo, root.rail], [describe(w) for w in chain]
    if root is not None and which in ("about", "problems"):
        root.close()


def test_tab_moves_from_the_profile_switcher_to_the_rail(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    window.switcher.combo.setFocus()
    qtbot.waitUntil(window.switcher.combo.hasFocus, timeout=2000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.waitUntil(window.rail.hasFocus, timeout=2000)


def test_alt_p_focuses_the_profile_switcher(qtbot: Any, make_window: Any, config_set: Any) -> None:
    window = make_window(config_set)
    activate(qtbot, window)
    window.rail.setFocus()
    QTest.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(window.switcher.combo.hasFocus, timeout=2000)


def test_tab_goes_from_the_rail_into_a_page_built_later(
    qtbot: Any, make_window: Any, config_set: Any
) -> None:
    class FormPage(QWidget):
        def __init__(self, context: PageContext) -> None:
            super().__init__()
            layout = QVBoxLayout(self)
            self.fields = {}
            for name in "abc":
                field = QLineEdit()
                field.setAccessibleName(name)
                layout.addWidget(field)
                self.fields[name] = field
            QWidget.setTabOrder(self.fields["c"], self.fields["b"])  # its own order a, c, b: not the layout's

    specs = [
        *PAGES[:1],
        PageSpec("roles", "Roles", "roles", feature="f", summary="s.", create=FormPage),
        *PAGES[2:],
    ]
    window = make_window(config_set, pages=specs)
    detail_field = QLineEdit()
    detail_field.setAccessibleName("Detail field")
    window.show_detail(detail_field, "Detail")  # detail content exists before the page is built
    window.show_page("roles")
    page = window.page("roles")
    assert isinstance(page, FormPage)
    activate(qtbot, window)
    window.rail.setFocus()
    qtbot.waitUntil(window.rail.hasFocus, timeout=2000)
    for expected in (
        page.fields["a"],
        page.fields["c"],
        page.fields["b"],
        detail_field,
        window.switcher.combo,
    ):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        qtbot.waitUntil(expected.hasFocus, timeout=2000)


def test_every_shortcut_is_the_documented_one(make_window: Any, config_set: Any) -> None:
    # Set as text through the `shortcut` property (qtprops.set_shortcut): a typo would leave it empty.
    window = make_window(config_set)
    shortcuts = {action.text(): action.shortcut().toString() for action in window.findChildren(QAction)}
    assert shortcuts["&Quit"] == "Ctrl+Q"
    assert shortcuts["&Find in Page"] == "Ctrl+F"
    assert shortcuts["&Details Panel"] == "Ctrl+D"
    assert shortcuts["&About Ops Console"] == "F1"
    for number, key in enumerate(window.page_keys, start=1):
        assert window.menu_actions.pages[key].shortcut().toString() == f"Ctrl+{number}"
