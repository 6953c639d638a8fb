"""The shipped files: found from the package, valid, consistent with the app id and the version."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QImage

import opsconsole
from opsconsole import APP_ID
from opsconsole.ui.shell import assets

REPO = Path(__file__).resolve().parents[3]


def test_resources_live_in_the_package_and_the_top_level_folder_points_there() -> None:
    package_dir = Path(opsconsole.__file__).resolve().parent / "resources"
    assert assets.resources_dir() == package_dir
    top = REPO / "resources"
    if top.exists():  # a source checkout: the top-level folder is the same files
        assert top.resolve() == package_dir


def test_app_icon_reads_at_16_and_256_px(qapp: Any) -> None:
    icon = assets.app_icon()
    for size in (16, 256):
        image = icon.pixmap(size, size).toImage()
        assert image.width() == size
        centre = image.pixelColor(size // 2, size // 2)
        corner = image.pixelColor(0, 0)
        assert centre.alpha() == 255 and corner.alpha() < 255  # a tile with rounded corners
    # The pulse line is white on the blue tile: at 16 px there must still be both.
    small = icon.pixmap(16, 16).toImage()
    colours = {
        small.pixelColor(x, y).name()
        for x in range(16)
        for y in range(16)
        if small.pixelColor(x, y).alpha() == 255
    }
    assert any(QColor(c).lightnessF() > 0.85 for c in colours)
    assert any(QColor(c).blueF() > 0.4 and QColor(c).redF() < 0.3 for c in colours)


def test_navigation_icons_take_the_palette_colour(qapp: Any) -> None:
    for name in assets.NAV_ICONS:
        icon = assets.tinted_icon(name, {QIcon.Mode.Normal: QColor("#ff0000")}, logical_size=24)
        image = icon.pixmap(24, 24).toImage()
        inked = [
            image.pixelColor(x, y)
            for x in range(24)
            for y in range(24)
            if image.pixelColor(x, y).alpha() > 200
        ]
        assert inked, name
        assert all(c.red() > 200 and c.green() < 60 for c in inked), name


@pytest.mark.parametrize("name", assets.NAV_ICONS)
def test_the_shipped_icon_masks_match_their_svgs(qapp: Any, name: str) -> None:
    for size in assets.MASK_SIZES:
        shipped = QImage(str(assets.mask_path(name, size)))
        assert not shipped.isNull(), f"{assets.mask_path(name, size)} is missing or unreadable"
        rendered = assets.render_mask(name, size)
        assert (shipped.width(), shipped.height()) == (size, size)
        worst = max(
            abs(shipped.pixelColor(x, y).alpha() - rendered.pixelColor(x, y).alpha())
            for x in range(size)
            for y in range(size)
        )
        assert worst <= 8, f"{name}-{size}.png is stale: run scripts/render_icon_masks.py"


@pytest.mark.parametrize("ratio", [1.0, 1.5, 2.0, 1.75])  # 1.75 has no shipped mask: from the SVG
def test_icons_from_masks_and_from_svg_look_alike(qapp: Any, ratio: float) -> None:
    icon = assets.tinted_icon("users", {QIcon.Mode.Normal: QColor("#0000ff")}, logical_size=20,
                              device_pixel_ratio=ratio)  # fmt: skip
    pixmap = icon.pixmap(QSize(20, 20), ratio)
    image = pixmap.toImage()
    assert image.width() == round(20 * ratio)
    inked = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
             if image.pixelColor(x, y).alpha() > 200]  # fmt: skip
    assert len(inked) > image.width()  # a drawn shape, not a dot
    assert all(c.blue() > 200 and c.red() < 60 for c in inked)


def test_a_missing_resource_is_a_clear_error() -> None:
    with pytest.raises(assets.ResourceError, match=r"missing resource icons/nope\.svg"):
        assets.resource_path("icons", "nope.svg")


def test_desktop_entry() -> None:
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(assets.resource_path(*assets.DESKTOP_FILE).read_text(encoding="utf-8"))
    entry = parser["Desktop Entry"]
    assert entry["Icon"] == APP_ID
    assert entry["Exec"] == "opsconsole-gui"
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(
            ["desktop-file-validate", str(assets.resource_path(*assets.DESKTOP_FILE))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_metainfo_matches_the_app_id_and_the_version() -> None:
    path = assets.resource_path(*assets.METAINFO_FILE)
    root = ET.parse(path).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]
    version = opsconsole.__version__  # pyproject.toml reads it from there (dynamic version)
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == version, "add a <release> for the new version to the metainfo"
    if shutil.which("appstreamcli"):
        proc = subprocess.run(
            ["appstreamcli", "validate", "--no-net", str(path)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
