"""Sandboxes on SQLite and PostgreSQL for the authorization-server tests (:func:`sandbox_fixture`), and
a helper that sends one request from several clients at the same moment (each on a warm connection)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox, start_background
from tests.support.postgres import fresh_database
from tests.support.sandbox import test_settings

RACERS = 8
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def running_on(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[RunningSandbox]:
    """A sandbox on the database ``request.param`` names (a fresh PostgreSQL database, or SQLite)."""
    with contextlib.ExitStack() as stack:
        db_url = None
        if request.param == "postgresql":
            db_url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        yield stack.enter_context(start_background(test_settings(data_dir, db_url=db_url)))


def sandbox_fixture(name: str, scope: Literal["module", "function"]) -> Any:
    """A fixture ``name`` that yields a sandbox on each database, one per module or one per test
    (for tests that lock the loopback address out). Assign it in the test module: ``sb = ...``."""

    @pytest.fixture(name=name, scope=scope, params=DATABASES)
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[RunningSandbox]:
        with running_on(request, tmp_path_factory.mktemp("oauth")) as running:
            yield running

    return fixture


def race(base_url: str, request: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``request`` sent by RACERS clients at once: each connects first, then all wait at a barrier."""
    barrier = threading.Barrier(RACERS)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            http.get("/jwks.json").raise_for_status()
            barrier.wait(timeout=30)
            return request(http)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))
