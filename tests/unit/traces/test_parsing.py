"""Ids as each writer spells them, durations as people type them, and the paused collector."""

from __future__ import annotations

import gc
import threading

import pytest

from opsconsole.traces.backend import BadTraceId, normalize_trace_id
from opsconsole.traces.parsing import gc_paused, hex_id
from opsconsole.traces.query import DurationError, go_duration, parse_duration_us


@pytest.mark.parametrize(
    ("raw", "size", "expected"),
    [
        ("5B8AA5A2D2C872E8321CF37308D69DF2", 16, "5b8aa5a2d2c872e8321cf37308d69df2"),  # hex, any case
        ("W4qlotLIcugyHPNzCNad8g==", 16, "5b8aa5a2d2c872e8321cf37308d69df2"),  # protobuf JSON's base64
        ("W4qlotLIcugyHPNzCNad8g", 16, "5b8aa5a2d2c872e8321cf37308d69df2"),  # unpadded
        ("BRWBvzy1XBM=", 8, "051581bf3cb55c13"),
        ("2f6b7c1d", 16, "000000002f6b7c1d"),  # Jaeger drops leading zeros
        ("", 8, None),  # OTLP's root: no parent
        ("AAAAAAAAAAA=", 8, None),  # all zero: no id
        ("0000000000000000", 8, None),
        ("not a trace id", 16, None),
        ("0x1f", 8, None),
        ("5b8aa5a2d2c872e8321cf37308d69df2", 8, None),  # a trace id is not a span id
        (None, 8, None),
    ],
)
def test_ids(raw: object, size: int, expected: str | None) -> None:
    assert hex_id(raw, size) == expected


def test_a_trace_id_typed_by_a_person() -> None:
    assert normalize_trace_id(" 5b8aa5a2d2c872e8321cf37308d69df2 ") == "5b8aa5a2d2c872e8321cf37308d69df2"
    with pytest.raises(BadTraceId) as info:
        normalize_trace_id("../../etc/passwd")
    assert info.value.exit_code == 2


def test_durations() -> None:
    assert parse_duration_us("5ms") == 5000
    assert parse_duration_us("1h30m") == 5400 * 10**6
    assert parse_duration_us("2d") == 2 * 86_400 * 10**6
    assert parse_duration_us("250") == 250_000  # a bare number is milliseconds
    assert parse_duration_us("1.5s") == 1_500_000
    for bad in ("", "fast", "5 parsecs", "-5ms", "5msx"):
        with pytest.raises(DurationError):
            parse_duration_us(bad)
    assert [go_duration(us) for us in (2_000_000, 5000, 1500)] == ["2s", "5ms", "1500us"]


@pytest.mark.parametrize("worker_first", [True, False])
def test_the_collector_comes_back_when_the_last_of_two_threads_is_done(worker_first: bool) -> None:
    assert gc.isenabled()
    entered = threading.Event()
    inside = threading.Barrier(2)
    leave = threading.Event()

    def worker() -> None:
        if not worker_first:
            entered.wait(10)
        with gc_paused():
            entered.set()
            inside.wait()
            leave.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    if worker_first:
        entered.wait(10)
    with gc_paused():
        entered.set()
        inside.wait()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the worker is still building its trace
    leave.set()
    thread.join()
    assert gc.isenabled()
