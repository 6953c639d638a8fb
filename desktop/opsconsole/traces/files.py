"""Local trace files of any supported format, recognised by what they hold, not by their name.

Jaeger JSON has traces with ``spans`` and ``processes``; OTLP JSON has ``resourceSpans`` (or Tempo's
``batches``); Zipkin v2 is a list of spans with ``traceId`` and ``id``. A file that is none of these
gets a message saying what it looked like instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from .jaeger import jaeger_from_bytes, looks_like_jaeger, traces_from_jaeger
from .model import Trace, TraceFormatError
from .otlp import looks_like_otlp, traces_from_otlp
from .parsing import decode_json, gc_paused
from .zipkin import looks_like_zipkin, traces_from_zipkin

__all__ = ["MAX_FILE_BYTES", "detect_format", "read_trace_file", "traces_from_bytes", "traces_from_document"]

# Bigger than any trace a person can read; a guard against opening a disk image by mistake.
MAX_FILE_BYTES: Final = 2 * 1024**3

_READERS: Final[tuple[tuple[str, Callable[[Any], bool], Callable[[Any], list[Trace]]], ...]] = (
    ("otlp", looks_like_otlp, traces_from_otlp),
    ("jaeger", looks_like_jaeger, traces_from_jaeger),
    ("zipkin", looks_like_zipkin, traces_from_zipkin),
)


def detect_format(doc: Any) -> str | None:
    """ "jaeger", "otlp" or "zipkin" for a decoded JSON document, or None."""
    for name, looks_like, _ in _READERS:
        if looks_like(doc):
            return name
    return None


def traces_from_document(doc: Any, source: str = "the document") -> list[Trace]:
    """The traces in a decoded JSON document of any supported format."""
    for _, looks_like, read in _READERS:
        if looks_like(doc):
            return read(doc)
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and not doc["data"]:
        return []  # Jaeger's envelope with no traces
    if isinstance(doc, list) and not doc:
        return []  # Zipkin: no spans
    raise TraceFormatError(f"{source} is not a trace of a supported format: {_looks(doc)}")


def _looks(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(sorted(doc)[:6]) or "no keys"
        return (
            f"it is an object with {keys}; expected Jaeger ('data' or 'spans' and 'processes'), "
            "OTLP ('resourceSpans') or Zipkin v2 (a list of spans)"
        )
    if isinstance(doc, list):
        return "it is a list, but not of Zipkin spans (objects with 'traceId' and 'id') nor of Jaeger traces"
    return f"it is a JSON {type(doc).__name__}, not an object or a list"


def traces_from_bytes(data: bytes, source: str = "the document") -> list[Trace]:
    """The traces in a JSON document of any supported format, as bytes from a file or a response."""
    with gc_paused():
        # Jaeger's envelope, the usual big file, decodes straight into the model's input; anything
        # else (and a Jaeger file with a problem, to be named) takes the general path.
        if data[:4096].lstrip()[:1] == b"{" and b'"spanID"' in data[:65536]:
            traces = jaeger_from_bytes(data)
            if traces is not None:
                return traces
        try:
            doc = decode_json(data)
        except UnicodeDecodeError:
            raise TraceFormatError(f"{source} is not a trace: it is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise TraceFormatError(
                f"{source} is not a trace: it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        return traces_from_document(doc, source)


def read_trace_file(path: str | Path) -> list[Trace]:
    """Every trace in the file at ``path``; TraceFormatError (with the file's name) when it holds none."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TraceFormatError(f"{p} is {size / 1024**3:.1f} GiB: too big to be a trace file")
        data = p.read_bytes()
    except OSError as exc:
        raise TraceFormatError(f"Cannot read {p}: {exc.strerror or exc}") from None
    return traces_from_bytes(data, str(p))
