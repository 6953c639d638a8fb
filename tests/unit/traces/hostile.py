"""Small Jaeger documents built by hand, for the broken traces real systems produce."""

from __future__ import annotations

from typing import Any

TRACE_ID = "00000000000000000000000000abcdef"
T0 = 1_700_000_000_000_000


def span_id(name: str) -> str:
    return name.encode().hex().rjust(16, "0")[-16:]


def jaeger_doc(
    spans: list[tuple[Any, ...]],
    *,
    processes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``spans``: (name, parent name or None[, start offset µs, duration µs, extras...]); the name is
    both the operation and (hex of) the span id; extras may set "kind", "service", "refType", "error"."""
    out = []
    for item in spans:
        name, parent = item[0], item[1]
        start = item[2] if len(item) > 2 else 0
        duration = item[3] if len(item) > 3 else 100
        extra: dict[str, Any] = item[4] if len(item) > 4 else {}
        tags = []
        if "kind" in extra:
            tags.append({"key": "span.kind", "type": "string", "value": extra["kind"]})
        if extra.get("error"):
            tags.append({"key": "error", "type": "bool", "value": True})
        out.append(
            {
                "traceID": TRACE_ID,
                "spanID": extra.get("id", span_id(name)),
                "operationName": name,
                "references": (
                    [
                        {
                            "refType": extra.get("refType", "CHILD_OF"),
                            "traceID": TRACE_ID,
                            "spanID": span_id(parent),
                        }
                    ]
                    if parent
                    else []
                ),
                "startTime": T0 + start,
                "duration": duration,
                "tags": tags,
                "logs": [],
                "processID": extra.get("service", "p1"),
            }
        )
    procs = processes or {"p1": "svc-a", "p2": "svc-b"}
    return {
        "data": [
            {
                "traceID": TRACE_ID,
                "spans": out,
                "processes": {pid: {"serviceName": name, "tags": []} for pid, name in procs.items()},
                "warnings": None,
            }
        ]
    }
