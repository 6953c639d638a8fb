"""packaging/icu_data.py: the ICU data library rebuilt without what Qt never asks ICU for still answers
every ICU call Qt makes (the self-test's ``qt icu`` check, run against it), and the build stops when Qt
calls ICU for something the trimming does not know about.

Each test rebuilds the library from the virtualenv's PySide6 with the tools packaging/build-deb.sh uses
(icupkg, as, ld: scripts/system-deps.sh package) and loads it into a fresh Qt process ahead of PySide6's
own copy (LD_LIBRARY_PATH wins over the RUNPATH Qt Core finds it by).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import packaging_modules

TOOLS = ("icupkg", "as", "ld", "objdump")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS)
    or not sys.platform.startswith("linux")
    or importlib.util.find_spec("PySide6") is None,  # the core's run without Qt (scripts/test.sh)
    reason="needs Linux, PySide6 (its ICU) and icupkg, as, ld, objdump (scripts/system-deps.sh package)",
)

CHECK_ICU = """\
import json
from PySide6.QtCore import QCoreApplication
from opsconsole.ui.shell import selftest
app = QCoreApplication([])
maps = [line.split()[-1] for line in open("/proc/self/maps") if "libicudata" in line]
try:
    print(json.dumps([True, selftest._check_icu(), maps[0]]))
except RuntimeError as exc:
    print(json.dumps([False, str(exc), maps[0]]))
"""


# Text in each web encoding (made with Python's codec) decoded by ICU's converter (ucnv_convert to UTF-8).
DECODE_WEB = """\
import ctypes, json, sys
icu = ctypes.CDLL(sys.argv[1])
convert = getattr(icu, "ucnv_convert_" + sys.argv[2])
convert.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_char_p,
                    ctypes.c_int32, ctypes.POINTER(ctypes.c_int)]
SAMPLES = ["Grüße, Łódź, ŞİĞ, Ærø", "Привет, Україна", "Ελληνικά", "שלום", "مرحبا", "ภาษาไทย", "Tiếng Việt",
           "日本語のテキスト、ｶﾀｶﾅ", "简体中文", "繁體中文", "한국어"]
PYTHON_NAME = {"ISO-8859-8-I": "iso-8859-8", "x-mac-cyrillic": "mac-cyrillic", "windows-874": "cp874"}
decoded = {}
for label in sys.argv[3:]:
    codec = PYTHON_NAME.get(label, label)
    text = ""
    for char in "".join(SAMPLES):  # every sample character the encoding has
        try:
            char.encode(codec)
            text += char
        except UnicodeEncodeError:
            pass
    assert not text.isascii(), label
    data = text.encode(codec)
    out = ctypes.create_string_buffer(4 * len(data) + 16)
    status = ctypes.c_int(0)
    n = convert(b"UTF-8", label.encode(), out, len(out), data, len(data), ctypes.byref(status))
    decoded[label] = out.raw[:n].decode("utf-8") if status.value <= 0 else f"ICU error {status.value}"
print(json.dumps(decoded))
"""  # fmt: skip


def pyside_lib(name: str) -> Path:
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "lib" / name


def icu_library() -> Path:
    found = sorted(pyside_lib("").glob("libicudata.so.*"))
    assert found, "PySide6 bundles no libicudata"
    return found[0]


def check_icu_with(library: Path) -> tuple[bool, str, str]:
    env = dict(os.environ, LD_LIBRARY_PATH=str(library.parent), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_ICU], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    ok, detail, mapped = json.loads(proc.stdout.strip().splitlines()[-1])
    return ok, detail, mapped


def test_the_trimmed_library_answers_what_qt_asks(tmp_path: Path) -> None:
    icu_data = packaging_modules.load("icu_data")
    original = icu_library()
    trimmed, saved = icu_data.trim(original, [pyside_lib("libQt6Core.so.6")], tmp_path)
    assert trimmed.name == original.name
    assert trimmed.stat().st_size < original.stat().st_size * 0.7
    assert len(saved) == len(icu_data.UNREACHED) + 1  # and the converters outside the web's
    ok, detail, mapped = check_icu_with(trimmed)
    assert mapped == str(trimmed)  # Qt really ran on the rebuilt library
    assert ok, detail


def test_every_web_encoding_still_decodes(tmp_path: Path) -> None:
    icu_data = packaging_modules.load("icu_data")
    original = icu_library()
    trimmed, _ = icu_data.trim(original, [pyside_lib("libQt6Core.so.6")], tmp_path)
    libicuuc = original.with_name(original.name.replace("icudata", "icuuc"))
    version = original.name.rsplit(".", 1)[-1]
    decoded = {}
    for data in ("original", "trimmed"):
        env = dict(os.environ)
        if data == "trimmed":
            env["LD_LIBRARY_PATH"] = str(trimmed.parent)  # ahead of the data beside ICU's own code
        proc = subprocess.run(
            [sys.executable, "-c", DECODE_WEB, str(libicuuc), version, *icu_data.WEB_ENCODINGS],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        decoded[data] = json.loads(proc.stdout)
    assert not [label for label, text in decoded["original"].items() if text.startswith("ICU error")]
    assert decoded["trimmed"] == decoded["original"]
    # and the tables of encodings outside the web's are gone (an EBCDIC code page, here)
    assert "ibm-37_P100-1995.cnv" not in subprocess.run(
        ["icupkg", "-l", str(tmp_path / "trimmed" / f"icudt{version}l.dat")], capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip


def test_the_check_sees_data_that_was_cut_too_deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    icu_data = packaging_modules.load("icu_data")
    monkeypatch.setattr(
        icu_data, "UNREACHED", {**icu_data.UNREACHED, r"^coll/": "collation", r"^zone/": "zones"}
    )
    monkeypatch.setattr(icu_data, "WEB_ENCODINGS", ())  # no converter's table kept
    trimmed, _ = icu_data.trim(icu_library(), [pyside_lib("libQt6Core.so.6")], tmp_path)
    ok, detail, mapped = check_icu_with(trimmed)
    assert mapped == str(trimmed)
    assert not ok
    for service in ("collation (German, Swedish)", "time-zone names", "converters (Shift_JIS)"):
        assert service in detail


def test_an_icu_call_it_does_not_know_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    icu_data = packaging_modules.load("icu_data")
    monkeypatch.setattr(icu_data, "QT_ICU_CALLS", tuple(c for c in icu_data.QT_ICU_CALLS if c != "ucol_"))
    with pytest.raises(RuntimeError, match=r"ucol_open \(libQt6Core\.so\.6\)"):
        icu_data.trim(icu_library(), [pyside_lib("libQt6Core.so.6")], tmp_path)
    assert not (tmp_path / "lib").exists()


def test_a_work_folder_with_quotes_and_backslashes_assembles(tmp_path: Path) -> None:
    # The data file's path goes into the assembly source as a string: quoted and escaped, any folder a
    # build runs in works.
    icu_data = packaging_modules.load("icu_data")
    folder = tmp_path / 'build "x" \\ y'
    folder.mkdir()
    data = folder / "icudt73l.dat"
    data.write_bytes(b"ICU-DATA-PAYLOAD")
    source = folder / "icudata.s"
    source.write_text(icu_data.assembly("icudt73_dat", data), encoding="utf-8")
    subprocess.run(["as", "-o", str(folder / "icudata.o"), str(source)], check=True, capture_output=True)
    dump = subprocess.run(
        ["objdump", "-s", "-j", ".rodata", str(folder / "icudata.o")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "ICU-DATA-PAYLOAD" in dump  # objdump's text column: the 16 bytes on one line
