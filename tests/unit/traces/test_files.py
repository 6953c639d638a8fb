"""Trace files written by the real OpenTelemetry SDK's exporters, opened by content, not by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.traces import critical_path, detect_format, layout, read_trace_file, tag_pairs
from opsconsole.traces.model import Span, Trace
from opsconsole.traces.render import trace_tree
from tests.unit.traces.otel_writer import otlp_hex_json, otlp_json, record_checkout, zipkin_json

_EXPECTED_TREE = [
    (0, "frontend", "User Request"),
    (1, "frontend", "API Gateway"),
    (1, "frontend", "Authentication Service"),
    (2, "users", "Authentication Service"),
    (3, "users", "DB Query"),
    (3, "users", "Cache Check"),
    (1, "frontend", "Response"),
]


@pytest.fixture(scope="module")
def sdk_spans() -> list:  # type: ignore[type-arg]
    return record_checkout()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _by_name(trace: Trace, service: str, operation: str) -> Span:
    (span,) = [s for s in trace.spans if s.service == service and s.operation == operation]
    return span


def _check_common(trace: Trace, sdk_spans: list) -> None:  # type: ignore[type-arg]
    sdk = {format(s.context.span_id, "016x"): s for s in sdk_spans}
    assert trace.trace_id == format(sdk_spans[0].context.trace_id, "032x")
    assert len(trace.spans) == len(sdk_spans) == 7
    for span in trace.spans:
        original = sdk[span.span_id]
        assert span.parent_id == (format(original.parent.span_id, "016x") if original.parent else None)
        assert span.operation == original.name
        assert abs(span.start_us - original.start_time // 1000) <= 1  # Zipkin's encoder rounds
        assert abs(span.duration_us - (original.end_time - original.start_time) // 1000) <= 1
    lay = layout(trace)
    rows = [(lay.depth[r], lay.spans[i].service, lay.spans[i].operation) for r, i in enumerate(lay.order)]
    assert rows == _EXPECTED_TREE
    assert lay.problems == []
    db = _by_name(trace, "users", "DB Query")
    assert db.error and not _by_name(trace, "users", "Cache Check").error
    assert [e.name for e in db.events] == ["query sent"]
    # The critical path ends with the root's own last section, after its last child.
    sections = critical_path(lay)
    assert sections[-1].span == lay.roots[0] and sections[-1].end_us == trace.spans[lay.roots[0]].end_us


@pytest.mark.parametrize(
    "writer", [otlp_json, otlp_hex_json], ids=["base64 ids (Tempo)", "hex ids (OTLP/JSON)"]
)
def test_otlp_json_from_the_sdk_exporter(tmp_path: Path, sdk_spans: list, writer) -> None:  # type: ignore[no-untyped-def,type-arg]
    path = _write(tmp_path, "export.txt", writer(sdk_spans))  # the name says nothing: content decides
    (trace,) = read_trace_file(path)
    assert trace.format == "otlp"
    _check_common(trace, sdk_spans)
    root = _by_name(trace, "frontend", "User Request")
    tags = dict(tag_pairs(root.tags))
    assert tags["http.method"] == "GET" and tags["http.status_code"] == 200 and tags["retry.ratio"] == 0.5
    assert tags["feature.flags"] == '["a","b"]'
    assert root.kind == "server"
    assert root.process is not None and root.span_id != ""
    assert root.tag("host.name") == "test-host"  # from the resource
    assert root.tag("otel.scope.version") == "1.2.3"
    db = _by_name(trace, "users", "DB Query")
    assert db.status_message == "deadlock detected"
    assert dict(tag_pairs(db.events[0].attributes)) == {"db.statement": "SELECT 1", "rows": 3}


def test_zipkin_json_from_the_sdk_exporter(tmp_path: Path, sdk_spans: list) -> None:  # type: ignore[type-arg]
    (trace,) = read_trace_file(_write(tmp_path, "spans.json", zipkin_json(sdk_spans)))
    assert trace.format == "zipkin"
    _check_common(trace, sdk_spans)
    root = _by_name(trace, "frontend", "User Request")
    assert root.kind == "server"
    assert root.tag("http.status_code") == "200"  # Zipkin's tags are strings
    assert root.tag("ipv4") == "10.1.2.3"
    db = _by_name(trace, "users", "DB Query")
    assert db.tag("otel.status_code") == "ERROR"


def test_the_text_tree_reads_like_the_systems_example(sdk_spans: list) -> None:  # type: ignore[type-arg]
    from opsconsole.traces import traces_from_bytes

    (trace,) = traces_from_bytes(otlp_json(sdk_spans).encode())
    lines = trace_tree(layout(trace)).splitlines()
    shapes = [line.split(" (")[0] for line in lines[1:8]]
    assert shapes == [
        "frontend: User Request",
        "├─ frontend: API Gateway",
        "├─ frontend: Authentication Service",
        "│ └─ users: Authentication Service",
        "│   ├─ users: DB Query",
        "│   └─ users: Cache Check",
        "└─ frontend: Response",
    ]
    assert "[error" in lines[5]
    assert lines[-1].startswith("Total: ")


def test_formats_are_told_apart_by_content(sdk_spans: list) -> None:  # type: ignore[type-arg]
    import json

    from tests.unit.traces.hostile import jaeger_doc

    assert detect_format(json.loads(otlp_json(sdk_spans))) == "otlp"
    assert detect_format({"batches": json.loads(otlp_json(sdk_spans))["resourceSpans"]}) == "otlp"
    assert detect_format({"trace": json.loads(otlp_json(sdk_spans))}) == "otlp"
    assert detect_format({"result": json.loads(otlp_json(sdk_spans))}) == "otlp"
    assert detect_format(json.loads(zipkin_json(sdk_spans))) == "zipkin"
    assert detect_format([json.loads(zipkin_json(sdk_spans))]) == "zipkin"
    assert detect_format(jaeger_doc([("a", None)])) == "jaeger"
    assert detect_format(jaeger_doc([("a", None)])["data"][0]) == "jaeger"
    assert detect_format({"hello": 1}) is None
