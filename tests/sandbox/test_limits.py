"""Request bodies over a real socket: the 1 MiB (API) and 64 KiB (forms) limits, declared or streamed,
and the API's token checked before any body is read.

The oversized requests are written by hand on a socket: the test decides exactly how much of the body
goes out (nothing past the limit the server is expected to stop at), so the answer is read before the
server closes the connection, never lost to a reset.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from opsconsole.sandbox.limits import API_BODY_LIMIT, FORM_BODY_LIMIT
from opsconsole.sandbox.server import RunningSandbox
from tests.support.sandbox import ADMIN, bearer, obtain_tokens


def _raw(
    sb: RunningSandbox, head: str, chunks: Iterable[bytes] = ()
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send ``head`` (request line and headers) and ``chunks`` as chunked encoding; the parsed answer."""
    address = urlsplit(sb.url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        sock.sendall(head.strip("\n").replace("\n", "\r\n").encode() + b"\r\n\r\n")
        for chunk in chunks:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(body)


def _is_413(status: int, headers: dict[str, str], body: dict[str, Any], limit: int) -> None:
    assert status == 413, body
    assert headers["content-type"] == "application/problem+json"
    assert body["status"] == 413 and str(limit) in body["detail"]
    assert body["request_id"] == headers["x-request-id"]


@pytest.fixture
def admin(sandbox: RunningSandbox) -> dict[str, str]:
    return bearer(obtain_tokens(sandbox.url, ADMIN))


def _api_head(path: str, extra: str, token: str | None = None) -> str:
    auth = f"Authorization: Bearer {token}\n" if token else ""
    return f"POST {path} HTTP/1.1\nHost: sandbox\nContent-Type: application/json\n{auth}{extra}\n"


def test_a_declared_api_body_over_1_mib_is_refused_unread(sandbox: RunningSandbox) -> None:
    # Nothing of the body is sent: the answer must come from the headers alone, token or not.
    for token in (None, "not-a-token"):
        head = _api_head("/api/users", f"Content-Length: {API_BODY_LIMIT + 1}\n", token)
        _is_413(*_raw(sandbox, head), API_BODY_LIMIT)


def test_a_streamed_api_body_is_cut_off_at_1_mib(sandbox: RunningSandbox, admin: dict[str, str]) -> None:
    token = admin["Authorization"].split()[1]
    head = _api_head("/api/users", "Transfer-Encoding: chunked\n", token)
    chunk = b" " * 64 * 1024
    chunks = [chunk] * (API_BODY_LIMIT // len(chunk)) + [b"{"]  # one byte over, and no end chunk
    _is_413(*_raw(sandbox, head, chunks), API_BODY_LIMIT)


def test_a_streamed_body_without_a_token_is_refused_before_it_is_read(sandbox: RunningSandbox) -> None:
    # Only the headers go out: a server that waited for the body would never answer.
    status, headers, body = _raw(sandbox, _api_head("/api/users", "Transfer-Encoding: chunked\n"))
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    assert body["status"] == 401


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not.a.token"}], ids=["none", "bad"])
def test_the_token_is_checked_before_the_body_is_parsed(
    sandbox: RunningSandbox, headers: dict[str, str]
) -> None:
    response = httpx.post(
        f"{sandbox.url}/api/users",
        content=b"{this is not json",
        headers={**headers, "Content-Type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_form_posts_are_limited_to_64_kib(sandbox: RunningSandbox) -> None:
    form = "Content-Type: application/x-www-form-urlencoded\n"
    declared = f"POST /token HTTP/1.1\nHost: sandbox\n{form}Content-Length: {FORM_BODY_LIMIT + 1}\n"
    _is_413(*_raw(sandbox, declared), FORM_BODY_LIMIT)
    streamed = f"POST /authorize/login HTTP/1.1\nHost: sandbox\n{form}Transfer-Encoding: chunked\n"
    chunks = [b"a=" + b"x" * (FORM_BODY_LIMIT - 2), b"y"]
    _is_413(*_raw(sandbox, streamed, chunks), FORM_BODY_LIMIT)


def test_bodies_within_the_limits_still_work(sandbox: RunningSandbox, admin: dict[str, str]) -> None:
    padded = {"email": "padded@example.org", "name": "Padded", "password": "p" * 1000}
    made = httpx.post(f"{sandbox.url}/api/users", json=padded, headers=admin, timeout=20)
    assert made.status_code == 201, made.text
    form = httpx.post(
        f"{sandbox.url}/token", data={"grant_type": "password", "client_id": "opsconsole"}, timeout=20
    )
    assert form.status_code == 400 and form.json()["error"] == "unsupported_grant_type"
