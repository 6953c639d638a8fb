"""Fixtures for every test: an isolated home, offscreen Qt, and no real keyring by accident.

Each test gets its own XDG config/data/cache/state folders under tmp_path, so nothing reads or writes
the developer's files, and the managed (system-wide) profile location points into tmp_path too.
The keyring defaults to keyring's `fail` backend: a test that wants a real Secret Service starts one
(tests/support/keyring_service.py) and says so explicitly.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

pytest_plugins = [
    name
    for name in ("tests.support.postgres", "tests.support.sandbox", "tests.support.keyring_service")
    if importlib.util.find_spec(name) is not None
]


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CONFIG_DIRS", "etc-xdg"),
    ):
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.delenv("OPSCONSOLE_CONFIG", raising=False)
    yield home


_LOGGERS = ("opsconsole", "httpx", "httpcore", "websockets", "keyring", "authlib")


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """Undo what logs.setup() did (a CLI test runs it in-process): its handlers, levels and
    propagate=False would otherwise hide later tests' records from caplog or rewrite them."""
    saved = {}
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers = handlers
        logger.setLevel(level)
        logger.propagate = propagate
