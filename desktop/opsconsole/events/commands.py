"""``opsconsole events tail``: follow the live notification stream on the terminal.

With ``--json`` every event is one JSON object on its own line of stdout (for ``jq`` and scripts);
everything else (reconnects, gaps, refusals) goes to stderr so that stdout stays parseable. The
stream reconnects and resumes by itself; ``--count N`` stops after N events, Ctrl+C at any time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Protocol, TextIO

from ..config import Profile
from ..errors import OpsError
from .model import Event, Gap, Phase, StreamStatus
from .stream import EventStream
from .summary import summarize
from .topics import validate_pattern


class CliContext(Protocol):
    """What this handler uses of ``opsconsole.cli.CliContext`` (the rooms never import the CLI)."""

    json: bool
    out: TextIO

    def profile(self) -> Profile: ...


class UsageError(OpsError):
    """A bad argument, caught before anything connects."""

    exit_code = 2


class StreamEnded(OpsError):
    """The stream was refused for good (not allowed, bad URL)."""

    exit_code = 1


def tail(ctx: CliContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()
    if not profile.events_url:
        raise OpsError(
            f'Profile "{profile.name}" has no events_url: add the notification stream\'s ws:// or wss:// '
            "URL to the profile."
        )
    topics = [args.topic] if getattr(args, "topic", None) else ["#"]
    try:
        topics = [validate_pattern(t) for t in topics]
    except ValueError as exc:
        raise UsageError(
            str(exc), hint="A pattern is words separated by dots; '*' is one word, '#' any."
        ) from None
    return asyncio.run(
        _tail(ctx, profile, topics, getattr(args, "since", None), getattr(args, "count", None))
    )


async def _tail(
    ctx: CliContext, profile: Profile, topics: list[str], since: int | None, count: int | None
) -> int:
    from ..auth import open_session
    from ..net import ssl_context

    async with open_session(profile) as session:
        await session.access_token()  # not signed in: exit 3 now, not after a reconnect loop
        stream = EventStream(
            profile.events_url,
            session,
            topics=topics,
            since=since,
            history=1,  # the terminal is the history
            ssl_context=ssl_context(profile.ca_bundle) if profile.events_url.startswith("wss:") else None,
        )
        seen = 0
        async with contextlib.aclosing(stream.items()) as items:
            async for item in items:
                if isinstance(item, Event):
                    ctx.out.write(_line(item, as_json=ctx.json))
                    ctx.out.flush()
                    seen += 1
                    if count is not None and seen >= count:
                        break
                elif isinstance(item, Gap):
                    _notice(item.message())
                else:
                    _status(item)
    return 0


def _line(event: Event, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
    return f"{event.id:>8}  {event.time}  {event.topic:<20}  {summarize(event.topic, event.data)}\n"


def _status(status: StreamStatus) -> None:
    from ..auth.errors import SignInRequired

    if status.phase is Phase.SIGNED_OUT:
        raise SignInRequired(status.detail or "The session ended.")
    if status.phase is Phase.OFFLINE:
        if status.detail != "closed":
            raise StreamEnded(f"The notification stream stopped: {status.detail}")
        return
    if status.phase is Phase.RECONNECTING:
        _notice(status.message())
    elif status.phase is Phase.LIVE and status.detail:
        _notice(status.detail)


def _notice(text: str) -> None:
    sys.stderr.write(f"opsconsole: {text}\n")
    sys.stderr.flush()
