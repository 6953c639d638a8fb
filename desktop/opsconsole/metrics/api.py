"""The Prometheus HTTP API (``/api/v1``) over an ``httpx.AsyncClient`` handed in.

Works with anything that serves Prometheus' API: Prometheus, Thanos Query, Mimir and Cortex (base URL
with their prefix, e.g. ``http://mimir/prometheus``), VictoriaMetrics. Queries go as GET while the URL
stays short and as a POST form beyond that (every one of those servers accepts both; a long PromQL
expression in a URL is what proxies cut off first). Errors are :class:`~.errors.MetricsError` with a
message fit for a panel; an empty result is data, not an error.

Sample values arrive as strings (``"NaN"``, ``"+Inf"``, ``"-Inf"`` included) and become float64 numpy
arrays, ready for a chart (``results``: msgspec, one pass, the values decoded as numbers in one step).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import quote, urlencode

import httpx
import msgspec

from . import errors, results
from .durations import parse_duration
from .results import FloatArray, Series

__all__ = ["MAX_GET_URL", "Alert", "FloatArray", "MetricMetadata", "PrometheusAPI", "QueryResult", "Series"]

# Longer GET URLs are sent as POST forms: 2 KiB is under every common proxy's limit (nginx 4-8 KiB).
MAX_GET_URL = 2048
_GLOBAL_SCRAPE_INTERVAL: Final = re.compile(
    r"(?m)^global:\s*\n(?:[ \t]+.*\n)*?[ \t]+scrape_interval:\s*(\S+)"
)


@dataclass(slots=True)
class QueryResult:
    """What a query returned: ``series`` parsed for charts, the answer's ``body`` (``raw``: its result
    as Prometheus sent it, for JSON output), and the server's ``warnings`` (and ``infos``, Prometheus
    2.52+) to show beside the data."""

    result_type: str
    series: list[Series]
    body: bytes
    warnings: list[str] = field(default_factory=list)

    @property
    def raw(self) -> Any:
        """``data.result`` as JSON values (decoded on demand: a chart never needs it)."""
        return msgspec.json.decode(self.body)["data"]["result"]

    @property
    def empty(self) -> bool:
        return not self.series

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.series)


@dataclass(slots=True)
class MetricMetadata:
    type: str
    help: str
    unit: str


@dataclass(slots=True)
class Alert:
    """An alert the server reports as pending or firing."""

    name: str
    state: str
    labels: dict[str, str]
    annotations: dict[str, str]
    active_at: str
    value: float


class PrometheusAPI:
    """Calls to one Prometheus-compatible server at ``base_url`` through ``client``.

    ``client`` is the caller's (net.build_client, with the profile's auth when the server wants it);
    this class never closes it. ``timeout`` bounds each request (seconds) and is also passed to the
    server as the query timeout, so the server gives up at about the same time as we do.
    """

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, timeout: float = 30.0) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # -- queries --------------------------------------------------------------------------------

    async def query_range(
        self, expr: str, start: float, end: float, step: float, *, limit: int | None = None
    ) -> QueryResult:
        params = {"query": expr, "start": _ts(start), "end": _ts(end), "step": _num(step)}
        params["timeout"] = _num(self.timeout)
        if limit:
            params["limit"] = str(limit)
        return await self._query("query_range", params)

    async def query(self, expr: str, at: float | None = None) -> QueryResult:
        params = {"query": expr, "timeout": _num(self.timeout)}
        if at is not None:
            params["time"] = _ts(at)
        return await self._query("query", params)

    async def _query(self, endpoint: str, params: dict[str, str]) -> QueryResult:
        # Decoded in one pass with the values left raw (results.py): a dashboard's answers are megabytes.
        response = await self._request(endpoint, params, post_allowed=True)
        answer = _decoded(response, results.QUERY_ANSWER)
        data = answer.data
        if data is None:
            raise errors.malformed(response, "no resultType/result in data")
        try:
            series = results.series(data)
        except ValueError as exc:
            raise errors.malformed(response, f"cannot read the {data.result_type} result: {exc}") from None
        warnings = _notes(answer)
        if data.result_type == "matrix" and results.has_histograms(data):
            warnings.append("native histogram samples are not drawn; use histogram_quantile()")
        return QueryResult(data.result_type, series, response.content, warnings)

    # -- names, metadata, series, alerts ----------------------------------------------------------

    async def label_names(
        self, match: Sequence[str] = (), start: float | None = None, end: float | None = None, limit: int = 0
    ) -> list[str]:
        params = _range_params(match, start, end, limit)
        return _strings(await self._data("labels", params, post_allowed=True))

    async def label_values(
        self,
        name: str,
        match: Sequence[str] = (),
        start: float | None = None,
        end: float | None = None,
        limit: int = 0,
    ) -> list[str]:
        """Values of label ``name`` (``__name__``: metric names). ``limit`` caps what the server sends
        (Prometheus 2.51+; older servers ignore it, so the list is cut here too)."""
        params = _range_params(match, start, end, limit)
        values = _strings(await self._data(f"label/{quote(name, safe='')}/values", params))
        return values[:limit] if limit else values

    async def metadata(self, metric: str = "", limit: int = 0) -> dict[str, list[MetricMetadata]]:
        """Type, help and unit per metric family. For one ``metric`` the family name is also tried:
        a target scraped as OpenMetrics reports ``http_requests`` for ``http_requests_total`` and
        ``x`` for ``x_bucket``, ``x_sum`` and ``x_count``."""
        for name in _family_names(metric) if metric else [""]:
            found = await self._metadata(name, limit)
            if found:
                return found
        return {}

    async def _metadata(self, metric: str, limit: int) -> dict[str, list[MetricMetadata]]:
        params: list[tuple[str, str]] = []
        if metric:
            params.append(("metric", metric))
        if limit:
            params.append(("limit", str(limit)))
        data = await self._data("metadata", params)
        if not isinstance(data, dict):
            return {}
        return {
            str(name): [
                MetricMetadata(str(m.get("type", "")), str(m.get("help", "")), str(m.get("unit", "")))
                for m in entries
                if isinstance(m, dict)
            ]
            for name, entries in data.items()
            if isinstance(entries, list)
        }

    async def series(
        self, match: Sequence[str], start: float | None = None, end: float | None = None, limit: int = 0
    ) -> list[dict[str, str]]:
        if not match:
            raise ValueError("series() needs at least one match[] selector")
        data = await self._data("series", _range_params(match, start, end, limit), post_allowed=True)
        return [dict(item) for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    async def alerts(self) -> list[Alert]:
        data = await self._data("alerts", [])
        items = data.get("alerts", []) if isinstance(data, dict) else []
        out = []
        for item in items:
            labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
            try:
                value = float(item.get("value", "nan"))
            except (TypeError, ValueError):
                value = float("nan")
            out.append(
                Alert(
                    name=labels.get("alertname", ""),
                    state=str(item.get("state", "")),
                    labels=labels,
                    annotations={str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
                    active_at=str(item.get("activeAt", "")),
                    value=value,
                )
            )
        return out

    async def scrape_interval(self, job: str = "") -> float | None:
        """The scrape interval of the server's targets (the smallest; of ``job`` alone when given), from
        /api/v1/targets, else the global one from /api/v1/status/config; None when neither says
        (Thanos, Mimir and VictoriaMetrics have no targets: the panel's setting applies)."""
        try:
            data = await self._data("targets", [("state", "active")])
            intervals = [
                parse_duration(str(t["scrapeInterval"]))
                for t in (data.get("activeTargets") or [] if isinstance(data, dict) else [])
                if isinstance(t, dict)
                and t.get("scrapeInterval")
                and (not job or (t.get("labels") or {}).get("job") == job)
            ]
            if intervals:
                return min(intervals)
            config = await self._data("status/config", [])
        except errors.MetricsError as exc:
            if exc.kind in ("not_found", "bad_data", "malformed", "proxy"):
                return None
            raise
        match = _GLOBAL_SCRAPE_INTERVAL.search(
            str(config.get("yaml", "")) if isinstance(config, dict) else ""
        )
        return parse_duration(match.group(1)) if match else None

    # -- transport ------------------------------------------------------------------------------

    async def _data(
        self,
        endpoint: str,
        params: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        post_allowed: bool = False,
    ) -> Any:
        """The ``data`` of a success answer, as JSON values."""
        response = await self._request(endpoint, params, post_allowed=post_allowed)
        answer = _decoded(response, results.ENVELOPE)
        if not len(answer.data):
            raise errors.malformed(response, "no status/data in the body")
        return msgspec.json.decode(answer.data)

    async def _request(
        self, endpoint: str, params: Mapping[str, str] | Sequence[tuple[str, str]], *, post_allowed: bool
    ) -> httpx.Response:
        """The server's answer with a success status; an error status or no answer is MetricsError."""
        url = f"{self.base_url}/api/v1/{endpoint}"
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        query = urlencode(items)
        # The server's own timeout plus a margin: its answer (a clear 503) beats our timeout.
        limit = self.timeout + min(5.0, max(1.0, self.timeout / 2))
        timeout = httpx.Timeout(limit, connect=min(5.0, self.timeout))
        try:
            if post_allowed and len(url) + len(query) + 1 > MAX_GET_URL:
                response = await self.client.post(
                    url,
                    content=query.encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    timeout=timeout,
                )
            else:
                response = await self.client.get(f"{url}?{query}" if query else url, timeout=timeout)
        except httpx.HTTPError as exc:
            raise errors.from_transport(exc, url, limit) from exc
        if response.is_error:
            raise errors.from_response(response)
        return response


Answer = TypeVar("Answer", results.Envelope, results.QueryAnswer)


def _decoded(response: httpx.Response, decoder: msgspec.json.Decoder[Answer]) -> Answer:
    """The envelope of a success answer (``status`` checked); anything else is MetricsError."""
    try:
        answer = decoder.decode(response.content)
    except msgspec.ValidationError as exc:  # JSON, but not the shape the API promises
        why = "the body is not a JSON object" if response.content.lstrip()[:1] != b"{" else str(exc)
        raise errors.malformed(response, why) from None
    except msgspec.DecodeError:
        raise errors.malformed(response, "the body is not JSON") from None
    if answer.status == "error":
        raise errors.from_response(response)
    if answer.status != "success":
        raise errors.malformed(response, "no status/data in the body")
    return answer


def _notes(answer: results.Envelope | results.QueryAnswer) -> list[str]:
    """The server's warnings and infos, to show beside the data."""
    return [str(note) for note in (answer.warnings or []) + (answer.infos or [])]


def _ts(seconds: float) -> str:
    return f"{seconds:.3f}"


def _num(value: float) -> str:
    """Seconds as the API reads them: ``15``, ``0.5``, ``2592000`` (never ``2.592e+06``)."""
    return str(int(value)) if value == int(value) else f"{value:.3f}".rstrip("0")


def _range_params(
    match: Sequence[str], start: float | None, end: float | None, limit: int
) -> list[tuple[str, str]]:
    params = [("match[]", m) for m in match]
    if start is not None:
        params.append(("start", _ts(start)))
    if end is not None:
        params.append(("end", _ts(end)))
    if limit:
        params.append(("limit", str(limit)))
    return params


def _family_names(metric: str) -> list[str]:
    names = [metric]
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created", "_info"):
        if metric.endswith(suffix) and len(metric) > len(suffix):
            names.append(metric[: -len(suffix)])
    return names


def _strings(data: Any) -> list[str]:
    return [str(x) for x in data] if isinstance(data, list) else []
