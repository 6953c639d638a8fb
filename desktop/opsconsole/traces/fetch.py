"""Fetching one trace by id, the same way for every backend: 404 (or an empty answer) is "not found"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from .. import net
from .model import Trace, TraceNotFound

__all__ = ["get_trace"]


async def get_trace(
    client: httpx.AsyncClient, path: str, trace_id: str, parse: Callable[[Any], list[Trace]]
) -> Trace:
    """The trace at ``path``, parsed by ``parse``; TraceNotFound (exit status 4) when there is none."""
    try:
        body = await net.request_json(client, "GET", path)
    except net.ApiError as exc:
        if exc.is_not_found:
            raise TraceNotFound(f"Trace {trace_id} was not found (it may have expired)") from exc
        raise
    traces = parse(body) if body else []
    if not traces:
        raise TraceNotFound(f"Trace {trace_id} was not found (it may have expired)")
    return traces[0]
