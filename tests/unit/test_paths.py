"""paths.py works out the XDG folders itself on Linux: the same folders platformdirs gives."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from opsconsole import paths

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG platforms only")

VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def platformdirs_view() -> dict[str, Path]:
    def get(kind: str) -> Path:
        return Path(getattr(platformdirs, f"user_{kind}_dir")("opsconsole", appauthor=False))

    return {"config": get("config"), "data": get("data"), "cache": get("cache"), "logs": get("log"),
            "state": get("state")}  # fmt: skip


@pytest.mark.parametrize("setting", ["absolute", "unset", "empty", "relative"])
def test_the_folders_match_platformdirs(
    setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in VARIABLES:
        if setting == "absolute":
            monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
        elif setting == "unset":
            monkeypatch.delenv(variable, raising=False)
        elif setting == "empty":
            monkeypatch.setenv(variable, "")
        else:
            monkeypatch.setenv(variable, "relative/path")
    ours = paths.all_user_dirs()
    assert ours == platformdirs_view()
    if setting == "absolute":
        assert ours["config"] == tmp_path / "xdg_config_home" / "opsconsole"
        assert ours["logs"] == tmp_path / "xdg_state_home" / "opsconsole" / "log"
    else:
        assert ours["config"] == tmp_path / "home" / ".config" / "opsconsole"
        assert ours["state"] == tmp_path / "home" / ".local" / "state" / "opsconsole"


@pytest.mark.parametrize("home", ["", "relative/home"])
def test_a_home_that_is_not_absolute_is_ignored_like_platformdirs_does(
    home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", home)
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    ours = paths.all_user_dirs()
    assert ours == platformdirs_view()
    assert all(path.is_absolute() for path in ours.values())
