"""Whether the desktop console can open a window here, told before Qt is loaded.

Without a display (an SSH session without X forwarding), or with a display but without the X11
libraries Qt's xcb platform plugin links, Qt aborts the process (SIGABRT, exit 134) after "could not
load the Qt platform plugin xcb ... Reinstalling the application may fix this problem", which
points nowhere useful. The GUI commands ask :func:`require_display` first and stop with one sentence
that says what to do instead. Qt-free: this runs before PySide6 is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from .errors import OpsError

# Qt platform plugins that need no display server (QT_QPA_PLATFORM may name a ';'-separated list of
# fallbacks, each with ':options').
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"})

# What Qt 6's xcb plugin links (`ldd .../PySide6/Qt/plugins/platforms/libqxcb.so`) that a fresh Debian
# or Ubuntu may lack, by soname, with the package that brings it (scripts/system-deps.sh run).
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}

NO_DISPLAY = (
    "there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop console "
    "cannot open: use the command-line commands instead (`opsconsole --help`), connect with `ssh -X` to "
    "show the window on your screen, or set QT_QPA_PLATFORM=offscreen for a smoke test."
)


class NoDisplayError(OpsError):
    """The desktop console cannot open a window on this system (exit 1)."""


def require_display(
    environ: Mapping[str, str] | None = None, libraries: Mapping[str, str] = XCB_LIBRARIES
) -> None:
    """Raise :class:`NoDisplayError` when Qt would abort for want of a display or of the X11
    ``libraries`` (soname -> package) its xcb plugin links."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return  # Windows and macOS always have their window system
    platforms = [p.partition(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    if any(p in HEADLESS_PLATFORMS for p in platforms):
        return
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        raise NoDisplayError(NO_DISPLAY)
    if env.get("DISPLAY") and not _wayland_chosen(env, platforms):
        missing = missing_packages(libraries)
        if missing:
            raise NoDisplayError(
                "Qt cannot open a window on the X11 display: libraries of its xcb plugin are missing",
                hint=f"install them with `sudo apt-get install {' '.join(missing)}` "
                "(or run scripts/system-deps.sh run from the source tree)",
            )


def _wayland_chosen(env: Mapping[str, str], platforms: list[str]) -> bool:
    """Whether Qt will use Wayland rather than X11 (then the xcb libraries do not matter)."""
    if platforms[0]:
        return platforms[0] == "wayland"
    return bool(env.get("WAYLAND_DISPLAY")) and env.get("XDG_SESSION_TYPE") == "wayland"


def missing_packages(libraries: Mapping[str, str] = XCB_LIBRARIES) -> list[str]:
    """The packages of ``libraries`` (soname -> package) the dynamic loader cannot load, sorted.

    Each library is loaded as Qt's plugin will load it a moment later (the same search path), so the
    check costs little more than Qt's own loading.
    """
    import ctypes  # here: only a start with an X11 display pays for it

    missing = set()
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.add(package)
    return sorted(missing)
