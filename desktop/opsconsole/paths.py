"""Where the console keeps its files on this system: config, data, cache, logs and lock files.

The XDG Base Directory variables are honoured (tests isolate themselves by pointing XDG_*_HOME at a
temporary folder). On Linux and the BSDs the folders are worked out here, exactly as platformdirs
does (a test holds the two together): the desktop console reads its profiles before its first
paint, and importing platformdirs costs more there than the few lines below. Windows and macOS go
through platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import APP_NAME

PROFILES_FILE = "profiles.toml"
_XDG = sys.platform not in ("win32", "darwin")


def _home() -> str:
    """``$HOME`` when it is an absolute path, else the account's home folder (as platformdirs does)."""
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return home
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def _xdg_home(variable: str, default: str) -> Path:
    """``$variable/opsconsole``, or ``~/default/opsconsole`` when the variable is unset or not an absolute
    path (the XDG Base Directory spec says to ignore relative ones)."""
    value = os.environ.get(variable, "")
    return Path(value if os.path.isabs(value) else os.path.join(_home(), default)) / APP_NAME


def _platform_dir(kind: str) -> Path:
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    return _xdg_home("XDG_CONFIG_HOME", ".config") if _XDG else _platform_dir("config")


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
    return _xdg_home("XDG_DATA_HOME", ".local/share") if _XDG else _platform_dir("data")


def user_cache_dir() -> Path:
    return _xdg_home("XDG_CACHE_HOME", ".cache") if _XDG else _platform_dir("cache")


def user_log_dir() -> Path:
    return user_state_dir() / "log" if _XDG else _platform_dir("log")


def user_state_dir() -> Path:
    return _xdg_home("XDG_STATE_HOME", ".local/state") if _XDG else _platform_dir("state")


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
