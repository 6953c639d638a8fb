"""net_aiohttp: an httpx client sending with aiohttp behaves as httpx's own does, against real sockets.

What callers rely on: the request as the client built it (query, body, headers from the event hooks,
credentials in the URL), the environment's proxies, the answer with its status, headers and decoded
body, redirects not followed, and every failure as the httpx exception ``net.network_error`` and the
metrics panels word, in httpx's words, with aiohttp's error kept as the cause; cancellation is not an
error, and a closed client leaves nothing open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import logging
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from opsconsole import net, net_aiohttp
from opsconsole.metrics import errors as metrics_errors
from opsconsole.net_aiohttp import AiohttpTransport
from tests.support.stub_http import DROP, HOLD, Reply, by_prefix, stub_server

ROUTES = {
    "/json": Reply(200, "application/json", b'{"status": "success"}', {"X-Extra": "yes"}),
    "/gzip": Reply(200, "text/plain", gzip.compress(b"x" * 10_000), {"Content-Encoding": "gzip"}),
    "/moved": Reply(302, "text/plain", b"", {"Location": "/json"}),
    "/bad": Reply(502, "text/html", b"<html><body>502 Bad Gateway</body></html>"),
    "/cookie": Reply(200, "text/plain", b"ok", {"X-Big": "c" * 10_000}),  # a gateway's large header
    "/hang": HOLD,
    "/drop": DROP,
}


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def sent_by_aiohttp(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the aiohttp transport sent (a request that went another way is not in it)."""
    urls: list[str] = []
    handle = AiohttpTransport.handle_async_request

    async def counting(self: AiohttpTransport, request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return await handle(self, request)

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", counting)
    return urls


@contextlib.asynccontextmanager
async def _client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with net_aiohttp.build_client(None, base_url=url) as client:
        yield client


def _aiohttp_cause(error: BaseException) -> bool:
    return isinstance(error.__cause__, aiohttp.ClientError)


async def test_a_request_and_its_answer_are_what_httpx_would_send_and_give(
    sent_by_aiohttp: list[str],
) -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            answer = await client.get("/json", params={"query": 'up{job="a b"}', "step": "15"})
            posted = await client.post("/json", content=b"query=up&step=15",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            bare = await client.post("/json", content=b"x")
    assert len(sent_by_aiohttp) == 3
    assert answer.status_code == 200 and answer.reason_phrase == "OK" and answer.http_version == "HTTP/1.0"
    assert answer.json() == {"status": "success"} and answer.headers["x-extra"] == "yes"
    sent = server.requests[0]
    assert sent.method == "GET" and sent.path == "/json?query=up%7Bjob%3D%22a+b%22%7D&step=15"
    assert sent.headers.get("User-Agent") == net.USER_AGENT
    assert sent.headers.get(net.REQUEST_ID_HEADER)  # the console's event hook ran
    assert posted.status_code == 200 and server.requests[1].body == b"query=up&step=15"
    assert server.requests[1].headers.get("Content-Type") == "application/x-www-form-urlencoded"
    assert bare.status_code == 200 and server.requests[2].headers.get("Content-Type") is None  # none added


async def test_credentials_in_the_url_are_sent_as_basic_auth() -> None:
    # The usual way to reach a Prometheus behind basic auth: aiohttp refuses them in the URL and a header.
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url.replace("http://", "http://user:pw@")) as client:
            answer = await client.get("/json")
    assert answer.status_code == 200
    assert server.requests[0].headers.get("Authorization") == "Basic dXNlcjpwdw=="


async def test_a_compressed_body_is_decoded_and_a_large_header_is_taken() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            answer = await client.get("/gzip")
            large = await client.get("/cookie")
    assert answer.content == b"x" * 10_000
    assert large.status_code == 200 and len(large.headers["x-big"]) == 10_000


async def test_redirects_and_error_statuses_come_back_as_answers() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            moved = await client.get("/moved")
            bad = await client.get("/bad")
    assert moved.status_code == 302 and moved.headers["location"] == "/json"
    assert len(server.requests) == 2  # not followed
    assert bad.status_code == 502 and b"Bad Gateway" in bad.content


async def test_the_environments_proxy_is_used_and_no_proxy_hosts_are_not(
    monkeypatch: pytest.MonkeyPatch, sent_by_aiohttp: list[str]
) -> None:
    # httpx mounts the environment's proxies only for its own transport: build_client mounts them.
    with stub_server(by_prefix({"": Reply(200, "application/json", b'{"via": "proxy"}')})) as proxy, \
            stub_server(by_prefix(ROUTES)) as origin:  # fmt: skip
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with _client("http://prometheus.corp.invalid:9090") as client:
            answer = await client.get("/api/v1/query", params={"query": "up"})
        assert answer.json() == {"via": "proxy"}
        assert proxy.requests[0].path == "http://prometheus.corp.invalid:9090/api/v1/query?query=up"
        assert sent_by_aiohttp == []  # through httpx's proxy transport
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with _client(origin.url) as client:
            assert (await client.get("/json")).status_code == 200
        assert len(proxy.requests) == 1 and len(origin.requests) == 1
        assert sent_by_aiohttp == [f"{origin.url}/json"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_reads_as_refused() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    async with _client(url) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("/json")
    assert _aiohttp_cause(caught.value)
    assert "refused" in str(net.network_error(caught.value, url)).lower()


async def test_no_answer_within_the_read_timeout_is_a_read_timeout() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await client.get("/hang", timeout=httpx.Timeout(0.3, connect=2.0))
    assert _aiohttp_cause(caught.value)
    panel = metrics_errors.from_transport(caught.value, f"{server.url}/hang", 0.3)
    assert panel.kind == "timeout" and panel.message == "No answer from 127.0.0.1 within 0.3 s (timed out)"


async def test_a_server_hanging_up_without_an_answer_is_a_broken_connection() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await client.get("/drop")
    assert _aiohttp_cause(caught.value)
    host = server.url.removeprefix("http://")
    assert str(net.network_error(caught.value, server.url)) == (
        f"The connection to {host} broke: the server closed the connection without answering"
    )


@contextlib.contextmanager
def _raw_server(answer: bytes) -> Iterator[str]:
    """A socket that answers any request with ``answer`` and hangs up: not HTTP at all."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "Bad status line"),  # another protocol on the port
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "closed before the whole answer arrived"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 1_000_000 + b"\r\n\r\n", "Got more than"),  # hostile
    ],
    ids=["not-http", "truncated-body", "huge-header"],
)
async def test_an_answer_that_is_not_http_is_a_protocol_error_in_words(answer: bytes, words: str) -> None:
    with _raw_server(answer) as url:
        async with _client(url) as client:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await client.get("/api/v1/query?query=up")
    assert _aiohttp_cause(caught.value)
    message = str(caught.value)
    assert words in message
    assert (
        "400" not in message and "query" not in message and "\n" not in message
    )  # no made-up status, no URL


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError(), httpx.ReadTimeout),
        (TimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ReadError),
        (aiohttp.InvalidURL("http://[::1"), httpx.UnsupportedProtocol),
        (aiohttp.NonHttpUrlClientError("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientError("other"), httpx.TransportError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_each_aiohttp_failure_has_its_httpx_type(error: Exception, kind: type[Exception]) -> None:
    mapped = net_aiohttp.httpx_error(error)
    assert mapped is not None and mapped[0] is kind
    assert net_aiohttp.httpx_error(ValueError("not aiohttp's")) is None


async def test_a_url_that_is_not_http_is_unsupported() -> None:
    async with _client("http://127.0.0.1:9") as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("ftp://127.0.0.1/metrics")


async def test_cancelling_a_request_is_not_an_error() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            task = asyncio.ensure_future(client.get("/hang"))
            await asyncio.to_thread(server.held.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await client.get("/json")).status_code == 200  # the client still works


async def test_a_closed_client_leaves_no_session_or_connection_open(caplog: pytest.LogCaptureFixture) -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        client = net_aiohttp.build_client(None, base_url=server.url)
        async with client.stream("GET", "/gzip") as partial:
            await partial.aiter_raw().__anext__()  # read in part, then left: released, not reused
        assert (await client.get("/json")).status_code == 200
        transport: Any = client._transport
        session = transport._session
        await client.aclose()
    assert session is not None and session.closed and transport._session is None
    with caplog.at_level(logging.WARNING):
        del client, transport, session
        gc.collect()
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate it signed for 127.0.0.1: (CA PEM, server certificate, server key)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
        .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(2).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@contextlib.contextmanager
def _tls_server(certificate: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on loopback answering every GET with 200 and ``{"ok": true}``."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


async def test_tls_is_verified_with_the_profiles_ca_bundle(tmp_path: Path) -> None:
    from opsconsole.config import Profile

    ca, certificate, key = _certificates(tmp_path)
    with _tls_server(certificate, key) as url:
        async with _client(url) as client:  # the system's trust store: the private CA unknown
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get("/")
        assert _aiohttp_cause(caught.value)
        assert "certificate verify failed" in str(net.network_error(caught.value, url))
        profile = Profile(name="p", api_url=url, issuer=url, client_id="x", ca_bundle=str(ca))
        async with net_aiohttp.build_client(profile, base_url=url) as client:  # the profile's ca_bundle
            assert (await client.get("/")).json() == {"ok": True}
