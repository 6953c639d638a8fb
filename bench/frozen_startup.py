"""Frozen startup: the PyInstaller bundle's start to an idle main window against the same app from the
virtualenv, and the sizes of the bundle and the .deb.

Follows bench/startup.py and shares its harness (same clean XDG environment, profile file, offscreen
platform, ``OPSCONSOLE_EXIT_WHEN_IDLE=1``, one JSON line at the first idle): the two sides are

- the baseline: the console from the virtualenv, started as the desktop starts it (``python -m
  opsconsole``, what ``opsconsole-gui`` runs);
- the frozen bundle's executable with no arguments (what ``/usr/bin/opsconsole-gui`` runs once the
  .deb is installed).

Each runs once to warm up (bytecode and page caches), then ``OPSCONSOLE_BENCH_RUNS`` times (default
7), alternately; the medians are reported. Target: to_idle ratio at most 2 (issue 21).

The bundle is ``OPSCONSOLE_FROZEN_BUNDLE`` or the one packaging/build-deb.sh leaves in
``build/deb/bundle/opsconsole``; the .deb the newest ``dist/opsconsole_*.deb``. Without a bundle the
benchmark fails and says how to build one. Sizes are apparent sizes in MB (10^6 bytes); their
baseline is null (the target, under 150 MB, is a limit, not a measurement).
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from bench.startup import RUNS, _result, app_command, bench_home, measure

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = REPO / "build" / "deb" / "bundle" / "opsconsole"


def bundle_dir() -> Path:
    bundle = Path(os.environ.get("OPSCONSOLE_FROZEN_BUNDLE") or DEFAULT_BUNDLE)
    if not (bundle / "opsconsole").is_file():
        raise RuntimeError(
            f"no frozen bundle in {bundle}: build it with packaging/build-deb.sh "
            "(or point OPSCONSOLE_FROZEN_BUNDLE at a dist/opsconsole folder)"
        )
    return bundle


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def _size(name: str, size: int) -> dict[str, Any]:
    return {"name": name, "value": round(size / 1e6, 1), "unit": "MB", "baseline": None, "ratio": None}


def run() -> list[dict[str, Any]]:
    bundle = bundle_dir()
    frozen = [str(bundle / "opsconsole")]
    venv = app_command()
    with bench_home() as (home, env):
        sides = {"venv": venv, "frozen": frozen}
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
        for command in sides.values():
            measure(command, env, home)  # warm-up: bytecode caches, fontconfig cache, page cache
        for _ in range(max(1, RUNS)):
            for side, command in sides.items():  # alternate, so drifting load hits both sides alike
                runs[side].append(measure(command, env, home))

    def median(side: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[side]))

    results = [
        _result("frozen_startup.to_idle", median("frozen", "to_idle"), "s", median("venv", "to_idle")),
        _result(
            "frozen_startup.peak_rss", median("frozen", "peak_rss_mib"), "MiB", median("venv", "peak_rss_mib")
        ),
        _size("frozen_startup.bundle_size", tree_bytes(bundle)),
    ]
    debs = sorted((REPO / "dist").glob("opsconsole_*.deb"), key=lambda p: p.stat().st_mtime)
    if debs:
        results.append(_size("frozen_startup.deb_size", tree_bytes(debs[-1])))
    return results
