"""The Qt layer's layout: one package per room (docs/architecture.md, "Rooms"), small modules."""

from __future__ import annotations

from pathlib import Path

import opsconsole

UI = Path(opsconsole.__file__).resolve().parent / "ui"
MAX_LINES = 800


def test_ui_holds_packages_by_room_and_no_loose_modules() -> None:
    loose = sorted(p.name for p in UI.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "put views in ui/<room>/ (shell, signin, users, events, metrics, traces)"
    rooms = {p.name for p in UI.iterdir() if (p / "__init__.py").is_file()}
    assert {"shell", "signin"} <= rooms


def test_no_module_in_the_ui_is_over_800_lines() -> None:
    sizes = {
        str(p.relative_to(UI)): len(p.read_text(encoding="utf-8").splitlines()) for p in UI.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
