"""Reconnect delays grow, stay under the cap, are jittered, and reset after a healthy connection."""

from __future__ import annotations

from opsconsole.events.backoff import Backoff


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, factor=2, cap=60, rand=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert max(delays) == 60 and delays[-1] == 60


def test_full_jitter_draws_between_zero_and_the_bound() -> None:
    draws = iter([0.0, 0.5, 0.25])
    backoff = Backoff(base=1, factor=2, cap=60, rand=lambda: next(draws))
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 1.0, 1.0]


def test_a_healthy_connection_resets_the_delays_and_a_short_one_does_not() -> None:
    backoff = Backoff(base=1, factor=2, cap=60, healthy_after=30, rand=lambda: 1.0)
    for _ in range(4):
        backoff.next_delay()
    backoff.connected_for(5)
    assert backoff.next_delay() == 16
    backoff.connected_for(31)
    assert backoff.next_delay() == 1


def test_a_night_long_outage_does_not_overflow_the_delay() -> None:
    backoff = Backoff(base=0.5, cap=60, rand=lambda: 1.0, attempt=5_000)
    assert backoff.next_delay() == 60
