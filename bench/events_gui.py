"""The console's Notifications page under a flood: every event shown, the GUI never stalls, memory flat.

Setup: `opsconsole sandbox --event-rate RATE` in a child process (it publishes alert events in batches,
persisted, ids consecutive); in this process the console's real window (offscreen) signed in to it,
the Notifications page in view, and a stall probe ticking every 10 ms on the GUI thread. The run lasts
DURATION seconds after the stream is live.

Results:
- `events_gui.delivered_rate` (events/s): events the page received, against the rate asked of the
  sandbox (the baseline). None lost is checked separately:
- `events_gui.lost` (events): ids missing or repeated between the first and the last event received
  (the sandbox's ids are consecutive); must be 0. Baseline: null.
- `events_gui.max_stall` (ms): the GUI thread's longest stall while showing the flood. Baseline: the
  same window, signed in, with the stream idle for the same time (the machine's own noise). Target:
  under 50 ms.
- `events_gui.rss_growth_after_fill` (MiB): resident memory at the end minus at a third of the run,
  once the list's history (10,000 events) has filled. Baseline: null. Flat means near 0.

Run: `.venv/bin/python -m bench events_gui` (OPSCONSOLE_BENCH_EVENT_RATE, OPSCONSOLE_BENCH_DURATION
override 10000 events/s and 30 s).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RATE = float(os.environ.get("OPSCONSOLE_BENCH_EVENT_RATE", "10000"))
DURATION = float(os.environ.get("OPSCONSOLE_BENCH_DURATION", "30"))
_BANNER = re.compile(r"sandbox on (http://127\.0\.0\.1:\d+)")


@contextmanager
def _child_sandbox(*args: str) -> Iterator[str]:
    """`opsconsole sandbox ARGS` in a child process on a free port; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-events-gui-") as data_dir:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log_path = Path(data_dir) / "sandbox.log"
        with log_path.open("w") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "opsconsole", "sandbox", "--port", str(port), "--data-dir", data_dir, *args],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not _BANNER.search(log_path.read_text()):
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            child.terminate()
            child.wait(30)


class _Sandbox:
    """What tests.support's helpers need of a running sandbox: its URL."""

    def __init__(self, url: str) -> None:
        self.url = url


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _run_window(url: str, seconds: float) -> dict[str, Any]:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from tests.support.signed_in import config_for, sandbox_profile, store_sign_in

    from opsconsole.events.model import Event, Phase
    from opsconsole.ui.events.room import room_for
    from opsconsole.ui.shell.app import ensure_application, start_gui
    from opsconsole.ui.shell.stall_probe import StallProbe

    app = ensure_application(["bench"])
    sandbox: Any = _Sandbox(url)
    store_sign_in(sandbox)
    profile = sandbox_profile(sandbox)
    session = start_gui(
        app, config_for(profile), profile=profile.name, install_qt_log=False, show_problems=False
    )
    window = session.window
    window.resize(1200, 800)

    def spin(condition: Callable[[], bool], ms: float) -> None:
        timer = QElapsedTimer()
        timer.start()
        while not condition() and timer.elapsed() < ms:
            loop = QEventLoop()
            QTimer.singleShot(20, loop.quit)
            loop.exec()

    room = room_for(window.context)
    spin(lambda: room.feed.status.phase is Phase.LIVE, 30_000)
    window.show_page("notifications")
    ids: dict[str, int] = {"first": 0, "last": 0, "count": 0, "bad": 0}

    def on_events(events: list[Event]) -> None:
        for event in events:
            if ids["last"] and event.id != ids["last"] + 1:
                ids["bad"] += abs(event.id - ids["last"] - 1) or 1
            ids["first"] = ids["first"] or event.id
            ids["last"] = event.id
        ids["count"] += len(events)

    room.feed.eventsArrived.connect(on_events)
    spin(lambda: False, 2000)  # settle: the history fills, caches warm
    probe = StallProbe(window)
    received_before = ids["count"]
    started = time.perf_counter()
    probe.start()
    spin(lambda: False, seconds * 1000 / 3)
    rss_third = _rss_mib()
    spin(lambda: False, seconds * 1000 * 2 / 3)
    report = probe.stop()
    elapsed = time.perf_counter() - started
    result = {
        "max_stall_ms": report["max_stall_ms"],
        "rate": (ids["count"] - received_before) / elapsed,
        "lost": ids["bad"],
        "rss_growth": _rss_mib() - rss_third,
        "received": ids["count"],
        "reconnects": room.feed.stream.stats.reconnects if room.feed.stream is not None else -1,
    }
    window.close()
    session.shutdown()
    return result


def _in_child(mode: str, url: str) -> dict[str, Any]:
    """One window in a fresh process (offscreen), so the two runs do not share a QApplication."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.events_gui", mode, url],
        capture_output=True, text=True, env=env, timeout=DURATION * 3 + 180, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} window failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run() -> list[dict[str, Any]]:
    with _child_sandbox() as quiet_url:
        idle = _in_child("idle", quiet_url)
    with _child_sandbox("--event-rate", str(RATE)) as url:
        flood = _in_child("flood", url)
    return [
        {
            "name": "events_gui.delivered_rate",
            "value": round(flood["rate"], 1),
            "unit": "events/s",
            "baseline": RATE,
            "ratio": round(flood["rate"] / RATE, 3),
        },
        {
            "name": "events_gui.lost",
            "value": flood["lost"],
            "unit": "events",
            "baseline": None,
            "ratio": None,
        },
        # A slow consumer is closed with 1013 and resumes: allowed, but each one is a visible hiccup.
        {
            "name": "events_gui.reconnects",
            "value": flood["reconnects"],
            "unit": "count",
            "baseline": None,
            "ratio": None,
        },
        {
            "name": "events_gui.max_stall",
            "value": flood["max_stall_ms"],
            "unit": "ms",
            "baseline": idle["max_stall_ms"],
            "ratio": round(flood["max_stall_ms"] / max(idle["max_stall_ms"], 0.1), 3),
        },
        {
            "name": "events_gui.rss_growth_after_fill",
            "value": round(flood["rss_growth"], 1),
            "unit": "MiB",
            "baseline": None,
            "ratio": None,
        },
    ]


def main(argv: list[str]) -> int:
    if len(argv) == 3:  # a child: one window
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        with tempfile.TemporaryDirectory(prefix="opsconsole-bench-home-") as home:
            for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
                os.environ[var] = str(Path(home) / var.lower())
            print(json.dumps(_run_window(argv[2], DURATION)), flush=True)
        return 0
    for result in run():
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
