"""The frozen bundle's entry point: the ``opsconsole`` command, or ``opsconsole-gui`` by its name.

PyInstaller freezes this script. The .deb links both ``/usr/bin/opsconsole`` and
``/usr/bin/opsconsole-gui`` (the desktop entry's Exec) to the one executable, so the name it was
started by picks the entry point, as the two console scripts of the wheel do; on Windows the spec
builds ``opsconsole-gui.exe`` beside ``opsconsole.exe`` (no console window) from this same script.
"""

import os
import sys

from opsconsole.cli import gui_main, main

if __name__ == "__main__":
    started_as = os.path.splitext(os.path.basename(sys.argv[0]))[0] if sys.argv else ""
    raise SystemExit(gui_main() if started_as.lower() == "opsconsole-gui" else main())
