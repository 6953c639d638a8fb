"""The auth hook every feature's HTTP requests go through: an ``httpx.Auth`` for net.build_client.

Each request gets ``Authorization: Bearer <token>`` from the session, which refreshes the token first
when it is about to expire. When the API still answers 401, the session refreshes once (telling it
which token was refused, so concurrent 401s share one refresh) and the request is sent again; a second
401 is returned as it is, for the caller's error handling. Tokens are only sent over https, or plain
http to this machine's loopback (RFC 6750 5.3).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import httpx

from .discovery import require_secure_url

if TYPE_CHECKING:
    from .session import Session


class BearerAuth(httpx.Auth):
    """Adds the session's access token; refreshes before expiry and once after a 401, then retries."""

    # The body is read before sending, so the request can be sent a second time after a refresh.
    requires_request_body = True

    def __init__(self, session: Session) -> None:
        self.session = session

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("the console's sign-in works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        require_secure_url(str(request.url), "API address")
        token = await self.session.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        fresh = await self.session.refresh(rejected=token)
        if fresh.access_token == token:
            return  # nothing better to offer: the caller sees the 401
        request.headers["Authorization"] = f"Bearer {fresh.access_token}"
        yield request
