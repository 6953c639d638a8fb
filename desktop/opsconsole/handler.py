"""What a command handler gets: the :class:`CommandContext` Protocol that ``cli.CliContext`` implements.

A handler is ``def verb(ctx: CommandContext, args: argparse.Namespace) -> int`` in its feature's room,
named in ``cli.HANDLERS``. Rooms type ``ctx`` with this Protocol instead of importing the CLI (which
they must not): it says in one place what the CLI hands every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from .config import ConfigSet, Profile


class CommandContext(Protocol):
    json: bool  # --json: machine-readable output on stdout
    verbose: int  # -v count
    profile_name: str | None  # --profile
    config_file: str | None  # --config
    out: TextIO  # where results go

    @property
    def config(self) -> ConfigSet:
        """The configuration, read on first use."""
        ...

    def profile(self) -> Profile:
        """The profile this command operates (raises config.ConfigError when it cannot be used)."""
        ...

    def emit(self, obj: Any, text: str | None = None) -> None:
        """Print ``obj`` as JSON with --json, else ``text`` (or a readable rendering of obj)."""
        ...

    def open_gui(self, cfg: ConfigSet, profile: str | None, **demo: Any) -> int:
        """Run the desktop console on ``cfg`` until its window closes (only the CLI imports the UI)."""
        ...

    def qt_self_test(self) -> list[tuple[str, bool, str]]:
        """The self-test's Qt checks: (name, ok, detail) each."""
        ...


Handler = Callable[[CommandContext, argparse.Namespace], int]
