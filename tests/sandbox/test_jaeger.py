"""The Jaeger query API under /jaeger/api: envelopes, search parameters, trace JSON in Jaeger's UI model."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from opsconsole.sandbox import jaeger
from opsconsole.sandbox.jaeger import parse_duration_us
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.sandbox.tracing import TraceStore, TracingMiddleware, span
from tests.sandbox.live_support import serve
from tests.support.sandbox import SUPPORT, bearer, obtain_tokens

# A trace as Jaeger's query service returns it from GET /api/traces/{id} (Jaeger 1.x, the HotROD demo
# app), in the UI model of jaeger's model/json package: every field the UI reads, with its JSON type.
JAEGER_SAMPLE: dict[str, Any] = {
    "data": [
        {
            "traceID": "5b8aa5a2d2c872e8321cf37308d69df2",
            "spans": [
                {
                    "traceID": "5b8aa5a2d2c872e8321cf37308d69df2",
                    "spanID": "051581bf3cb55c13",
                    "flags": 1,
                    "operationName": "HTTP GET /dispatch",
                    "references": [],
                    "startTime": 1699729800000000,
                    "duration": 693275,
                    "tags": [
                        {"key": "span.kind", "type": "string", "value": "server"},
                        {"key": "http.status_code", "type": "int64", "value": 200},
                        {"key": "sampler.param", "type": "bool", "value": True},
                    ],
                    "logs": [
                        {
                            "timestamp": 1699729800000120,
                            "fields": [{"key": "event", "type": "string", "value": "HTTP request received"}],
                        }
                    ],
                    "processID": "p1",
                    "warnings": None,
                },
                {
                    "traceID": "5b8aa5a2d2c872e8321cf37308d69df2",
                    "spanID": "5e2ae7b8b4ebc3a1",
                    "flags": 1,
                    "operationName": "SQL SELECT",
                    "references": [
                        {
                            "refType": "CHILD_OF",
                            "traceID": "5b8aa5a2d2c872e8321cf37308d69df2",
                            "spanID": "051581bf3cb55c13",
                        }
                    ],
                    "startTime": 1699729800001203,
                    "duration": 310522,
                    "tags": [{"key": "span.kind", "type": "string", "value": "client"}],
                    "logs": [],
                    "processID": "p2",
                    "warnings": None,
                },
            ],
            "processes": {
                "p1": {
                    "serviceName": "frontend",
                    "tags": [{"key": "hostname", "type": "string", "value": "hotrod"}],
                },
                "p2": {
                    "serviceName": "mysql",
                    "tags": [{"key": "hostname", "type": "string", "value": "hotrod"}],
                },
            },
            "warnings": None,
        }
    ],
    "total": 0,
    "limit": 0,
    "offset": 0,
    "errors": None,
}
_KV_TYPES = {"string": str, "bool": bool, "int64": int, "float64": float}


def assert_same_shape(ours: Any, sample: Any, where: str = "$") -> None:
    """`ours` has exactly the sample's keys, with the same JSON types, all the way down."""
    if isinstance(sample, dict):
        assert isinstance(ours, dict), where
        if where.endswith(".processes"):
            assert ours, where
            for key, value in ours.items():
                assert key.startswith("p"), where
                assert_same_shape(value, next(iter(sample.values())), f"{where}.{key}")
            return
        assert set(ours) == set(sample), f"{where}: {sorted(set(ours) ^ set(sample))}"
        if set(sample) == {"key", "type", "value"}:
            assert ours["type"] in _KV_TYPES, where
            assert type(ours["value"]) is _KV_TYPES[ours["type"]], f"{where}: {ours}"
            return
        for key, value in sample.items():
            assert_same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(sample, list):
        assert isinstance(ours, list), where
        if sample:
            for i, item in enumerate(ours):
                assert_same_shape(item, sample[min(i, len(sample) - 1)], f"{where}[{i}]")
    elif sample is None:
        assert ours is None or isinstance(ours, list), where  # warnings: null or a list of strings
    else:
        assert type(ours) is type(sample), f"{where}: {ours!r}"


def jaeger_app(store: TraceStore) -> FastAPI:
    app = FastAPI()
    app.state.traces = store

    @app.get("/api/users/{user_id}")
    def get_user(user_id: str) -> dict[str, str]:
        with span("Authentication Service", service="auth-service"), span("DB Query"):
            pass
        with span("User Service", service="user-service"), span("DB Query"):
            if user_id == "slow":
                time.sleep(0.03)
        return {"id": user_id}

    @app.get("/api/boom")
    def boom() -> None:
        with span("User Service", service="user-service"):
            raise RuntimeError("boom")

    app.include_router(jaeger.router)
    app.add_middleware(TracingMiddleware)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve(jaeger_app(TraceStore())) as base,
        httpx.AsyncClient(base_url=f"{base}/jaeger/api", timeout=10) as http,
    ):
        api = httpx.AsyncClient(base_url=base, timeout=10)
        try:
            for path in ("/api/users/a", "/api/users/b", "/api/users/slow", "/api/boom"):
                await api.get(path)
        finally:
            await api.aclose()
        yield http


async def ok(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "total", "limit", "offset", "errors"}
    assert body["errors"] is None
    return body


async def refused(http: httpx.AsyncClient, path: str, status: int, **params: Any) -> str:
    response = await http.get(path, params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None and body["total"] == 0
    [error] = body["errors"]
    assert error["code"] == status and error["msg"]
    message: str = error["msg"]
    return message


async def test_services_and_operations(client: httpx.AsyncClient) -> None:
    services = await ok(client, "/services")
    assert services["data"] == ["api-gateway", "auth-service", "user-service"] and services["total"] == 3
    legacy = await ok(client, "/services/api-gateway/operations")
    assert legacy["data"] == ["API Gateway", "GET /api/boom", "GET /api/users/{user_id}", "Response"]
    ops = await ok(client, "/operations", service="api-gateway", spanKind="server")
    assert ops["data"] == [
        {"name": "GET /api/boom", "spanKind": "server"},
        {"name": "GET /api/users/{user_id}", "spanKind": "server"},
    ]
    assert (await ok(client, "/operations", service="nobody"))["data"] == []
    assert "service" in await refused(client, "/operations", 400)


async def test_trace_by_id_has_jaegers_structure(client: httpx.AsyncClient) -> None:
    [summary] = (await ok(client, "/traces", service="api-gateway", operation="GET /api/boom"))["data"]
    body = await ok(client, f"/traces/{summary['traceID']}")
    assert_same_shape(body, JAEGER_SAMPLE)
    [trace] = body["data"]
    assert trace == summary
    services = {p["serviceName"] for p in trace["processes"].values()}
    assert services == {"api-gateway", "user-service"}
    by_id = {s["spanID"]: s for s in trace["spans"]}
    [root] = [s for s in trace["spans"] if not s["references"]]
    assert root["operationName"] == "GET /api/boom"
    tags = {t["key"]: t["value"] for t in root["tags"]}
    assert tags["http.status_code"] == 500 and tags["error"] is True and tags["span.kind"] == "server"
    for s in trace["spans"]:
        for ref in s["references"]:
            assert ref["refType"] == "CHILD_OF" and ref["traceID"] == trace["traceID"]
            assert ref["spanID"] in by_id
        assert trace["processes"][s["processID"]]
    failing = next(s for s in trace["spans"] if s["operationName"] == "User Service")
    assert failing["logs"][0]["fields"] == [
        {"key": "event", "type": "string", "value": "error"},
        {"key": "error.kind", "type": "string", "value": "RuntimeError"},
    ]
    upper = await ok(client, f"/traces/{summary['traceID'].upper()}")
    assert upper["data"][0]["traceID"] == summary["traceID"]


async def test_unknown_and_malformed_trace_ids(client: httpx.AsyncClient) -> None:
    assert await refused(client, "/traces/" + "ab" * 16, 404) == "trace not found"
    assert "traceID" in await refused(client, "/traces/not-hex", 400)


async def test_search_by_operation_tags_and_duration(client: httpx.AsyncClient) -> None:
    def operations(body: dict[str, Any]) -> list[str]:
        return [next(s["operationName"] for s in t["spans"] if not s["references"]) for t in body["data"]]

    everything = await ok(client, "/traces", service="api-gateway")
    assert len(everything["data"]) == 4
    roots = operations(everything)
    assert roots == ["GET /api/boom"] + ["GET /api/users/{user_id}"] * 3  # newest first
    assert len((await ok(client, "/traces", service="api-gateway", limit="2"))["data"]) == 2
    failed = await ok(client, "/traces", service="api-gateway", tags=json.dumps({"http.status_code": "500"}))
    assert operations(failed) == ["GET /api/boom"]
    assert operations(await ok(client, "/traces", service="api-gateway", tag="error:true")) == [
        "GET /api/boom"
    ]
    assert (await ok(client, "/traces", service="api-gateway", tags='{"http.status_code": 404}'))[
        "data"
    ] == []
    slow = await ok(client, "/traces", service="user-service", operation="DB Query", minDuration="25ms")
    assert len(slow["data"]) == 1
    quick = await ok(client, "/traces", service="user-service", operation="DB Query", maxDuration="25ms")
    assert len(quick["data"]) == 2
    assert len((await ok(client, "/traces", service="auth-service", lookback="1h"))["data"]) == 3


async def test_search_time_window(client: httpx.AsyncClient) -> None:
    now_us = time.time_ns() // 1000
    hour_ago = now_us - 3_600_000_000
    assert (await ok(client, "/traces", service="api-gateway", end=str(hour_ago)))["data"] == []
    assert len((await ok(client, "/traces", service="api-gateway", start=str(hour_ago)))["data"]) == 4
    assert (await ok(client, "/traces", service="api-gateway", start=str(now_us + 1_000_000)))["data"] == []
    # The UI sends lookback=custom together with start and end: start and end rule.
    custom = await ok(
        client, "/traces", service="api-gateway", lookback="custom", start=str(hour_ago), end=str(now_us)
    )
    assert len(custom["data"]) == 4


async def test_search_by_trace_ids_reports_the_missing_ones(client: httpx.AsyncClient) -> None:
    [trace] = (await ok(client, "/traces", service="api-gateway", limit="1"))["data"]
    missing = "cd" * 16
    response = await client.get("/traces", params=[("traceID", trace["traceID"]), ("traceID", missing)])
    body = response.json()
    assert response.status_code == 200
    assert [t["traceID"] for t in body["data"]] == [trace["traceID"]]
    assert body["errors"] == [{"msg": "trace not found", "traceID": missing}]


BAD_SEARCHES = [
    ({}, "parameter 'service' is required"),
    ({"service": "api-gateway", "minDuration": "5 parsecs"}, "invalid duration"),
    ({"service": "api-gateway", "maxDuration": "-1s"}, "invalid duration"),
    ({"service": "api-gateway", "minDuration": "1s", "maxDuration": "5ms"}, "should be greater"),
    ({"service": "api-gateway", "tags": "{not json"}, "cannot unmarshal JSON"),
    ({"service": "api-gateway", "tags": "[1]"}, "JSON object"),
    ({"service": "api-gateway", "tags": '{"a": {"b": 1}}'}, "not a scalar"),
    ({"service": "api-gateway", "tag": "no-colon"}, "expecting key:value"),
    ({"service": "api-gateway", "limit": "0"}, "limit"),
    ({"service": "api-gateway", "limit": "ten"}, "limit"),
    ({"service": "api-gateway", "start": "yesterday"}, "start"),
    ({"service": "api-gateway", "lookback": "2 fortnights"}, "invalid duration"),
    ({"traceID": "xyz"}, "cannot parse traceID"),
]


async def test_bad_search_parameters_are_400_with_jaegers_envelope(client: httpx.AsyncClient) -> None:
    for params, message in BAD_SEARCHES:
        assert message in await refused(client, "/traces", 400, **params), params


async def test_dependencies(client: httpx.AsyncClient) -> None:
    body = await ok(client, "/dependencies", endTs=str(time.time_ns() // 1_000_000), lookback="3600000")
    assert body["data"] == [
        {"parent": "api-gateway", "child": "auth-service", "callCount": 3},
        {"parent": "api-gateway", "child": "user-service", "callCount": 4},
    ]
    old = await ok(client, "/dependencies", endTs="1000", lookback="1000")
    assert old["data"] == []
    assert "lookback" in await refused(client, "/dependencies", 400, lookback="1h")


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("5ms", 5_000),
        ("1.2s", 1_200_000),
        ("300us", 300),
        ("300µs", 300),
        ("300μs", 300),
        ("1500ns", 2),
        ("1h30m", 5_400_000_000),
        ("2m0.5s", 120_500_000),
        (".5s", 500_000),
        ("0", 0),
        ("+5ms", 5_000),
    ],
)
def test_go_duration_strings(text: str, micros: int) -> None:
    assert parse_duration_us(text) == micros


def test_days_and_weeks_only_where_allowed() -> None:
    assert parse_duration_us("2d", allow_days=True) == 2 * 86_400_000_000
    assert parse_duration_us("1w", allow_days=True) == 7 * 86_400_000_000
    with pytest.raises(ValueError):
        parse_duration_us("2d")


@pytest.mark.parametrize("text", ["", "5", "ms", "-5ms", "5 ms", "5mss", "1e3ms", "5.5.5s", "9" * 70 + "s"])
def test_malformed_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_us(text)


async def test_a_sandbox_api_request_is_served_as_a_jaeger_trace(sandbox: RunningSandbox) -> None:
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, SUPPORT)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=15) as http:
        listed = await http.get("/api/users", params={"limit": 3}, headers=bearer(tokens))
        assert listed.status_code == 200
        trace_id = listed.headers["X-Trace-Id"]
        body = (await http.get(f"/jaeger/api/traces/{trace_id}")).json()
        found = (await http.get("/jaeger/api/traces", params={"service": "auth-service", "limit": 5})).json()
        services = (await http.get("/jaeger/api/services")).json()["data"]
    assert_same_shape(body, JAEGER_SAMPLE)
    [trace] = body["data"]
    by_id = {s["spanID"]: s for s in trace["spans"]}
    service_of = {pid: p["serviceName"] for pid, p in trace["processes"].items()}

    def tree(span_id: str | None) -> list[tuple[str, str, list[Any]]]:
        kids = [s for s in trace["spans"] if (s["references"] or [{}])[0].get("spanID") == span_id]
        kids.sort(key=lambda s: s["startTime"])
        return [(service_of[s["processID"]], s["operationName"], tree(s["spanID"])) for s in kids]

    [root] = tree(None)
    assert root[:2] == ("api-gateway", "GET /api/users")
    top = [(service, name) for service, name, _ in root[2]]
    assert top[0] == ("api-gateway", "API Gateway") and top[-1] == ("api-gateway", "Response")
    assert ("auth-service", "Authentication Service") in top and ("user-service", "User Service") in top
    auth = next(kids for service, name, kids in root[2] if name == "Authentication Service")
    assert {name for _, name, _ in auth} <= {"DB Query", "Cache Check"} and auth
    user = next(kids for service, name, kids in root[2] if name == "User Service")
    assert "DB Query" in {name for _, name, _ in user}
    assert all(s["duration"] >= 0 for s in by_id.values())
    assert trace_id in {t["traceID"] for t in found["data"]}
    assert {"api-gateway", "auth-service", "user-service"} <= set(services)
