"""Where the console keeps its files on this system: config, data, cache, logs and lock files.

The folders come from platformdirs (``user_config_dir("opsconsole")`` and its kin), which follows the
XDG Base Directory variables on Linux and the BSDs (tests isolate themselves by pointing XDG_*_HOME at
a temporary folder) and the platform's conventions on Windows and macOS. The managed (system-wide)
profile file is looked for in the places listed by :func:`managed_config_candidates`.

What the console writes may name accounts, URLs and hosts, so it keeps it to its owner: the folders it
makes are 0700 and the files it writes 0600 (:func:`private_dir`, :func:`private_file`), and
:func:`repair_modes` tightens looser modes left by earlier versions at start.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import platformdirs

from . import APP_NAME

PROFILES_FILE = "profiles.toml"
UI_STATE_FILE = "ui-state.ini"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    return user_config_dir() / PROFILES_FILE


def ui_state_file() -> Path:
    """The window-state INI file (geometry, page, colour scheme): next to the profiles."""
    return user_config_dir() / UI_STATE_FILE


def managed_config_candidates() -> list[Path]:
    """The system-wide managed profile files, in the order they are looked for (first existing wins)."""
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return [Path(base) / APP_NAME / PROFILES_FILE]
    if sys.platform == "darwin":
        return [Path("/Library/Application Support") / APP_NAME / PROFILES_FILE]
    dirs = os.environ.get("XDG_CONFIG_DIRS", "") or "/etc/xdg"
    return [Path(d) / APP_NAME / PROFILES_FILE for d in dirs.split(os.pathsep) if d]


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def user_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def user_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def lock_dir() -> Path:
    """Folder for inter-process lock files (created, private)."""
    return private_dir(user_state_dir() / "locks")


def all_user_dirs() -> dict[str, Path]:
    return {
        "config": user_config_dir(),
        "data": user_data_dir(),
        "cache": user_cache_dir(),
        "logs": user_log_dir(),
        "state": user_state_dir(),
    }


# ------------------------------------------------------------------------------------ private modes


def private_dir(path: Path) -> Path:
    """``path``, its missing folders created 0700 (as the XDG Base Directory spec asks), tightened if
    it exists with a looser mode."""
    missing = [folder for folder in (path, *path.parents) if not folder.is_dir()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    _tighten(path)
    return path


def private_file(path: Path) -> Path:
    """``path``, created empty and 0600 if missing (its folder private when created), tightened if looser.

    For files other code then rewrites in place or through a save file that keeps the mode
    (``QSettings``): creating them first is what makes them private.
    """
    if not path.parent.is_dir():
        private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE_MODE))
    _tighten(path)
    return path


def open_private(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` that creates the file 0600 (the umask can only take bits away)."""
    return os.open(path, flags, PRIVATE_FILE_MODE)


def repair_modes() -> None:
    """Take group and other access away from the console's folders and the files it wrote.

    Run at start: earlier versions made them 0755 and 0644. The user config folder is left as it is
    (the user or an admin may have made it, and profiles hold no secret); the state file in it is not.
    """
    for folder in (user_state_dir(), user_log_dir(), user_state_dir() / "locks", user_data_dir(),
                   user_cache_dir()):  # fmt: skip
        if folder.is_dir():
            _tighten(folder)
            for entry in folder.iterdir():
                if entry.is_file() and not entry.is_symlink():
                    _tighten(entry)
    if ui_state_file().is_file():
        _tighten(ui_state_file())


def _tighten(path: Path) -> None:
    """Clear the group and other bits of ``path`` when any is set and the file is ours (POSIX only)."""
    if sys.platform == "win32":  # pragma: no cover - modes do not apply; the profile folder is private
        return
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
