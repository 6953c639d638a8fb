"""``opsconsole metrics query`` and ``opsconsole metrics scrape``.

``query`` runs a PromQL range query against the profile's ``prometheus_url`` (JSON: Prometheus' own
matrix, ``[{"metric":{...},"values":[[t,"v"],...]}]``); ``scrape`` reads one /metrics endpoint (the
profile's ``metrics_url`` unless a URL is given; JSON: ``[{"name","type","help","samples":[...]}]``).
Errors are :class:`~.errors.MetricsError`: the CLI prints the message and exits with its status (2
for a bad query or duration, 3 when the server wants a sign-in, 4 for a wrong URL, 1 otherwise).
Server warnings go to stderr, so stdout stays one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from .. import net
from ..config import Profile
from ..errors import OpsError
from ..handler import CommandContext
from . import exposition
from .api import PrometheusAPI, QueryResult
from .durations import parse_duration
from .errors import UsageError
from .legend import series_name


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _secure(url: str) -> bool:
    scheme, host, _port = _origin(url)
    return scheme == "https" or (scheme == "http" and host in ("127.0.0.1", "::1", "localhost"))


def uses_sign_in(profile: Profile, url: str) -> bool:
    """Whether requests to ``url`` carry the profile's sign-in: only to the system the profile signs in
    to (its API's or issuer's origin), and only over https or loopback; never to a third party."""
    own = {_origin(profile.api_url), _origin(profile.issuer)}
    return _origin(url) in own and _secure(url)


@asynccontextmanager
async def metrics_client(profile: Profile, url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``url`` (net.build_client), with the profile's bearer token when it has one and
    the URL belongs to the system the profile signs in to."""
    if uses_sign_in(profile, url):
        from ..auth.session import open_session

        async with open_session(profile) as session:
            if await session.current() is not None:
                async with session.client() as client:
                    yield client
                return
    async with net.build_client(profile) as client:
        yield client


def query(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()
    if not profile.prometheus_url:
        raise OpsError(
            f'Profile "{profile.name}" has no prometheus_url',
            hint="add prometheus_url to the profile, or use `opsconsole metrics scrape` for one endpoint",
        )
    range_seconds = parse_duration(args.range)
    step = parse_duration(args.step)
    end = time.time()

    async def run() -> QueryResult:
        async with metrics_client(profile, profile.prometheus_url) as client:
            api = PrometheusAPI(client, profile.prometheus_url)
            return await api.query_range(args.expr, end - range_seconds, end, step)

    result = asyncio.run(run())
    for warning in result.warnings:
        sys.stderr.write(f"opsconsole: warning from Prometheus: {warning}\n")
    ctx.emit(result.raw, _query_text(result, args.expr))
    return 0


def _query_text(result: QueryResult, expr: str) -> str:
    if result.empty:
        return f"No data: {expr} returned no series in this range."
    lines = []
    for series in result.series:
        values = [v for v in series.values.tolist() if not math.isnan(v)]
        head = series_name(series.labels)
        if not len(series):
            lines.append(f"{head}\n  no points")
            continue
        last_at = datetime.fromtimestamp(float(series.timestamps[-1])).strftime("%H:%M:%S")
        stats = f"min {_num(min(values))}  max {_num(max(values))}  " if values else ""
        lines.append(
            f"{head}\n  {len(series)} points  {stats}last {_num(float(series.values[-1]))} at {last_at}"
        )
    return "\n".join(lines)


def _num(value: float) -> str:
    text = str(exposition.json_number(value))
    return text[:-2] if text.endswith(".0") else text


def scrape(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()
    url = args.url or profile.metrics_url
    if not url:
        raise OpsError(
            f'Profile "{profile.name}" has no metrics_url', hint="give the URL: opsconsole metrics scrape URL"
        )
    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"Not an http(s) URL: {url}", hint="e.g. http://127.0.0.1:8700/metrics")

    async def run() -> list[exposition.Family]:
        async with metrics_client(profile, url) as client:
            return await exposition.scrape(client, url)

    families = asyncio.run(run())
    ctx.emit([f.to_json() for f in families], _scrape_text(families))
    return 0


def _scrape_text(families: list[exposition.Family]) -> str:
    if not families:
        return "The endpoint exposes no metrics."
    lines = []
    for family in families:
        lines.append(f"{family.name} ({family.type})" + (f": {family.help}" if family.help else ""))
        for sample in family.samples:
            lines.append(f"  {series_name({'__name__': sample.name, **sample.labels})} {_num(sample.value)}")
    return "\n".join(lines)
