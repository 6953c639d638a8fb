"""Where the console keeps its files on this system: config, data, cache, logs and lock files.

Everything goes through platformdirs so the XDG variables (and their Windows and macOS equivalents)
are honoured; tests isolate themselves by pointing XDG_*_HOME at a temporary folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from . import APP_NAME

PROFILES_FILE = "profiles.toml"


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    return user_config_dir() / PROFILES_FILE


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
    """Folder for inter-process lock files (no secrets in them: they are empty)."""
    path = user_state_dir() / "locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def all_user_dirs() -> dict[str, Path]:
    return {
        "config": user_config_dir(),
        "data": user_data_dir(),
        "cache": user_cache_dir(),
        "logs": user_log_dir(),
        "state": user_state_dir(),
    }
