"""The main window's geometry, splitter, detail-panel width and page, kept between runs.

They live in an INI file in the user config folder (never the registry or the platform default
location), so tests isolate it with XDG_CONFIG_HOME and users can delete it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from ... import paths

if TYPE_CHECKING:
    from .main_window import MainWindow

SETTINGS_FILE = "ui-state.ini"


def ui_settings() -> QSettings:
    """The window-state store (the colour scheme is kept there too, see palette.py)."""
    return QSettings(str(paths.user_config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


def _bytes(settings: QSettings, key: str) -> QByteArray | None:
    value = settings.value(key)
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def restore(window: MainWindow, settings: QSettings) -> bool:
    """Put back what :func:`save` kept; False when there was no geometry to restore."""
    geometry = _bytes(settings, "window/geometry")
    restored = window.restoreGeometry(geometry) if geometry is not None else False
    state = _bytes(settings, "window/state")
    if state is not None:
        window.restoreState(state)
    splitter = _bytes(settings, "window/splitter")
    if splitter is not None:
        window.splitter.restoreState(splitter)
    width = str(settings.value("window/detail_width", ""))
    if width.isdigit():  # (anything else: a hand-edited file; keep the default)
        window.detail_width = max(120, int(width))
    page = settings.value("window/page")
    if isinstance(page, str) and page in window.page_keys and page != window.page_keys[0]:
        # After the first paint: a page such as Metrics imports pyqtgraph, which the window's first
        # paint should not wait for (the first page, Users, is built with the window anyway).
        from .idle import call_when_idle

        call_when_idle(window, lambda: window.show_page(page))
    return restored


def save(window: MainWindow, settings: QSettings) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("window/splitter", window.splitter.saveState())
    settings.setValue("window/detail_width", window.detail_width)
    if window.current_page_key is not None:
        settings.setValue("window/page", window.current_page_key)
    settings.sync()
