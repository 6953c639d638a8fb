"""The managed profile file the .deb installs in /etc/xdg/opsconsole (packaging/debian/profiles.toml).

As shipped it is all comments, so installing the package imposes no profile on anyone; its example for
a fleet, uncommented as the file tells an admin to, is valid and its locks hold against a user's file.
"""

from __future__ import annotations

import os
from pathlib import Path

from opsconsole import config

SHIPPED = Path(__file__).resolve().parents[2] / "packaging" / "debian" / "profiles.toml"
MARKER = "# Example for a fleet"


def uncommented_example() -> str:
    """The example below the marker with the first "# " of each line removed, as the file says."""
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER)) + 1
    return "\n".join(line.removeprefix("#").removeprefix(" ") for line in lines[start:]) + "\n"


def install_managed(text: str) -> Path:
    managed = Path(os.environ["XDG_CONFIG_DIRS"]) / "opsconsole" / "profiles.toml"
    managed.parent.mkdir(parents=True, exist_ok=True)
    managed.write_text(text, encoding="utf-8")
    return managed


def test_as_shipped_it_configures_nothing_and_reports_nothing() -> None:
    install_managed(SHIPPED.read_text(encoding="utf-8"))
    cfg = config.load()
    assert cfg.names() == []
    assert cfg.problems == []


def test_the_fleet_example_is_valid_and_its_locks_hold_against_a_user_file() -> None:
    managed = install_managed(uncommented_example())
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "profiles.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(
        'default_profile = "staging"\n'
        "[profiles.prod]\n"
        'api_url = "https://look-alike.example.net/api"\n'
        "[profiles.staging]\n"
        'label = "My staging"\n'
        'api_url = "https://elsewhere.example.net/api"\n',
        encoding="utf-8",
    )

    cfg = config.load()

    assert cfg.errors == []
    assert cfg.names() == ["prod", "staging"]
    prod, staging = cfg.resolve(), cfg.profiles["staging"]
    assert prod.name == "prod"  # default_profile is locked: the user's "staging" is ignored
    assert prod.environment == "production"
    assert prod.api_url == "https://api.example.com/api"
    assert cfg.source_of("prod", "api_url") == str(managed)
    assert staging.api_url == "https://api.staging.example.com/api"
    assert staging.label == "My staging"  # not locked: the user's value wins
    ignored = sorted(p.key for p in cfg.warnings)
    assert ignored == ["api_url", "api_url", "default_profile"]
