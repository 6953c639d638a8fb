"""Completion: what is being typed in a PromQL expression, and matching names among 100,000."""

from __future__ import annotations

import pytest

from opsconsole.metrics.completion import Context, NameIndex, context_at


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("", Context("metric", "")),
        ("http_req", Context("metric", "http_req")),
        ("sum(rate(http_requests_to", Context("metric", "http_requests_to")),
        ("http_requests_total{", Context("label", "", "http_requests_total")),
        ("http_requests_total{pa", Context("label", "pa", "http_requests_total")),
        ('http_requests_total{path="/a", sta', Context("label", "sta", "http_requests_total")),
        ('http_requests_total{path="/api/us', Context("value", "/api/us", "http_requests_total", "path")),
        ('http_requests_total{status=~"5', Context("value", "5", "http_requests_total", "status")),
        ('{job="sand', Context("value", "sand", "", "job")),
        ("sum by (pa", Context("label", "pa")),
        ("sum without (path, sta", Context("label", "sta")),
        ("rate(x[5", Context("none")),
        ('label_replace(up, "dst', Context("none")),
        ('http_requests_total{path="/a"} / http_req', Context("metric", "http_req")),
    ],
)
def test_context(expr: str, expected: Context) -> None:
    assert context_at(expr) == expected


def test_context_at_a_cursor_in_the_middle() -> None:
    expr = 'sum(rate(http_requests_total{path="/a"}[5m]))'
    assert context_at(expr, expr.index("{") + 4) == Context("label", "pat", "http_requests_total")
    assert context_at(expr, 12) == Context("metric", "htt")


def test_prefix_completion_among_100k_names() -> None:
    names = [f"app_{i // 1000}_metric_{i}_total" for i in range(100_000)] + [
        "http_requests_total",
        "HTTP_Other",
    ]
    index = NameIndex(names)
    assert len(index) == 100_002
    assert index.complete("http", limit=5) == ["HTTP_Other", "http_requests_total"]  # case-insensitive
    many = index.complete("app_1", limit=50)
    assert len(many) == 50 and all(n.lower().startswith("app_1") for n in many)
    assert index.complete("", limit=3) == sorted(names, key=str.lower)[:3]


def test_words_anywhere_follow_prefix_matches() -> None:
    index = NameIndex(["http_request_duration_seconds_bucket", "grpc_request_duration_seconds", "up"])
    assert index.complete("duration_sec") == [
        "grpc_request_duration_seconds",
        "http_request_duration_seconds_bucket",
    ]
    assert index.complete("up") == ["up"]
    assert index.complete("nothing") == []
