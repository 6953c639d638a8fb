"""packaging/elf_strip.py: a library that strip handles properly comes out stripped and still loads; one
that auditwheel's patchelf rewrote (numpy's OpenBLAS), which plain strip breaks, is kept whole and loads.

The files are the virtualenv's own (PySide6's ICU, numpy's vendored OpenBLAS), stripped into tmp_path
with binutils (scripts/system-deps.sh package) and loaded with ctypes in a child process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import packaging_modules

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("strip", "readelf")) or not sys.platform.startswith("linux"),
    reason="needs Linux and binutils (strip, readelf)",
)


def sections(path: Path) -> str:
    return subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout


def loads(path: Path, library_path: Path) -> str:
    """'' when ``path`` loads (ctypes, in a child process), else the loader's message."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(library_path))
    proc = subprocess.run(
        [sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(path)!r})"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    return proc.stderr.strip().splitlines()[-1] if proc.returncode else ""


def test_a_library_strip_handles_comes_out_stripped_and_loads(tmp_path: Path) -> None:
    PySide6 = pytest.importorskip("PySide6")  # (the core's run without Qt has none: scripts/test.sh)

    qt_lib = Path(PySide6.__file__).parent / "Qt" / "lib"
    original = next(qt_lib.glob("libicui18n.so.*"))
    assert ".symtab" in sections(original)
    copy = tmp_path / original.name
    assert packaging_modules.load("elf_strip").strip(original, copy) is True
    assert ".symtab" not in sections(copy)
    assert copy.stat().st_size < original.stat().st_size
    assert loads(copy, qt_lib) == ""


def test_a_library_patchelf_rewrote_is_kept_whole_and_loads(tmp_path: Path) -> None:
    import numpy

    libs = Path(numpy.__file__).parent.parent / "numpy.libs"
    openblas = next(libs.glob("libscipy_openblas*.so"))
    copy = tmp_path / openblas.name
    assert (
        packaging_modules.load("elf_strip").strip(openblas, copy) is False
    )  # plain strip moves its mapped segments
    assert copy.read_bytes() == openblas.read_bytes()
    assert loads(copy, libs) == ""


def test_a_file_that_is_not_elf_is_kept_whole_and_the_build_goes_on(tmp_path: Path) -> None:
    # A BINARY entry need not be ELF (a script, a data file PyInstaller lists with the binaries):
    # readelf fails on it, which must not abort the build.
    script = tmp_path / "launcher.sh"
    script.write_bytes(b'#!/bin/sh\nexec opsconsole "$@"\n')
    copy = tmp_path / "out" / script.name
    assert packaging_modules.load("elf_strip").strip(script, copy) is False
    assert copy.read_bytes() == script.read_bytes()
