"""The files the console ships with (icons, desktop entry, AppStream metainfo) and how Qt loads them.

The canonical files live inside the package, in ``opsconsole/resources/``; the repository's top-level
``resources`` is a symlink to that folder. So a source checkout, an editable install, a wheel
(``package-data`` in pyproject.toml) and a frozen build all find them the same way: next to this
module, without importlib.resources (which costs startup time and gains nothing for plain files).

Navigation icons are monochrome SVGs drawn with ``currentColor``; :func:`tinted_icon` draws them in
the palette's colours, so the same file serves light and dark themes and the selected state. For the
pixel sizes screens commonly need (:data:`MASK_SIZES`) the SVGs are shipped pre-rendered as PNG
masks (``icons/nav/masks/<name>-<px>.png``, made by ``scripts/render_icon_masks.py`` and checked
against the SVGs by a test): tinting a PNG takes no SVG renderer, which would cost the first paint
about 3 ms. Other sizes are rendered from the SVG.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtGui import QIcon, QPainter, QPixmap

from ... import APP_ID

if TYPE_CHECKING:
    from PySide6.QtGui import QColor, QImage


class ResourceError(RuntimeError):
    """A file the console ships with is missing or unreadable: the installation is broken."""


def resources_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "resources"  # opsconsole/resources


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
NAV_ICON_SIZE = 20  # logical pixels
MASK_SIZES = (20, 25, 30, 40)  # device pixels of NAV_ICON_SIZE at 100, 125, 150 and 200 % scaling


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


def render_svg(svg: str, size: int) -> QImage:
    """Render SVG source to a square image of ``size`` device pixels."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtGui import QImageReader

    buffer = QBuffer()
    buffer.setData(QByteArray(svg.encode("utf-8")))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"svg"))
    reader.setScaledSize(QSize(size, size))
    image = reader.read()
    if image.isNull():
        raise ResourceError(f"cannot render SVG: {reader.errorString()}")
    return image


def mask_path(name: str, pixel_size: int) -> Path:
    return resources_dir() / "icons" / "nav" / "masks" / f"{name}-{pixel_size}.png"


def render_mask(name: str, pixel_size: int) -> QImage:
    """The alpha mask of a navigation icon at ``pixel_size``: what the shipped PNG masks hold."""
    return render_svg(_svg_text(name).replace("currentColor", "#000000"), pixel_size)


def _tint(mask: QPixmap, color: QColor) -> QPixmap:
    """``mask``'s shape in ``color``: a solid pixmap kept where the mask is opaque (SourceIn)."""
    solid = QPixmap(mask.size())
    solid.fill(color)
    tinted = mask.copy()
    painter = QPainter(tinted)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.drawPixmap(QPoint(0, 0), solid)
    painter.end()
    return tinted


def tinted_icon(
    name: str, modes: dict[QIcon.Mode, QColor], *, logical_size: int, device_pixel_ratio: float = 1.0
) -> QIcon:
    """A navigation icon drawn in one colour per icon mode (Normal, Selected, Disabled, Active).

    Made once per mode at the size it is shown, rather than through a custom icon engine: a handful of
    small pixmaps is cheaper than calling into Python on every paint.
    """
    pixel_size = max(1, round(logical_size * device_pixel_ratio))
    shipped = mask_path(name, pixel_size)
    if shipped.is_file():
        mask = QPixmap(str(shipped))
        if mask.isNull():
            raise ResourceError(f"cannot read the icon mask {shipped}")
    else:
        mask = QPixmap.fromImage(render_mask(name, pixel_size))
    icon = QIcon()
    for mode, color in modes.items():
        pixmap = _tint(mask, color)
        pixmap.setDevicePixelRatio(device_pixel_ratio)
        icon.addPixmap(pixmap, mode, QIcon.State.Off)
    return icon
