"""The Notifications room's views: the page, the dock, the status-bar state, the rail badge,
desktop notifications; all fed by the window's one live stream (:mod:`.feed`).

:func:`install` puts the room into a main window (the shell calls it once the window exists); the
page itself is built when first shown (``ui.shell.pages``). The stream logic is Qt-free, in
``opsconsole.events``.
"""

from .install import install

__all__ = ["install"]
