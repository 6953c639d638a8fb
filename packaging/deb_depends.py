"""The Debian packages a frozen bundle needs from the system: what goes in the .deb's Depends.

    python packaging/deb_depends.py BUNDLE_DIR

Every ELF file in the bundle (the executable, Python's extension modules, the Qt libraries and plugins)
is run through ``ldd`` with the bundle's own library folders on the search path, so that what the
bundle carries resolves inside it; each library a file names itself (its NEEDED entries, as
dpkg-shlibdeps counts them: what those libraries need in turn is their packages' business) that
resolves to the system is mapped to the Debian package that installed it (``dpkg -S``). Prints the package names, one per line, sorted. A library
that resolves nowhere is an error (exit 1): the build machine lacks it, so its package is unknown.
This is dpkg-shlibdeps' job in a debian/ source tree, done for a tree that has none.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
NEEDED_LINE = re.compile(r"^\s+NEEDED\s+(\S+)$", re.MULTILINE)
LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(.*?)\s+\(0x[0-9a-f]+\)\s*$")


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    found.append(path)
    return found


def system_libraries(files: list[Path], bundle: Path) -> tuple[set[str], dict[str, set[str]]]:
    """(paths of system libraries the files load, soname -> files for sonames found nowhere)."""
    folders = sorted({str(f.parent) for f in files})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(folders))
    inside = str(bundle.resolve()) + os.sep
    used: set[str] = set()
    missing: dict[str, set[str]] = {}
    for path in files:
        dynamic = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
        needed = set(NEEDED_LINE.findall(dynamic.stdout))
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, check=False).stdout  # noqa: S603, S607
        for line in out.splitlines():
            match = LDD_LINE.match(line)
            if not match or match.group(1) not in needed:
                continue
            soname, target = match.groups()
            if target == "not found":
                missing.setdefault(soname, set()).add(str(path.relative_to(bundle)))
            elif not os.path.realpath(target).startswith(inside):
                used.add(target)
    return used, missing


def owning_package(library: str) -> str | None:
    """The package that installed ``library`` (usrmerge: it may be registered under /lib or /usr/lib)."""
    real = os.path.realpath(library)
    candidates = [library, real]
    for path in (library, real):
        if path.startswith("/usr/lib/"):
            candidates.append(path[len("/usr") :])
        elif path.startswith("/lib/"):
            candidates.append("/usr" + path)
    for candidate in dict.fromkeys(candidates):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)  # noqa: S603, S607
        if proc.returncode == 0 and proc.stdout:
            package = proc.stdout.split(":", 1)[0]  # "libfoo1:amd64: /path" -> "libfoo1"
            return package.split(",")[0].strip()
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: deb_depends.py BUNDLE_DIR\n")
        return 2
    bundle = Path(argv[0])
    used, missing = system_libraries(elf_files(bundle), bundle)
    if missing:
        for soname, users in sorted(missing.items()):
            sys.stderr.write(f"deb_depends: {soname} not found (needed by {', '.join(sorted(users)[:3])})\n")
        return 1
    packages: set[str] = set()
    for library in sorted(used):
        package = owning_package(library)
        if package is None:
            sys.stderr.write(f"deb_depends: no Debian package owns {library}\n")
            return 1
        packages.add(package)
    sys.stdout.write("".join(f"{p}\n" for p in sorted(packages)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
