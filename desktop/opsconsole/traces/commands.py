"""``traces search`` and ``traces show``: handlers dispatched by cli.py.

The profile's ``traces_url`` and ``traces_api`` choose the reader. The console's sign-in token is
sent only to a traces server on the same origin as the profile's own API or issuer (the sandbox's
``/jaeger``), and only when signed in: a separate Jaeger, Tempo or Zipkin never sees it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import Profile
from ..errors import OpsError
from ..handler import CommandContext
from .backend import TraceReader, normalize_trace_id, reader_for
from .critical_path import critical_path, critical_spans
from .files import read_trace_file
from .layout import layout
from .model import Trace
from .query import SearchQuery, parse_duration_us
from .render import summaries_table, trace_json, trace_tree

__all__ = ["is_own_traces_server", "open_reader", "search", "show"]


class NoTracesBackend(OpsError):
    exit_code = 1


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def is_own_traces_server(profile: Profile) -> bool:
    """Whether ``traces_url`` is on the origin of the profile's API or issuer: only then may the
    sign-in token go with trace requests."""
    own = {_origin(u) for u in (profile.api_url, profile.issuer) if u}
    return bool(profile.traces_url) and _origin(profile.traces_url) in own


@asynccontextmanager
async def open_reader(profile: Profile) -> AsyncIterator[TraceReader]:
    """The profile's trace reader, with the sign-in token when its server is the profile's own."""
    from .. import net

    if not profile.traces_url:
        raise NoTracesBackend(
            f"Profile {profile.name} has no traces_url",
            hint='add traces_url = "http://…" and traces_api = "jaeger" | "otlp" | "zipkin" to the profile',
        )
    base = profile.traces_url.rstrip("/") + "/"
    if is_own_traces_server(profile):
        from ..auth.session import open_session

        async with open_session(profile) as session:
            if await session.current() is not None:
                async with session.client(base) as client:
                    yield reader_for(profile.traces_api, client)
                return
    async with net.build_client(profile, base_url=base) as client:
        yield reader_for(profile.traces_api, client)


def search(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()
    query = SearchQuery(
        service=args.service or None,
        operation=args.operation or None,
        min_duration_us=parse_duration_us(args.min_duration) if args.min_duration else None,
        lookback_us=parse_duration_us(args.lookback),
        limit=args.limit,
    )
    max_duration = getattr(args, "max_duration", None)
    if max_duration:
        query.max_duration_us = parse_duration_us(max_duration)

    async def run() -> list[Any]:
        async with open_reader(profile) as reader:
            return await reader.search(query)

    found = asyncio.run(run())
    ctx.emit([t.to_json() for t in found], summaries_table(found))
    return 0


def show(ctx: CommandContext, args: argparse.Namespace) -> int:
    target: str = args.trace
    path = Path(target).expanduser()
    if path.is_file():
        traces = read_trace_file(path)
        if not traces:
            raise OpsError(f"{path} holds no spans")
    elif any(sep in target for sep in ("/", "\\")) or target.endswith(".json"):
        raise OpsError(f"No such file: {target}")
    else:
        trace_id = normalize_trace_id(target)
        profile = ctx.profile()

        async def run() -> Trace:
            async with open_reader(profile) as reader:
                return await reader.trace(trace_id)

        traces = [asyncio.run(run())]
    texts = []
    for trace in traces:
        lay = layout(trace)
        texts.append(trace_tree(lay, critical_spans(critical_path(lay))))
    documents = [trace_json(t) for t in traces]
    ctx.emit(documents[0] if len(documents) == 1 else documents, "\n\n".join(texts))
    return 0
