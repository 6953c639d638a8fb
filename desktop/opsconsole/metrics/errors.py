"""What goes wrong with metrics, in words short enough for a panel.

:class:`MetricsError` carries a ``kind`` (so a view can pick an icon or a colour and a test can tell
cases apart), the one-line ``message`` a panel shows, an optional longer ``detail`` for a tooltip, and
the CLI exit status. :func:`from_response` reads Prometheus' error envelope
(``{"status":"error","errorType":"bad_data","error":"..."}``) and anything else an HTTP server or a
proxy in front of it may send (an nginx 502 page, an empty 503); :func:`from_transport` words
timeouts and refused connections.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import httpx

from .. import net
from ..errors import OpsError

# errorType -> (kind, how the message starts). VictoriaMetrics puts the HTTP status in errorType.
_ERROR_TYPES: Final[dict[str, tuple[str, str]]] = {
    "bad_data": ("bad_data", "Bad query"),
    "execution": ("execution", "Query failed"),
    "timeout": ("timeout", "Query timed out on the server"),
    "canceled": ("canceled", "Query canceled by the server"),
    "unavailable": ("unavailable", "Prometheus is unavailable"),
    "internal": ("internal", "Prometheus failed internally"),
    "not_found": ("not_found", "Not found"),
    "too_many_requests": ("unavailable", "Too many requests"),
    "not_acceptable": ("bad_data", "Not acceptable"),
}
_BY_STATUS: Final[dict[int, tuple[str, str]]] = {
    400: ("bad_data", "Bad query"),
    401: ("auth", "Not authorized"),
    403: ("auth", "Access denied"),
    404: ("not_found", "Not found"),
    422: ("execution", "Query failed"),
    429: ("unavailable", "Too many requests"),
    503: ("unavailable", "Prometheus is unavailable"),
}
_EXIT_CODES: Final = {"bad_data": 2, "auth": 3, "not_found": 4}
_MAX_MESSAGE = 240


class MetricsError(OpsError):
    """A metrics request that gave no data: ``message`` for the panel, ``detail`` for a tooltip."""

    def __init__(
        self, message: str, *, kind: str, status: int = 0, detail: str = "", hint: str | None = None
    ) -> None:
        super().__init__(_clip(message), hint=hint)
        self.kind = kind
        self.status = status
        self.detail = detail

    @property
    def message(self) -> str:
        return str(self)

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return _EXIT_CODES.get(self.kind, 1)


class UsageError(OpsError):
    """A command line that cannot work as given (exit status 2)."""

    exit_code = 2


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def from_response(response: httpx.Response, what: str = "Prometheus") -> MetricsError:
    """The error for a response that failed (status >= 400, or ``status: error`` in the body)."""
    status = response.status_code
    envelope = _envelope(response)
    if envelope is not None:
        error_type = str(envelope.get("errorType") or "")
        text = str(envelope.get("error") or "").strip()
        # Prometheus says which parameter was bad; the panel knows it was the query.
        text = re.sub(r'^invalid parameter "query": ', "", text)
        kind, lead = _ERROR_TYPES.get(error_type) or _BY_STATUS.get(status) or ("error", f"{what} error")
        message = f"{lead}: {text}" if text else f"{lead} (HTTP {status})"
        return MetricsError(message, kind=kind, status=status, detail=text)
    # Not Prometheus' JSON: a proxy, a load balancer or the wrong URL answered. Say so, with what it sent.
    api_error = net.error_from_response(response)
    summary = api_error.detail or api_error.title
    if status in (401, 403):
        return MetricsError(
            f"{_BY_STATUS[status][1]} (HTTP {status}): {summary}",
            kind="auth",
            status=status,
            detail=summary,
            hint="sign in with `opsconsole login`, or check the credentials the server expects",
        )
    if status == 404:
        return MetricsError(
            f"Not found (HTTP 404) at {_where(response)}: is this the right URL?",
            kind="not_found",
            status=status,
            detail=summary,
            hint="check prometheus_url / metrics_url in the profile",
        )
    kind = "unavailable" if status in (502, 503, 504) else "proxy"
    return MetricsError(
        f"{api_error.title} (HTTP {status}), not an answer from {what}: {summary}",
        kind=kind,
        status=status,
        detail=summary,
    )


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    """Prometheus' error envelope, when the body is one."""
    if "json" not in response.headers.get("content-type", "").lower() and not response.content.startswith(
        b"{"
    ):
        return None
    try:
        body = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(body, dict) and body.get("status") == "error":
        return body
    return None


def from_transport(exc: httpx.HTTPError, url: str, timeout: float | None = None) -> MetricsError:
    """The error for a request that got no answer (refused, timed out, broken connection)."""
    where = net.safe_url(url)
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        within = f" within {timeout:g} s" if timeout else ""
        host = httpx.URL(url).host or where
        return MetricsError(f"No answer from {host}{within} (timed out)", kind="timeout", detail=where)
    error = net.network_error(exc, url)
    return MetricsError(str(error), kind="network", detail=where)


def malformed(response: httpx.Response, why: str) -> MetricsError:
    """A success status whose body is not what the API promises: the reason first, then where from.

    The where is scheme, host and path only: the query string (the whole expression, start, end, step)
    would fill the panel's 240 characters before the reason, and the panel already shows the query."""
    text = f"{why[:1].upper()}{why[1:]} (answer from {_where(response)})"
    return MetricsError(text, kind="malformed", status=response.status_code, detail=" ".join(text.split()))


def _where(response: httpx.Response) -> str:
    """Scheme, host and path of the request: its query string (the expression, start, end, step) would
    fill a panel's 240 characters before the words that matter."""
    return net.safe_url(str(response.request.url.copy_with(query=None, fragment=None)))
