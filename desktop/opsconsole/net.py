"""The one place that builds HTTP clients and turns HTTP failures into errors people can read.

Every feature talks to the network through :func:`build_client`: the same timeouts, the operating
system's trust store plus the profile's CA bundle, proxy variables honoured, a User-Agent carrying the
version, a request id on every request, and an auth slot (an :class:`httpx.Auth`) that the sign-in
feature fills. Failures become :class:`ApiError` (the server answered with an error: RFC 9457 problem
details when it sent them, otherwise a readable summary of whatever it sent) or :class:`NetworkError`
(it could not be reached).
"""

from __future__ import annotations

import errno
import html
import json
import logging
import platform
import re
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import __version__
from .config import Profile
from .errors import OpsError

log = logging.getLogger("opsconsole.net")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
REQUEST_ID_HEADER = "X-Request-ID"
USER_AGENT = f"opsconsole/{__version__} (httpx/{httpx.__version__}; Python/{platform.python_version()})"
_MAX_DETAIL = 300


class NetError(OpsError):
    """Base of the network errors the console shows to people."""

    @property
    def message(self) -> str:
        return str(self)


@dataclass(eq=False)
class ApiError(NetError):
    """The server answered with an error status (or with something that is not what was asked)."""

    status: int
    title: str
    detail: str = ""
    type: str = "about:blank"
    instance: str = ""
    request_id: str = ""
    method: str = ""
    url: str = ""
    extensions: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = f"{self.title} (HTTP {self.status})" if self.status else self.title
        parts = [head]
        if self.detail and self.detail != self.title:
            parts.append(self.detail)
        text = ": ".join(parts)
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        """The CLI's exit status for this error (INTERFACE.md)."""
        if self.is_auth:
            return 3
        if self.is_not_found:
            return 4
        if self.is_conflict:
            return 5
        return 1

    @property
    def is_conflict(self) -> bool:
        return self.status in (409, 412)

    @property
    def is_not_found(self) -> bool:
        return self.status in (404, 410)

    @property
    def is_auth(self) -> bool:
        return self.status in (401, 403)


class NetworkError(NetError):
    """The server could not be reached, or the connection broke before an answer came."""

    def __init__(self, message: str, *, url: str = "", cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.__cause__ = cause


class MalformedResponse(ApiError):
    """A success status with a body that is not what the API promises (not JSON, wrong shape)."""


def ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """The operating system's trust store (so company CAs installed by admins work), plus the
    profile's extra PEM bundle when it names one."""
    import truststore

    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


def client_options(
    profile: Profile | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any]:
    """The settings every console HTTP client is built with, as keyword arguments of httpx.AsyncClient.

    :func:`build_client` uses them, and so does the sign-in's OAuth client (authlib's AsyncOAuth2Client
    is an httpx.AsyncClient): one trust store, proxy handling, User-Agent and request id for both.
    """
    return {
        "headers": {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"},
        "timeout": httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        "verify": ssl_context(profile.ca_bundle if profile else ""),
        "trust_env": True,  # HTTP(S)_PROXY, ALL_PROXY, NO_PROXY, SSL_CERT_FILE
        "follow_redirects": False,
        "transport": transport,
        "event_hooks": {"request": [_stamp_request], "response": [_log_response]},
    }


def build_client(
    profile: Profile | None = None,
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    timeout: httpx.Timeout | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    mounts: Mapping[str, httpx.AsyncBaseTransport | None] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for ``profile`` (its API by default). ``transport``: another way to send than
    httpx's own (tests; ``net_aiohttp`` for a dashboard's many small requests), and then ``mounts``
    for the URLs that go another way (httpx mounts the environment's proxies only for its own)."""
    if not base_url and profile is not None:
        base_url = profile.api_url
    options = client_options(profile, transport=transport)
    options["headers"].update(headers or {})
    if timeout is not None:
        options["timeout"] = timeout
    return httpx.AsyncClient(base_url=base_url, auth=auth, mounts=mounts, **options)


async def _stamp_request(request: httpx.Request) -> None:
    request.headers.setdefault(REQUEST_ID_HEADER, uuid.uuid4().hex)
    request.extensions["opsconsole_started"] = time.perf_counter()


async def _log_response(response: httpx.Response) -> None:
    request = response.request
    started = request.extensions.get("opsconsole_started")
    elapsed_ms = (time.perf_counter() - started) * 1000 if isinstance(started, float) else -1.0
    log.debug(
        "http %s %s -> %s",
        request.method,
        safe_url(str(request.url)),
        response.status_code,
        extra={"elapsed_ms": round(elapsed_ms, 1), "request_id": request.headers.get(REQUEST_ID_HEADER, "")},
    )


_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:code|state|token|access_token|refresh_token|id_token|client_secret|code_verifier|password)=)[^&#]*"
)


def safe_url(url: str) -> str:
    """The URL with credentials and secret-bearing query parameters masked, fit for logs and messages."""
    url = _SECRET_PARAMS.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password or parts.username:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = parts._replace(netloc=f"***@{netloc}").geturl()
    return url


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send a request; return the response when it succeeded, raise ApiError/NetworkError otherwise."""
    try:
        response = await client.request(method, url, json=json_body, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise network_error(exc, client.base_url.join(url) if client.base_url else url) from exc
    if response.is_error:
        await response.aread()
        raise error_from_response(response)
    return response


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Like :func:`request`, and the decoded JSON body (None for an empty 204)."""
    response = await request(client, method, url, json_body=json_body, params=params, headers=headers)
    return decode_json(response)


def decode_json(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedResponse(
            status=response.status_code,
            title="The server sent a response that is not JSON",
            detail=_summarize_body(response),
            request_id=_request_id(response),
            method=response.request.method,
            url=safe_url(str(response.request.url)),
        ) from None


def network_error(exc: httpx.HTTPError, url: Any = "") -> NetworkError:
    """A readable NetworkError for a transport failure."""
    where = _host_of(str(url)) if url else "the server"
    if isinstance(exc, httpx.ConnectTimeout):
        text = f"Could not connect to {where}: no answer within {CONNECT_TIMEOUT:g} s"
    elif isinstance(exc, httpx.TimeoutException):
        text = f"{where} did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        reason = _connect_reason(exc)
        text = f"Could not connect to {where}" + (f": {reason}" if reason else "")
    elif isinstance(exc, httpx.RemoteProtocolError):
        text = f"The connection to {where} broke: {exc}"
    elif isinstance(exc, httpx.ProxyError):
        text = f"The proxy refused the connection to {where}: {exc}"
    elif isinstance(exc, httpx.UnsupportedProtocol):
        text = f"Unsupported URL for {where}: {exc}"
    else:
        text = f"Network error talking to {where}: {exc.__class__.__name__}: {exc}"
    return NetworkError(text, url=safe_url(str(url)), cause=exc)


def _connect_reason(exc: BaseException) -> str:
    # httpcore reports "All connection attempts failed" and keeps the operating system's reason in the
    # exception chain: that reason is what a person can act on.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            if cause.errno == errno.ECONNREFUSED:
                return "connection refused (is the server running?)"
            if cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                return "the network or host is unreachable"
            return cause.strerror or str(cause)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered:
        return (
            f"the TLS certificate could not be verified ({text}); "
            "set ca_bundle in the profile if the server uses a private CA"
        )
    if "refused" in lowered:
        return "connection refused (is the server running?)"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "getaddrinfo" in lowered
    ):
        return "the host name could not be resolved"
    if "unreachable" in lowered:
        return "the network is unreachable"
    return text


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return url or "the server"
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def _request_id(response: httpx.Response) -> str:
    return str(response.headers.get(REQUEST_ID_HEADER) or response.request.headers.get(REQUEST_ID_HEADER, ""))


def error_from_response(response: httpx.Response) -> ApiError:
    """An ApiError for an error response: problem details when the body has them, else a summary."""
    status = response.status_code
    request = response.request
    common: dict[str, Any] = {
        "status": status,
        "request_id": _request_id(response),
        "method": request.method,
        "url": safe_url(str(request.url)),
    }
    body: Any = None
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type.endswith("json") and response.content:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
    if isinstance(body, dict):
        if "title" in body or "detail" in body or content_type == "application/problem+json":
            known = {"type", "title", "status", "detail", "instance", "request_id"}
            return ApiError(
                title=_clip(str(body.get("title") or _reason(status))),
                detail=_clip(str(body.get("detail") or "")),
                type=str(body.get("type") or "about:blank"),
                instance=str(body.get("instance") or ""),
                extensions={k: v for k, v in body.items() if k not in known},
                **{**common, "request_id": str(body.get("request_id") or common["request_id"])},
            )
        if "error" in body:  # OAuth 2.0 (RFC 6749 section 5.2) style
            return ApiError(
                title=_clip(str(body.get("error"))),
                detail=_clip(str(body.get("error_description") or "")),
                **common,
            )
        if "message" in body or "detail" in body:
            return ApiError(
                title=_reason(status), detail=_clip(str(body.get("message") or body.get("detail"))), **common
            )
    return ApiError(title=_reason(status), detail=_summarize_body(response), **common)


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP error {status}"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SCRIPTS = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def _summarize_body(response: httpx.Response) -> str:
    """A short, printable account of a body that is not problem details (a proxy's HTML page, say)."""
    server = response.headers.get("server", "")
    via = f" (from {server})" if server else ""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return f"the server sent {len(response.content)} bytes that are not text{via}"
    if not text.strip():
        return f"the server sent an empty body{via}"
    content_type = response.headers.get("content-type", "")
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        match = _TITLE.search(text)
        if match:
            summary = _SPACE.sub(" ", html.unescape(_TAGS.sub("", match.group(1)))).strip()
        else:
            summary = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", _SCRIPTS.sub(" ", text)))).strip()
        return _clip(f"an HTML page{via}: {summary}" if summary else f"an HTML page{via}")
    return _clip(_SPACE.sub(" ", text).strip() + via)


def _clip(text: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
