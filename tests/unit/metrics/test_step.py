"""The step rule: one point per pixel, at most 11,000 points, never below the scrape interval, rounded up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.metrics.durations import DurationError, format_duration, parse_duration
from opsconsole.metrics.step import (
    HUMAN_STEPS,
    MAX_POINTS,
    choose_step,
    expand_variables,
    points_for,
    rate_interval,
    round_step,
)


def test_one_point_per_pixel_rounded_up_to_a_human_step() -> None:
    # 1 h over 800 px is 4.5 s per pixel: 5 s, 721 points.
    choice = choose_step(3600, 800, scrape_interval=1)
    assert (choice.step, choice.points, choice.limited_by) == (5.0, 721, "pixels")
    assert choice.text == "5s"


def test_never_below_the_scrape_interval() -> None:
    choice = choose_step(300, 1600, scrape_interval=15)
    assert (choice.step, choice.limited_by) == (15.0, "scrape interval")
    # An odd interval rounds up to the next human step, never down.
    assert choose_step(300, 1600, scrape_interval=7).step == 10.0


def test_never_more_than_11000_points() -> None:
    # 7 days at 1 s scrapes on a 4K-wide panel would be 151 s per pixel... but 30 days on 20,000 px
    # would pass the cap: the cap wins.
    choice = choose_step(30 * 86400, 20_000, scrape_interval=1)
    assert choice.limited_by == "max points"
    assert choice.points <= MAX_POINTS


def test_default_scrape_interval_when_unknown() -> None:
    assert choose_step(300, 1600, None).step == 15.0
    assert choose_step(300, 1600, 0).scrape_interval == 15.0


@given(
    range_s=st.floats(min_value=1, max_value=5 * 365 * 86400),
    width=st.integers(min_value=1, max_value=10_000),
    interval=st.one_of(st.none(), st.floats(min_value=0.1, max_value=3600)),
)
def test_the_rules_hold_for_any_panel(range_s: float, width: int, interval: float | None) -> None:
    choice = choose_step(range_s, width, interval)
    assert choice.points <= MAX_POINTS
    assert choice.step >= choice.scrape_interval - 1e-9
    assert choice.step >= range_s / width - 1e-9
    assert choice.step in HUMAN_STEPS or choice.step % 86400 == 0


def test_points_count_both_ends() -> None:
    assert points_for(60, 15) == 5
    assert points_for(3600, 5) == 721


def test_round_step_beyond_the_table_is_whole_days() -> None:
    assert round_step(45 * 86400) == 45 * 86400
    assert round_step(31 * 86400 + 1) == 32 * 86400
    assert round_step(16) == 20


def test_rate_interval_sees_two_samples_per_step() -> None:
    assert rate_interval(15, 15) == 60  # 4 x scrape interval
    assert rate_interval(300, 15) == 315  # step + scrape interval
    expr = "rate(x[$__rate_interval]) / $__interval"
    assert expand_variables(expr, 60, 15) == "rate(x[1m15s]) / 1m"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("7d", 604800),
        ("2w", 1209600),
        ("90", 90),
        (" 5m ", 300),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "abc", "5x", "1h-5m", "0s", "-1", "m5", "inf", "nan"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    if text == "15":
        assert parse_duration(text) == 15
        return
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert info.value.exit_code == 2


def test_format_duration_round_trips() -> None:
    for seconds in (0.25, 1, 59, 60, 75, 3600, 5400, 86400 + 1, 7 * 86400):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
    assert format_duration(5400) == "1h30m"
