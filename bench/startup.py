"""Startup: from process start to the main window shown and the event loop idle, and the memory it takes.

Two programs are started the same way, alternately, as subprocesses of this benchmark, offscreen, with
a clean XDG environment in a temporary folder:

- the baseline: a bare PySide6 QMainWindow (a tiny script), shown, quitting when the loop first idles;
- the console: the real entry point started the way the desktop entry starts it, with no arguments
  (``python -m opsconsole``, which is what ``opsconsole-gui`` runs), its profile file in the user's
  config folder, and ``OPSCONSOLE_EXIT_WHEN_IDLE=1`` (``run_gui`` when the CLI is not there). The
  warm-up run also leaves what a user's earlier runs leave: the saved window state, colour scheme
  included (see ui/shell/palette.py).

Both print one JSON line when the event loop is about to block for the first time after the window is
shown (Qt's ``aboutToBlock``), with the wall-clock time and the peak resident memory (VmHWM). Time is
measured from just before the process is spawned. Each side runs ``OPSCONSOLE_BENCH_RUNS`` times
(default 7) after one warm-up run each (which fills the bytecode caches); the median is reported.

Results: ``startup.to_idle`` (s), ``startup.to_exit`` (s, including the orderly shutdown) and
``startup.peak_rss`` (MiB). Targets: to_idle ratio at most 2 (measured with the real first page once
the Users page lands), peak_rss under 150 MB.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RUNS = int(os.environ.get("OPSCONSOLE_BENCH_RUNS", "7"))
TIMEOUT = 60.0

BARE_WINDOW = """\
import json, sys, time
from PySide6.QtCore import QAbstractEventDispatcher
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1200, 760)
window.show()
dispatcher = QAbstractEventDispatcher.instance()

def memory():
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out["peak_rss_mib" if key == "VmHWM" else "rss_mib"] = int(value.split()[0]) / 1024
    return out

def idle():
    dispatcher.aboutToBlock.disconnect(idle)
    sys.stdout.write(json.dumps({"event": "idle", "time": time.time(), **memory()}) + "\\n")
    sys.stdout.flush()
    window.close()
    app.quit()

dispatcher.aboutToBlock.connect(idle)
sys.exit(app.exec())
"""

PROFILES = """\
default_profile = "sandbox"

[profiles.sandbox]
label = "Local sandbox"
environment = "development"
api_url = "http://127.0.0.1:8700/api"
issuer = "http://127.0.0.1:8700"
client_id = "opsconsole"
events_url = "ws://127.0.0.1:8700/ws/notifications"
"""

RUN_GUI = """\
import sys
from opsconsole import config
from opsconsole.ui.shell.app import run_gui
sys.exit(run_gui(config.load()))
"""


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "XDG_", "QT_"))}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        folder = home / var.lower()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[var] = str(folder)
    env["XDG_CONFIG_DIRS"] = str(home / "etc-xdg")
    # An installed package has its bytecode compiled; so must a source checkout under test. The warm-up
    # run fills this cache for both sides (PYTHONDONTWRITEBYTECODE, set on some machines, would make
    # every run recompile the console's modules but not the bare script's, which is not startup cost).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["OPSCONSOLE_EXIT_WHEN_IDLE"] = "1"
    return env


@contextmanager
def bench_home() -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary home with the clean environment of :func:`_environment` and the console's profile
    file in its config folder: ``(home, env)``, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-") as tmp:
        home = Path(tmp)
        env = _environment(home)
        profiles = Path(env["XDG_CONFIG_HOME"]) / "opsconsole" / "profiles.toml"
        profiles.parent.mkdir(parents=True, exist_ok=True)
        profiles.write_text(PROFILES, encoding="utf-8")
        yield home, env


def app_command() -> list[str]:
    """The console's real entry point as the desktop starts it: the CLI when it is installed, with no
    arguments (the profiles come from the user's config folder); run_gui otherwise."""
    if importlib.util.find_spec("opsconsole.cli") and importlib.util.find_spec("opsconsole.__main__"):
        return [sys.executable, "-m", "opsconsole"]
    return [sys.executable, "-c", RUN_GUI]


def measure(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One run: seconds to idle and to exit, and the memory figures the process reported."""
    start = time.time()
    proc = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    exited = time.time()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{") and '"idle"' in ln), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(
            f"{' '.join(command[:4])} exited with {proc.returncode} without an idle report:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    report = json.loads(line)
    return {
        "to_idle": report["time"] - start,
        "to_exit": exited - start,
        "peak_rss_mib": report.get("peak_rss_mib"),
        "stderr": proc.stderr,
    }


def _result(name: str, value: float, unit: str, baseline: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4),
        "ratio": round(value / baseline, 3) if baseline else None,
    }


def run() -> list[dict[str, Any]]:
    with bench_home() as (home, env):
        bare_script = home / "bare_window.py"
        bare_script.write_text(BARE_WINDOW, encoding="utf-8")
        bare = [sys.executable, str(bare_script)]
        app = app_command()

        measure(bare, env, home)  # warm-up: bytecode caches, fontconfig cache, page cache
        warm = measure(app, env, home)
        noisy = [ln for ln in warm["stderr"].splitlines() if ln.strip()]
        if noisy:
            sys.stderr.write("startup: the console wrote to stderr:\n  " + "\n  ".join(noisy[:20]) + "\n")

        bare_runs: list[dict[str, Any]] = []
        app_runs: list[dict[str, Any]] = []
        for _ in range(max(1, RUNS)):  # alternate, so drifting machine load hits both sides alike
            bare_runs.append(measure(bare, env, home))
            app_runs.append(measure(app, env, home))

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    return [
        _result("startup.to_idle", median(app_runs, "to_idle"), "s", median(bare_runs, "to_idle")),
        _result("startup.to_exit", median(app_runs, "to_exit"), "s", median(bare_runs, "to_exit")),
        _result(
            "startup.peak_rss", median(app_runs, "peak_rss_mib"), "MiB", median(bare_runs, "peak_rss_mib")
        ),
    ]


if __name__ == "__main__":
    for item in run():
        print(json.dumps(item))
