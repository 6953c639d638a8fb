"""Render the navigation icons' PNG masks from their SVGs (run after changing an SVG).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/render_icon_masks.py

Writes desktop/opsconsole/resources/icons/nav/masks/<name>-<px>.png for every icon and size in
opsconsole.ui.shell.assets (NAV_ICONS x MASK_SIZES). tests/ui/shell/test_resources.py fails while they are stale.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from opsconsole.ui.shell import assets


def main() -> int:
    app = QApplication(sys.argv[:1])  # noqa: F841 - Qt's image plugins need an application
    for name in assets.NAV_ICONS:
        for size in assets.MASK_SIZES:
            path = assets.mask_path(name, size)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not assets.render_mask(name, size).save(str(path), "PNG"):
                sys.stderr.write(f"cannot write {path}\n")
                return 1
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
