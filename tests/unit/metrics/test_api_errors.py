"""Every way a query can fail becomes one clear panel message: Prometheus' error envelope (400, 422,
503, VictoriaMetrics' style), a proxy's HTML 502, an empty 503, a timeout, a refused connection, a
body that is not JSON; plus NaN/Inf values, warnings, empty results and long queries sent as POST,
all against a real local HTTP server."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from opsconsole.metrics import errors
from opsconsole.metrics.api import MAX_GET_URL, PrometheusAPI
from opsconsole.metrics.errors import MetricsError
from tests.support.stub_http import HOLD, NGINX, StubServer, by_prefix, stub_server

JSON = "application/json"


def envelope(error_type: str, error: str) -> bytes:
    return json.dumps({"status": "error", "errorType": error_type, "error": error}).encode()


MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"__name__": "x", "job": "a"}, "values": [[1700000000, "1.5"], [1700000015, "NaN"]]},
            {"metric": {"job": "b"}, "values": [[1700000000, "+Inf"], [1700000015.5, "-Inf"]]},
        ],
    },
    "warnings": ["PromQL info: metric might not be a counter"],
}

ROUTES = {
    "/bad": (
        400,
        JSON,
        envelope("bad_data", 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'),
    ),
    "/exec": (422, JSON, envelope("execution", "query processing would load too many samples into memory")),
    "/unavailable": (503, JSON, envelope("unavailable", "TSDB not ready")),
    "/vm": (422, JSON, envelope("422", "cannot parse duration")),
    "/html502": (
        502,
        "text/html",
        b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
    ),
    "/empty503": (503, "text/plain", b""),
    "/auth": (401, "text/plain", b"Unauthorized"),
    "/notjson": (200, "text/html", b"<html>a login page</html>"),
    "/matrix": (200, JSON, json.dumps(MATRIX).encode()),
    "/empty": (200, JSON, b'{"status":"success","data":{"resultType":"matrix","result":[]}}'),
    "/scalar": (
        200,
        JSON,
        b'{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}',
    ),
    "/shape": (
        200,
        JSON,
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[["x"]]}]}}',
    ),
    "/ok": (200, JSON, b'{"status":"success","data":{"resultType":"vector","result":[]}}'),
    "/hang": HOLD,
    # Hostile or broken answers with a success status.
    "/label-type": (
        200,
        JSON,
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1}}]}}',
    ),
    "/huge": (
        200,
        JSON,
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"1e999"]]}]}}',
    ),
    "/not-a-list": (200, JSON, b'{"status":"success","data":{"resultType":"matrix","result":{"values":[]}}}'),
    "/array": (200, JSON, b'[{"status":"success"}]'),
    "/no-data": (200, JSON, b'{"status":"success"}'),
    "/truncated": (
        200,
        JSON,
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"2"',
    ),
    "/point-oops": (
        200,
        JSON,
        json.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {"path": "/api/v1/users", "status": "200"},
                            "values": [[1700000000, "1"], [1700000015, "oops"]],
                        }
                    ],
                },
            }
        ).encode(),
    ),
    "/tricky-labels": (
        200,
        JSON,
        json.dumps(
            {
                "status": "success",
                "warnings": None,
                "data": {
                    "resultType": "matrix",
                    "result": [{"metric": {"p": '[[1,"2"]]'}, "values": [[1, "3"]]}],
                },
            }
        ).encode(),
    ),
}


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with stub_server(by_prefix(ROUTES), server_header=NGINX) as running:
        yield running


async def failure(client: httpx.AsyncClient, base: str, query_timeout: float = 30.0) -> MetricsError:
    with pytest.raises(MetricsError) as info:
        await PrometheusAPI(client, base, timeout=query_timeout).query_range("up", 0, 60, 15)
    assert "\n" not in str(info.value) and len(str(info.value)) <= 240
    return info.value


@pytest.mark.parametrize(
    ("route", "kind", "status", "message"),
    [
        ("/bad", "bad_data", 400, "Bad query: 1:5: parse error: unclosed left parenthesis"),
        ("/exec", "execution", 422, "Query failed: query processing would load too many samples into memory"),
        ("/unavailable", "unavailable", 503, "Prometheus is unavailable: TSDB not ready"),
        ("/vm", "execution", 422, "Query failed: cannot parse duration"),
        (
            "/html502",
            "unavailable",
            502,
            "Bad Gateway (HTTP 502), not an answer from Prometheus: an HTML page (from nginx/1.25.3): 502 Bad Gateway",
        ),
        (
            "/empty503",
            "unavailable",
            503,
            "Service Unavailable (HTTP 503), not an answer from Prometheus: the server sent an empty body (from nginx/1.25.3)",
        ),
        ("/auth", "auth", 401, "Not authorized (HTTP 401): Unauthorized (from nginx/1.25.3)"),
    ],
)
async def test_error_answers(
    server: StubServer, client: httpx.AsyncClient, route: str, kind: str, status: int, message: str
) -> None:
    error = await failure(client, server.url + route)
    assert (error.kind, error.status, str(error)) == (kind, status, message)


async def test_exit_codes_follow_the_contract(server: StubServer, client: httpx.AsyncClient) -> None:
    assert (await failure(client, server.url + "/bad")).exit_code == 2
    assert (await failure(client, server.url + "/auth")).exit_code == 3
    assert (await failure(client, server.url + "/nowhere")).exit_code == 4
    assert (await failure(client, server.url + "/exec")).exit_code == 1


async def test_wrong_url_says_so(server: StubServer, client: httpx.AsyncClient) -> None:
    error = await failure(client, server.url + "/nowhere")
    assert error.kind == "not_found"
    assert str(error).startswith(f"Not found (HTTP 404) at {server.url}/nowhere/api/v1/query_range")
    assert error.hint == "check prometheus_url / metrics_url in the profile"


async def test_a_wrong_url_with_a_long_query_still_asks_about_the_url(
    server: StubServer, client: httpx.AsyncClient
) -> None:
    expression = 'sum by (path, status) (rate(http_requests_total{job="api"}[5m]))' * 3
    with pytest.raises(MetricsError) as info:
        await PrometheusAPI(client, server.url + "/nowhere").query_range(expression, 0, 3600, 15)
    assert str(info.value) == (
        f"Not found (HTTP 404) at {server.url}/nowhere/api/v1/query_range: is this the right URL?"
    )


async def test_a_success_status_with_html_is_not_data(server: StubServer, client: httpx.AsyncClient) -> None:
    error = await failure(client, server.url + "/notjson")
    assert error.kind == "malformed" and str(error).startswith("The body is not JSON")
    error = await failure(client, server.url + "/shape")
    assert error.kind == "malformed" and str(error).startswith("Cannot read the matrix result: ")


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("/label-type", "Expected `str`, got `int` - at `$.data.result[0].metric[...]`"),
        ("/huge", "Cannot read the matrix result: point 0's value is not a number (Number out of range) in "
                  "series {}"),
        ("/not-a-list", "Expected `array`, got `object` - at `$.data.result`"),
        ("/array", "The body is not a JSON object"),
        ("/no-data", "No resultType/result in data"),
        ("/truncated", "The body is not JSON"),
    ],
)  # fmt: skip
async def test_broken_answers_are_clear_messages(
    server: StubServer, client: httpx.AsyncClient, route: str, message: str
) -> None:
    error = await failure(client, server.url + route)
    assert error.kind == "malformed" and str(error).startswith(message)
    assert str(error).endswith(f"(answer from {server.url}{route}/api/v1/query_range)")


async def test_an_unreadable_answer_says_why_first_for_a_real_query(
    server: StubServer, client: httpx.AsyncClient
) -> None:
    # A realistic expression makes a long URL: the message must still name the series, the point and
    # the reason, and the query string (the expression, the step...) stays out of it.
    expression = 'sum by (path, status) (rate(http_requests_total{job="api"}[5m]))'
    with pytest.raises(MetricsError) as info:
        await PrometheusAPI(client, server.url + "/point-oops").query_range(expression, 0, 3600, 15)
    error = info.value
    message = str(error)
    assert error.kind == "malformed" and not message.endswith("…")
    assert message.startswith("Cannot read the matrix result: point 1's value is not a number")
    assert 'in series {path="/api/v1/users",status="200"}' in message
    assert message.endswith(f"(answer from {server.url}/point-oops/api/v1/query_range)")
    assert "?" not in message and "rate(" not in message and "step" not in message
    assert error.detail == message  # the tooltip has it all, not the same clipped text


async def test_a_long_reason_is_clipped_in_the_panel_but_whole_in_the_tooltip() -> None:
    request = httpx.Request("GET", "http://prometheus:9090/api/v1/query_range?query=" + "x" * 300)
    response = httpx.Response(200, request=request)
    error = errors.malformed(response, "the series " + "y" * 300 + " is wrong")
    assert len(str(error)) == 240 and str(error).startswith("The series yyy")
    assert error.detail.endswith("is wrong (answer from http://prometheus:9090/api/v1/query_range)")
    assert "query=" not in error.detail


async def test_labels_are_never_read_as_values(server: StubServer, client: httpx.AsyncClient) -> None:
    result = await PrometheusAPI(client, server.url + "/tricky-labels").query_range("x", 0, 60, 15)
    (series,) = result.series
    assert series.labels == {"p": '[[1,"2"]]'} and series.values.tolist() == [3.0] and result.warnings == []


async def test_timeout(server: StubServer, client: httpx.AsyncClient) -> None:
    # The request waits for the server's query timeout plus a margin (at least 1 s): 0.2 + 1.
    error = await failure(client, server.url + "/hang", query_timeout=0.2)
    assert error.kind == "timeout"
    assert str(error) == "No answer from 127.0.0.1 within 1.2 s (timed out)"


async def test_refused_connection(client: httpx.AsyncClient) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        error = await failure(client, f"http://127.0.0.1:{port}")
    assert error.kind == "network"
    assert "connection refused" in str(error)


async def test_nan_and_infinities_and_warnings(server: StubServer, client: httpx.AsyncClient) -> None:
    result = await PrometheusAPI(client, server.url + "/matrix").query_range("x", 0, 60, 15)
    first, second = result.series
    assert first.labels == {"__name__": "x", "job": "a"}
    assert first.values[0] == 1.5 and math.isnan(first.values[1])
    assert second.values.tolist() == [math.inf, -math.inf]
    assert second.timestamps.tolist() == [1700000000.0, 1700000015.5]
    assert result.warnings == ["PromQL info: metric might not be a counter"]
    assert result.raw == MATRIX["data"]["result"]  # type: ignore[index]
    assert result.points == 4


async def test_empty_and_scalar_results(server: StubServer, client: httpx.AsyncClient) -> None:
    empty = await PrometheusAPI(client, server.url + "/empty").query_range("x", 0, 60, 15)
    assert empty.empty and empty.series == [] and empty.warnings == []
    scalar = await PrometheusAPI(client, server.url + "/scalar").query("scalar(x)")
    assert scalar.result_type == "scalar" and math.isnan(scalar.series[0].values[0])


async def test_long_queries_go_as_a_post_form(server: StubServer, client: httpx.AsyncClient) -> None:
    api = PrometheusAPI(client, server.url + "/ok")
    short = "sum(rate(http_requests_total[5m]))"
    long = " or ".join(f'up{{job="job-{i}"}}' for i in range(200))
    assert len(long) > MAX_GET_URL
    server.requests.clear()
    await api.query(short, at=1700000000)
    await api.query(long, at=1700000000)
    (m1, path1, _), (m2, path2, body2) = ((r.method, r.path, r.body) for r in server.requests)
    assert m1 == "GET" and parse_qs(path1.split("?", 1)[1])["query"] == [short]
    assert m2 == "POST" and path2 == "/ok/api/v1/query" and parse_qs(body2.decode())["query"] == [long]


async def test_label_values_are_capped_even_when_the_server_ignores_limit(
    client: httpx.AsyncClient,
) -> None:
    names = {"status": "success", "data": [f"metric_{i}" for i in range(100_000)]}
    routes = {"/": (200, JSON, json.dumps(names).encode())}
    with stub_server(by_prefix(routes), server_header=NGINX) as big:
        values = await PrometheusAPI(client, big.url).label_values("__name__", limit=500)
        assert values == [f"metric_{i}" for i in range(500)]
        assert "limit=500" in big.requests[0].path


async def test_numbers_in_the_request_read_as_durations(
    server: StubServer, client: httpx.AsyncClient
) -> None:
    server.requests.clear()
    await PrometheusAPI(client, server.url + "/empty", timeout=7.5).query_range(
        "x", 0, 30 * 86400, 30 * 86400
    )
    params = parse_qs(server.requests[0].path.split("?", 1)[1])
    assert params["step"] == ["2592000"] and params["timeout"] == ["7.5"]
    assert params["start"] == ["0.000"] and params["end"] == ["2592000.000"]


async def test_scrape_interval_from_targets_config_or_nothing(client: httpx.AsyncClient) -> None:
    targets = {
        "status": "success",
        "data": {
            "activeTargets": [
                {"labels": {"job": "api"}, "scrapeInterval": "30s"},
                {"labels": {"job": "node"}, "scrapeInterval": "1m"},
            ]
        },
    }
    config = {
        "status": "success",
        "data": {"yaml": "global:\n  scrape_interval: 20s\n  evaluation_interval: 1m\n"},
    }
    no_targets = {"status": "success", "data": {"activeTargets": []}}
    routes = {
        "/prom/api/v1/targets": (200, JSON, json.dumps(targets).encode()),
        "/old/api/v1/targets": (200, JSON, json.dumps(no_targets).encode()),
        "/old/api/v1/status/config": (200, JSON, json.dumps(config).encode()),
        # Thanos, Mimir: neither endpoint (404) -> the dashboard's setting applies.
    }
    with stub_server(by_prefix(routes), server_header=NGINX) as srv:
        assert await PrometheusAPI(client, srv.url + "/prom").scrape_interval() == 30.0
        assert await PrometheusAPI(client, srv.url + "/prom").scrape_interval(job="node") == 60.0
        assert await PrometheusAPI(client, srv.url + "/old").scrape_interval() == 20.0
        assert await PrometheusAPI(client, srv.url + "/thanos").scrape_interval() is None
