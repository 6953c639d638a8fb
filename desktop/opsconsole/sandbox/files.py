"""The data dir holds password hashes, code and token hashes and the signing key: the owner's alone.

``prepare_data_dir`` runs first at every start: it creates the folder 0700 (and makes an existing
one 0700 again), creates an absent SQLite file 0600 before SQLite opens it (SQLite gives its -wal
and -shm files the database file's mode), and sets any of those files and the signing key found
with looser modes back to 0600, logging each repair. A key created later by keys.py is 0600 already,
and inside a 0700 folder in any case.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

from .db import SQLITE_FILE
from .keys import KEY_FILE

log = logging.getLogger("opsconsole.sandbox.files")

__all__ = ["DIR_MODE", "FILE_MODE", "PRIVATE_FILES", "prepare_data_dir"]

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
PRIVATE_FILES: Final = (
    SQLITE_FILE,
    f"{SQLITE_FILE}-wal",
    f"{SQLITE_FILE}-shm",
    f"{SQLITE_FILE}-journal",
    KEY_FILE,
)


def _tighten(path: Path, mode: int) -> bool:
    """Set ``path`` to ``mode`` when it allows anyone but the owner more; True when it was repaired."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode == 0:
        return False
    path.chmod(mode)
    log.warning("repaired the mode of %s: %04o -> %04o (it holds secrets)", path, current, mode)
    return True


def prepare_data_dir(data_dir: Path, *, sqlite: bool) -> list[Path]:
    """Create or repair the data dir and its secret files (see the module doc); the paths repaired."""
    data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)  # the umask may loosen it: checked next
    repaired = [data_dir] if _tighten(data_dir, DIR_MODE) else []
    if sqlite:
        with_mode = os.open(data_dir / SQLITE_FILE, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        os.close(with_mode)  # an empty file is an empty SQLite database
    for name in PRIVATE_FILES:
        path = data_dir / name
        if path.exists() and _tighten(path, FILE_MODE):
            repaired.append(path)
    return repaired
