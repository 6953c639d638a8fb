"""Trace files written by the real OpenTelemetry SDK, in the test: OTLP JSON and Zipkin v2 JSON.

``record_checkout()`` runs instrumented code with two services (two TracerProviders, as two processes
would have, the context handed across as a propagated parent) and returns the finished SDK spans.
``otlp_json(spans)`` is the OTLP exporter's own protobuf encoding turned into protobuf's canonical
JSON (ids in base64, as Tempo serves them); ``otlp_hex_json`` the same with hex ids, as the OTLP/JSON
specification and the Collector write them. ``zipkin_json(spans)`` is the Zipkin exporter's JSON v2
encoder, one service's spans at a time, as each process would post them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode


def _provider(service: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service, "host.name": "test-host"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def record_checkout() -> list[ReadableSpan]:
    """The system's example trace, instrumented for real:

    frontend  User Request (server)
    frontend  ├─ API Gateway
    frontend  ├─ Authentication Service (client) ── users  Authentication Service (server)
    users                                                   ├─ DB Query (error, an event)
    users                                                   └─ Cache Check
    frontend  └─ Response
    """
    front, front_spans = _provider("frontend")
    users, users_spans = _provider("users")
    ft = front.get_tracer("checkout", "1.2.3")
    ut = users.get_tracer("users-api")
    with ft.start_as_current_span("User Request", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.method", "GET")
        root.set_attribute("http.status_code", 200)
        root.set_attribute("retry.ratio", 0.5)
        root.set_attribute("feature.flags", ["a", "b"])
        with ft.start_as_current_span("API Gateway", attributes={"internal": True}):
            pass
        with ft.start_as_current_span("Authentication Service", kind=SpanKind.CLIENT) as call:
            context = otel_trace.set_span_in_context(call)
            with ut.start_as_current_span("Authentication Service", context=context, kind=SpanKind.SERVER):
                with ut.start_as_current_span("DB Query") as db:
                    db.add_event("query sent", {"db.statement": "SELECT 1", "rows": 3})
                    db.set_status(Status(StatusCode.ERROR, "deadlock detected"))
                with ut.start_as_current_span("Cache Check"):
                    pass
        with ft.start_as_current_span("Response"):
            pass
    front.shutdown()
    users.shutdown()
    return [*users_spans.get_finished_spans(), *front_spans.get_finished_spans()]


def otlp_json(spans: Sequence[ReadableSpan]) -> str:
    return json_format.MessageToJson(encode_spans(spans))


def _b64_to_hex(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in ("traceId", "spanId", "parentSpanId") and v
            else _b64_to_hex(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_b64_to_hex(v) for v in obj]
    return obj


def otlp_hex_json(spans: Sequence[ReadableSpan]) -> str:
    return json.dumps(_b64_to_hex(json.loads(otlp_json(spans))))


def zipkin_json(spans: Sequence[ReadableSpan]) -> str:
    encoder = JsonV2Encoder()
    out: list[Any] = []
    for service in sorted({str(s.resource.attributes["service.name"]) for s in spans}):
        mine = [s for s in spans if s.resource.attributes["service.name"] == service]
        endpoint = NodeEndpoint(ipv4="10.1.2.3", port=8080)
        endpoint.service_name = service  # each process's own resource, as its exporter would have it
        out += json.loads(encoder.serialize(mine, endpoint))
    return json.dumps(out)
