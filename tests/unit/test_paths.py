"""Where the console's files go, and that what it writes stays private to its owner (issue 15, item 11)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from opsconsole import paths

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_xdg_variables_place_every_folder(isolated_home: Path) -> None:
    dirs = paths.all_user_dirs()
    assert dirs["config"] == isolated_home / "config" / "opsconsole"
    assert dirs["state"] == isolated_home / "state" / "opsconsole"
    assert dirs["logs"] == isolated_home / "state" / "opsconsole" / "log"
    assert paths.managed_config_candidates() == [isolated_home / "etc-xdg" / "opsconsole" / "profiles.toml"]


def test_the_lock_folder_is_created_private() -> None:
    folder = paths.lock_dir()
    assert folder.is_dir()
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700


def test_a_private_file_is_created_0600_in_a_private_folder_and_keeps_its_content() -> None:
    state = paths.ui_state_file()
    assert not state.parent.exists()
    paths.private_file(state)
    assert mode(state) == 0o600 and mode(state.parent) == 0o700
    state.write_text("[window]\npage=users\n")
    paths.private_file(state)
    assert state.read_text() == "[window]\npage=users\n"


def test_an_existing_config_folder_keeps_its_mode_but_the_state_file_does_not() -> None:
    folder = paths.user_config_dir()
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)  # made by the user or an admin: profiles hold no secret
    paths.ui_state_file().write_text("")
    paths.ui_state_file().chmod(0o644)
    paths.private_file(paths.ui_state_file())
    assert mode(folder) == 0o755 and mode(paths.ui_state_file()) == 0o600


def test_looser_modes_left_by_earlier_versions_are_repaired() -> None:
    locks = paths.user_state_dir() / "locks"
    locks.mkdir(parents=True)
    for folder in (paths.user_state_dir(), locks):
        folder.chmod(0o755)
    lock = locks / "auth-prod.lock"
    lock.write_text("")
    lock.chmod(0o644)
    paths.user_config_dir().mkdir()
    paths.ui_state_file().write_text("")
    paths.ui_state_file().chmod(0o664)
    paths.repair_modes()
    assert mode(paths.user_state_dir()) == 0o700 and mode(locks) == 0o700
    assert mode(lock) == 0o600 and mode(paths.ui_state_file()) == 0o600
