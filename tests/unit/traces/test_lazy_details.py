"""The Jaeger reader's fast path (bytes: files, trace-by-id answers) keeps each span's tags and logs
encoded until they are asked for: what it reads must be what the general path (a decoded document)
reads, and a span whose encoded details are malformed must say so when they are read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench._traces_data import jaeger_trace

from opsconsole import cli
from opsconsole.traces import Span, traces_from_bytes, traces_from_document
from opsconsole.traces.parsing import all_canonical
from tests.unit.traces.hostile import TRACE_ID, jaeger_doc, span_id


def _facts(span: Span) -> tuple[Any, ...]:
    return (
        span.span_id,
        span.parent_id,
        span.service,
        span.operation,
        span.start_us,
        span.duration_us,
        span.process,
        span.follows_from,
        span.links,
        span.details,
    )


def _varied() -> dict[str, Any]:
    """A generated trace (7 tags a span, logs on some, errors on some) with what else Jaeger writes:
    otel status tags, a FOLLOWS_FROM span with a second reference, non-scalar and null tag values, a
    span with no tags, a span with null logs, a float timestamp."""
    doc = jaeger_trace(400)
    spans = doc["data"][0]["spans"]
    spans[5]["tags"] += [
        {"key": "otel.status_code", "type": "string", "value": "ERROR"},
        {"key": "otel.status_description", "type": "string", "value": "deadline exceeded"},
    ]
    spans[6]["references"] = [
        {"refType": "FOLLOWS_FROM", "traceID": spans[0]["traceID"], "spanID": spans[1]["spanID"]},
        {"refType": "FOLLOWS_FROM", "traceID": spans[0]["traceID"], "spanID": spans[2]["spanID"]},
    ]
    spans[7]["tags"] += [{"key": "list", "value": [1, 2]}, {"key": "nothing", "value": None}]
    spans[8]["tags"] = []
    spans[9]["logs"] = None
    spans[10]["startTime"] = spans[10]["startTime"] + 0.0
    return doc


def test_the_fast_path_reads_what_the_general_path_reads() -> None:
    doc = _varied()
    (fast,) = traces_from_bytes(json.dumps(doc).encode())
    (general,) = traces_from_document(doc)
    assert (fast.trace_id, fast.warnings) == (general.trace_id, general.warnings)
    assert [_facts(s) for s in fast.spans] == [_facts(s) for s in general.spans]
    # It is the fast path: the details were kept encoded, and decoded only now.
    assert all(type(s.details_data) is bytes for s in fast.spans[:8])
    assert fast.spans[8].details == general.spans[8].details  # no tags, no logs: nothing kept
    errors = [s for s in fast.spans if s.error]
    assert fast.spans[5] in errors and len(errors) == sum(1 for s in general.spans if s.error)
    assert fast.spans[5].status_message == "deadline exceeded"
    assert fast.spans[6].follows_from and len(fast.spans[6].links) == 1
    assert any(s.events for s in fast.spans) and all(s.kind for s in fast.spans if s.tags)


def _malformed() -> dict[str, Any]:
    doc = jaeger_doc([("root", None, 0, 5000), ("kid", "root", 1000, 3000)])
    doc["data"][0]["spans"][1]["tags"] = [{"value": 1}]
    return doc


def test_malformed_details_are_named_when_read_and_the_rows_still_open() -> None:
    (trace,) = traces_from_bytes(json.dumps(_malformed()).encode())
    root, kid = trace.spans
    assert kid.parent_id == root.span_id and kid.duration_us == 3000
    assert kid.details.problem == (
        f"Not a valid Jaeger trace: span {span_id('kid')}: tags[0]: the field 'key' is missing"
    )
    assert (kid.tags, kid.error) == ((), False)
    assert root.details.problem == ""


def test_the_cli_names_the_span_whose_details_are_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(_malformed()), encoding="utf-8")
    for form in (["--json"], []):
        assert cli.main([*form, "traces", "show", str(path)]) == 1
        err = capsys.readouterr().err
        assert f"span {span_id('kid')}: tags[0]: the field 'key' is missing" in err
        assert "Traceback" not in err


def test_ids_not_yet_in_the_models_form_are_still_read() -> None:
    # Upper case, and a 64-bit id without its leading zeros: every id goes through hex_id then.
    doc = jaeger_doc([("root", None), ("kid", "root")])
    spans = doc["data"][0]["spans"]
    spans[0]["spanID"] = spans[0]["spanID"].upper()
    spans[1]["spanID"] = spans[1]["spanID"].lstrip("0")
    spans[1]["references"][0]["spanID"] = spans[0]["spanID"]
    (trace,) = traces_from_bytes(json.dumps(doc).encode())
    assert [s.span_id for s in trace.spans] == [span_id("root"), span_id("kid")]
    assert trace.spans[1].parent_id == span_id("root") and trace.trace_id == TRACE_ID


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], True),
        (["051581bf3cb55c13", "00000000006b6964"], True),
        (["051581bf3cb55c13", "051581BF3CB55C13"], False),  # upper case
        (["051581bf3cb55c1"], False),  # short
        (["5b8aa5a2d2c872e8321cf37308d69df2"], False),  # a trace id's length
        (["051581bf3cb55c13", "0000000000000000"], False),  # all zeros: no id
        (["051581bf3cb55c13\n051581bf3cb55c13"], False),  # two ids in one
    ],
)
def test_all_canonical(ids: list[str], expected: bool) -> None:
    assert all_canonical(ids, 8) is expected
