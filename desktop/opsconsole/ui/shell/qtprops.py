"""Qt enum values for the code that runs before the window's first paint, without PySide6's ``Qt``.

PySide6 builds every enum of the ``Qt`` namespace (about 130 Python enum classes) the first time any
code touches ``PySide6.QtCore.Qt``: 25 to 45 ms on a 2-core machine, a sixth of a bare PySide6
window's whole start-up. So the shell's start-up path (window, rail, status bar, placeholder pages,
theme) never touches ``Qt``; it uses what this module offers instead:

- :func:`set_enum_property` sets an enum or flag ``Q_PROPERTY`` by its key names, which Qt converts
  itself (``set_enum_property(label, "alignment", "AlignCenter")``); a misspelt name raises;
- item data roles as the plain ints that ``setData``/``setItemData``/``data`` take.

Code that runs later (event handlers, dialogs, feature views) uses ``Qt`` as usual. A test checks the
role values against ``Qt.ItemDataRole``, and an end-to-end test checks that the real entry point
reaches its first idle without materializing ``Qt``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

# Qt.ItemDataRole values (they are part of Qt's ABI and never change).
TOOLTIP_ROLE = 3
ACCESSIBLE_TEXT_ROLE = 11
ACCESSIBLE_DESCRIPTION_ROLE = 12
USER_ROLE = 256


def set_enum_property(obj: QObject, name: str, keys: str) -> None:
    """Set the enum/flag property ``name`` of ``obj`` from key names, e.g. ``"AlignLeft|AlignVCenter"``.

    Raises ValueError when Qt refuses it (no such property, or a key it does not know): a typo must not
    leave a widget silently unstyled.
    """
    if not obj.setProperty(name, keys):
        raise ValueError(f"{type(obj).__name__} has no enum property {name!r} that accepts {keys!r}")


def set_shortcut(action: QObject, keys: str) -> None:
    """Give a QAction (or QShortcut) the shortcut ``keys`` in portable text, e.g. ``"Ctrl+Q"``.

    ``setShortcut`` itself touches ``Qt`` while resolving its overloads; the ``shortcut`` property,
    set from text, does not. Raises ValueError when the object has no such property. Reading the
    result back would build QKeySequence's enums (2 ms), so the window's tests check its shortcuts.
    """
    if not action.setProperty("shortcut", keys):
        raise ValueError(f"{type(action).__name__} takes no shortcut {keys!r}")
