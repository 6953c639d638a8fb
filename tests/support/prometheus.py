"""pytest fixtures: a real Prometheus server (Debian's ``prometheus`` package) scraping a real sandbox.

- ``prometheus`` (module scope): a sandbox on a free loopback port and ``/usr/bin/prometheus`` on
  another, with a temp config and data dir, scraping the sandbox and itself every second and
  evaluating two alert rules (one firing at once, one pending for an hour). Ready once ``/-/ready``
  answers and both targets have been scraped; stopped cleanly (SIGTERM, then its data dir removed).
  ``prometheus.url``, ``prometheus.sandbox`` (a RunningSandbox), ``prometheus.query(expr)``.
- ``wait_until(prom, expr, predicate)``: polls an instant query until its vector satisfies
  ``predicate`` (Prometheus has no push notification for "this sample has arrived").

Without the binary the tests that need it are skipped, except under CI (env ``CI`` set) where they
fail: a CI run must not pass by silently leaving Prometheus out (apt-get install prometheus;
scripts/system-deps.sh test installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox, start_background
from tests.support.sandbox import test_settings

BINARY = "/usr/bin/prometheus"
_START_TIMEOUT = 60.0
_POLL = 0.1

RULES = """\
groups:
  - name: opsconsole-tests
    interval: 1s
    rules:
      - alert: TestAlwaysFiring
        expr: vector(1)
        labels: {severity: warning}
        annotations: {summary: "fires at once (tests)"}
      - alert: TestAlwaysPending
        expr: vector(1)
        for: 1h
        labels: {severity: critical}
        annotations: {summary: "pending for an hour (tests)"}
"""


def _no_prometheus(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"Prometheus is required under CI: {reason}", pytrace=False)
    pytest.skip(f"Prometheus not available: {reason}")


def find_binary() -> str | None:
    if os.access(BINARY, os.X_OK):
        return BINARY
    return shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config_yaml(sandbox_target: str, self_target: str) -> str:
    return f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: sandbox
    static_configs: [{{targets: ["{sandbox_target}"]}}]
  - job_name: prometheus
    static_configs: [{{targets: ["{self_target}"]}}]
"""


@dataclass
class RunningPrometheus:
    url: str
    sandbox: RunningSandbox
    root: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (raises on any error: a test helper)."""
        response = self.client.get(f"{self.url}/api/v1/query", params={"query": expr})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def wait_until(
    prom: RunningPrometheus,
    expr: str,
    predicate: Callable[[list[dict[str, Any]]], bool] = bool,
    timeout: float = _START_TIMEOUT,
) -> list[dict[str, Any]]:
    """Poll ``expr`` until ``predicate(result)`` holds; the result. Fails the test on timeout."""
    deadline = time.monotonic() + timeout
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if prom.process.poll() is not None:
            pytest.fail(f"prometheus exited:\n{prom.log()}")
        result = prom.query(expr)
        if predicate(result):
            return result
        time.sleep(_POLL)
    pytest.fail(f"{expr} did not reach the expected state within {timeout} s; last result {result}")


def _wait_ready(prom: RunningPrometheus) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if prom.process.poll() is not None:
            raise RuntimeError(f"prometheus exited at start:\n{prom.log()}")
        try:
            if prom.client.get(f"{prom.url}/-/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(_POLL)
    raise RuntimeError(f"prometheus was not ready within {_START_TIMEOUT} s:\n{prom.log()}")


def start(binary: str, sandbox: RunningSandbox) -> RunningPrometheus:
    root = Path(tempfile.mkdtemp(prefix="opsconsole-prom-"))
    port = _free_port()
    sandbox_target = sandbox.url.split("://", 1)[1].rstrip("/")
    (root / "prometheus.yml").write_text(config_yaml(sandbox_target, f"127.0.0.1:{port}"))
    (root / "rules.yml").write_text(RULES)
    log_path = root / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    prom = RunningPrometheus(f"http://127.0.0.1:{port}", sandbox, root, process, log_path)
    try:
        _wait_ready(prom)
        # Both targets scraped at least twice, so rate() over them has something to say.
        wait_until(
            prom,
            "count_over_time(up[1m]) >= 2",
            lambda r: {s["metric"].get("job") for s in r} >= {"sandbox", "prometheus"},
        )
    except BaseException:
        stop(prom)
        raise
    return prom


def stop(prom: RunningPrometheus) -> None:
    prom.client.close()
    if prom.process.poll() is None:
        prom.process.send_signal(signal.SIGTERM)  # Prometheus' clean shutdown
        try:
            prom.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prom.process.kill()
            prom.process.wait(timeout=10)
    shutil.rmtree(prom.root, ignore_errors=True)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A sandbox and a Prometheus scraping it (and itself) every second (see module doc)."""
    binary = find_binary()
    if binary is None:
        _no_prometheus(f"no {BINARY} (Debian: apt-get install prometheus)")
        return
    sandbox = start_background(test_settings(tmp_path_factory.mktemp("prom-sandbox")))
    try:
        try:
            prom = start(binary, sandbox)
        except (OSError, RuntimeError) as exc:
            _no_prometheus(f"could not start {binary}: {exc}")
            return
        try:
            yield prom
        finally:
            stop(prom)
    finally:
        sandbox.stop()
