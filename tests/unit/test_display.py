"""A start with no display says so in one sentence and exits 1, instead of Qt's SIGABRT (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole import display

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland: Linux")

SENTENCE = "there is no display here"


def run_headless(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed ``opsconsole`` as an SSH session without X forwarding starts it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    command = [str(Path(sys.executable).parent / "opsconsole"), *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_console_without_a_display_says_so_and_exits_1() -> None:
    result = run_headless()
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and SENTENCE in result.stderr  # one sentence, no Qt noise
    assert "ssh -X" in result.stderr and "QT_QPA_PLATFORM=offscreen" in result.stderr


def test_the_demo_without_a_display_starts_no_sandbox() -> None:
    result = run_headless("demo")
    assert result.returncode == 1, result.stderr
    assert SENTENCE in result.stderr
    assert "sandbox" not in result.stderr  # neither "starting the sandbox" nor "sandbox at URL"


@pytest.mark.parametrize("platform", ["offscreen", "minimal:enable_fonts", "vnc", "xcb;offscreen"])
def test_a_platform_that_needs_no_display_is_let_through(platform: str) -> None:
    display.require_display({"QT_QPA_PLATFORM": platform})


@pytest.mark.parametrize("environ", [{}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "wayland"}])
def test_no_display_variable_is_no_display(environ: dict[str, str]) -> None:
    with pytest.raises(display.NoDisplayError, match=SENTENCE) as info:
        display.require_display(environ)
    assert info.value.exit_code == 1


def test_missing_xcb_libraries_are_named_by_package() -> None:
    libraries = {"libxcb.so.1": "libxcb1", "libopsconsole-not-there.so.7": "libopsconsole-not-there7"}
    assert display.missing_packages(libraries) == ["libopsconsole-not-there7"]
    with pytest.raises(display.NoDisplayError) as info:
        display.require_display({"DISPLAY": ":0"}, libraries)
    assert "sudo apt-get install libopsconsole-not-there7" in info.value.hint
    # Wayland does not need them; nor does a display whose libraries are all there
    display.require_display({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, libraries)
    display.require_display({"DISPLAY": ":0"}, {"libxcb.so.1": "libxcb1"})


def test_every_library_in_the_table_is_a_real_soname() -> None:
    # On a machine set up by scripts/system-deps.sh (CI, the Xvfb tests), a name misspelt in the table
    # would show up as missing.
    assert display.missing_packages() == []
