"""Opening a big trace: read + model + layout + critical path, against json.loads of the same bytes.

Two generated Jaeger traces (bench/_traces_data.py: 24 services, 7 tags a span, logs on one in ten),
of 20,000 and 100,000 spans, as the query API serves them. For each, in the same run and interleaved
so both see the same machine load:

- ``open``: bytes -> Trace (msgspec decode, the model) -> Layout -> critical path -> the text of the
  first screen of rows (60), what the view needs before it can paint. Baseline: ``json.loads`` alone.
- ``open`` again against ``json.loads`` with the collector paused, as the reader pauses it.
- its parts: ``read`` (bytes -> Trace), ``layout``, ``critical_path``, each against the same baseline.
- memory per span: the Trace kept alive, after the document is gone (tracemalloc); baseline: the same
  document kept as json.loads' dicts and lists. And the Layout's own columns per span.

Targets (issue 20): the 20k trace parsed, laid out and its rows shown in under 200 ms; the 100k one
opened in under 2 s, with room left for the GUI. Times are medians in ms. The machine is shared and
noisy: compare ratios. ``OPSCONSOLE_BENCH_REPEAT`` (default 5) sets the runs per size.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._traces_data import jaeger_trace
from bench.run import result
from opsconsole.traces import critical_path, layout, traces_from_bytes
from opsconsole.traces.render import format_duration

SIZES = (20_000, 100_000)
FIRST_SCREEN = 60
TARGET_MS = {20_000: 200.0, 100_000: 2000.0}


def _repeat() -> int:
    return max(1, int(os.environ.get("OPSCONSOLE_BENCH_REPEAT", "5")))


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def _first_screen(lay: Any) -> list[str]:
    out = []
    for row in range(min(FIRST_SCREEN, len(lay.order))):
        s = lay.spans[lay.order[row]]
        out.append(f"{'  ' * lay.depth[row]}{s.service}: {s.operation} ({format_duration(s.duration_us)})")
    return out


_result = functools.partial(result, digits=1)  # (name, value, baseline, unit="ms")


def _bytes_per_span(build: Callable[[], Any], spans: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        kept = build()
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return size / spans


def measure(spans: int, repeat: int) -> list[dict[str, Any]]:
    data = json.dumps(jaeger_trace(spans)).encode()
    times: dict[str, list[float]] = {
        k: [] for k in ("json", "json_no_gc", "open", "read", "layout", "critical_path")
    }
    for _ in range(repeat):
        ms, doc = _timed(lambda: json.loads(data))
        times["json"].append(ms)
        del doc
        gc.collect()
        # json.loads as a program calls it runs the collector on its 100,000s of new dicts; the
        # reader pauses it, so it is also compared with json.loads paused the same way.
        gc.disable()
        ms, doc = _timed(lambda: json.loads(data))
        gc.enable()
        times["json_no_gc"].append(ms)
        del doc
        gc.collect()
        start = time.perf_counter()
        traces = traces_from_bytes(data)
        read_done = time.perf_counter()
        lay = layout(traces[0])
        layout_done = time.perf_counter()
        critical_path(lay)
        path_done = time.perf_counter()
        times["read"].append((read_done - start) * 1000)
        times["layout"].append((layout_done - read_done) * 1000)
        times["critical_path"].append((path_done - layout_done) * 1000)
        rows = _first_screen(lay)
        times["open"].append((time.perf_counter() - start) * 1000)
        assert len(lay.order) == spans and rows
        del traces, lay
        gc.collect()
    med = {k: statistics.median(v) for k, v in times.items()}
    label = f"traces_{spans // 1000}k"
    results = [
        _result(f"{label}_{part}_ms", med[part], med["json"])
        for part in ("open", "read", "layout", "critical_path")
    ]
    results.append(_result(f"{label}_open_vs_json_no_gc_ms", med["open"], med["json_no_gc"]))
    model = _bytes_per_span(lambda: traces_from_bytes(data), spans)
    plain = _bytes_per_span(lambda: json.loads(data), spans)
    results.append(_result(f"{label}_model_bytes_per_span", model, plain, "B"))
    (trace,) = traces_from_bytes(data)
    results.append(
        _result(f"{label}_layout_bytes_per_span", _bytes_per_span(lambda: layout(trace), spans), None, "B")
    )
    print(
        f"traces_parse: {spans} spans ({len(data) / 2**20:.0f} MiB): open {med['open']:.0f} ms "
        f"(target {TARGET_MS[spans]:.0f} ms), json.loads {med['json']:.0f} ms "
        f"({med['json_no_gc']:.0f} ms with the collector paused)",
        file=sys.stderr,
    )
    return results


def run() -> list[dict[str, Any]]:
    repeat = _repeat()
    out: list[dict[str, Any]] = []
    for spans in SIZES:
        out += measure(spans, repeat if spans < 100_000 else max(1, repeat // 2 + 1))
    return out


if __name__ == "__main__":
    for item in run():
        print(json.dumps(item))
