"""The trace view with big traces: opening, scrolling and zooming, against json.loads of the same bytes.

Generated Jaeger traces (bench/_traces_data.py: 24 services, 7 tags a span, logs on one in ten) of
20,000 and 100,000 spans, shown in the real TraceView (offscreen, 1400x900) in the same run, and
interleaved with the baseline so both see the same machine load:

- ``open``: bytes -> Trace -> layout and row columns (ui/traces/prepared.py) -> set_trace -> the
  first paint of the waterfall, ruler and minimap, done: the rows are on screen. Median ms.
  Baseline: ``json.loads`` of the same bytes (median).
- ``background_finish``: what the page then does between frames while the rows are already
  usable (the critical path; every span's details read, for the text find searches and the error
  count), and the repaint that draws the path.
- ``scroll_frame_max`` and ``_p95``: 150 frames of scrolling (row by row, then page by page, then
  jumps across the whole trace), each frame one synchronous repaint of the waterfall's viewport;
  paint time per frame in ms, as wall time and as this thread's CPU time (``_cpu_``: what the paint
  itself costs, without the waits a machine shared by other jobs adds). Target: every frame under
  16 ms. Baseline: the same json.loads median, for scale.
- ``zoom_frame_max`` and ``_p95``: 120 frames zooming in and out around moving points, each frame a
  repaint of the waterfall, the ruler and the minimap.
- ``during_background_scroll_frame_max`` and ``_p95`` (and ``zoom``, and ``_cpu_``): the same frames while
  the background pass runs, as the page runs it: a slice at a time from the event loop, between
  frames (ui/traces/slices.py). Frames are due at 60 Hz, run by timers of the Qt event loop; a frame's
  wall time runs from when it was due to the end of its paint, so it includes the slice it waited
  for. ``_background_under_frames_ms``: that pass's own time meanwhile.
- ``collapse_all_ms`` and ``find_ms``: the two whole-trace actions on the GUI thread (collapse every
  span; a find over every span's service, operation, id and tags, their text built in the background).
- ``rows_painted_max``: the most rows one paint drew (the view shows 35): it must not grow with the
  trace.
- ``bytes_per_span``: the opened trace (model, layout, row columns, critical path and find's text)
  kept alive; baseline: the same document kept as json.loads' dicts and lists (tracemalloc).

``OPSCONSOLE_BENCH_REPEAT`` (default 3) sets the opening runs per size.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._traces_data import jaeger_trace
from bench.traces_parse import _bytes_per_span as _kept_bytes_per_span
from bench.traces_parse import _result

SIZES = (20_000, 100_000)
TARGET_OPEN_MS = {20_000: 200.0, 100_000: 2000.0}
FRAME_MS = 16.0
FRAME_INTERVAL_S = 1 / 60
# Background passes to paint frames during: about 250 ms each at 20k, 1.3 s at 100k.
DURING_ROUNDS = {20_000: 6, 100_000: 2}


def _repeat() -> int:
    return max(1, int(os.environ.get("OPSCONSOLE_BENCH_REPEAT", "3")))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


class Frames:
    """Frame times, wall and CPU, in ms."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    def time(self, fn: Callable[[], None]) -> float:
        """Run ``fn``, add its wall and CPU time on this thread (what it costs itself, without the waits
        a machine shared by other jobs adds); return the wall ms."""
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        self.add((time.perf_counter() - start) * 1000, (time.thread_time() - start_cpu) * 1000)
        return self.wall[-1]

    def results(self, label: str, base: float) -> list[dict[str, Any]]:
        return [
            _result(f"{label}_frame_max_ms", max(self.wall), base),
            _result(f"{label}_frame_p95_ms", _p95(self.wall), base),
            _result(f"{label}_frame_cpu_max_ms", max(self.cpu), base),
            _result(f"{label}_frame_cpu_p95_ms", _p95(self.cpu), base),
        ]

    def summary(self) -> str:
        return (
            f"max {max(self.wall):.1f} p95 {_p95(self.wall):.1f} (CPU max {max(self.cpu):.1f} "
            f"p95 {_p95(self.cpu):.1f}, {len(self.wall)} frames)"
        )


def _frames_while(
    running: Callable[[], bool], frames: tuple[Callable[[], None], ...], out: list[Frames]
) -> None:
    """Paint ``frames`` in turn (one to ``out[i]`` each) at 60 Hz, from timers of the Qt event loop as
    the app does, until ``running()`` is false."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    due = time.perf_counter()
    count = itertools.count()

    def frame() -> None:
        nonlocal due
        i = next(count)
        start_cpu = time.thread_time()
        frames[i % len(frames)]()
        out[i % len(frames)].add((time.perf_counter() - due) * 1000, (time.thread_time() - start_cpu) * 1000)
        if not running():
            loop.quit()
            return
        due = max(due + FRAME_INTERVAL_S, time.perf_counter())
        QTimer.singleShot(max(0, round((due - time.perf_counter()) * 1000)), frame)

    due += FRAME_INTERVAL_S
    QTimer.singleShot(round(FRAME_INTERVAL_S * 1000), frame)
    loop.exec()


def measure(app: Any, spans: int, repeat: int) -> list[dict[str, Any]]:
    from PySide6.QtWidgets import QApplication

    from opsconsole.traces import traces_from_bytes
    from opsconsole.traces.critical_path import run_steps
    from opsconsole.ui.traces.prepared import background_steps, prepare
    from opsconsole.ui.traces.slices import TimeSliced

    def finish(prepared: Any) -> Any:
        return run_steps(background_steps(prepared))

    from opsconsole.ui.traces.trace_view import TraceView

    data = json.dumps(jaeger_trace(spans)).encode()
    view = TraceView()
    view.resize(1400, 900)
    view.show()
    QApplication.processEvents()
    wf = view.waterfall
    json_ms: list[float] = []
    open_ms: list[float] = []
    after_ms: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        doc = json.loads(data)
        json_ms.append((time.perf_counter() - start) * 1000)
        del doc
        gc.collect()
        start = time.perf_counter()
        (trace,) = traces_from_bytes(data)
        prepared = prepare(trace, "bench", critical=False)
        view.set_trace(prepared)
        wf.viewport().repaint()
        wf.ruler.repaint()
        view.minimap.repaint()
        open_ms.append((time.perf_counter() - start) * 1000)
        assert wf.painted and wf.painted[0] == 0
        # What the page does next in the background (the GUI stays live): the critical path and the
        # text find searches; then the path is drawn.
        start = time.perf_counter()
        finish(prepared)
        view.background_ready(prepared)
        wf.viewport().repaint()
        after_ms.append((time.perf_counter() - start) * 1000)
        del trace, prepared
        gc.collect()
    base = statistics.median(json_ms)
    label = f"traces_gui_{spans // 1000}k"
    results = [
        _result(f"{label}_open_ms", statistics.median(open_ms), base),
        _result(f"{label}_background_finish_ms", statistics.median(after_ms), base),
    ]

    # Scrolling: row by row, page by page, then jumps across the whole trace.
    bar = wf.verticalScrollBar()
    h = wf.row_height
    positions = [i * h for i in range(50)]
    positions += [bar.pageStep() * i for i in range(50)]
    positions += [bar.maximum() * i // 49 for i in range(50)]
    most_rows = 0
    scroll = Frames()
    for value in positions:
        bar.setValue(value)
        scroll.time(wf.viewport().repaint)
        most_rows = max(most_rows, len(wf.painted))
    results += scroll.results(f"{label}_scroll", base)

    # Zooming in and out around moving points, each frame repainting the waterfall, ruler and minimap.
    bar.setValue(bar.maximum() // 3)
    window = view.time_window
    zoom = Frames()
    for i in range(120):
        factor = 0.8 if (i // 30) % 2 == 0 else 1.25
        at = window.total * ((i * 37) % 100) / 100

        def frame(factor: float = factor, at: float = at) -> None:
            window.zoom(factor, at)
            wf.viewport().repaint()
            wf.ruler.repaint()
            view.minimap.repaint()

        zoom.time(frame)
        most_rows = max(most_rows, len(wf.painted))
    results += zoom.results(f"{label}_zoom", base)
    results.append(_result(f"{label}_rows_painted_max", most_rows, None, "rows"))

    # The same frames while the background pass runs, a slice at a time between them, as the page runs it.
    scroll_during, zoom_during = Frames(), Frames()
    during_ms: list[float] = []
    steps = itertools.count()

    def scroll_frame() -> None:
        bar.setValue(positions[next(steps) % len(positions)])
        wf.viewport().repaint()

    def zoom_frame() -> None:
        i = next(steps)
        window.zoom(0.8 if (i // 30) % 2 == 0 else 1.25, window.total * ((i * 37) % 100) / 100)
        wf.viewport().repaint()
        wf.ruler.repaint()
        view.minimap.repaint()

    for _ in range(DURING_ROUNDS[spans]):
        (trace,) = traces_from_bytes(data)
        prepared = prepare(trace, "bench", critical=False)
        view.set_trace(prepared)
        wf.viewport().repaint()
        start = time.perf_counter()
        ended: list[float] = []

        def done(p: Any, ended: list[float] = ended) -> None:
            ended.append(time.perf_counter())
            view.background_ready(p)

        background = TimeSliced(background_steps(prepared), done)
        _frames_while(
            lambda b=background: bool(b.running), (scroll_frame, zoom_frame), [scroll_during, zoom_during]
        )
        background.deleteLater()
        during_ms.append((ended[0] - start) * 1000)
        del trace, prepared
        gc.collect()
    results += scroll_during.results(f"{label}_during_background_scroll", base)
    results += zoom_during.results(f"{label}_during_background_zoom", base)
    results.append(_result(f"{label}_background_under_frames_ms", statistics.median(during_ms), base))

    results.append(_result(f"{label}_collapse_all_ms", Frames().time(wf.collapse_all), base))
    wf.expand_all()
    results.append(
        _result(f"{label}_find_ms", Frames().time(lambda: view.find_box.setText("cache miss")), base)
    )

    view.close()
    view.deleteLater()
    QApplication.processEvents()
    gc.collect()
    results.append(
        _result(
            f"{label}_bytes_per_span",
            _kept_bytes_per_span(lambda: finish(prepare(traces_from_bytes(data)[0], critical=False)), spans),
            _kept_bytes_per_span(lambda: json.loads(data), spans),
            "B",
        )
    )
    print(
        f"traces_gui: {spans} spans: open {statistics.median(open_ms):.0f} ms (target {TARGET_OPEN_MS[spans]:.0f}), "
        f"json.loads {base:.0f} ms; frames (target {FRAME_MS:.0f} ms): scroll {scroll.summary()}; "
        f"zoom {zoom.summary()}; at most {most_rows} rows a paint",
        file=sys.stderr,
    )
    print(
        f"traces_gui: {spans} spans, frames during the background pass ({statistics.median(during_ms):.0f} ms "
        f"with them, {statistics.median(after_ms):.0f} ms alone): scroll {scroll_during.summary()}; "
        f"zoom {zoom_during.summary()}",
        file=sys.stderr,
    )
    return results


def run() -> list[dict[str, Any]]:
    from opsconsole.ui.shell.app import ensure_application

    app = ensure_application(["bench"])
    repeat = _repeat()
    out: list[dict[str, Any]] = []
    for spans in SIZES:
        out += measure(app, spans, repeat if spans < 100_000 else max(1, repeat // 2 + 1))
    return out


if __name__ == "__main__":
    for item in run():
        print(json.dumps(item))
