"""A bounded ring buffer of (time, value) points in numpy arrays, for one charted series.

Appending is O(1) and never allocates; :meth:`Ring.arrays` returns the points oldest first as two
contiguous float64 arrays (what pyqtgraph's fast path draws without converting).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Ring:
    """The last ``capacity`` points of a series."""

    __slots__ = ("_next", "_size", "_t", "_v")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a ring holds at least one point")
        self._t = np.empty(capacity, dtype=np.float64)
        self._v = np.empty(capacity, dtype=np.float64)
        self._next = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        return len(self._t)

    def __len__(self) -> int:
        return self._size

    def append(self, t: float, v: float) -> None:
        i = self._next
        self._t[i] = t
        self._v[i] = v
        self._next = (i + 1) % len(self._t)
        if self._size < len(self._t):
            self._size += 1

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        """(times, values), oldest first: copies, safe to hand to another thread."""
        if self._size < len(self._t):
            return self._t[: self._size].copy(), self._v[: self._size].copy()
        order = np.r_[self._next : len(self._t), 0 : self._next]
        return self._t[order], self._v[order]

    def last(self) -> tuple[float, float] | None:
        if not self._size:
            return None
        i = (self._next - 1) % len(self._t)
        return float(self._t[i]), float(self._v[i])
