"""The reader a profile's ``traces_url`` and ``traces_api`` choose, behind one interface.

Every reader has the same four coroutines over an ``httpx.AsyncClient`` it is handed (built by
net.build_client, with the session's auth when the traces server is the profile's own system).
"""

from __future__ import annotations

from typing import Protocol

import httpx

from ..errors import OpsError
from .jaeger import JaegerReader
from .model import Trace, TraceSummary
from .otlp import OtlpReader
from .parsing import hex_id
from .query import SearchQuery
from .zipkin import ZipkinReader

__all__ = ["TraceReader", "normalize_trace_id", "reader_for"]


class TraceReader(Protocol):
    @property
    def api(self) -> str: ...

    async def services(self) -> list[str]: ...

    async def operations(self, service: str) -> list[str]: ...

    async def search(self, query: SearchQuery) -> list[TraceSummary]: ...

    async def trace(self, trace_id: str) -> Trace: ...


def reader_for(api: str, client: httpx.AsyncClient) -> TraceReader:
    """The reader for ``api`` ("jaeger", "otlp" or "zipkin") over ``client`` (its base URL: traces_url)."""
    if api == "jaeger":
        return JaegerReader(client)
    if api == "otlp":
        return OtlpReader(client)
    if api == "zipkin":
        return ZipkinReader(client)
    raise OpsError(f"Unknown traces_api {api!r}: use jaeger, otlp or zipkin")


class BadTraceId(OpsError):
    exit_code = 2


def normalize_trace_id(text: str) -> str:
    """``text`` as a lower-case hex trace id (hex or base64 accepted); BadTraceId otherwise."""
    found = hex_id(text.strip(), 16)
    if found is None:
        raise BadTraceId(f"{text!r} is not a trace id (expected up to 32 hex digits)")
    return found
