"""The app's wiring end to end: a real token opens the event stream and sees API changes, every request
is counted and API requests are traced in the system's shape, every response has a request id, and
the OpenAPI document declares problem details as application/problem+json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from opsconsole.sandbox.server import RunningSandbox
from tests.support.sandbox import ADMIN, VIEWER, bearer, obtain_tokens


def test_api_changes_reach_the_event_stream(sandbox: RunningSandbox) -> None:
    admin = obtain_tokens(sandbox.url, ADMIN)
    ws_url = sandbox.url.replace("http://", "ws://") + "/ws/notifications?topics=user.*"
    with connect(ws_url, additional_headers=bearer(admin), open_timeout=10) as stream:
        subscribed = json.loads(stream.recv(timeout=10))
        assert subscribed["type"] == "stream.subscribed"
        created = httpx.post(
            f"{sandbox.url}/api/users",
            headers=bearer(admin),
            json={"email": "stream@example.com", "name": "Stream Me"},
            timeout=10,
        )
        assert created.status_code == 201
        while True:
            message = json.loads(stream.recv(timeout=10))
            if "id" in message:
                break
    assert message["topic"] == "user.created" and message["type"] == "user.created"
    assert message["data"]["user"]["email"] == "stream@example.com"
    assert message["data"]["actor"] == ADMIN


def test_stopping_the_server_ends_streams_with_going_away(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox()
    token = obtain_tokens(sandbox.url, VIEWER)
    ws_url = sandbox.url.replace("http://", "ws://") + "/ws/notifications"
    with connect(ws_url, additional_headers=bearer(token), open_timeout=10) as stream:
        assert json.loads(stream.recv(timeout=10))["type"] == "stream.subscribed"
        sandbox.stop()
        with pytest.raises(ConnectionClosed):
            while True:
                stream.recv(timeout=10)
    assert stream.close_code == 1001 and stream.close_reason == "server shutting down"


def test_the_stream_refuses_a_missing_or_forged_token(sandbox: RunningSandbox) -> None:
    ws_url = sandbox.url.replace("http://", "ws://") + "/ws/notifications"
    for headers in ({}, {"Authorization": "Bearer forged.token.value"}):
        with (
            pytest.raises(Exception, match="401"),
            connect(ws_url, additional_headers=headers, open_timeout=10),
        ):
            pass


def test_requests_are_counted_traced_and_carry_request_ids(sandbox: RunningSandbox) -> None:
    viewer = bearer(obtain_tokens(sandbox.url, VIEWER))
    listed = httpx.get(f"{sandbox.url}/api/users", headers={**viewer, "X-Request-ID": "wiring-1"}, timeout=10)
    assert listed.status_code == 200 and listed.headers["x-request-id"] == "wiring-1"
    for path in ("/.well-known/openid-configuration", "/metrics", "/jaeger/api/services", "/openapi.json"):
        assert re.fullmatch(
            r"[0-9a-f]{32}", httpx.get(f"{sandbox.url}{path}", timeout=10).headers["x-request-id"]
        )

    metrics = httpx.get(f"{sandbox.url}/metrics", timeout=10).text
    assert re.search(r'http_requests_total\{method="GET",path="/api/users",status="200"\} 1\.0', metrics)
    assert re.search(r"^active_sessions [1-9]", metrics, re.MULTILINE)

    search = httpx.get(
        f"{sandbox.url}/jaeger/api/traces",
        params={"service": "api-gateway", "operation": "GET /api/users"},
        timeout=10,
    ).json()
    (trace,) = search["data"]
    processes = trace["processes"]
    by_id = {s["spanID"]: s for s in trace["spans"]}

    def path_of(span: dict[str, object]) -> str:
        names = []
        current: dict[str, object] | None = span
        while current is not None:
            names.append(str(current["operationName"]))
            refs = current.get("references") or []
            current = by_id.get(refs[0]["spanID"]) if refs else None  # type: ignore[index]
        return " > ".join(reversed(names))

    paths = {path_of(s) for s in trace["spans"]}
    root = "GET /api/users"
    assert {
        f"{root} > API Gateway",
        f"{root} > Authentication Service > Cache Check",
        f"{root} > Authentication Service > DB Query",
        f"{root} > User Service > DB Query",
        f"{root} > User Service > Cache Write",
        f"{root} > Response",
    } <= paths
    services = {processes[s["processID"]]["serviceName"] for s in trace["spans"]}
    assert services == {"api-gateway", "auth-service", "user-service"}


def test_openapi_declares_problem_details(sandbox: RunningSandbox) -> None:
    spec = httpx.get(f"{sandbox.url}/openapi.json", timeout=10).json()
    patch = spec["paths"]["/api/users/{user_id}"]["patch"]["responses"]
    assert set(patch) >= {"200", "400", "401", "403", "404", "409", "412", "422", "428"}
    assert list(patch["412"]["content"]) == ["application/problem+json"]
    assert "ETag" in patch["200"]["headers"]
    assert not any(path.startswith(("/authorize", "/token")) for path in spec["paths"])
