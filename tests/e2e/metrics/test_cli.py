"""`opsconsole metrics query` and `metrics scrape` as a user runs them (the console script in a child
process), against the real Prometheus and sandbox: JSON shapes of the contract, text summaries, and
errors with the contract's exit codes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prometheus import RunningPrometheus

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def profiles(tmp_path: Path, prometheus: RunningPrometheus) -> Path:
    url = prometheus.sandbox.url.rstrip("/")
    path = tmp_path / "profiles.toml"
    path.write_text(
        f"""
default_profile = "sandbox"
[profiles.sandbox]
api_url = "{url}/api"
issuer = "{url}"
client_id = "opsconsole"
token_storage = "memory"
prometheus_url = "{prometheus.url}"
metrics_url = "{url}/metrics"

[profiles.bare]
api_url = "{url}/api"
issuer = "{url}"
client_id = "opsconsole"
token_storage = "memory"
""",
        encoding="utf-8",
    )
    return path


def cli(profiles: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", "--config", str(profiles), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=os.environ.copy(),
        cwd=ROOT,
        check=False,
    )


def test_query_json_is_prometheus_matrix(profiles: Path) -> None:
    done = cli(profiles, "metrics", "query", "sum by (job) (up)", "--range", "1m", "--step", "5s", "--json")
    assert done.returncode == 0, done.stderr
    matrix = json.loads(done.stdout)
    assert {s["metric"]["job"] for s in matrix} == {"sandbox", "prometheus"}
    for series in matrix:
        assert set(series) == {"metric", "values"}
        assert all(isinstance(t, int | float) and v == "1" for t, v in series["values"])
        times = [t for t, _ in series["values"]]
        assert all(b - a == 5 for a, b in itertools.pairwise(times))


def test_query_text_summarises_each_series(profiles: Path) -> None:
    done = cli(profiles, "metrics", "query", "up", "--range", "30s", "--step", "10s")
    assert done.returncode == 0, done.stderr
    assert 'up{instance="' in done.stdout and 'job="sandbox"}' in done.stdout
    assert "points  min 1  max 1  last 1 at " in done.stdout


def test_query_with_no_data_says_so(profiles: Path) -> None:
    done = cli(profiles, "metrics", "query", 'up{job="nobody"}')
    assert done.returncode == 0
    assert done.stdout.strip() == 'No data: up{job="nobody"} returned no series in this range.'
    done = cli(profiles, "metrics", "query", 'up{job="nobody"}', "--json")
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sum(up"], 2, "opsconsole: Bad query: 1:7: parse error: unclosed left parenthesis"),
        (
            ["sum by (job) (up) / on() up"],
            1,
            "opsconsole: Query failed: found duplicate series for the match group {}",
        ),
        (["up", "--range", "soon"], 2, "opsconsole: not a duration: 'soon'"),
        (
            ["up", "--range", "7d", "--step", "1s"],
            2,
            "opsconsole: Bad query: exceeded maximum resolution of 11,000 points",
        ),
        (["--profile", "bare", "up"], 1, 'opsconsole: Profile "bare" has no prometheus_url'),
    ],
)
def test_query_errors(profiles: Path, args: list[str], code: int, message: str) -> None:
    if args[0] == "--profile":
        args = [*args[:2], "metrics", "query", *args[2:]]
    else:
        args = ["metrics", "query", *args]
    done = cli(profiles, *args, "--json")
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_scrape_json_of_the_profiles_endpoint(profiles: Path, prometheus: RunningPrometheus) -> None:
    done = cli(profiles, "metrics", "scrape", "--json")
    assert done.returncode == 0, done.stderr
    families = {f["name"]: f for f in json.loads(done.stdout)}
    assert families["http_requests"]["type"] == "counter"
    assert families["http_request_duration_seconds"]["type"] == "histogram"
    assert families["system_memory_bytes"]["type"] == "gauge" and families["system_memory_bytes"]["help"]
    sample = families["http_requests"]["samples"][0]
    assert {"method", "path", "status"} <= set(sample["labels"])
    assert isinstance(sample["value"], float)
    assert any(
        s["labels"].get("__name__") == "http_request_duration_seconds_bucket"
        for s in families["http_request_duration_seconds"]["samples"]
    )


def test_scrape_a_given_url_as_text(profiles: Path, prometheus: RunningPrometheus) -> None:
    done = cli(profiles, "--profile", "bare", "metrics", "scrape", f"{prometheus.url}/metrics")
    assert done.returncode == 0, done.stderr
    assert "prometheus_build_info (gauge)" in done.stdout
    assert "\n  prometheus_build_info{" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--profile", "bare", "metrics", "scrape"], 1, 'opsconsole: Profile "bare" has no metrics_url'),
        (["metrics", "scrape", "ftp://example.com/metrics"], 2, "opsconsole: Not an http(s) URL"),
        (
            ["metrics", "scrape", "http://127.0.0.1:9/metrics"],
            1,
            "opsconsole: Could not connect to 127.0.0.1:9",
        ),
    ],
)
def test_scrape_errors(profiles: Path, args: list[str], code: int, message: str) -> None:
    done = cli(profiles, *args)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(message), done.stderr
