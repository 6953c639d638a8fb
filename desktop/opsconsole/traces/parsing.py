"""What the three readers share: ids, attribute values, string interning and precise format errors.

Readers take the fast path (plain indexing inside one ``try``) and only when that fails walk the
offending span again with :func:`field` to say exactly which field of which span was wrong. That
keeps the common case at the speed of ``json.loads`` and the rare one readable.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, NoReturn, TypeAlias

from .model import TagValue, TraceFormatError

__all__ = [
    "IdReader",
    "Interner",
    "all_canonical",
    "fail",
    "field",
    "hex_id",
    "id_cache",
    "interner",
    "json_text",
    "scalar",
    "shared_ids",
]


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic garbage collection while a big trace is built.

    Building 100,000 spans allocates millions of containers, and CPython's collector would walk
    the young ones again and again, all of them live: measured, it was a third of the time of
    opening a big trace. Nothing built here is cyclic garbage, so nothing is lost by waiting.
    Counted, so that two threads opening traces at once do not re-enable it under each other."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()  # as the first holder found it, not as a second one does
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def decode_json(data: bytes | str) -> Any:
    """``data`` decoded as JSON: msgspec's decoder, which builds the same dicts and lists as json.loads
    in about 60 % of the time; json.loads when it refuses, for the line and column of the problem.
    Raises json.JSONDecodeError or UnicodeDecodeError like json.loads."""
    import msgspec

    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return json.loads(data)  # the same refusal, worded with line and column


Interner: TypeAlias = Callable[[str, str], str]


def interner() -> Interner:
    """One copy of each repeated string (service, operation and tag names) for one trace: call it as
    ``intern(text, text)``.

    json.loads makes a fresh str for every value; a 100,000-span trace repeats a few hundred names,
    and sharing them is much of the memory a span would otherwise cost. It is a bound
    ``dict.setdefault`` rather than a method because it runs for every tag of every span.
    """
    seen: dict[str, str] = {}
    return seen.setdefault


def fail(fmt: str, where: str, problem: str) -> NoReturn:
    raise TraceFormatError(f"Not a valid {fmt} trace: {where}: {problem}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "a number"
    )


def field(
    fmt: str,
    obj: Mapping[str, Any],
    where: str,
    name: str,
    types: type | tuple[type, ...],
    *,
    required: bool = True,
) -> Any:
    """``obj[name]`` checked against ``types``; raises TraceFormatError naming ``where.name`` otherwise."""
    if not isinstance(obj, dict):
        fail(fmt, where, f"expected an object, found {_kind(obj)}")
    if name not in obj or obj[name] is None:
        if required:
            fail(fmt, where, f"the field {name!r} is missing")
        return None
    value = obj[name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        fail(fmt, f"{where}.{name}", f"expected {_names(types)}, found {_kind(value)} {_short(value)}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _names(types: type | tuple[type, ...]) -> str:
    words = {dict: "an object", list: "a list", str: "a string", int: "a whole number", float: "a number"}
    return " or ".join(words.get(t, t.__name__) for t in _as_tuple(types))


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return f"({text[:40]}…)" if len(text) > 40 else f"({text})"


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def scalar(value: object) -> TagValue:
    """A tag value as the model keeps it: scalars as they are, anything else as compact JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json_text(value)


# Lower-case hex of 8 or 16 bytes, the model's own form.
_CANONICAL: Final = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}").fullmatch


def hex_id(raw: object, length: int) -> str | None:
    """A trace or span id as lower-case hex: hex as Jaeger, Zipkin and OTLP/JSON write it, or base64 as
    protobuf's JSON mapping writes bytes (Tempo). ``length`` is the id's size in bytes (16 or 8).
    None when ``raw`` is neither; an empty or all-zero id is "no id" (OTLP's root has an empty parent)."""
    if not isinstance(raw, str) or not raw:
        return None
    if len(raw) <= 2 * length and _CANONICAL(raw) and raw.strip("0"):
        return raw  # already what the model keeps, as almost every id is: nothing to convert
    if len(raw) <= 2 * length and raw.isascii() and raw.isalnum() and "x" not in raw and "X" not in raw:
        try:
            value = int(raw, 16)
        except ValueError:
            value = -1
        if value == 0:
            return None
        if value > 0:
            text = raw.lower()
            # Jaeger writes 64-bit trace ids without leading zeros; ids compare at the full width.
            return text if len(text) in (16, 32) else text.rjust(16 if len(text) < 16 else 32, "0")
    padded = raw + "=" * (-len(raw) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            return None
    if len(data) not in (8, 16) or not any(data):
        return None
    return data.hex()


IdReader: TypeAlias = Callable[[str], str | None]
_UNSEEN: Final = object()


def id_cache(length: int) -> IdReader:
    """hex_id with memory, for the ids of one trace: every parent id is also some span's id, a parent
    with many children is named many times, and each id is then one string. A closure rather than a
    class with __call__: it runs twice a span, and a closure is the cheaper call."""
    seen: dict[str, str | None] = {}
    get = seen.get

    def read(raw: str) -> str | None:
        found = get(raw, _UNSEEN)  # not try/except KeyError: a raised KeyError costs more than a lookup
        if found is _UNSEEN:
            found = seen[raw] = hex_id(raw, length)
        return found  # type: ignore[return-value]  # not _UNSEEN any more

    return read


def shared_ids(intern: Interner) -> IdReader:
    """The id reader for ids known to be the model's form already (all_canonical): each is only shared."""
    return lambda raw: intern(raw, raw)


def all_canonical(ids: list[str], length: int) -> bool:
    """Whether every id in ``ids`` is already what hex_id makes of it (lower-case hex of ``length``
    bytes, not all zeros), as in almost every trace: checked on all of them at once, a few C calls
    instead of one call an id."""
    if not ids:
        return True
    digits = 2 * length
    if set(map(len, ids)) != {digits}:
        return False
    text = "\n".join(ids) + "\n"
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        return False
    # Every character a lower-case hex digit but the newlines that end the ids (none of its own).
    return (
        data.translate(None, b"0123456789abcdef") == b"\n" * len(ids)
        and f"\n{'0' * digits}\n" not in "\n" + text
    )
