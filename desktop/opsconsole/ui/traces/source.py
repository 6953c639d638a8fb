"""Where the page's traces come from: the profile's traces backend and local files, as coroutines for
the bridge. Everything slow (the request, decoding, the model, the layout and the row arrays) happens
here, on the bridge's loop or in a worker thread, never on the GUI thread.

The sign-in token goes with trace requests only as the CLI sends it (traces.commands'
``is_own_traces_server``): to a traces server on the profile's own origin, and only when signed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import OpsError
from ...traces.backend import TraceReader, reader_for
from ...traces.commands import is_own_traces_server
from ...traces.files import read_trace_file
from ...traces.model import Trace, TraceSummary
from ...traces.query import SearchQuery
from .prepared import PreparedTrace, prepare

if TYPE_CHECKING:
    from ..shell.context import PageContext

__all__ = ["NoTracesBackend", "load_file", "load_trace", "operations", "search", "services"]


class NoTracesBackend(OpsError):
    exit_code = 1


def backend_problem(context: PageContext) -> str | None:
    """Why this profile cannot search traces, or None when it can."""
    profile = context.profile
    if profile is None:
        return "No profile is selected."
    if not profile.traces_url:
        return (
            f"Profile {profile.name} has no traces_url: add traces_url and traces_api to it to search traces."
        )
    return None


@asynccontextmanager
async def open_reader(context: PageContext) -> AsyncIterator[TraceReader]:
    from ... import net

    problem = backend_problem(context)
    profile = context.profile
    if problem is not None or profile is None:
        raise NoTracesBackend(problem or "No profile is selected.")
    base = profile.traces_url.rstrip("/") + "/"
    session = context.session
    if is_own_traces_server(profile) and session is not None and await session.current() is not None:
        async with session.client(base) as client:
            yield reader_for(profile.traces_api, client)
        return
    async with net.build_client(profile, base_url=base) as client:
        yield reader_for(profile.traces_api, client)


async def services(context: PageContext) -> list[str]:
    async with open_reader(context) as reader:
        return sorted(await reader.services())


async def operations(context: PageContext, service: str) -> list[str]:
    async with open_reader(context) as reader:
        return sorted(await reader.operations(service))


async def search(context: PageContext, query: SearchQuery) -> list[TraceSummary]:
    async with open_reader(context) as reader:
        return await reader.search(query)


async def load_trace(context: PageContext, trace_id: str) -> PreparedTrace:
    async with open_reader(context) as reader:
        trace = await reader.trace(trace_id)  # decoded in a worker thread by the reader
    api = context.profile.traces_api if context.profile is not None else ""
    return await asyncio.to_thread(partial(prepare, trace, api, critical=False))


def _read_file(path: Path) -> tuple[PreparedTrace | None, list[Trace], list[TraceSummary]]:
    traces = read_trace_file(path)
    if not traces:
        raise OpsError(f"{path.name} holds no spans")
    # Summaries of a file of several traces are made here too: their error counts read every span's
    # details, which the reader may have kept encoded.
    summaries = [t.summary() for t in traces] if len(traces) > 1 else []
    return prepare(traces[0], path.name, critical=False), traces, summaries


async def load_file(path: str | Path) -> tuple[PreparedTrace | None, list[Trace], list[TraceSummary]]:
    """The first trace of the file made ready to show, all its traces (a file may hold several) and,
    when there are several, their summaries for the results table."""
    return await asyncio.to_thread(_read_file, Path(path))


async def prepare_trace(trace: Trace, source: str) -> PreparedTrace:
    return await asyncio.to_thread(partial(prepare, trace, source, critical=False))
