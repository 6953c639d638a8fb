"""Fetching one trace by id, the same way for every backend: 404 (or an empty answer) is "not found"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from .. import net
from .model import Trace, TraceNotFound
from .parsing import decode_json, gc_paused

__all__ = ["get_trace"]


async def get_trace(
    client: httpx.AsyncClient,
    path: str,
    trace_id: str,
    parse: Callable[[Any], list[Trace]],
    from_bytes: Callable[[bytes], list[Trace] | None] | None = None,
) -> Trace:
    """The trace at ``path``, parsed by ``parse`` (or first by ``from_bytes``, a reader's faster path
    straight from the body, which answers None for what it cannot take); TraceNotFound (exit status
    4) when there is none."""
    try:
        response = await net.request(client, "GET", path)
    except net.ApiError as exc:
        if exc.is_not_found:
            raise TraceNotFound(f"Trace {trace_id} was not found (it may have expired)") from exc
        raise
    # Decoding and building a 100,000-span trace takes most of a second: in a worker thread, so the
    # event loop (the GUI's bridge, with its other requests and the live event stream) runs on.
    try:
        traces = await asyncio.to_thread(_parse, response.content, parse, from_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        net.decode_json(response)  # raises net's MalformedResponse, saying what the server sent
        raise
    if not traces:
        raise TraceNotFound(f"Trace {trace_id} was not found (it may have expired)")
    return traces[0]


def _parse(
    content: bytes,
    parse: Callable[[Any], list[Trace]],
    from_bytes: Callable[[bytes], list[Trace] | None] | None,
) -> list[Trace]:
    with gc_paused():
        if from_bytes is not None and content:
            fast = from_bytes(content)
            if fast is not None:
                return fast
        body = decode_json(content) if content else None
        return parse(body) if body else []
