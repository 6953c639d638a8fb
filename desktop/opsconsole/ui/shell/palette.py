"""Light and dark palettes for the Fusion style, following the system's colour scheme.

The console always uses Fusion with a palette of its own, so it looks the same on every desktop and
offscreen (screenshots, tests), and both schemes are designed rather than left to the platform. The
scheme follows ``QStyleHints.colorScheme()`` and its ``colorSchemeChanged`` signal (Qt 6.5+); the
environment variable ``OPSCONSOLE_THEME=light|dark`` overrides it (screenshots, tests, a user who
wants one scheme regardless of the desktop).

Colours the palette has no role for (the environment band, status dots, the rail background) are in
:class:`ShellColors`, chosen per scheme so text on them keeps a contrast ratio of at least 4.5:1.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .idle import call_when_idle

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

log = logging.getLogger("opsconsole.ui")

Scheme = Literal["light", "dark"]
ENV_THEME = "OPSCONSOLE_THEME"
SCHEMES: tuple[Scheme, ...] = ("light", "dark")
SCHEME_KEY = "appearance/scheme"  # in the window-state store (window_state.ui_settings)


@dataclass(slots=True, frozen=True)
class ShellColors:
    """Colours of the shell's own elements, per scheme."""

    rail_background: str
    production_band: str
    production_text: str
    staging_band: str
    staging_text: str
    status_ok: str
    status_busy: str
    status_error: str
    status_idle: str
    muted_text: str


_LIGHT = {
    QPalette.ColorRole.Window: "#f3f4f6",
    QPalette.ColorRole.WindowText: "#1b1f24",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f1f3f6",
    QPalette.ColorRole.ToolTipBase: "#1f2329",
    QPalette.ColorRole.ToolTipText: "#f3f4f6",
    QPalette.ColorRole.PlaceholderText: "#6b7280",
    QPalette.ColorRole.Text: "#1b1f24",
    QPalette.ColorRole.Button: "#e9ecf0",
    QPalette.ColorRole.ButtonText: "#1b1f24",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Light: "#ffffff",
    QPalette.ColorRole.Midlight: "#dfe3e8",
    QPalette.ColorRole.Mid: "#b8bfc8",
    QPalette.ColorRole.Dark: "#8d96a2",
    QPalette.ColorRole.Shadow: "#5b636e",
    QPalette.ColorRole.Highlight: "#1f63d6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#0b57d0",
    QPalette.ColorRole.LinkVisited: "#6a3fb5",
    QPalette.ColorRole.Accent: "#1f63d6",
}
_LIGHT_DISABLED = {
    QPalette.ColorRole.WindowText: "#8b929c",
    QPalette.ColorRole.Text: "#8b929c",
    QPalette.ColorRole.ButtonText: "#8b929c",
    QPalette.ColorRole.Highlight: "#aeb6c2",
    QPalette.ColorRole.HighlightedText: "#f3f4f6",
    QPalette.ColorRole.Base: "#f3f4f6",
}
_DARK = {
    QPalette.ColorRole.Window: "#1f2228",
    QPalette.ColorRole.WindowText: "#e4e7eb",
    QPalette.ColorRole.Base: "#17191e",
    QPalette.ColorRole.AlternateBase: "#23272e",
    QPalette.ColorRole.ToolTipBase: "#e4e7eb",
    QPalette.ColorRole.ToolTipText: "#1b1f24",
    QPalette.ColorRole.PlaceholderText: "#8c94a1",
    QPalette.ColorRole.Text: "#e4e7eb",
    QPalette.ColorRole.Button: "#2b3038",
    QPalette.ColorRole.ButtonText: "#e4e7eb",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Light: "#3b414b",
    QPalette.ColorRole.Midlight: "#323741",
    QPalette.ColorRole.Mid: "#262a31",
    QPalette.ColorRole.Dark: "#121418",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Highlight: "#356fd8",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#8ab4ff",
    QPalette.ColorRole.LinkVisited: "#c3a6ff",
    QPalette.ColorRole.Accent: "#356fd8",
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#6d7480",
    QPalette.ColorRole.Text: "#6d7480",
    QPalette.ColorRole.ButtonText: "#6d7480",
    QPalette.ColorRole.Highlight: "#3a404a",
    QPalette.ColorRole.HighlightedText: "#9aa1ab",
    QPalette.ColorRole.Base: "#1f2228",
}

SHELL_COLORS: dict[Scheme, ShellColors] = {
    "light": ShellColors(
        rail_background="#e8ebef",
        production_band="#b3261e",
        production_text="#ffffff",
        staging_band="#f5b400",
        staging_text="#1b1f24",
        status_ok="#1a7f37",
        status_busy="#9a6700",
        status_error="#b3261e",
        status_idle="#6b7280",
        muted_text="#5b636e",
    ),
    "dark": ShellColors(
        rail_background="#191b20",
        production_band="#c62828",
        production_text="#ffffff",
        staging_band="#e0a800",
        staging_text="#15171b",
        status_ok="#4ac26b",
        status_busy="#e3b341",
        status_error="#ff6b60",
        status_idle="#8c94a1",
        muted_text="#a3aab5",
    ),
}


def build_palette(scheme: Scheme) -> QPalette:
    """The full palette of one scheme (every role, active/inactive/disabled groups)."""
    normal, disabled = (_LIGHT, _LIGHT_DISABLED) if scheme == "light" else (_DARK, _DARK_DISABLED)
    palette = QPalette()
    _fill(palette, normal, (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive))
    _fill(palette, normal, (QPalette.ColorGroup.Disabled,))
    _fill(palette, disabled, (QPalette.ColorGroup.Disabled,))
    return palette


def _fill(
    palette: QPalette, colors: Mapping[QPalette.ColorRole, str], groups: tuple[QPalette.ColorGroup, ...]
) -> None:
    for role, value in colors.items():
        for group in groups:
            palette.setColor(group, role, QColor.fromString(value))  # not QColor(str): qtprops.py


def scheme_override(environ: Mapping[str, str] | None = None) -> Scheme | None:
    """The scheme forced by OPSCONSOLE_THEME, or None to follow the system. Bad values are ignored."""
    value = (os.environ if environ is None else environ).get(ENV_THEME, "").strip().lower()
    if not value or value in ("system", "auto"):
        return None
    if value == "light":
        return "light"
    if value == "dark":
        return "dark"
    log.warning("%s=%r is not one of light, dark, system; following the system", ENV_THEME, value)
    return None


def system_scheme(app: QApplication) -> Scheme:
    """The desktop's scheme; light when the platform does not say (offscreen, older desktops)."""
    return _scheme_of(app.styleHints().colorScheme())


def _scheme_of(color_scheme: Qt.ColorScheme) -> Scheme:
    from PySide6.QtCore import Qt  # not at import time: see qtprops.py

    return "dark" if color_scheme == Qt.ColorScheme.Dark else "light"


def remembered_scheme(settings: QSettings | None) -> Scheme | None:
    """The scheme the console last ran in, as kept in ``settings``; None when unknown."""
    value = settings.value(SCHEME_KEY) if settings is not None else None
    if value == "light":
        return "light"
    return "dark" if value == "dark" else None


class ThemeController(QObject):
    """Applies Fusion and the palette of the current scheme to the application, and keeps it current.

    ``close()`` puts back the style and palette that were there before, so a test (or an embedding
    application) gets its QApplication back as it was.
    """

    schemeChanged = Signal(str)

    def __init__(
        self,
        app: QApplication,
        *,
        override: Scheme | None = None,
        set_style: bool = True,
        settings: QSettings | None = None,
    ) -> None:
        """``set_style=False`` when the application was created with ``-style Fusion`` already (see
        app.ensure_application): touching the style from Python costs startup time for nothing.

        With ``settings`` (the window-state store) the scheme is remembered across runs, and a run
        starts in the scheme the last one had; the system's scheme is read once the window is painted
        and the event loop idle, and applied if it changed meanwhile. Asking the system costs 25-45 ms
        (the first use of ``Qt``, see qtprops.py), which the first paint does not wait for. With
        nothing remembered (the first run) the system is asked right away, so no run starts in the
        wrong scheme unless the desktop's scheme changed while the console was closed.
        """
        super().__init__(app)
        self._app = app
        self._override = override
        self._settings = settings
        self._previous_style = app.style().name() if set_style else None
        self._previous_palette = app.palette()  # a copy (returned by value)
        remembered = remembered_scheme(settings) if override is None else None
        self._scheme: Scheme = override or remembered or system_scheme(app)
        if remembered is not None:
            call_when_idle(self, self.follow_system)
        if set_style:
            app.setStyle("Fusion")
        app.setPalette(build_palette(self._scheme))
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)
        self._closed = False

    @property
    def scheme(self) -> Scheme:
        return self._scheme

    @property
    def colors(self) -> ShellColors:
        return SHELL_COLORS[self._scheme]

    def set_scheme(self, scheme: Scheme) -> None:
        """Switch now (an explicit choice: it also stops following the system)."""
        self._override = scheme
        self._apply(scheme)

    def follow_system(self) -> None:
        """Apply the system's current scheme, unless a scheme is forced."""
        self._on_system_scheme_changed(self._app.styleHints().colorScheme())

    def _on_system_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        if self._override is None and not self._closed:
            self._apply(_scheme_of(scheme))

    def _apply(self, scheme: Scheme) -> None:
        if scheme == self._scheme:
            return
        self._scheme = scheme
        self._app.setPalette(build_palette(scheme))
        log.info("colour scheme is now %s", scheme)
        self.schemeChanged.emit(scheme)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._override is None and self._settings is not None:
            self._settings.setValue(SCHEME_KEY, self._scheme)
            self._settings.sync()
        self._app.styleHints().colorSchemeChanged.disconnect(self._on_system_scheme_changed)
        if self._previous_style is not None:
            self._app.setStyle(self._previous_style)
        self._app.setPalette(self._previous_palette)


def shell_colors(scheme: Scheme | None = None) -> ShellColors:
    """Colours for the shell's own elements; the scheme is read off the app palette when not given."""
    if scheme is None:
        window = QApplication.palette().color(QPalette.ColorRole.Window)
        scheme = "dark" if window.lightnessF() < 0.5 else "light"
    return SHELL_COLORS[scheme]
