"""The GUI self-test: sound in-process, from a plain process without a display, and honest when Qt
cannot start (it reports the failure instead of dying with the process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsconsole.ui.shell.selftest import check_gui

CHECKS = ["qt platform", "qt binding", "qt icu", "app icon", "resources", "main window"]
RUN_CHECKS = "import json; from opsconsole.ui.shell.selftest import check_gui; print(json.dumps(check_gui()))"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY", "WAYLAND"))}
    env.update(extra)
    return env


def test_all_checks_pass_in_process(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # no display: no child probe of its platform
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    results = check_gui()
    assert [name for name, _, _ in results] == CHECKS
    failed = [(name, detail) for name, ok, detail in results if not ok]
    assert failed == []
    details = dict((name, detail) for name, _, detail in results)
    assert "offscreen" in details["qt platform"]
    assert "None refcount drift" in details["qt binding"]
    assert details["qt icu"] == "collation, case mapping, time-zone names, converters"
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


def run_checks_offscreen(tmp_path: Path, **extra: str) -> list[list[Any]]:
    """check_gui in a plain process on the offscreen platform (as `opsconsole self-test` runs it),
    with ``extra`` in its environment; its results."""
    env = clean_env(tmp_path, QT_QPA_PLATFORM="offscreen", **extra)
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CHECKS], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr  # the self-test itself survived whatever the child met
    results: list[list[Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


def test_a_display_whose_platform_cannot_load_fails_its_own_check(tmp_path: Path) -> None:
    # An X display nobody serves: the xcb plugin aborts the child that tries it, and only that check fails.
    results = run_checks_offscreen(tmp_path, DISPLAY=":4077")
    assert [r[0] for r in results] == [*CHECKS, "qt xcb"]
    assert all(ok for _, ok, _ in results[:-1]), results
    name, ok, detail = results[-1]
    assert (name, ok) == ("qt xcb", False)
    assert "xcb" in detail


def test_a_real_x_display_is_checked_in_a_child_process(tmp_path: Path) -> None:
    if shutil.which("xvfb-run") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xvfb-run missing, and CI must have it (scripts/system-deps.sh test)")
        pytest.skip("xvfb-run not installed")
    env = clean_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, "-c", RUN_CHECKS],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r[0] for r in results] == [*CHECKS, "qt xcb"]
    assert all(ok for _, ok, _ in results), results
    assert results[0][2].startswith("offscreen")  # the window checks ran offscreen, beside the display
    assert results[-1][2] == "loaded in a child process (xcb)"


def test_a_shipped_file_that_does_not_load_fails_the_resources_check(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsconsole.ui.shell import assets, selftest

    copy = tmp_path / "resources"
    shutil.copytree(assets.resources_dir(), copy)
    monkeypatch.setattr(assets, "resources_dir", lambda: copy)
    assert "files read in" in selftest._check_resources()  # the intact copy passes

    broken = next(copy.rglob("*.json"))
    broken.write_text('{"panels": [', encoding="utf-8")  # truncated, as a damaged install would be
    with pytest.raises(RuntimeError, match="is not valid JSON"):
        selftest._check_resources()


BLOCK_AND_RUN_CHECKS = """\
import json, sys
from importlib.abc import MetaPathFinder

class NotBundled(MetaPathFinder):  # a bundle that left out a module only a page's charts import
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6.QtOpenGL":
            raise ImportError("No module named 'PySide6.QtOpenGL'")

sys.meta_path.insert(0, NotBundled())
from opsconsole.ui.shell.selftest import check_gui
print(json.dumps(check_gui()))
"""


def test_a_module_only_a_later_page_imports_fails_the_main_window_check(tmp_path: Path) -> None:
    # Pages are built when first shown; the self-test shows each, so the charts' imports are checked too.
    env = clean_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_RUN_CHECKS], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = {name: (ok, detail) for name, ok, detail in json.loads(proc.stdout.strip().splitlines()[-1])}
    ok, detail = results["main window"]
    assert not ok
    assert "PySide6.QtOpenGL" in detail
    assert all(ok for name, (ok, _) in results.items() if name != "main window"), results


def test_the_icu_check_is_not_applicable_where_qt_does_not_use_icu(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Official macOS and Windows Qt builds have no ICU: their Turkish case mapping and collation are
    # the system's, not ICU's, and the check would fail an install that is sound. Such a process's
    # loaded libraries (here a maps file) name no libicu.
    from opsconsole.ui.shell import selftest

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libQt6Core.so.6\n")
    monkeypatch.setattr(selftest, "LOADED_LIBRARIES", maps)
    results = {name: (ok, detail) for name, ok, detail in check_gui()}
    assert results["qt icu"] == (True, "not applicable (this Qt does not use ICU)")
    # Where the list cannot be read (no /proc: macOS, Windows), likewise.
    monkeypatch.setattr(selftest, "LOADED_LIBRARIES", tmp_path / "absent")
    results = {name: (ok, detail) for name, ok, detail in check_gui()}
    assert results["qt icu"] == (True, "not applicable (this Qt does not use ICU)")
