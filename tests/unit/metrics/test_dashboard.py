"""Dashboards as JSON: the default one, round trips, validation messages naming panel and key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from opsconsole.metrics import dashboard
from opsconsole.metrics.dashboard import DashboardError


def default_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dashboard.default_text())
    return data


def problems_of(data: Any) -> list[str]:
    with pytest.raises(DashboardError) as info:
        dashboard.from_json(data, "test.json")
    assert str(info.value).startswith("test.json: the dashboard is not valid:")
    return info.value.problems


def test_the_default_dashboard_covers_the_system_in_both_forms() -> None:
    board = dashboard.default()
    ids = {p.id for p in board.panels}
    assert ids == {
        "request_rate",
        "error_ratio",
        "latency",
        "active_sessions",
        "registrations",
        "cpu",
        "memory",
    }
    for panel in board.panels:
        assert panel.queries, panel.id
        assert panel.scrape is not None, panel.id
    latency = board.panel("latency")
    assert [q.legend for q in latency.queries] == ["p50", "p95", "p99"]
    assert all("http_request_duration_seconds_bucket" in q.expr for q in latency.queries)
    assert latency.scrape is not None and latency.scrape.transform == "quantile"
    assert board.panel("request_rate").queries[0].legend == "{{path}} {{status}}"
    assert board.panel("memory").unit == "bytes"


def test_round_trip(tmp_path: Path) -> None:
    board = dashboard.default()
    assert dashboard.from_json(dashboard.to_json(board)) == board
    path = tmp_path / "sub" / "board.json"
    dashboard.save(board, path)
    assert dashboard.load(path) == board
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left nothing behind


def test_incremental_refresh_is_on_by_default_and_can_be_turned_off() -> None:
    board = dashboard.default()
    assert board.incremental and board.incremental_overlap == "10m"
    data = default_json()
    data.update(incremental=False, incremental_overlap="5m")
    off = dashboard.from_json(data)
    assert not off.incremental and off.incremental_overlap == "5m"
    assert dashboard.from_json(dashboard.to_json(off)) == off


def test_save_load_and_reset_the_users_dashboard() -> None:
    assert dashboard.load_user() == dashboard.default()
    data = default_json()
    data["title"] = "Mine"
    data["panels"] = data["panels"][:1]
    mine = dashboard.from_json(data)
    dashboard.save(mine, dashboard.user_path())
    assert dashboard.load_user().title == "Mine"
    assert dashboard.reset() == dashboard.default()
    assert not dashboard.user_path().exists()
    assert dashboard.load_user() == dashboard.default()


def test_messages_name_the_panel_and_the_key() -> None:
    data = default_json()
    data["panels"][2]["unit"] = "sec"
    data["panels"][2]["scrape"]["transform"] = "avg"
    data["panels"][0]["layout"]["w"] = 0
    data["panels"][1]["colour"] = "red"
    data["panels"][3]["thresholds"] = [{"value": "high", "color": "red"}]
    problems = problems_of(data)
    assert (
        "panel 'latency' (#3), unit: 'sec' is not one of none, count, bytes, percent, seconds, per_second, per_minute"
        in problems
    )
    assert "panel 'latency' (#3), scrape.transform: 'avg' is not one of value, rate, quantile" in problems
    assert "panel 'request_rate' (#1), layout.w: must be from 1 to 12, not 0" in problems
    assert "panel 'error_ratio' (#2), colour: unknown key" in problems
    assert "panel 'active_sessions' (#4), thresholds[0].value: must be a number, not a string" in problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(panels="x"), "panels: must be a list"),
        (lambda d: d.update(version=2), "version: this console reads version 1, not 2"),
        (lambda d: d.update(range="soon"), "range: not a duration: 'soon'"),
        (lambda d: d.update(incremental="yes"), "incremental: must be true or false, not a string"),
        (lambda d: d.update(incremental_overlap="a while"), "incremental_overlap: not a duration"),
        (
            lambda d: d["panels"][1].update(id="request_rate"),
            "panel 'request_rate' (#2), id: used by an earlier panel too",
        ),
        (
            lambda d: d["panels"][0].pop("layout"),
            "panel 'request_rate' (#1), layout: missing (an object with x, y, w, h)",
        ),
        (
            lambda d: d["panels"][0]["layout"].update(x=8),
            "panel 'request_rate' (#1), layout: x + w is 14, beyond the grid's 12 columns",
        ),
        (
            lambda d: d["panels"][1]["layout"].update(x=3),
            "panel 'error_ratio', layout: overlaps panel 'request_rate'",
        ),
        (
            lambda d: d["panels"][0].update(queries=[{"expr": " "}]),
            "panel 'request_rate' (#1), queries[0].expr: empty",
        ),
        (
            lambda d: d["panels"][0]["scrape"].update(match={"status": "5(("}),
            "panel 'request_rate' (#1), scrape.match.status: not a valid regex",
        ),
        (
            lambda d: d["panels"][2]["scrape"].update(quantiles=[1.5]),
            "panel 'latency' (#3), scrape.quantiles: must be a non-empty list of numbers from 0 to 1",
        ),
        (
            lambda d: d["panels"][2]["scrape"].update(by=["le"]),
            "panel 'latency' (#3), scrape.by: 'le' is the bucket label: leave it out",
        ),
        (
            lambda d: d["panels"][0]["scrape"].update(metric="http-requests"),
            "panel 'request_rate' (#1), scrape.metric: 'http-requests' is not a metric name",
        ),
        (
            lambda d: (d["panels"][0].pop("queries"), d["panels"][0].pop("scrape")),
            "panel 'request_rate' (#1): needs queries (Prometheus form), scrape (direct-scrape form), or both",
        ),
        (
            lambda d: d["panels"][5]["thresholds"][0].update(color="#12"),
            "panel 'cpu' (#6), thresholds[0].color: '#12' is not #rrggbb or a colour name",
        ),
        (lambda d: d["panels"].append(7), "panel #8: must be an object, not a number"),
    ],
)
def test_each_problem_is_reported(change: Any, expected: str) -> None:
    data = default_json()
    change(data)
    problems = problems_of(data)
    assert any(p.startswith(expected) for p in problems), problems


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(
        DashboardError, match=r"(?s)board.json: .*not JSON: Expecting value at line 1 column 1"
    ):
        dashboard.loads("nope", "board.json")
    assert problems_of([1]) == ["the top level must be an object, not a list"]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match="cannot be read"):
        dashboard.load(tmp_path / "missing.json")


def test_an_untouched_copy_is_unchanged_by_validation() -> None:
    data = default_json()
    before = copy.deepcopy(data)
    dashboard.from_json(data)
    assert data == before
