"""Render the app icon's SVG to the PNG sizes of the hicolor theme, with Qt offscreen.

    python packaging/render_icons.py SVG OUTDIR
    python packaging/render_icons.py SVG FILE.ico|FILE.icns   (one 256 px image, through Qt's plugins)

writes ``OUTDIR/<N>x<N>/apps/<name>.png`` for each size in SIZES; the second form makes the Windows
and macOS icons the spec uses there. Qt's own SVG renderer (the one that
draws the icon in the running app), so the build needs no other SVG tool. Run by build-deb.sh.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: render_icons.py SVG OUTDIR\n")
        return 2
    svg, outdir = Path(argv[0]), Path(argv[1])
    single = outdir.suffix.lower() in (".ico", ".icns")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter on an image needs the application
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        sys.stderr.write(f"render_icons: {svg} is not a valid SVG\n")
        return 1
    for size in (256,) if single else SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        if image.pixelColor(size // 2, size // 2).alpha() == 0:
            sys.stderr.write(f"render_icons: {svg} renders empty at {size} px\n")
            return 1
        target = outdir if single else outdir / f"{size}x{size}" / "apps" / f"{svg.stem}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), target.suffix.lstrip(".").upper()):
            sys.stderr.write(f"render_icons: cannot write {target}\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
