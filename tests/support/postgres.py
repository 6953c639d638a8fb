"""pytest plugin: a real PostgreSQL server for the test session, and a fresh database per test.

Fixtures:
- ``postgres_url`` (session): ``postgresql+psycopg://...`` of a server's maintenance database. Taken from
  ``OPSCONSOLE_TEST_PG_URL`` when set; otherwise Debian's binaries (``/usr/lib/postgresql/*/bin``) start a
  throw-away cluster on 127.0.0.1 on a free port, with its socket in the cluster's temp dir. As root it
  runs as the ``postgres`` OS user, like ``runuser -u postgres`` (PostgreSQL refuses to run as root).
- ``postgres_db_url`` (function): a new, empty database on that server, dropped after the test.

Without PostgreSQL the tests that need it are skipped, except under CI (env ``CI`` set) where they fail:
a CI run must not pass by silently testing one database only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

ENV_URL = "OPSCONSOLE_TEST_PG_URL"
_START_TIMEOUT = 30.0


def _no_postgres(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def find_binaries() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    for initdb in reversed(candidates):
        bindir = Path(initdb).parent
        if (bindir / "postgres").exists():
            return bindir
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres_user() -> dict[str, object]:
    """Popen arguments that drop root to the ``postgres`` OS user (what ``runuser -u postgres`` does),
    with the server as the direct child, so that the shutdown signal reaches it."""
    if os.geteuid() == 0:
        return {"user": "postgres", "group": "postgres", "extra_groups": []}
    return {}


def driver_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class Cluster:
    """A throw-away PostgreSQL cluster in a temp dir, fast and unsafe (fsync off): for tests only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="opsconsole-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "postgres.log"

    def start(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.root,
            **_as_postgres_user(),  # type: ignore[arg-type]
        )
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                **_as_postgres_user(),  # type: ignore[arg-type]
            )
        finally:
            log.close()
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._wait_ready(url)
        return url

    def _wait_ready(self, url: str) -> None:
        # PostgreSQL has no readiness callback; poll the one thing that matters: a connection succeeds.
        deadline = time.monotonic() + _START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log_path.read_text(errors='replace')}")
            try:
                with psycopg.connect(url, connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last_error = exc
                time.sleep(0.05)
        raise RuntimeError(f"postgres did not accept connections within {_START_TIMEOUT} s: {last_error}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast shutdown": it ends sessions and exits cleanly.
            self.process.send_signal(2)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://`` URL of a running server's ``postgres`` database (see module doc)."""
    configured = os.environ.get(ENV_URL)
    if configured:
        try:
            with psycopg.connect(_libpq_url(driver_url(configured)), connect_timeout=5):
                pass
        except psycopg.Error as exc:
            _no_postgres(f"{ENV_URL} is set but unreachable: {exc}")
        yield driver_url(configured)
        return
    bindir = find_binaries()
    if bindir is None:
        _no_postgres("no initdb/postgres found (Debian: apt-get install postgresql)")
        return
    cluster = Cluster(bindir)
    try:
        try:
            url = cluster.start()
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            _no_postgres(f"could not start a cluster with {bindir}: {exc}")
            return
        yield driver_url(url)
    finally:
        cluster.stop()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on ``server_url``'s server, dropped (with its sessions) on exit."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin_url = _libpq_url(server_url)
    if not server_url.startswith("postgresql+psycopg://"):
        raise ValueError("fresh_database needs a postgresql+psycopg:// URL")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (``postgresql+psycopg://`` URL)."""
    with fresh_database(postgres_url) as url:
        yield url
