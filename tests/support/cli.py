"""Helpers for tests that run the console's command line as a user does: a real process, a profile file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_profile(path: Path, base_url: str, **keys: str) -> Path:
    """A profiles.toml with one default profile, ``sandbox``, for the server at ``base_url``."""
    url = base_url.rstrip("/")
    lines = [
        'default_profile = "sandbox"',
        "[profiles.sandbox]",
        f'api_url = "{url}/api"',
        f'issuer = "{url}"',
        'client_id = "opsconsole"',
        *(f'{key} = "{value}"' for key, value in keys.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(
    profiles: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m opsconsole --config PROFILES ARGS...`` in a child process; never raises on failure."""
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", "--config", str(profiles), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )
