"""A fake Prometheus on a real local HTTP server (tests/support/stub_http.py) that answers the way a
misbehaving setup does, chosen by the query text (and metric and label names for completion): ``ok``
(a matrix whose value counts the requests so far; each one's range is in ``ok_asked``), ``bad`` (400
bad_data), ``exec`` (422 execution), ``unavailable`` (503), ``proxy`` (an nginx HTML 502 page),
``slow`` (no answer until the server stops), ``nan`` (NaN and +Inf among the values), ``empty`` (no
series).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tests.support.stub_http import HOLD, Request, stub_server

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    b"</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class FakePrometheus:
    url: str = ""
    ok_requests: int = 0
    ok_asked: list[tuple[float, float, float]] = field(default_factory=list)  # start, end, step of each


def _error(status: int, error_type: str, text: str) -> tuple[int, str, bytes]:
    body = {"status": "error", "errorType": error_type, "error": text}
    return status, "application/json", json.dumps(body).encode()


def _matrix(series: list[dict[str, object]]) -> tuple[int, str, bytes]:
    body = {"status": "success", "data": {"resultType": "matrix", "result": series}}
    return 200, "application/json", json.dumps(body).encode()


# 100,000 metric names, the cardinality at which Prometheus' own autocomplete is known to hang.
METRIC_NAMES = [f"metric_{i:05d}_total" for i in range(100_000)]
LABELS = ["instance", "job", "path", "status"]


def _data(data: object) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"status": "success", "data": data}).encode()


def answer(server: FakePrometheus, path: str, params: dict[str, str]) -> tuple[int, str, bytes] | None:
    if path.endswith("/label/__name__/values"):
        return _data(METRIC_NAMES)
    if path.endswith("/labels"):
        return _data(LABELS if params.get("match[]") != "metric_00000_total" else ["job"])
    if path.endswith("/label/job/values"):
        return _data(["api", "worker"])
    if path.endswith("/alerts"):
        return 200, "application/json", b'{"status":"success","data":{"alerts":[]}}'
    if path.endswith("/targets") or path.endswith("/status/config"):
        return _error(404, "not_found", "not here")
    query = params.get("query", "")
    start, end, step = (float(params.get(k, "0")) for k in ("start", "end", "step"))
    times = [start + i * step for i in range(int((end - start) / step) + 1)] if step else [end]
    if query == "ok":
        server.ok_requests += 1
        server.ok_asked.append((start, end, step))
        values = [[t, str(server.ok_requests)] for t in times]
        return _matrix([{"metric": {"job": "ok"}, "values": values}])
    if query == "bad":
        return _error(400, "bad_data", 'invalid parameter "query": 1:5: parse error: unexpected "}"')
    if query == "exec":
        return _error(422, "execution", "found duplicate series for the match group")
    if query == "unavailable":
        return _error(503, "unavailable", "TSDB not ready")
    if query == "proxy":
        return 502, "text/html", NGINX_502
    if query == "slow":
        return HOLD
    if query == "nan":
        values = [[t, ("NaN" if i % 3 == 0 else "+Inf" if i % 3 == 1 else "2")] for i, t in enumerate(times)]
        return _matrix([{"metric": {"job": "nan"}, "values": values}])
    if query == "allnan":
        return _matrix([{"metric": {"job": "nan"}, "values": [[t, "NaN"] for t in times]}])
    if query == "empty":
        return _matrix([])
    return _error(400, "bad_data", f"unknown test query {query!r}")


@contextmanager
def fake_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()

    def respond(request: Request) -> tuple[int, str, bytes] | None:
        parts = urlsplit(request.path)
        raw = request.body.decode() if request.body else parts.query
        return answer(fake, parts.path, {k: v[0] for k, v in parse_qs(raw).items()})

    with stub_server(respond) as running:
        fake.url = running.url
        yield fake
