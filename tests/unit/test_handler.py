"""Every command handler is typed with the one Protocol of what the CLI hands it."""

from __future__ import annotations

import importlib
import typing

import pytest

from opsconsole.cli import HANDLERS
from opsconsole.handler import CommandContext

ROOM_HANDLERS = sorted({target for target in HANDLERS.values() if not target.startswith("opsconsole.cli:")})


@pytest.mark.parametrize("target", ROOM_HANDLERS)
def test_each_room_handler_takes_handler_command_context(target: str) -> None:
    # Copies of the Protocol in the rooms drifted from what the CLI hands them (and from each other);
    # with one Protocol, mypy checks every handler against what cli.CliContext really offers.
    module_name, _, name = target.partition(":")
    function = getattr(importlib.import_module(module_name), name)
    assert typing.get_type_hints(function)["ctx"] is CommandContext, target
