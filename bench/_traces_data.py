"""Big, realistic Jaeger traces made on the spot, for the traces benchmarks (and the view's).

``jaeger_trace(n)`` is one trace of ``n`` spans as Jaeger's query API returns it: 24 services, a few
hundred operations, a tree a dozen levels deep with wide fan-outs (a batch job calling a database
thousands of times), children inside their parents' time, 7 tags on every span, logs on one in ten and
errors on one in fifty. Seeded, so every run measures the same document.
"""

from __future__ import annotations

import random
from typing import Any

SERVICES = [f"svc-{name}" for name in (
    "gateway", "auth", "users", "orders", "payments", "inventory", "search", "cart", "shipping",
    "email", "sms", "pricing", "catalog", "reviews", "ads", "recommend", "fraud", "ledger", "tax",
    "currency", "media", "cache", "db-proxy", "queue",
)]  # fmt: skip


def jaeger_trace(n: int, seed: int = 20) -> dict[str, Any]:
    rng = random.Random(seed)
    trace_id = f"{rng.getrandbits(128):032x}"
    t0 = 1_764_000_000_000_000
    ops = {
        s: [
            f"{verb} /{s[4:]}/{noun}"
            for verb in ("GET", "POST", "PUT")
            for noun in ("item", "list", "batch", "query")
        ]
        for s in SERVICES
    }
    spans: list[dict[str, Any]] = []
    # Each frontier entry: (span index, start, end, depth)
    root = _span(rng, trace_id, None, 0, t0, 60_000_000, "svc-gateway", "HTTP GET /checkout")
    spans.append(root)
    frontier = [(0, t0, t0 + 60_000_000, 0)]
    while len(spans) < n:
        parent_i, ps, pe, depth = (
            frontier[rng.randrange(len(frontier))] if depth_ok(frontier) else frontier[0]
        )
        width = pe - ps
        if width < 20:
            continue
        fan = rng.choice((1, 2, 3, 5, 8, 40))
        for _ in range(min(fan, n - len(spans))):
            start = ps + rng.randrange(max(1, width // 2))
            dur = max(10, rng.randrange(max(1, (pe - start) // 2)))
            svc = SERVICES[rng.randrange(len(SERVICES))]
            s = _span(
                rng, trace_id, spans[parent_i]["spanID"], len(spans), start, dur, svc, rng.choice(ops[svc])
            )
            spans.append(s)
            if depth < 14:
                frontier.append((len(spans) - 1, start, start + dur, depth + 1))
    processes = {
        f"p{i}": {
            "serviceName": svc,
            "tags": [
                {"key": "hostname", "type": "string", "value": f"{svc}-7d9f8b-{i:03d}"},
                {"key": "ip", "type": "string", "value": f"10.0.{i}.17"},
                {"key": "jaeger.version", "type": "string", "value": "Go-2.30.0"},
            ],
        }
        for i, svc in enumerate(SERVICES)
    }
    pid = {svc: f"p{i}" for i, svc in enumerate(SERVICES)}
    for s in spans:
        s["processID"] = pid[s.pop("_service")]
    return {"data": [{"traceID": trace_id, "spans": spans, "processes": processes, "warnings": None}]}


def depth_ok(frontier: list[Any]) -> bool:
    return len(frontier) > 1


def _span(
    rng: random.Random, trace_id: str, parent: str | None, i: int, start: int, dur: int, service: str, op: str
) -> dict[str, Any]:
    span_id = f"{rng.getrandbits(64):016x}"
    error = rng.random() < 0.02
    tags = [
        {"key": "span.kind", "type": "string", "value": rng.choice(("server", "client", "internal"))},
        {"key": "component", "type": "string", "value": "net/http"},
        {"key": "http.method", "type": "string", "value": op.split(" ")[0]},
        {"key": "http.url", "type": "string", "value": f"http://{service}:8080{op.split(' ')[1]}?id={i}"},
        {"key": "http.status_code", "type": "int64", "value": 500 if error else 200},
        {"key": "peer.port", "type": "int64", "value": 8080},
        {"key": "sampler.param", "type": "bool", "value": True},
    ]
    if error:
        tags.append({"key": "error", "type": "bool", "value": True})
    logs = (
        [{"timestamp": start + dur // 2, "fields": [{"key": "event", "type": "string", "value": "cache miss"},
                                                   {"key": "key", "type": "string", "value": f"k{i}"}]}]
        if rng.random() < 0.1
        else []
    )  # fmt: skip
    return {
        "traceID": trace_id,
        "spanID": span_id,
        "flags": 1,
        "operationName": op,
        "references": [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}] if parent else [],
        "startTime": start,
        "duration": dur,
        "tags": tags,
        "logs": logs,
        "_service": service,
        "warnings": None,
    }
