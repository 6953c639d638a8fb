"""The files the console ships with (icons, desktop entry, AppStream metainfo) and how Qt loads them.

The canonical files live inside the package, in ``opsconsole/resources/``; the repository's top-level
``resources`` is a symlink to that folder. So a source checkout, an editable install, a wheel
(``package-data`` in pyproject.toml) and a frozen build all find them the same way: next to this
module, without importlib.resources (which costs startup time and gains nothing for plain files).

Navigation icons are monochrome SVGs drawn with ``currentColor``; :func:`tinted_icon` substitutes
the palette's colours, so the same file serves light and dark themes and the selected state.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QColor, QIcon, QImageReader, QPixmap

from .. import APP_ID


class ResourceError(RuntimeError):
    """A file the console ships with is missing or unreadable: the installation is broken."""


def resources_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """The path of a shipped file; raises ResourceError when the installation lacks it."""
    path = resources_dir().joinpath(*parts)
    if not path.is_file():
        raise ResourceError(f"missing resource {'/'.join(parts)} (looked in {resources_dir()})")
    return path


APP_ICON = ("icons", f"{APP_ID}.svg")
DESKTOP_FILE = (f"{APP_ID}.desktop",)
METAINFO_FILE = (f"{APP_ID}.metainfo.xml",)
NAV_ICONS = ("users", "roles", "notifications", "metrics", "traces")


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """The application icon, rendered from SVG at whatever size is asked for (Qt's svg icon engine)."""
    icon = QIcon(str(resource_path(*APP_ICON)))
    if icon.isNull():
        raise ResourceError(
            f"the app icon {resource_path(*APP_ICON)} cannot be loaded (Qt SVG plugin missing?)"
        )
    return icon


@lru_cache(maxsize=32)
def _svg_text(name: str) -> str:
    return resource_path("icons", "nav", f"{name}.svg").read_text(encoding="utf-8")


def render_svg(svg: str, size: int) -> QPixmap:
    """Render SVG source to a square pixmap of ``size`` device pixels."""
    buffer = QBuffer()
    buffer.setData(QByteArray(svg.encode("utf-8")))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"svg"))
    reader.setScaledSize(QSize(size, size))
    image = reader.read()
    if image.isNull():
        raise ResourceError(f"cannot render SVG: {reader.errorString()}")
    return QPixmap.fromImage(image)


def tinted_icon(
    name: str, modes: dict[QIcon.Mode, QColor], *, logical_size: int, device_pixel_ratio: float = 1.0
) -> QIcon:
    """A navigation icon drawn in one colour per icon mode (Normal, Selected, Disabled, Active).

    Rendered once per mode at the size it is shown, rather than through a custom icon engine:
    a handful of small pixmaps is cheaper than calling into Python on every paint.
    """
    source = _svg_text(name)
    pixel_size = max(1, round(logical_size * device_pixel_ratio))
    icon = QIcon()
    for mode, color in modes.items():
        pixmap = render_svg(source.replace("currentColor", color.name()), pixel_size)
        pixmap.setDevicePixelRatio(device_pixel_ratio)
        icon.addPixmap(pixmap, mode, QIcon.State.Off)
    return icon
