"""Work run on the GUI thread a slice at a time, between frames: ``TimeSliced``.

The background pass of an open trace (the critical path, every span's details read: about a second at
100,000 spans; prepared.background_steps) used to run in a worker thread. It is pure Python, so it
never ran alongside the GUI thread: the two took turns for the interpreter (the GIL), and the GUI
thread, which gives it up several times a frame (around Qt calls that may block), waited up to the
switch interval, 5 ms, each time it came back, and then for the scheduler on a busy machine. Frames
that cost 4 ms of CPU took 30 to 70 ms while the pass ran (bench/traces_gui.py, ``during_background``).

So the pass runs here instead, in slices of ``SLICE_S`` from a zero-interval timer: the event loop
handles the input and paints waiting between two slices, and no frame waits for more than one slice.
The work costs what it did (it never ran in parallel), minus the handovers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QTimer

__all__ = ["SLICE_S", "TimeSliced"]

SLICE_S = 0.002  # a slice of work, then a frame that waited for it: well within 16 ms


class TimeSliced(QObject):
    """Run ``steps`` (a generator yielding every millisecond or so) from the event loop, a slice at a
    time; then ``done(result)``, with the generator's return value. ``stop()`` drops the rest."""

    def __init__(
        self, steps: Generator[None, None, Any], done: Callable[[Any], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._steps: Generator[None, None, Any] | None = steps
        self._done = done
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._steps is not None

    def _slice(self) -> None:
        steps = self._steps
        if steps is None:
            return
        until = time.perf_counter() + SLICE_S
        try:
            while time.perf_counter() < until:
                next(steps)
        except StopIteration as finished:
            self.stop()
            self._done(finished.value)
        except BaseException:
            self.stop()  # not again at the next tick
            raise

    def stop(self) -> None:
        self._timer.stop()
        if self._steps is not None:
            self._steps.close()
            self._steps = None
