"""An httpx client that sends with aiohttp: for the Metrics page's many small requests.

Why: a dashboard refresh is nine concurrent requests (eight panels and the alerts) to one Prometheus,
every few seconds. httpx's own transport (httpcore on anyio, h11) spends about 1.3 ms of CPU on each,
in Python: its connection pool checks every idle connection's socket on every request, and anyio adds
a layer to every read. aiohttp does the same work in about a third of that (its HTTP parser and its
connection pool are C extensions): 8 small concurrent requests to a local server took 10.8 ms of CPU
with httpx's transport and 4.2 ms with this one (the thread's CPU clock), and an incremental dashboard
refresh went from 1.22x to 1.09x of bare pyqtgraph's drawing (bench/metrics_gui.py, docs/metrics.md).
On the bridge's thread that CPU is held under the interpreter lock: time the GUI thread cannot paint.

:func:`build_client` gives an ``httpx.AsyncClient`` like ``net.build_client``'s: its timeouts, event
hooks, auth, cookies, content decoding, redirects (not followed) and the exceptions callers catch and
word (``net.network_error``, ``metrics.errors``) are httpx's. Only the wire is aiohttp's, with what
httpx would do kept where the two differ:

- proxies: httpx mounts the environment's (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) only when it makes its
  own transport, so :func:`build_client` mounts them as httpx would: a proxied URL goes through an
  httpx transport, everything else through this one;
- credentials in the URL (``https://user:pass@prometheus``): httpx turns them into an Authorization
  header and keeps them in the URL, which aiohttp refuses; they are taken out of the URL it gets;
- limits on answers' headers as large as httpcore's (aiohttp's defaults, 8 KiB a line and 128 headers,
  failed every panel behind a gateway that sets a large cookie);
- failures: aiohttp's exceptions become the httpx exception a caller expects, with a message in the
  words httpx uses (no request URL in it: a panel has room for 240 characters and already shows its
  query) and the original as ``__cause__`` (the operating system's reason for a refused connection
  and a certificate's verification error are found there).

aiohttp is imported on the first request, on the bridge's thread: the import takes about 140 ms (most
of it building its default TLS contexts), which the GUI thread and the pages that never ask do not pay.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import httpx

from . import net
from .config import Profile

if TYPE_CHECKING:
    import aiohttp

CHUNK = 64 * 1024
MAX_HEADER_LINE = 32 * 1024  # bytes of one header line of an answer (aiohttp's default: 8,190)
MAX_HEADERS = 256  # headers in an answer (aiohttp's default: 128)


def build_client(profile: Profile | None, *, base_url: str) -> httpx.AsyncClient:
    """``net.build_client(profile, base_url=...)``, sending with :class:`AiohttpTransport` except where
    the environment names a proxy for the URL (module doc)."""
    context = net.ssl_context(profile.ca_bundle if profile else "")
    # httpx's own reading of the environment (private, but what httpx itself does with trust_env; the
    # proxy tests in tests/unit/test_net_aiohttp.py fail if it changes): a pattern to a proxy URL, or
    # to None for a NO_PROXY host, which then goes through the client's transport, this one.
    from httpx._utils import get_environment_proxies

    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        pattern: None if proxy is None else httpx.AsyncHTTPTransport(proxy=proxy, verify=context)
        for pattern, proxy in get_environment_proxies().items()
    }
    return net.build_client(profile, base_url=base_url, transport=AiohttpTransport(context), mounts=mounts)


def _aiohttp() -> ModuleType:
    import aiohttp  # about 140 ms the first time: see the module doc

    return aiohttp


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends an httpx client's requests with one ``aiohttp.ClientSession``, made on first use on the
    running loop; ``ssl_context`` verifies servers (the console's trust store, ``net.ssl_context``)."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            aiohttp = _aiohttp()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
                trust_env=False,  # proxies are httpx's (module doc)
                skip_auto_headers=("Content-Type",),  # none where httpx sent none
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
                max_headers=MAX_HEADERS,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        url = request.url.copy_with(userinfo=b"") if request.url.userinfo else request.url
        with _as_httpx_errors(request):
            session = self._client()
            try:
                response = await session.request(
                    request.method,
                    str(url),
                    headers=[
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in request.headers.raw
                    ],
                    data=body or None,
                    allow_redirects=False,
                    timeout=_aiohttp().ClientTimeout(
                        # Reaching the server (DNS, TCP, TLS; and a free connection of the pool) within
                        # httpx's connect timeout, then each read within its read timeout.
                        connect=timeout.get("connect"),
                        sock_connect=timeout.get("connect"),
                        sock_read=timeout.get("read"),
                    ),
                    server_hostname=request.extensions.get("sni_hostname"),
                )
            except ValueError as error:
                if isinstance(error, _aiohttp().ClientError):
                    raise  # InvalidURL: worded by _as_httpx_errors
                # A request aiohttp will not send, though httpx would: never seen since the userinfo
                # is taken out of the URL, and worded as httpx's own refusal if it happens.
                raise httpx.LocalProtocolError(str(error), request=request) from error
        version = response.version
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode() if version else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
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
        mapped = httpx_error(error)
        if mapped is None:
            raise
        kind, message = mapped
        raise kind(message, request=request) from error


def httpx_error(error: Exception) -> tuple[type[httpx.TransportError], str] | None:
    """The httpx exception type for one of aiohttp's, and its message; None when it is not aiohttp's."""
    aiohttp = _aiohttp()
    # The most specific first: aiohttp's connect timeout is also a server timeout and a connection error.
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout, "timed out connecting"
    if isinstance(error, (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, TimeoutError)):
        return httpx.ReadTimeout, "timed out waiting for the answer"
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, no route, name unknown, TLS refused
        reason = getattr(error, "os_error", None)  # a certificate error has none: its text says why
        return httpx.ConnectError, str(reason or error)
    if isinstance(error, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError, "the connection closed before the whole answer arrived"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError, "the server closed the connection without answering"
    if isinstance(error, aiohttp.ClientResponseError):  # an answer that is not HTTP (a bad status line)
        return httpx.RemoteProtocolError, (error.message or "not an HTTP answer").splitlines()[0]
    if isinstance(error, (aiohttp.ClientConnectionResetError, aiohttp.ClientOSError)):
        return httpx.ReadError, str(error)  # reset by the peer while reading or writing
    if isinstance(error, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return httpx.UnsupportedProtocol, str(error)
    if isinstance(error, aiohttp.ClientError):
        return httpx.TransportError, str(error)
    return None
