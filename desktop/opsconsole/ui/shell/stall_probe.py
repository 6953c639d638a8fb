"""GUI-thread stall probe: how long was the event loop blocked at most?

Opt-in (``OPSCONSOLE_STALL_PROBE=1``), because it wakes the GUI thread every 10 ms. A precise QTimer
on the GUI thread notes when each tick arrives; a tick that comes late means the loop was busy (a slow
slot, a big model reset, a paint that took too long) for the time it is late. The probe keeps the
longest such gap and how many passed 100 ms.

Readable three ways: ``current()`` in the same process (benchmarks driving the GUI in-process), the
log (logger ``opsconsole.ui``: each new maximum over 100 ms as a warning, the summary at exit), and a
JSON file written at exit to the path in ``OPSCONSOLE_STALL_PROBE_FILE`` (benchmarks that run the
console as a subprocess).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer

log = logging.getLogger("opsconsole.ui")

ENV_ENABLE = "OPSCONSOLE_STALL_PROBE"
ENV_FILE = "OPSCONSOLE_STALL_PROBE_FILE"
INTERVAL_MS = 10
REPORT_THRESHOLD_S = 0.100

_active: StallProbe | None = None


class StallProbe(QObject):
    """Measures the longest time the GUI event loop did not get round to a due timer."""

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        interval_ms: int = INTERVAL_MS,
        report_threshold_s: float = REPORT_THRESHOLD_S,
    ) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.report_threshold_s = report_threshold_s
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._started_at = 0.0
        self._last = 0.0
        self._stopped_at: float | None = None
        self.max_stall_s = 0.0
        self.max_stall_at_s = 0.0  # seconds after start when the longest stall ended
        self.stalls_over_threshold = 0
        self.ticks = 0

    def start(self) -> None:
        self._started_at = self._last = time.perf_counter()
        self._stopped_at = None
        self._timer.start()

    def stop(self) -> dict[str, Any]:
        if self._timer.isActive():
            self._timer.stop()
            self._stopped_at = time.perf_counter()
        return self.report()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self._last - self.interval_ms / 1000.0
        self._last = now
        self.ticks += 1
        if gap >= self.report_threshold_s:
            self.stalls_over_threshold += 1
        if gap > self.max_stall_s:
            self.max_stall_s = gap
            self.max_stall_at_s = now - self._started_at
            if gap >= self.report_threshold_s:
                log.warning(
                    "GUI thread was blocked for %.0f ms (new maximum)",
                    gap * 1000,
                    extra={"stall_ms": round(gap * 1000, 1)},
                )

    def report(self) -> dict[str, Any]:
        end = self._stopped_at if self._stopped_at is not None else time.perf_counter()
        return {
            "max_stall_ms": round(self.max_stall_s * 1000, 2),
            "max_stall_at_s": round(self.max_stall_at_s, 3),
            "stalls_over_100ms": self.stalls_over_threshold,
            "ticks": self.ticks,
            "interval_ms": self.interval_ms,
            "running_s": round(end - self._started_at, 3) if self._started_at else 0.0,
        }


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(ENV_ENABLE, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def install(parent: QObject | None = None, *, interval_ms: int = INTERVAL_MS) -> StallProbe:
    """Start a probe and make it the one :func:`current` reports on."""
    global _active
    if _active is not None and _active.running:
        raise RuntimeError("a stall probe is already running")
    probe = StallProbe(parent, interval_ms=interval_ms)
    probe.start()
    _active = probe
    log.info("GUI stall probe running (every %d ms)", interval_ms)
    return probe


def install_from_env(parent: QObject | None = None) -> StallProbe | None:
    return install(parent) if enabled() else None


def current() -> dict[str, Any] | None:
    """The running (or last) probe's figures, or None when no probe was installed in this process."""
    return None if _active is None else _active.report()


def finish(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Stop the probe, log its summary and write it to OPSCONSOLE_STALL_PROBE_FILE if that is set."""
    if _active is None:
        return None
    report = _active.stop()
    log.info(
        "GUI stall probe: longest block %.1f ms, %d over 100 ms in %.1f s",
        report["max_stall_ms"],
        report["stalls_over_100ms"],
        report["running_s"],
        extra={"stall_probe": report},
    )
    target = (os.environ if environ is None else environ).get(ENV_FILE)
    if target:
        try:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report) + "\n", encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write the stall probe report to %s: %s", target, exc)
    return report


def reset() -> None:
    """Forget the probe (stopping it first); the next :func:`current` returns None."""
    global _active
    if _active is not None:
        _active.stop()
    _active = None
