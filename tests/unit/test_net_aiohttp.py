"""net_aiohttp: an httpx client sending with aiohttp behaves as httpx's own does, against real sockets.

What callers rely on: the request as the client built it (query, body, headers from the event hooks),
the answer with its status, headers and decoded body, redirects not followed, and every failure as
the httpx exception ``net.network_error`` and the metrics panels word (the aiohttp error kept as the
cause); cancellation is not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsconsole import net
from opsconsole.metrics import errors as metrics_errors
from opsconsole.net_aiohttp import AiohttpTransport
from tests.support.stub_http import DROP, HOLD, Reply, by_prefix, stub_server


def _client(url: str, **kwargs: object) -> httpx.AsyncClient:
    return net.build_client(None, base_url=url, transport=AiohttpTransport(net.ssl_context()), **kwargs)  # type: ignore[arg-type]


ROUTES = {
    "/json": Reply(200, "application/json", b'{"status": "success"}', {"X-Extra": "yes"}),
    "/gzip": Reply(200, "text/plain", gzip.compress(b"x" * 10_000), {"Content-Encoding": "gzip"}),
    "/moved": Reply(302, "text/plain", b"", {"Location": "/json"}),
    "/bad": Reply(502, "text/html", b"<html><body>502 Bad Gateway</body></html>"),
    "/hang": HOLD,
    "/drop": DROP,
}


async def test_a_request_and_its_answer_are_what_httpx_would_send_and_give() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            answer = await client.get("/json", params={"query": 'up{job="a b"}', "step": "15"})
            posted = await client.post("/json", content=b"query=up&step=15",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 200 and answer.reason_phrase == "OK"
    assert answer.json() == {"status": "success"} and answer.headers["x-extra"] == "yes"
    sent = server.requests[0]
    assert sent.method == "GET" and sent.path == "/json?query=up%7Bjob%3D%22a+b%22%7D&step=15"
    assert sent.headers.get("User-Agent") == net.USER_AGENT
    assert sent.headers.get(net.REQUEST_ID_HEADER)  # the console's event hook ran
    assert posted.status_code == 200 and server.requests[1].body == b"query=up&step=15"
    assert server.requests[1].headers.get("Content-Type") == "application/x-www-form-urlencoded"


async def test_a_compressed_body_is_decoded_by_httpx() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            answer = await client.get("/gzip")
    assert answer.content == b"x" * 10_000


async def test_redirects_and_error_statuses_come_back_as_answers() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            moved = await client.get("/moved")
            bad = await client.get("/bad")
    assert moved.status_code == 302 and moved.headers["location"] == "/json"
    assert len(server.requests) == 2  # not followed
    assert bad.status_code == 502 and b"Bad Gateway" in bad.content


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_reads_as_refused() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    async with _client(url) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("/json")
    assert "refused" in str(net.network_error(caught.value, url)).lower()


async def test_no_answer_within_the_read_timeout_is_a_read_timeout() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url, timeout=httpx.Timeout(0.3, connect=2.0)) as client:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await client.get("/hang")
    panel = metrics_errors.from_transport(caught.value, f"{server.url}/hang", 0.3)
    assert panel.kind == "timeout" and "timed out" in panel.message


async def test_a_server_hanging_up_without_an_answer_is_a_broken_connection() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as caught:
                await client.get("/drop")
    assert "Could not connect" not in str(net.network_error(caught.value, server.url))


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
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",  # another protocol on the port
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",  # the body cut short
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n",  # a hostile header
    ],
    ids=["not-http", "truncated-body", "huge-header"],
)
async def test_an_answer_that_is_not_http_is_a_protocol_error(answer: bytes) -> None:
    with _raw_server(answer) as url:
        async with _client(url) as client:
            with pytest.raises(httpx.TransportError) as caught:
                await client.get("/x")
    assert isinstance(caught.value, (httpx.RemoteProtocolError, httpx.ReadError))
    assert caught.value.__cause__ is not None  # aiohttp's own error, for the log


async def test_cancelling_a_request_is_not_an_error() -> None:
    with stub_server(by_prefix(ROUTES)) as server:
        async with _client(server.url) as client:
            task = asyncio.ensure_future(client.get("/hang"))
            await asyncio.to_thread(server.held.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await client.get("/json")).status_code == 200  # the client still works


async def test_a_client_closed_before_any_request_closes_cleanly() -> None:
    client = _client("http://127.0.0.1:9")
    await client.aclose()


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
    ca, certificate, key = _certificates(tmp_path)
    with _tls_server(certificate, key) as url:
        transport = AiohttpTransport(net.ssl_context())  # the system's trust store: the private CA unknown
        async with net.build_client(None, base_url=url, transport=transport) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get("/")
        assert "certificate verify failed" in str(net.network_error(caught.value, url))
        transport = AiohttpTransport(net.ssl_context(str(ca)))  # a profile's ca_bundle
        async with net.build_client(None, base_url=url, transport=transport) as client:
            assert (await client.get("/")).json() == {"ok": True}
