"""The traces core and CLI against the real sandbox's Jaeger query API, over real HTTP.

The sandbox traces every /api request (api-gateway, auth-service, user-service); the tests make
some API traffic with a signed-in token, then read it back through ``/jaeger`` with the token too
(as they would once the sandbox guards /jaeger beyond loopback).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsconsole import net
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.traces import SearchQuery, TraceNotFound, critical_path, layout, tag_value
from opsconsole.traces.jaeger import JaegerReader
from tests.support.cli import run_cli
from tests.support.sandbox import SUPPORT, bearer, obtain_tokens

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


async def _traffic(sandbox: RunningSandbox, tokens: dict[str, Any]) -> list[str]:
    """Trace ids of a few API requests: three user lists and one role list."""
    ids = []
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=15, headers=bearer(tokens)) as http:
        for path in ("/api/users", "/api/users", "/api/users", "/api/roles"):
            response = await http.get(path, params={"limit": 5})
            assert response.status_code == 200
            ids.append(response.headers["X-Trace-Id"])
    return ids


@pytest.fixture
async def traced(sandbox: RunningSandbox) -> tuple[list[str], dict[str, Any]]:
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, SUPPORT)
    return await _traffic(sandbox, tokens), tokens


@pytest.fixture
async def reader(sandbox: RunningSandbox, traced: tuple[list[str], Any]) -> AsyncIterator[JaegerReader]:
    """The Jaeger reader over the sandbox's /jaeger, sending the signed-in token."""
    headers = bearer(traced[1])
    async with net.build_client(base_url=sandbox.url.rstrip("/") + "/jaeger/", headers=headers) as client:
        yield JaegerReader(client)


async def test_services_operations_and_one_trace(traced: tuple[list[str], Any], reader: JaegerReader) -> None:
    ids = traced[0]
    services = await reader.services()
    operations = await reader.operations("api-gateway")
    trace = await reader.trace(ids[0])
    assert {"api-gateway", "auth-service", "user-service"} <= set(services)
    assert {"GET /api/users", "GET /api/roles"} <= set(operations)
    assert trace.trace_id == ids[0] and trace.format == "jaeger"
    lay = layout(trace)
    assert lay.problems == []
    root = lay.spans[lay.roots[0]]
    assert (root.service, root.operation, root.kind) == ("api-gateway", "GET /api/users", "server")
    assert tag_value(root.tags, "http.status_code") == 200
    children = [lay.spans[i] for i in lay.children(lay.roots[0])]
    assert children[0].operation == "API Gateway" and children[-1].operation == "Response"
    assert {"auth-service", "user-service"} <= {s.service for s in lay.spans}
    # The critical path of a well-formed trace covers its root from start to end, without gaps.
    sections = critical_path(lay)
    assert sections[0].start_us == root.start_us and sections[-1].end_us == root.end_us
    assert all(a.end_us == b.start_us for a, b in itertools.pairwise(sections))
    # The request's steps run one after the other, each starting as the one before ends: all of them
    # are on the path (Jaeger UI's strict rule left out the User Service, which ends as Response starts).
    on_path = {s.span for s in sections}
    steps = [
        i for i in lay.children(lay.roots[0]) if lay.spans[i].duration_us and not lay.spans[i].follows_from
    ]
    assert set(steps) <= on_path, [lay.spans[i].operation for i in steps]


async def test_search_by_service_operation_and_duration(
    traced: tuple[list[str], Any], reader: JaegerReader
) -> None:
    ids = traced[0]
    users = await reader.search(SearchQuery(service="api-gateway", operation="GET /api/users", limit=10))
    limited = await reader.search(SearchQuery(service="api-gateway", limit=2))
    everywhere = await reader.search(SearchQuery(limit=50))
    too_slow = await reader.search(SearchQuery(service="api-gateway", min_duration_us=3_600_000_000))
    assert set(ids[:3]) <= {t.trace_id for t in users}
    assert ids[3] not in {t.trace_id for t in users}
    found = {t.trace_id: t for t in users}[ids[0]]
    assert (found.root_service, found.root_operation) == ("api-gateway", "GET /api/users")
    assert found.span_count >= 4 and found.error_count == 0 and found.duration_us > 0
    assert len(limited) == 2 and limited[0].start_us >= limited[1].start_us
    assert set(ids) <= {t.trace_id for t in everywhere}  # no service: every service is searched
    assert too_slow == []


async def test_an_unknown_trace_is_not_found(reader: JaegerReader) -> None:
    with pytest.raises(TraceNotFound) as info:
        await reader.trace("0123456789abcdef0123456789abcdef")
    assert info.value.exit_code == 4


def _cli(tmp_path: Path, sandbox: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    url = sandbox.url.rstrip("/")
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f"""
default_profile = "sandbox"
[profiles.sandbox]
api_url = "{url}/api"
issuer = "{url}"
client_id = "opsconsole"
token_storage = "memory"
traces_url = "{url}/jaeger"
traces_api = "jaeger"
""",
        encoding="utf-8",
    )
    return run_cli(profiles, *args)


async def test_the_cli_searches_and_shows_traces(
    tmp_path: Path, sandbox: RunningSandbox, traced: tuple[list[str], Any]
) -> None:
    ids, _ = traced
    run = await asyncio.to_thread(
        _cli, tmp_path, sandbox, "--json", "traces", "search", "--service", "api-gateway", "--limit", "10"
    )
    assert run.returncode == 0, run.stderr
    summaries = json.loads(run.stdout)
    assert set(ids) <= {s["trace_id"] for s in summaries}
    assert set(summaries[0]) >= {"trace_id", "root_service", "root_operation", "start_us", "duration_us",
                                 "span_count", "error_count"}  # fmt: skip

    run = await asyncio.to_thread(
        _cli, tmp_path, sandbox, "traces", "search", "--operation", "GET /api/roles"
    )
    assert run.returncode == 0, run.stderr
    assert ids[3] in run.stdout and "api-gateway: GET /api/roles" in run.stdout

    run = await asyncio.to_thread(_cli, tmp_path, sandbox, "traces", "show", ids[0])
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"Trace {ids[0]}: ")
    assert lines[1].startswith("api-gateway: GET /api/users (")
    assert lines[2].startswith("├─ api-gateway: API Gateway (")
    assert any(line.startswith("│ ├─ ") or line.startswith("│ └─ ") for line in lines)
    assert lines[-1].startswith("Total: ")

    run = await asyncio.to_thread(_cli, tmp_path, sandbox, "--json", "traces", "show", ids[0])
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["trace_id"] == ids[0]
    root = next(s for s in doc["spans"] if s["parent_id"] is None)
    assert set(root) == {"span_id", "parent_id", "service", "operation", "start_us", "duration_us", "tags"}
    assert root["tags"]["http.route"] == "/api/users"

    run = await asyncio.to_thread(
        _cli, tmp_path, sandbox, "traces", "show", "0123456789abcdef0123456789abcdef"
    )
    assert run.returncode == 4
    assert "was not found" in run.stderr and "Traceback" not in run.stderr
