"""net.py against a real HTTP server on loopback: problem details, proxies' HTML pages, dead servers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import httpx
import pytest

from opsconsole import __version__, config, net
from opsconsole.errors import OpsError
from tests.support.stub_http import DROP, Answer, Reply, StubServer, by_prefix, stub_server


@dataclass
class Scripted:
    """The stub server and its answers by path (prefix); ``seen`` holds the request headers it got."""

    stub: StubServer
    routes: dict[str, Answer]

    @property
    def url(self) -> str:
        return self.stub.url

    @property
    def seen(self) -> list[Message]:
        return [request.headers for request in self.stub.requests]

    def route(
        self, path: str, status: int, body: Any, content_type: str = "application/json", **headers: str
    ) -> None:
        raw = (
            body
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        self.routes[path] = Reply(status, content_type, raw, headers)


@pytest.fixture
def server() -> Iterator[Scripted]:
    routes: dict[str, Answer] = {"/hang-up": DROP}
    with stub_server(by_prefix(routes), server_header="test-server") as stub:
        yield Scripted(stub, routes)


def profile(url: str, **kw: Any) -> config.Profile:
    return config.Profile(name="t", api_url=url, issuer=url, client_id="opsconsole", **kw)


async def test_success_decodes_json_and_stamps_identity(server: Scripted) -> None:
    server.route("/users", 200, {"items": []})
    async with net.build_client(profile(server.url)) as client:
        assert await net.request_json(client, "GET", "/users") == {"items": []}
    [headers] = server.seen
    assert headers["User-Agent"].startswith(f"opsconsole/{__version__} ")
    assert len(headers["X-Request-ID"]) == 32


async def test_problem_details_become_one_typed_error(server: Scripted) -> None:
    server.route(
        "/users/1",
        412,
        {
            "type": "https://example/problems/stale",
            "title": "Precondition Failed",
            "status": 412,
            "detail": "the user changed since you loaded it",
            "request_id": "req-42",
            "current_etag": '"v7"',
        },
        content_type="application/problem+json",
    )
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.ApiError) as info:
            await net.request(client, "GET", "/users/1")
    err = info.value
    assert (err.status, err.title, err.detail, err.request_id) == (
        412,
        "Precondition Failed",
        "the user changed since you loaded it",
        "req-42",
    )
    assert err.type == "https://example/problems/stale"
    assert err.extensions == {"current_etag": '"v7"'}
    assert err.is_conflict and err.exit_code == 5
    assert str(err) == "Precondition Failed (HTTP 412): the user changed since you loaded it [request req-42]"
    assert isinstance(err, OpsError)


@pytest.mark.parametrize(("status", "code"), [(401, 3), (403, 3), (404, 4), (409, 5), (500, 1), (503, 1)])
async def test_exit_codes_follow_the_contract(server: Scripted, status: int, code: int) -> None:
    server.route("/x", status, {"title": "t", "status": status}, content_type="application/problem+json")
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.ApiError) as info:
            await net.request(client, "GET", "/x")
    assert info.value.exit_code == code


async def test_a_proxys_html_page_gives_a_readable_error(server: Scripted) -> None:
    page = (
        "<!DOCTYPE html><html><head><style>body{color:red}</style><title>502 Bad Gateway</title></head>"
        "<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
        "<script>track()</script></body></html>"
    )
    server.route("/users", 502, page, content_type="text/html; charset=utf-8", Server="squid/5.7")
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.ApiError) as info:
            await net.request(client, "GET", "/users")
    message = str(info.value)
    assert message.startswith("Bad Gateway (HTTP 502): an HTML page (from squid/5.7): 502 Bad Gateway")
    assert "<" not in message and "track()" not in message
    assert len(info.value.detail) <= 300


async def test_html_without_a_title_is_summarised_as_text(server: Scripted) -> None:
    server.route(
        "/x", 503, "<html><body><p>Maintenance   until\n 04:00</p></body></html>", content_type="text/html"
    )
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.ApiError, match=r"an HTML page \(from test-server\): Maintenance until 04:00"):
            await net.request(client, "GET", "/x")


async def test_oauth_style_errors_and_plain_text_and_empty_bodies(server: Scripted) -> None:
    server.route("/token", 400, {"error": "invalid_grant", "error_description": "refresh token reused"})
    server.route("/plain", 500, "Internal Server Error\x00\x1b[31m", content_type="text/plain")
    server.route("/empty", 500, b"", content_type="text/plain")
    server.route("/binary", 500, b"\xff\xfe\xfd", content_type="application/octet-stream")
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.ApiError, match=r"invalid_grant .HTTP 400.: refresh token reused"):
            await net.request(client, "GET", "/token")
        with pytest.raises(net.ApiError) as info:
            await net.request(client, "GET", "/plain")
        assert "\x1b" not in str(info.value) and "\x00" not in str(info.value)
        with pytest.raises(net.ApiError, match="empty body"):
            await net.request(client, "GET", "/empty")
        with pytest.raises(net.ApiError, match="Internal Server Error"):
            await net.request(client, "GET", "/binary")


async def test_a_success_that_is_not_json_is_malformed(server: Scripted) -> None:
    server.route("/users", 200, "<html><title>Sign in to Corp SSO</title></html>", content_type="text/html")
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.MalformedResponse, match=r"not JSON.*Sign in to Corp SSO"):
            await net.request_json(client, "GET", "/users")


async def test_an_unreachable_server_is_a_network_error_with_the_host() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with net.build_client(profile(url)) as client:
        with pytest.raises(net.NetworkError) as info:
            await net.request(client, "GET", "/users")
    assert (
        str(info.value)
        == f"Could not connect to 127.0.0.1:{port}: connection refused (is the server running?)"
    )
    assert info.value.exit_code == 1


async def test_a_dropped_connection_is_a_network_error(server: Scripted) -> None:
    async with net.build_client(profile(server.url)) as client:
        with pytest.raises(net.NetworkError, match=r"connection to 127\.0\.0\.1:.* broke"):
            await net.request(client, "GET", "/hang-up")


async def test_a_read_timeout_is_reported_as_such() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts the connection but never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        async with net.build_client(profile(url), timeout=httpx.Timeout(0.3)) as client:
            with pytest.raises(net.NetworkError, match="did not answer in time"):
                await net.request(client, "GET", "/slow")
    finally:
        listener.close()


async def test_proxy_variables_are_honoured(server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    # The scripted server plays the proxy: an absolute-form request arrives at it.
    server.route("http://api.example.invalid/users", 200, {"via": "proxy"})
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with net.build_client(profile("http://api.example.invalid")) as client:
        assert await net.request_json(client, "GET", "/users") == {"via": "proxy"}


async def test_the_sign_in_client_is_built_with_the_same_settings(
    server: Scripted, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """authlib's OAuth client (the sign-in's protocol steps) goes through the proxy, with our identity."""
    from opsconsole.auth.flow import oauth_client

    where = "http://idp.example.invalid/.well-known/openid-configuration"
    server.route(where, 200, {"via": "proxy"})
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with oauth_client(profile("http://idp.example.invalid")) as client:
        assert (await client.get(where)).json() == {"via": "proxy"}
    [headers] = server.seen
    assert headers["User-Agent"].startswith(f"opsconsole/{__version__} ")
    assert len(headers["X-Request-ID"]) == 32 and "Authorization" not in headers
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(Exception, match=r"(?i)pem|no certificate|x509"):
        oauth_client(profile(server.url, ca_bundle=str(bad)))  # the profile's CA bundle is loaded too


async def test_auth_hook_slot_is_used_for_every_request(server: Scripted) -> None:
    class Stamp(httpx.Auth):
        def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
            request.headers["Authorization"] = "Bearer test-token"
            yield request

    server.route("/me", 200, {})
    async with net.build_client(profile(server.url), auth=Stamp()) as client:
        await net.request(client, "GET", "/me")
    assert server.seen[0]["Authorization"] == "Bearer test-token"


def test_ca_bundle_is_loaded_into_the_context(tmp_path: Any) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(Exception, match=r"(?i)pem|no certificate|x509"):
        net.ssl_context(str(bad))
    assert net.ssl_context("").verify_mode.name == "CERT_REQUIRED"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/cb?code=abc&state=xyz", "http://h/cb?code=***&state=***"),
        ("https://u:p@h:8443/x?access_token=t&keep=1", "https://***@h:8443/x?access_token=***&keep=1"),
        ("http://h/users?search=bob", "http://h/users?search=bob"),
    ],
)
def test_safe_url_masks_secrets(url: str, expected: str) -> None:
    assert net.safe_url(url) == expected
