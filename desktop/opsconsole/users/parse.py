"""Strict readers for the API's JSON: typed values out, or a :class:`ShapeError` naming the field.

The records in models.py are built with these, never with ``data["key"]``: a response missing a key or
carrying the wrong type becomes one readable message ("items[3].email: expected a string, got null")
instead of a KeyError traceback. The client turns a ShapeError into net.MalformedResponse with the
request it came from; tests and event handlers can call the parsers directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


class ShapeError(ValueError):
    """A JSON value is not what the API promises; ``path`` says where (``items[3].email``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'the response'}: {problem}")
        self.path = path
        self.problem = problem


def describe(value: object) -> str:
    """A short name of a JSON value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Obj:
    """A JSON object being read; each getter checks presence and type and names the path on failure."""

    __slots__ = ("data", "path")

    def __init__(self, value: object, path: str = "") -> None:
        if not isinstance(value, dict):
            raise ShapeError(path, f"expected an object, got {describe(value)}")
        self.data: Mapping[str, Any] = value
        self.path = path

    def _get(self, key: str) -> object:
        if key not in self.data:
            raise ShapeError(join(self.path, key), "missing")
        return self.data[key]

    def text(self, key: str, *, nonempty: bool = False) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise ShapeError(join(self.path, key), f"expected a string, got {describe(value)}")
        if nonempty and not value:
            raise ShapeError(join(self.path, key), "expected a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ShapeError(join(self.path, key), f"expected a string or null, got {describe(value)}")
        return value

    def whole(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(join(self.path, key), f"expected a whole number, got {describe(value)}")
        return value

    def opt_whole(self, key: str) -> int | None:
        """A whole number that may be absent or null (a count the server gives only when asked)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ShapeError(join(self.path, key), f"expected a whole number or null, got {describe(value)}")
        return value

    def time(self, key: str) -> dt.datetime:
        text = self.text(key)
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ShapeError(join(self.path, key), f"expected an RFC 3339 time, got {text[:40]!r}") from None
        if value.tzinfo is None:
            raise ShapeError(join(self.path, key), "expected a time with a UTC offset")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        where = join(self.path, key)
        if not isinstance(value, list):
            raise ShapeError(where, f"expected an array, got {describe(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ShapeError(join(where, i), f"expected a string, got {describe(item)}")
        return tuple(value)

    def items(self, key: str) -> list[tuple[object, str]]:
        """The items of an array, each with its path (for a nested parser)."""
        value = self._get(key)
        where = join(self.path, key)
        if not isinstance(value, list):
            raise ShapeError(where, f"expected an array, got {describe(value)}")
        return [(item, join(where, i)) for i, item in enumerate(value)]

    def opt_mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ShapeError(join(self.path, key), f"expected an object or null, got {describe(value)}")
        return value
