"""The benchmark runner: ``python -m bench [names...]`` or ``python bench/run.py [names...]``.

Runs each named benchmark (``bench/<name>.py``, its ``run()``), or every benchmark module when no name
is given, and prints one JSON object per result on stdout: ``{"name","value","unit","baseline","ratio"}``.
Progress and errors go to stderr. Exit status: 0 when every benchmark ran, 1 when one failed or
returned malformed results, 2 for an unknown name.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_DIR = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "__main__", "run"}
RESULT_KEYS = ("name", "value", "unit", "baseline", "ratio")


def result(
    name: str, value: float, baseline: float | None, unit: str = "ms", *, digits: int = 3
) -> dict[str, Any]:
    """One result: ``value`` beside ``baseline`` (None when there is none), rounded to ``digits``."""
    return {
        "name": name,
        "value": round(value, digits),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, digits),
        "ratio": round(value / baseline, 3) if baseline else None,
    }


def available() -> list[str]:
    return sorted(
        p.stem for p in BENCH_DIR.glob("*.py") if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")
    )


def check_result(result: Any) -> str | None:
    """Why ``result`` is not a well-formed result, or None when it is."""
    if not isinstance(result, dict):
        return f"not a dict: {result!r}"
    missing = [k for k in RESULT_KEYS if k not in result]
    if missing:
        return f"missing {', '.join(missing)}: {result!r}"
    if not isinstance(result["name"], str) or not isinstance(result["unit"], str):
        return f"name and unit must be strings: {result!r}"
    for key in ("value", "baseline", "ratio"):
        value = result[key]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            return f"{key} must be a finite number or null: {result!r}"
    return None


def run_benchmark(name: str) -> list[dict[str, Any]]:
    module = importlib.import_module(f"bench.{name}")
    results = module.run()
    if not isinstance(results, list):
        raise TypeError(f"bench.{name}.run() returned {type(results).__name__}, not a list")
    for result in results:
        problem = check_result(result)
        if problem:
            raise ValueError(f"bench.{name}: malformed result, {problem}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(available())})"
    )
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}\n")
        return 2
    status = 0
    for name in names:
        sys.stderr.write(f"bench: running {name}\n")
        try:
            results = run_benchmark(name)
        except Exception:
            sys.stderr.write(f"bench: {name} failed\n{traceback.format_exc()}")
            status = 1
            continue
        for result in results:
            sys.stdout.write(json.dumps({k: result[k] for k in RESULT_KEYS}) + "\n")
            sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
