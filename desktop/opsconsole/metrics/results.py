"""Prometheus' JSON answers decoded: the envelope, and query results as float64 arrays.

A dashboard refresh brings megabytes of ``[[1700000000,"1.5"],...]`` pairs (8 panels x 10 series x
1,000 points: 2.8 MB). Decoded as Python objects (``json.loads``, then each string turned into a float)
that cost 7-15 ms a panel; here it is about 3 (docs/metrics.md):

- the envelope and each series' labels are decoded by msgspec into typed structs, while each series'
  ``values`` stay raw JSON bytes (:class:`msgspec.Raw`: found, not parsed);
- those bytes become numbers in one step: their brackets dropped, ``ts,"v",ts,"v",...`` is decoded
  by msgspec as one list of floats (lax mode reads the quoted values, ``"NaN"`` and ``"-Inf"``
  included), and the list becomes a (n, 2) array.

Every value Prometheus writes (Go's ``FormatFloat(v, 'f', -1, 64)``: shortest digits in fixed
notation, ``NaN``, ``+Inf``, ``-Inf``) is read as ``float`` reads it; ``"+Inf"`` and ``"-0"`` are
respelled first, since msgspec reads neither as Go means them (it rejects the one, drops the other's
sign). Spellings Go never writes but ``float`` takes (``+1``, ``.5``, ``1.``, ``01``, ``+Infinity``)
are rejected as not a number: an answer holding them is not Prometheus'.

Dropping brackets is only done to bytes whose shape was checked first: the skeleton of the values
(their brackets, commas and quotes, nothing else) must be exactly that of n ``[time,"value"]`` pairs,
so a pair with three elements, a number where a string belongs or a string with a comma in it is an
error, never a shifted series. Labels are never touched this way: they go through the JSON structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Envelope(msgspec.Struct, gc=False):
    """Every answer of the API: ``data`` left as raw JSON for the endpoint to decode."""

    status: str = ""
    data: msgspec.Raw = msgspec.Raw()  # empty when absent
    warnings: list[Any] | None = None
    infos: list[Any] | None = None  # Prometheus 2.52+


class _Item(msgspec.Struct, gc=False):
    """A matrix's series (``values``) or a vector's sample (``value``); raw values, empty when absent."""

    metric: dict[str, str] = {}
    values: msgspec.Raw = msgspec.Raw()
    value: msgspec.Raw = msgspec.Raw()
    histograms: msgspec.Raw = msgspec.Raw()  # native histogram samples: not drawn
    histogram: msgspec.Raw = msgspec.Raw()


class QueryData(msgspec.Struct, gc=False, rename="camel"):
    result_type: str
    # Series or samples (matrix, vector), or the [time, "value"] of a scalar or string. One type for
    # all four, so the body is decoded in one pass before the result type is known.
    result: list[_Item | float | str]


class QueryAnswer(msgspec.Struct, gc=False):
    """The answer to a query, decoded in one pass (the envelope as :class:`Envelope`)."""

    status: str = ""
    data: QueryData | None = None
    warnings: list[Any] | None = None
    infos: list[Any] | None = None


ENVELOPE = msgspec.json.Decoder(Envelope)
QUERY_ANSWER = msgspec.json.Decoder(QueryAnswer)
_FLOATS = msgspec.json.Decoder(list[float], strict=False)  # lax: "1.5", "NaN", "Inf" read as floats

# The skeleton of n pairs is their brackets, commas and quotes: '[' + '[,""],' * (n - 1) + '[,""]]'.
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[],"')
_PAIR, _LAST_PAIR = b'[,""],', b'[,""]]'
_NOT_PAIRS = 'values are not a list of [time, "value"] pairs'
_BRACKETS_TO_SPACES = bytes.maketrans(b"[]", b"  ")


@dataclass(slots=True)
class Series:
    """One series of a query result: its labels and its points (timestamps in Unix seconds)."""

    labels: dict[str, str]
    timestamps: FloatArray
    values: FloatArray

    def __len__(self) -> int:
        return len(self.values)


def series(data: QueryData) -> list[Series]:
    """The series of a matrix, vector or scalar result (a string result has none); ValueError when the
    result is not what its type promises."""
    result, kind = data.result, data.result_type
    if kind in ("matrix", "vector"):
        items = [item for item in result if isinstance(item, _Item)]
        if len(items) != len(result):
            raise ValueError(f"a {kind} holds something other than objects")
        if kind == "matrix":
            return [_series(item.metric, bytes(item.values) or b"[]") for item in items]
        return [_series(item.metric, b"[" + bytes(item.value) + b"]") for item in items if len(item.value)]
    if kind == "scalar":  # [time, "value"]
        if len(result) != 2 or not isinstance(result[0], float) or not isinstance(result[1], str):
            raise ValueError('a scalar is not [time, "value"]')
        # The one pair of a series, its value read the same way (its string was checked to be one).
        return [Series({}, *pairs(msgspec.json.encode([[result[0], result[1]]])))]
    return []


def has_histograms(data: QueryData) -> bool:
    """Whether a matrix holds native histogram samples (which are not drawn)."""
    return any(isinstance(item, _Item) and len(item.histograms) for item in data.result)


def _series(labels: dict[str, str], values: bytes) -> Series:
    """A series from its labels and its raw values; an error names the series it is about, after the
    reason (label values can be long, and a panel's message is clipped)."""
    try:
        return Series(labels, *pairs(values))
    except ValueError as exc:
        name = labels.get("__name__", "")
        shown = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        raise ValueError(f"{exc} in series {name}{{{shown}}}") from None


def pairs(raw: bytes) -> tuple[FloatArray, FloatArray]:
    """Timestamps and values from the JSON ``[[ts,"v"],...]`` (ValueError when it is not that)."""
    raw = raw.strip()  # the outer brackets first and last
    skeleton = raw.translate(None, _NOT_STRUCTURE)
    count = (len(skeleton) - 1) // 6  # '[,""],' a pair, less one comma, plus the outer brackets
    if not count:
        # '[]' is also the skeleton of [5], [null], [{}]: only nothing between the brackets is no points.
        if skeleton != b"[]" or raw[1:-1].strip():
            raise ValueError(_NOT_PAIRS)
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    if skeleton != b"[" + _PAIR * (count - 1) + _LAST_PAIR:
        raise ValueError(_NOT_PAIRS)
    # The inner brackets as spaces: 'ts,"v" , ts,"v"', one JSON list of 2 x count numbers.
    flat = b"[" + raw[1:-1].translate(_BRACKETS_TO_SPACES) + b"]"
    # (Each looked for by its sign first, one byte most answers do not hold: a quote starts every value,
    # so looking for '"+Inf"' and '"-0"' themselves took a sixth of this function's time.)
    if b"+" in flat:  # Go writes +Inf with its sign, which msgspec does not read; it reads "Inf"
        flat = flat.replace(b'"+Inf"', b'"Inf"')
    if b"-" in flat and b'"-0"' in flat:  # msgspec reads "-0" as 0.0 (but "-0.0" as -0.0): keep the sign
        flat = flat.replace(b'"-0"', b'"-0.0"')
    try:
        numbers = _FLOATS.decode(flat)
    except msgspec.DecodeError as exc:  # "abc", 1e999, true: the message says where
        raise ValueError(_not_a_number(exc)) from None
    both = np.fromiter(numbers, dtype=np.float64, count=2 * count).reshape(count, 2)
    return both[:, 0].copy(), both[:, 1].copy()


def _not_a_number(exc: msgspec.DecodeError) -> str:
    """msgspec's message, its index in the flattened list turned into the point's."""
    why, _, where = str(exc).partition(" - at `$[")
    index = where.rstrip("]`")
    if not index.isdigit():
        return f"a time or value is not a number ({why})"
    point, second = divmod(int(index), 2)
    return f"point {point}'s {'value' if second else 'time'} is not a number ({why})"
