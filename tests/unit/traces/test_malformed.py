"""Malformed input gives one clear error naming what was wrong and where, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opsconsole import cli
from opsconsole.traces import TraceFormatError, read_trace_file, traces_from_bytes, traces_from_document
from tests.unit.traces.hostile import jaeger_doc


def _jaeger_with(**changes: Any) -> dict[str, Any]:
    doc = jaeger_doc([("root", None), ("kid", "root")])
    doc["data"][0]["spans"][1].update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            _jaeger_with(startTime="soon"),
            "data[0].spans[1].startTime: expected a number, found a string",
        ),
        (_jaeger_with(duration=None), "data[0].spans[1].duration: expected a number, found null"),
        (_jaeger_with(spanID="not-hex!"), "data[0].spans[1].spanID: 'not-hex!' is not a hex span id"),
        (_jaeger_with(tags={"a": 1}), "data[0].spans[1].tags: expected a list, found an object"),
        (_jaeger_with(tags=[{"value": 1}]), "data[0].spans[1].tags[0]: the field 'key' is missing"),
        (
            _jaeger_with(references=[{"refType": "CHILD_OF"}]),
            "data[0].spans[1].references[0]: the field 'spanID' is missing",
        ),
        (
            _jaeger_with(operationName=7),
            "data[0].spans[1].operationName: expected a string, found a whole number",
        ),
        ({"data": [{"traceID": "ab", "spans": "none"}]}, "data[0].spans: expected a list, found a string"),
        ({"data": "x"}, "Not a valid Jaeger trace: data: expected a list, found a string"),
        (_jaeger_with(spanID=None), "data[0].spans[1].spanID: expected a string, found null"),
        ({"data": [{"traceID": "ab"}]}, "Not a valid Jaeger trace: data[0]: the field 'spans' is missing"),
    ],
)
def test_jaeger(doc: Any, message: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        traces_from_document(doc)
    assert message in str(info.value)
    assert str(info.value).startswith("Not a valid Jaeger trace: ")


def _otlp_span(**changes: Any) -> dict[str, Any]:
    span = {
        "traceId": "5b8aa5a2d2c872e8321cf37308d69df2",
        "spanId": "051581bf3cb55c13",
        "name": "GET /",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000100000000",
    }
    span.update(changes)
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            _otlp_span(traceId="xyz"),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId: 'xyz' is neither hex nor base64",
        ),
        (
            _otlp_span(endTimeUnixNano="later"),
            "spans[0].endTimeUnixNano: 'later' is not a whole number of nanoseconds",
        ),
        (
            _otlp_span(attributes=[{"value": {"intValue": "1"}}]),
            "spans[0].attributes[0]: the field 'key' is missing",
        ),
        (
            _otlp_span(attributes=[{"key": "n", "value": {"intValue": "x"}}]),
            "spans[0].attributes[0].value: not an OTLP AnyValue",
        ),
        ({"resourceSpans": {"a": 1}}, "resourceSpans: expected a list"),
    ],
)
def test_otlp(doc: Any, message: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        traces_from_document(doc)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            [{"traceId": "abc", "id": "12", "timestamp": "noon"}],
            "[0].timestamp: expected a whole number, found a string",
        ),
        ([{"traceId": "zz", "id": "12"}], "[0].traceId: 'zz' is not a hex id"),
        ([{"traceId": "ab", "id": "12", "tags": ["error"]}], "[0].tags: expected an object, found a list"),
    ],
)
def test_zipkin(doc: Any, message: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        traces_from_document(doc)
    assert message in str(info.value)


def test_an_unknown_otlp_span_kind_is_shown_as_none() -> None:
    for kind in ("SPAN_KIND_SIDEWAYS", 9):
        (trace,) = traces_from_document(_otlp_span(kind=kind))
        assert trace.spans[0].kind == ""


def test_documents_of_no_known_format_say_what_they_look_like() -> None:
    with pytest.raises(TraceFormatError, match=r"it is an object with metrics, status; expected Jaeger"):
        traces_from_document({"status": "ok", "metrics": []}, "report.json")
    with pytest.raises(TraceFormatError, match="not valid JSON \\(line 1, column 10"):
        traces_from_bytes(b'{"data": ]', "x.json")
    with pytest.raises(TraceFormatError, match="not UTF-8 text"):
        traces_from_bytes(b'"\xc3\x28"', "x.bin")
    with pytest.raises(TraceFormatError, match="it is a JSON int"):
        traces_from_bytes(b"42")
    with pytest.raises(TraceFormatError, match="Cannot read"):
        read_trace_file("/nonexistent/trace.json")


def test_the_cli_prints_the_problem_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "trace.json"
    bad.write_text(json.dumps(_jaeger_with(startTime="soon")), encoding="utf-8")
    assert cli.main(["traces", "show", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "data[0].spans[1].startTime: expected a number, found a string" in err and "Traceback" not in err
    assert cli.main(["traces", "show", str(tmp_path / "missing.json")]) == 1
    assert "No such file" in capsys.readouterr().err
    assert cli.main(["traces", "show", "not a trace id"]) == 2
    assert "is not a trace id" in capsys.readouterr().err


def test_the_cli_shows_a_file_as_a_tree_and_as_the_contracts_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(jaeger_doc([("root", None, 0, 5000), ("kid", "root", 1000, 3000)])), encoding="utf-8"
    )
    assert cli.main(["traces", "show", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == ["svc-a: root (5ms)  [critical]", "└─ svc-a: kid (3ms)  [critical]"]
    assert cli.main(["--json", "traces", "show", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["trace_id"] == "00000000000000000000000000abcdef"
    assert doc["spans"][1] == {
        "span_id": "00000000006b6964",
        "parent_id": "000000726f6f74".rjust(16, "0"),
        "service": "svc-a",
        "operation": "kid",
        "start_us": 1_700_000_000_001_000,
        "duration_us": 3000,
        "tags": {},
    }


def test_a_file_of_several_traces_shows_each_and_its_json_is_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spans = [
        {"traceId": f"{t:032x}", "id": f"{t * 16 + i:016x}", "name": f"op{i}", "timestamp": 1_700_000_000_000_000,
         "duration": 10, "localEndpoint": {"serviceName": "zip"}, **({"parentId": f"{t * 16:016x}"} if i else {})}
        for t in (1, 2) for i in (0, 1)
    ]  # fmt: skip
    path = tmp_path / "search-result"
    path.write_text(json.dumps([spans[:2], spans[2:]]), encoding="utf-8")
    assert cli.main(["traces", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("Trace 0000") == 2 and out.count("└─ zip: op1 (10µs)") == 2
    assert cli.main(["--json", "traces", "show", str(path)]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["trace_id"] for d in docs] == [f"{1:032x}", f"{2:032x}"]
    assert [len(d["spans"]) for d in docs] == [2, 2]
