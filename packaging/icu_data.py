"""Trims the ICU data library PySide6 bundles on Linux (``libicudata.so.NN``, 32 MB) to what Qt asks ICU for.

Qt Core links ICU (``libicuuc``, ``libicui18n``, ``libicudata``) of the version PySide6 was built with;
ICU's symbols carry that version (``ucol_open_73``), so Debian's ICU of another version cannot stand in
for it. ``libicudata`` is nothing but one data package, the symbol ``icudt<NN>_dat``, holding every
ICU service's data for every locale. Qt Core calls only a few services (:data:`QT_ICU_CALLS`, checked
against its dynamic symbols at build time). Out of the package go the data of the services nothing in
the bundle calls (:data:`UNREACHED`) and the conversion tables of encodings outside the web's
(:data:`WEB_ENCODINGS`), with ICU's own packaging tool, ``icupkg``; what is left is put back into a
library of the same soname and symbol with binutils (``as``, ``ld``). ICU's code is untouched.

If a bundled library starts calling an ICU service not listed here (a new Qt), the build stops rather
than ship a library whose data that service may need: check :data:`UNREACHED`, then list the call.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
from pathlib import Path

# The ICU functions the bundle calls (prefixes, without the version suffix), and what they read:
# collation (QCollator, localeAwareCompare): coll/; calendars and time zones (QTimeZone and its display
# names, which Qt asks for as ICU's specific names, never the generic "location" ones): the locale data
# at the top level and zone/; converters (QStringDecoder/Encoder by name, decoderForHtml): the .cnv
# tables and cnvalias.icu; case mapping (QLocale::toUpper/toLower): ICU's built-in properties.
QT_ICU_CALLS = ("ucol_", "ucal_", "ucnv_", "UCNV_", "u_strToUpper", "u_strToLower")

# Data items (patterns on the names icupkg lists) that those calls never read, with the service each
# belongs to.
UNREACHED = {
    r"^brkitr/": "break iteration (ubrk_): Qt finds text boundaries with its own Unicode tables",
    r"^unit/": "measurement unit names (MeasureFormat)",
    r"^curr/": "currency names and symbols (ucurr_, unum_)",
    r"^lang/": "language and script display names (uldn_)",
    r"^region/": "country names (uldn_, and time zones' generic location names, which Qt does not ask for)",
    r"^translit/": "transliteration (utrans_)",
    r"^rbnf/": "numbers spelled out (RuleBasedNumberFormat)",
    r"\.spp$": "StringPrep profiles (usprep_): Qt's IDNA is its own",
    r"^confusables\.cfu$": "spoof checks (uspoof_)",
    r"^unames\.icu$": "character names (u_charName)",
}
CONVERTERS = r"\.cnv$"

# The legacy encodings of the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/): all that a
# web page, a clipboard's HTML or a browser can name, so all that reaches Qt's converters in the console.
# Their conversion tables stay; the others (EBCDIC and other host code pages, 4 MB) go. ISO-8859-16 is
# not in ICU's data at all. UTF-8, UTF-16 and ISO-8859-1 are Qt's own (and ICU's built-in) converters.
WEB_ENCODINGS = (
    "IBM866", "ISO-8859-2", "ISO-8859-3", "ISO-8859-4", "ISO-8859-5", "ISO-8859-6", "ISO-8859-7",
    "ISO-8859-8", "ISO-8859-8-I", "ISO-8859-10", "ISO-8859-13", "ISO-8859-14", "ISO-8859-15", "KOI8-R",
    "KOI8-U", "macintosh", "windows-874", "windows-1250", "windows-1251", "windows-1252", "windows-1253",
    "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258", "x-mac-cyrillic",
    "GBK", "gb18030", "Big5", "EUC-JP", "ISO-2022-JP", "Shift_JIS", "EUC-KR",
)  # fmt: skip

LIBRARY = re.compile(r"^libicudata\.so\.(\d+)$")


def _run(*command: str) -> str:
    # The build's own tools (objdump, icupkg, as, ld) on files it made.
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603


def icu_calls(elf: Path, version: str) -> set[str]:
    """The ICU functions (version suffix removed) that an ELF file imports."""
    suffix = f"_{version}"
    calls = set()
    for line in _run("objdump", "-T", str(elf)).splitlines():
        fields = line.split()
        if "*UND*" in fields and fields[-1].endswith(suffix):
            calls.add(fields[-1].removesuffix(suffix))
    return calls


def unexpected_calls(users: list[Path], version: str) -> list[str]:
    """ICU calls of the bundle's libraries that :data:`QT_ICU_CALLS` does not cover, as 'call (file)'."""
    return sorted(
        f"{call} ({user.name})"
        for user in users
        for call in icu_calls(user, version)
        if not call.startswith(QT_ICU_CALLS)
    )


def converter_names(libicuuc: Path, version: str, labels: tuple[str, ...]) -> set[str]:
    """The names of ICU's converters that ``labels`` open, asked of the bundle's own ICU (its full data
    still beside it): a table-based converter's name is its .cnv item's."""
    icu = ctypes.CDLL(str(libicuuc))
    open_, get_name, close = (getattr(icu, f"ucnv_{name}_{version}") for name in ("open", "getName", "close"))
    open_.restype, open_.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    close.argtypes = [ctypes.c_void_p]
    names = set()
    for label in labels:
        status = ctypes.c_int(0)
        converter = open_(label.encode(), ctypes.byref(status))
        if not converter or status.value > 0:  # ICU's errors are positive, its warnings negative
            raise RuntimeError(f"ICU {version} has no converter for {label} (status {status.value})")
        names.add(get_name(converter, ctypes.byref(status)).decode())
        close(converter)
    return names


def _data_package(library: Path, symbol: str) -> bytes:
    """The bytes of ``symbol`` in ``library``: its section's file offset plus its distance from the
    section's start."""
    # objdump -T: address, flags (one or two words), section, size, [symbol version], name
    lines = _run("objdump", "-T", str(library)).splitlines()
    found = [line.split() for line in lines if line.endswith(f" {symbol}")]
    fields = found[0] if found else []
    at = next((i for i, field in enumerate(fields) if field.startswith(".")), None)
    if at is None:
        raise RuntimeError(f"{library} does not define {symbol}")
    value, section, size = int(fields[0], 16), fields[at], int(fields[at + 1], 16)
    for line in _run("objdump", "-h", str(library)).splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == section:
            vma, offset = int(fields[3], 16), int(fields[5], 16)
            with library.open("rb") as lib:
                lib.seek(offset + value - vma)
                return lib.read(size)
    raise RuntimeError(f"{library}: no section {section} for {symbol}")


def _without(package: Path, removal: set[str], output: Path) -> set[str]:
    """``package`` without the items in ``removal`` as ``output``, keeping the items a kept one is built
    on (an extension table's base table: icupkg names each missing one); what was removed."""
    listing = package.parent / "removed.txt"
    for _ in range(20):
        listing.write_text("".join(f"{item}\n" for item in sorted(removal)), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - icupkg on our files
            ["icupkg", "-r", str(listing), str(package), str(output)],  # noqa: S607 - found on PATH
            capture_output=True,
            text=True,
            check=False,
        )
        needed = set(re.findall(r"depends on missing item (\S+)", done.stderr))
        if done.returncode == 0:
            return removal
        if not needed & removal:
            raise RuntimeError(f"icupkg failed: {done.stderr.strip()}")
        removal -= needed
    raise RuntimeError("icupkg: the items' dependencies did not settle")


def trim(library: Path, users: list[Path], workdir: Path) -> tuple[Path, list[str]]:
    """A copy of ICU's data ``library`` without :data:`UNREACHED` and the converters outside
    :data:`WEB_ENCODINGS`, in ``workdir``: (its path, a line per part taken out with the bytes saved).
    ``users`` are the bundle's files that import ICU; ``libicuuc`` must be beside ``library``."""
    match = LIBRARY.match(library.name)
    if match is None:
        raise ValueError(f"{library} is not ICU's data library")
    version = match.group(1)
    unexpected = unexpected_calls(users, version)
    if unexpected:
        raise RuntimeError(
            f"the bundle calls ICU functions packaging/icu_data.py does not know: {', '.join(unexpected)}. "
            "Check which ICU data they read against UNREACHED, then add them to QT_ICU_CALLS."
        )
    workdir.mkdir(parents=True, exist_ok=True)
    package = workdir / f"icudt{version}l.dat"  # icupkg names the items after the file: keep ICU's name
    package.write_bytes(_data_package(library, f"icudt{version}_dat"))
    items = _run("icupkg", "-l", str(package)).split()
    libicuuc = library.with_name(f"libicuuc.so.{version}")
    web = {f"{name}.cnv" for name in converter_names(libicuuc, version, WEB_ENCODINGS)}
    parts = {**UNREACHED, CONVERTERS: "conversion tables of encodings outside the web's (ucnv_)"}
    removal = {item for item in items if any(re.search(p, item) for p in parts) and item not in web}
    trimmed = workdir / "trimmed" / package.name
    trimmed.parent.mkdir(exist_ok=True)
    removed = _without(package, removal, trimmed)
    kept = _run("icupkg", "-l", str(trimmed)).split()
    if len(kept) != len(items) - len(removed):
        raise RuntimeError(f"icupkg kept {len(kept)} of {len(items)} items, not what was asked")

    source = workdir / "icudata.s"
    source.write_text(assembly(f"icudt{version}_dat", trimmed), encoding="utf-8")
    _run("as", "-o", str(workdir / "icudata.o"), str(source))
    output = workdir / "lib" / library.name
    output.parent.mkdir(exist_ok=True)
    _run("ld", "-shared", "-soname", library.name, "-o", str(output), str(workdir / "icudata.o"))
    sizes = _item_sizes(package, workdir / "items")
    report = []
    for pattern, service in parts.items():
        saved = sum(sizes[item] for item in removed if re.search(pattern, item))
        report.append(f"{saved / 1e6:.2f} MB {service}")
    return output, report


def assembly(symbol: str, data: Path) -> str:
    """The assembly source that embeds ``data`` as ``symbol``; the path quoted as GNU as reads strings
    (a backslash or a quote in the build folder would otherwise end the string or escape a letter)."""
    if "\n" in str(data):
        raise ValueError(f"a path with a line break cannot be embedded: {data!r}")
    quoted = str(data).replace("\\", "\\\\").replace('"', '\\"')
    return _ASSEMBLY.format(symbol=symbol, data=quoted)


def _item_sizes(package: Path, folder: Path) -> dict[str, int]:
    """Each item's size, from a copy extracted by icupkg (for the build's report)."""
    folder.mkdir(exist_ok=True)
    _run("icupkg", "-x", "*", "-d", str(folder), str(package))
    return {
        str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*") if path.is_file()
    }


# The data package as a read-only, exported object of the shared library, as ICU's own build makes it
# (genccode), 16-byte aligned; no executable stack.
_ASSEMBLY = """\
\t.section .rodata
\t.globl {symbol}
\t.type {symbol}, @object
\t.balign 16
{symbol}:
\t.incbin "{data}"
\t.size {symbol}, . - {symbol}
\t.section .note.GNU-stack,"",@progbits
"""
