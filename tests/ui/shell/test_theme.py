"""Light and dark palettes, following the system scheme, the OPSCONSOLE_THEME override, contrast."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QIcon, QPalette

from opsconsole.ui.shell.app import start_gui
from opsconsole.ui.shell.palette import (
    SCHEME_KEY,
    SHELL_COLORS,
    ThemeController,
    build_palette,
    remembered_scheme,
    scheme_override,
)

Role = QPalette.ColorRole


def luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: str | QColor, b: str | QColor) -> float:
    la, lb = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_palettes_keep_text_readable(scheme: Any) -> None:
    palette = build_palette(scheme)
    pairs = [
        (Role.WindowText, Role.Window),
        (Role.Text, Role.Base),
        (Role.Text, Role.AlternateBase),
        (Role.ButtonText, Role.Button),
        (Role.HighlightedText, Role.Highlight),
        (Role.ToolTipText, Role.ToolTipBase),
        (Role.PlaceholderText, Role.Base),
    ]
    for text, background in pairs:
        ratio = contrast(palette.color(text), palette.color(background))
        assert ratio >= 4.5, f"{scheme}: {text.name} on {background.name} is {ratio:.2f}:1"
    colors = SHELL_COLORS[scheme]
    assert contrast(colors.production_text, colors.production_band) >= 4.5
    assert contrast(colors.staging_text, colors.staging_band) >= 4.5
    assert contrast(colors.muted_text, palette.color(Role.Window)) >= 4.5
    assert contrast(palette.color(Role.Text), colors.rail_background) >= 4.5


def test_dark_is_dark_and_light_is_light() -> None:
    assert build_palette("dark").color(Role.Window).lightnessF() < 0.2
    assert build_palette("light").color(Role.Window).lightnessF() > 0.9


def test_the_environment_variable_overrides_the_system(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPSCONSOLE_THEME", "Dark")
    assert scheme_override() == "dark"
    monkeypatch.setenv("OPSCONSOLE_THEME", "system")
    assert scheme_override() is None
    monkeypatch.setenv("OPSCONSOLE_THEME", "purple")
    with caplog.at_level(logging.WARNING, logger="opsconsole.ui"):
        assert scheme_override() is None
    assert "purple" in caplog.text


def test_controller_applies_fusion_and_puts_the_app_back(qapp: Any) -> None:
    style_before = qapp.style().name()
    window_before = qapp.palette().color(Role.Window)
    controller = ThemeController(qapp, override="dark")
    try:
        assert qapp.style().name().lower() == "fusion"
        assert qapp.palette().color(Role.Window) == build_palette("dark").color(Role.Window)
    finally:
        controller.close()
    assert qapp.style().name() == style_before
    assert qapp.palette().color(Role.Window) == window_before


def test_follows_the_system_scheme_unless_overridden(qtbot: Any, qapp: Any) -> None:
    controller = ThemeController(qapp)  # offscreen reports no scheme: light
    try:
        assert controller.scheme == "light"
        hints = qapp.styleHints()
        with qtbot.waitSignal(controller.schemeChanged, timeout=2000) as changed:
            hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert changed.args == ["dark"]
        assert qapp.palette().color(Role.Window) == build_palette("dark").color(Role.Window)
        controller.set_scheme("light")  # an explicit choice stops following the system
        with qtbot.assertNotEmitted(controller.schemeChanged):
            hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert controller.scheme == "light"
    finally:
        controller.close()


def test_the_window_retints_when_the_scheme_changes(
    qtbot: Any, qapp: Any, config_set: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCONSOLE_THEME", "light")
    session = start_gui(qapp, config_set, install_qt_log=False, show_problems=False)
    window = session.window
    try:
        qtbot.waitExposed(window)

        def icon_ink() -> QColor:
            pixmap = window.rail.item(1).icon().pixmap(20, 20, QIcon.Mode.Normal)
            image = pixmap.toImage()
            inked = [
                image.pixelColor(x, y)
                for x in range(image.width())
                for y in range(image.height())
                if image.pixelColor(x, y).alpha() > 200
            ]
            assert inked, "the icon has no opaque pixels"
            return inked[0]

        def rail_background() -> QColor:
            image = window.rail.grab().toImage()
            return image.pixelColor(image.width() - 3, image.height() - 3)

        assert icon_ink().lightnessF() < 0.3  # dark ink on a light rail
        assert rail_background() == QColor(SHELL_COLORS["light"].rail_background)
        session.theme.set_scheme("dark")
        qtbot.waitUntil(lambda: icon_ink().lightnessF() > 0.7, timeout=2000)
        assert rail_background() == QColor(SHELL_COLORS["dark"].rail_background)
    finally:
        session.shutdown()


def test_a_remembered_scheme_is_used_at_once_and_checked_when_idle(
    qtbot: Any, qapp: Any, tmp_path: Any
) -> None:
    settings = QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat)
    settings.setValue(SCHEME_KEY, "dark")
    controller = ThemeController(qapp, settings=settings)
    try:
        assert controller.scheme == "dark"  # the last run's, without asking the system
        assert qapp.palette().color(Role.Window) == build_palette("dark").color(Role.Window)
        # Once the loop is idle the system is asked: offscreen has no scheme, which means light.
        with qtbot.waitSignal(controller.schemeChanged, timeout=2000) as changed:
            pass
        assert changed.args == ["light"]
    finally:
        controller.close()
    assert QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat).value(SCHEME_KEY) == "light"


def test_a_forced_scheme_is_not_remembered(qapp: Any, tmp_path: Any) -> None:
    settings = QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat)
    settings.setValue(SCHEME_KEY, "light")
    controller = ThemeController(qapp, override="dark", settings=settings)
    assert controller.scheme == "dark"
    controller.close()
    assert remembered_scheme(settings) == "light"
    settings.setValue(SCHEME_KEY, "purple")
    assert remembered_scheme(settings) is None
