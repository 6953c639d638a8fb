"""The sandbox's data dir is the owner's alone: the folder 0700, the database and signing key 0600,
on a fresh start and after a start over files an older sandbox left readable to others."""

from __future__ import annotations

import logging
import stat
import uuid
from pathlib import Path

import httpx
import pytest

from opsconsole.sandbox.keys import KEY_FILE
from opsconsole.sandbox.server import start_background
from tests.support.sandbox import ADMIN, bearer, obtain_tokens, test_settings

SECRET_FILES = ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm", KEY_FILE)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(data_dir: Path) -> dict[str, int]:
    return {name: _mode(data_dir / name) for name in SECRET_FILES if (data_dir / name).exists()}


def _start_and_write(data_dir: Path) -> dict[str, int]:
    """Start a sandbox on ``data_dir``, make it write (so the WAL files exist), report the modes while up."""
    with start_background(test_settings(data_dir)) as sb:
        admin = bearer(obtain_tokens(sb.url, ADMIN))
        made = httpx.post(
            f"{sb.url}/api/users",
            headers=admin,
            json={"email": f"modes-{uuid.uuid4().hex[:8]}@example.org", "name": "M"},
            timeout=20,
        )
        assert made.status_code == 201
        return _modes(data_dir)


def test_a_fresh_data_dir_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "sandbox"
    modes = _start_and_write(data_dir)
    assert _mode(data_dir) == 0o700
    assert {"sandbox.db", KEY_FILE} <= set(modes)
    assert modes == {name: 0o600 for name in modes}


def test_looser_modes_are_repaired_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "old"
    _start_and_write(data_dir)
    data_dir.chmod(0o755)
    for name in _modes(data_dir):
        (data_dir / name).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="opsconsole.sandbox"):
        modes = _start_and_write(data_dir)
    assert _mode(data_dir) == 0o700
    assert modes == {name: 0o600 for name in modes}
    repaired = " ".join(
        r.getMessage() for r in caplog.records if "0600" in r.getMessage() or "0700" in r.getMessage()
    )
    assert "sandbox.db" in repaired and KEY_FILE in repaired and str(data_dir) in repaired
