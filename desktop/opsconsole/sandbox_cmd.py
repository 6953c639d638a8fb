"""``opsconsole sandbox``: the reference backend in the foreground, and what the demo needs to start it.

The sandbox is a separate system (opsconsole.sandbox imports nothing of the client); this module is
the client's one door to it, imported only when a command that starts it runs, so that neither the
CLI nor the console pays for FastAPI and SQLAlchemy, and a missing ``[sandbox]`` extra is a clear
message rather than a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import OpsError
from .handler import CommandContext

if TYPE_CHECKING:
    from .sandbox.server import RunningSandbox


def sandbox(ctx: CommandContext, args: argparse.Namespace) -> int:
    """Run the sandbox until interrupted; its exit status."""
    try:
        from .sandbox.server import serve
        from .sandbox.settings import SandboxSettings
    except ImportError as exc:
        raise missing_extra(exc) from exc
    options = {
        "host": args.host,
        "port": args.port,
        "db_url": args.db,
        "users": args.users,
        "event_rate": args.event_rate,
        "traffic": args.traffic,
        "data_dir": Path(args.data_dir) if args.data_dir else None,
        "password": args.password,
        "scrape_token_file": Path(args.scrape_token_file) if args.scrape_token_file else None,
    }
    status: int = serve(SandboxSettings(**{k: v for k, v in options.items() if v is not None}))
    return status


@contextmanager
def running_in_background(**settings: Any) -> Iterator[RunningSandbox]:
    """A sandbox serving on a thread of this process for the ``with`` block, then stopped."""
    try:
        from .sandbox.server import start_background
        from .sandbox.settings import SandboxSettings
    except ImportError as exc:
        raise missing_extra(exc) from exc
    with start_background(SandboxSettings(**settings)) as running:
        yield running


def missing_extra(exc: ImportError) -> OpsError:
    return OpsError(
        f"the sandbox is not installed ({exc.name or exc})",
        hint="install it with: pip install 'opsconsole[sandbox]'",
    )
