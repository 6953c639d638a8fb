"""The build helpers in packaging/ (icu_data.py, elf_strip.py), loaded by path for their tests.

By path, not by import: packaging/ is a folder of scripts, not a package, and a folder named
"packaging" on sys.path would shadow the packaging library that pytest and pip import.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def load(name: str) -> ModuleType:
    """A fresh copy of ``packaging/<name>.py`` (monkeypatching it touches no other test's copy)."""
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
