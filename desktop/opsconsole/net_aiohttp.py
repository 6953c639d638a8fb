"""An httpx transport that sends its requests with aiohttp: for clients that make many small requests.

Why: a dashboard refresh is nine concurrent requests (eight panels and the alerts) to one Prometheus,
every few seconds. httpx's own transport (httpcore on anyio, h11) spends about 1.3 ms of CPU on each,
in Python: its connection pool checks every idle connection's socket on every request, and anyio adds
a layer to every read. aiohttp does the same work in about a third of that (its HTTP parser and its
connection pool are C extensions; measured on the bridge's thread for a refresh: 24 ms of CPU with
httpx's transport, 13 ms with this one, bench/metrics_gui.py). On the bridge's thread that CPU is
held under the interpreter lock, so it is time the GUI thread cannot paint.

The client stays an ``httpx.AsyncClient`` (:func:`opsconsole.net.build_client` with this transport):
its timeouts, redirects (not followed), auth, event hooks, cookies, content decoding, and the
exceptions callers catch and word (``net.network_error``) are httpx's. Only the wire is aiohttp's:
this module maps aiohttp's failures onto httpx's exception types, keeping the original as the cause
(the operating system's reason for a refused connection and a certificate's verification error are
found there). A URL that goes through a proxy from the environment is not sent here: httpx mounts
its own transport for proxied URLs.

Importing aiohttp takes about 140 ms (most of it building its default TLS contexts): import this
module where it is needed (the Metrics page's source), not at start-up.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx

CHUNK = 64 * 1024


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends an httpx client's requests with one ``aiohttp.ClientSession``, made on first use on the
    running loop; ``ssl_context`` verifies servers (the console's trust store, ``net.ssl_context``)."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
                trust_env=False,  # proxies are httpx's (module doc)
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _as_httpx_errors(request):
            response = await self._client().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    connect=timeout.get("pool"),  # a free connection (aiohttp counts its connecting in it)
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk

    async def aclose(self) -> None:
        # The connection goes back to the pool when the body was read whole; aiohttp closes it otherwise.
        self._response.release()


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raises aiohttp's failures as the httpx exception a caller of httpx expects, the original kept
    as ``__cause__``. Cancellation and anything that is not aiohttp's pass through untouched."""
    try:
        yield
    except Exception as error:
        mapped = _httpx_type(error)
        if mapped is None:
            raise
        raise mapped(str(error) or type(error).__name__, request=request) from error


def _httpx_type(error: Exception) -> type[httpx.TransportError] | None:
    # The most specific first: aiohttp's connect timeout is also a server timeout and a connection error.
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(error, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout
    if isinstance(error, (aiohttp.ServerTimeoutError, TimeoutError)):
        return httpx.ReadTimeout
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, no route, name unknown, TLS refused
        return httpx.ConnectError
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError
    if isinstance(error, aiohttp.ClientResponseError):  # an answer that is not HTTP (a bad status line)
        return httpx.RemoteProtocolError
    if isinstance(error, aiohttp.ClientOSError):  # reset by the peer while reading or writing
        return httpx.ReadError
    if isinstance(error, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    if isinstance(error, aiohttp.ClientError):
        return httpx.TransportError
    return None
