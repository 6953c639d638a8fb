"""``opsconsole demo`` end to end: the sandbox, the window connected to it, and nothing left running."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def test_the_demo_opens_the_console_on_a_sandbox_and_stops_it(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    pytest.importorskip("fastapi")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env.update(QT_QPA_PLATFORM="offscreen", OPSCONSOLE_EXIT_WHEN_IDLE="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "opsconsole"), "demo"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["event"] == "idle" and report["title"].startswith("Demo sandbox")
    found = re.search(r"sandbox at http://127\.0\.0\.1:(\d+)", proc.stderr)
    assert found, proc.stderr
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", int(found[1]))):
        pass  # the sandbox went with the window
    assert not list(Path(os.environ["XDG_CONFIG_HOME"]).rglob("profiles.toml"))  # the user's files untouched
