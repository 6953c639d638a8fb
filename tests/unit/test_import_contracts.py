"""The import contracts hold a room nobody listed to the rules (pyproject.toml, [tool.importlinter]).

Each test copies the package to a temporary folder, plants a room that breaks one rule, and runs
``lint-imports`` with the project's own configuration against the copy: it must fail, and name the
planted module. The unplanted copy must keep every contract, so a failure is the planted room's doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "desktop" / "opsconsole"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def copy_of_the_package(tmp_path: Path) -> Path:
    """A copy of the package's Python files in ``tmp_path/src``, and the project's configuration."""
    shutil.copytree(
        PACKAGE,
        tmp_path / "src" / "opsconsole",
        ignore=shutil.ignore_patterns("__pycache__", "resources", "templates"),
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "src" / "opsconsole"


def plant(package: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def lint_imports(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, ahead of the installed (editable) package.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), str(tmp_path / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_unplanted_copy_keeps_every_contract(tmp_path: Path) -> None:
    package = copy_of_the_package(tmp_path)
    proc = lint_imports(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
    # The planted modules exist only in the copies of the tests below.
    assert not (package / "traces" / "planted_layout.py").exists()


PLANTED = {
    "a new room that reaches the ui one module down": (
        {
            "traces/__init__.py": '"""Traces."""\n',
            "traces/planted_model.py": "from . import planted_layout\n",
            "traces/planted_layout.py": "from ..ui.shell import widgets\n",
        },
        ("opsconsole.traces.planted_layout", "opsconsole.ui.shell.widgets"),
    ),
    "a new room that imports the cli": (
        {"traces/__init__.py": '"""Traces."""\n', "traces/planted_model.py": "from .. import cli\n"},
        ("opsconsole.traces.planted_model", "opsconsole.cli"),
    ),
    # Harmless today, but a room outside the layers would be held to nothing tomorrow.
    "a room nobody listed": (
        {"reports/__init__.py": '"""Reports."""\n', "reports/model.py": "from .. import net\n"},
        ("opsconsole.reports",),
    ),
    "a new room that imports qt itself, one module down": (
        {
            "metrics/__init__.py": '"""Metrics."""\n',
            "metrics/series.py": "from . import buffer\n",
            "metrics/buffer.py": "import pyqtgraph\n",
        },
        ("opsconsole.metrics.buffer", "pyqtgraph"),
    ),
    "the sandbox reaching a client room": (
        {
            "users/__init__.py": '"""Users."""\n',
            "users/client.py": "from .. import errors\n",
            "sandbox/borrowed.py": "from ..users import client\n",
        },
        ("opsconsole.sandbox.borrowed", "opsconsole.users"),
    ),
    "a client room reaching into the sandbox": (
        {"events/__init__.py": '"""Events."""\n', "events/stream.py": "from ..sandbox import events\n"},
        ("opsconsole.events.stream", "opsconsole.sandbox"),
    ),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_a_planted_room_breaks_a_contract(tmp_path: Path, case: str) -> None:
    files, named = PLANTED[case]
    plant(copy_of_the_package(tmp_path), files)
    proc = lint_imports(tmp_path)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 1, report
    assert "BROKEN" in report, report
    for text in named:
        assert text in report, report
