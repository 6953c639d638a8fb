"""Sandbox request bodies: the server's peak memory while a client pushes 150 MB at it.

Starts ``opsconsole sandbox`` as a child process (its memory is then its own, apart from the client's)
and, for each case, sends a 150 MB body from a socket in 64 KiB chunks while a thread samples the
child's resident set size (psutil) every few milliseconds. The sandbox refuses such bodies (413 over
the limit, 401 without a token before reading), so its peak must stay near its idle size:

- ``sandbox_bodies.streamed_no_token``: chunked JSON to ``/api/users`` without a token;
- ``sandbox_bodies.declared_no_token``: the same with ``Content-Length: 150 MB``;
- ``sandbox_bodies.streamed_with_token``: chunked, with a valid admin token (cut off at 1 MiB).

Value: the peak RSS in MB; baseline: the same process' RSS just before the body, after warm-up
requests. The check is the ratio: near 1.0 means memory did not grow with the body. Not timed.
Run: ``.venv/bin/python -m bench sandbox_bodies``. ``PYTHONPATH`` is passed to the child, so pointing
it at another checkout measures that code with the same client.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil

BODY_BYTES = 150 * 1000 * 1000
CHUNK = b" " * (64 * 1024)
_SAMPLE_EVERY = 0.005


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def _sandbox(data_dir: str) -> Iterator[tuple[str, psutil.Process]]:
    port = _free_port()
    command = [sys.executable, "-m", "opsconsole", "sandbox", "--port", str(port), "--data-dir", data_dir]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.1)
        yield url, psutil.Process(child.pid)
    finally:
        child.terminate()
        child.wait(30)


class _PeakRss:
    """Samples a process' RSS on a thread until stopped; ``peak`` in bytes."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(_SAMPLE_EVERY):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def _push(url: str, token: str | None, *, declared: bool) -> str:
    """Send a 150 MB body to /api/users; the status line (or why there was none)."""
    port = int(url.rsplit(":", 1)[1])
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    framing = f"Content-Length: {BODY_BYTES}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    head = (
        f"POST /api/users HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n{auth}{framing}\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head.encode())
        try:
            sent = 0
            while sent < BODY_BYTES:
                sock.sendall(CHUNK if declared else b"10000\r\n" + CHUNK + b"\r\n")
                sent += len(CHUNK)
            if not declared:
                sock.sendall(b"0\r\n\r\n")
        except OSError as exc:  # the server answered and closed: what a refusal looks like mid-send
            return f"closed by the server after {sent // 1024} KiB ({type(exc).__name__})"
        return sock.recv(200).split(b"\r\n", 1)[0].decode(errors="replace")


def _admin_token(url: str) -> str:
    from tests.support.sandbox import ADMIN, obtain_tokens

    return str(obtain_tokens(url, ADMIN)["access_token"])


def run() -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-bodies-") as data_dir, _sandbox(data_dir) as (url, proc):
        token = _admin_token(url)
        cases = {
            "streamed_no_token": (None, False),
            "declared_no_token": (None, True),
            "streamed_with_token": (token, False),
        }
        for _ in range(20):  # warm-up: imports, caches and pools settle before the baseline
            httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        for name, (bearer, declared) in cases.items():
            before = proc.memory_info().rss
            with _PeakRss(proc) as peak:
                outcome = _push(url, bearer, declared=declared)
            print(f"sandbox_bodies.{name}: {outcome}", file=sys.stderr)
            mb, base = peak.peak / 1e6, before / 1e6
            results.append(
                {
                    "name": f"sandbox_bodies.{name}",
                    "value": round(mb, 1),
                    "unit": "MB",
                    "baseline": round(base, 1),
                    "ratio": round(mb / base, 3),
                }
            )
    return results


if __name__ == "__main__":
    if os.environ.get("PYTHONPATH"):
        print(f"sandbox code from PYTHONPATH={os.environ['PYTHONPATH']}", file=sys.stderr)
    for result in run():
        print(json.dumps(result))
