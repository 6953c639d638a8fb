"""The benchmark runner's contract, and one quick pass of the startup benchmark (shape, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench import run as runner

REPO = Path(__file__).resolve().parents[3]


def test_result_check() -> None:
    good = {"name": "x", "value": 1.0, "unit": "s", "baseline": 2.0, "ratio": 0.5}
    assert runner.check_result(good) is None
    assert "missing" in (runner.check_result({"name": "x"}) or "")
    assert "finite" in (runner.check_result({**good, "value": float("nan")}) or "")
    assert "finite" in (runner.check_result({**good, "ratio": "fast"}) or "")
    assert runner.check_result({**good, "baseline": None, "ratio": None}) is None


def test_unknown_benchmark_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "no_such_bench"], cwd=REPO, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "startup" in proc.stderr


@pytest.mark.slow
def test_startup_benchmark_prints_one_json_result_per_figure(tmp_path: Path) -> None:
    env = {"OPSCONSOLE_BENCH_RUNS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "startup"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["name"] for r in results] == ["startup.to_idle", "startup.to_exit", "startup.peak_rss"]
    for result in results:
        assert set(result) == {"name", "value", "unit", "baseline", "ratio"}
        assert result["value"] > 0 and result["baseline"] > 0
        assert result["ratio"] == pytest.approx(result["value"] / result["baseline"], rel=0.01)
