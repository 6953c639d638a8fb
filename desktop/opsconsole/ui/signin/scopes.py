"""Scope gating: actions that need a scope the signed-in user lacks are disabled and say which.

Any view registers its actions and buttons once::

    gate = ScopeGate(parent=self)
    gate.require(self.delete_action, "write:users")
    gate.set_scopes(status.scopes)          # or None when signed out: everything gated is disabled

A gated control is disabled with a tooltip naming the missing scope(s); when the scope arrives it is
enabled again with its own tooltip back. Controls that views disable for reasons of their own (nothing
selected) stay under the view's control through :meth:`ScopeGate.allowed`: enable them only when
``gate.allowed(control)`` is true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

Control = QAction | QWidget


@dataclass(slots=True, frozen=True)
class _Gated:
    control: Control
    scopes: tuple[str, ...]
    tooltip: str


def missing_scopes_text(missing: Iterable[str]) -> str:
    names = list(missing)
    if len(names) == 1:
        return f"Needs the scope \u201c{names[0]}\u201d, which your sign-in does not have"
    listed = ", ".join(f"\u201c{n}\u201d" for n in names)
    return f"Needs the scopes {listed}, which your sign-in does not have"


class ScopeGate(QObject):
    """Enables and disables registered actions and widgets by the scopes of the current sign-in."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gated: list[_Gated] = []
        self._scopes: frozenset[str] | None = None

    def require(self, control: Control, *scopes: str) -> None:
        """``control`` needs every one of ``scopes``."""
        if not scopes:
            raise ValueError("name at least one scope")
        self._gated.append(_Gated(control, tuple(scopes), control.toolTip()))
        self._apply(self._gated[-1])

    def set_scopes(self, scopes: Iterable[str] | None) -> None:
        """The current sign-in's scopes; None when nobody is signed in."""
        self._scopes = frozenset(scopes) if scopes is not None else None
        self._gated = [g for g in self._gated if shiboken6.isValid(g.control)]
        for gated in self._gated:
            self._apply(gated)

    def missing(self, control: Control) -> tuple[str, ...]:
        for gated in self._gated:
            if gated.control is control:
                have = self._scopes or frozenset()
                return tuple(s for s in gated.scopes if s not in have)
        return ()

    def allowed(self, control: Control) -> bool:
        return self._scopes is not None and not self.missing(control)

    def _apply(self, gated: _Gated) -> None:
        if self._scopes is None:
            gated.control.setEnabled(False)
            gated.control.setToolTip("Sign in to use this")
            return
        missing = [s for s in gated.scopes if s not in self._scopes]
        gated.control.setEnabled(not missing)
        gated.control.setToolTip(missing_scopes_text(missing) if missing else gated.tooltip)
