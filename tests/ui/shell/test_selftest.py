"""The GUI self-test: sound in-process, from a plain process without a display, and honest when Qt
cannot start (it reports the failure instead of dying with the process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from opsconsole.ui.shell.selftest import check_gui

CHECKS = ["qt platform", "qt binding", "app icon", "resources", "main window"]
RUN_CHECKS = "import json; from opsconsole.ui.shell.selftest import check_gui; print(json.dumps(check_gui()))"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY", "WAYLAND"))}
    env.update(extra)
    return env


def test_all_checks_pass_in_process(qapp: Any) -> None:
    results = check_gui()
    assert [name for name, _, _ in results] == CHECKS
    failed = [(name, detail) for name, ok, detail in results if not ok]
    assert failed == []
    details = dict((name, detail) for name, _, detail in results)
    assert "offscreen" in details["qt platform"]
    assert "None refcount drift" in details["qt binding"]
    assert "16, 32, 256 px" in details["app icon"]


def test_works_from_a_plain_process_without_a_display(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CHECKS], env=clean_env(tmp_path), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r[0] for r in results] == CHECKS
    assert all(ok for _, ok, _ in results), results
    assert results[0][2].startswith("offscreen")


def test_a_platform_plugin_that_cannot_load_is_reported_not_fatal(tmp_path: Path) -> None:
    env = clean_env(tmp_path, QT_QPA_PLATFORM="no-such-platform")
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CHECKS], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr  # the self-test itself survived
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    name, ok, detail = results[0]
    assert (name, ok) == ("qt platform", False)
    assert "no-such-platform" in detail
    assert all(not ok and "skipped" in detail for _, ok, detail in results[1:])
