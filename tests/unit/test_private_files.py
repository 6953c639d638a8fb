"""The desktop console's own files are private from its first start (issue 15, item 11)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole import logs, paths

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_first_desktop_start_leaves_only_private_files(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env.update(QT_QPA_PLATFORM="offscreen", OPSCONSOLE_EXIT_WHEN_IDLE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "opsconsole"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["event"] == "idle"
    state = paths.ui_state_file()
    assert state.is_file() and "[" in state.read_text(encoding="utf-8")  # the window wrote its state
    assert mode(state) == 0o600 and mode(state.parent) == 0o700
    assert mode(logs.log_file_path()) == 0o600 and mode(logs.log_file_path().parent) == 0o700
