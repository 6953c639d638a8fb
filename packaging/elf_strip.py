"""Strips the bundle's ELF files of symbol tables and debug sections, except where that would break them.

``strip`` on a library that auditwheel's patchelf rewrote (the libraries a wheel vendors, such as
numpy's OpenBLAS, and the extension modules whose NEEDED entries it renamed) rewrites the segments the
loader maps: OpenBLAS then fails to load with "ELF load command address/offset not page-aligned", and
numpy with it. (PyInstaller's ``strip=True`` stripped everything, which is how the bundle lost numpy.)
So each file is stripped in a copy, and the copy is kept only when what the loader maps is unchanged:
the same segments at the same addresses with the same sizes and flags. Stripping touches nothing the
loader maps on a file it handles properly, so any difference means the copy is damaged.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# The program headers that describe the loaded image (readelf -lW); the file offsets may move.
MAPPED = ("LOAD", "DYNAMIC", "GNU_RELRO", "TLS", "GNU_EH_FRAME", "NOTE")


def _mapped_image(path: Path) -> list[tuple[str, ...]]:
    """Each mapped segment as (type, virtual address, file size, memory size, flags, alignment); none
    for a file readelf cannot read (not ELF: a script among the binaries), which is then left alone."""
    done = subprocess.run(  # noqa: S603 - readelf on the build's own files
        ["readelf", "-lW", str(path)],  # noqa: S607 - binutils, found on PATH
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return []
    out = done.stdout
    segments = []
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in MAPPED:
            # type, offset, vaddr, paddr, filesz, memsz, flags (one or two words), align
            offset, vaddr, align = int(fields[1], 16), int(fields[2], 16), int(fields[-1], 16)
            aligned = fields[0] != "LOAD" or (vaddr - offset) % align == 0  # what the loader insists on
            segments.append((fields[0], fields[2], fields[4], fields[5], *fields[6:], str(aligned)))
    return segments


def strip(src: Path, dest: Path) -> bool:
    """``src`` stripped as ``dest`` when that leaves its loaded image intact (True); otherwise ``dest``
    is an unchanged copy (False)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(0o755)
    before = _mapped_image(dest)
    if not before:  # not ELF, or no segments to compare: the copy stays as it is
        return False
    done = subprocess.run(  # noqa: S603 - strip on the build's own copy
        ["strip", str(dest)],  # noqa: S607 - binutils, found on PATH
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0 and _mapped_image(dest) == before:
        return True
    shutil.copyfile(src, dest)
    return False
