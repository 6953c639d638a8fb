"""Request bodies: a size limit enforced as bytes arrive, and the API's token checked before any body.

Without it a 150 MB body was read whole (and parsed as JSON) before the handler could answer 401.
``BodyLimitMiddleware`` is plain ASGI and sits in front of routing:

- a declared ``Content-Length`` over the limit is answered 413 at once, nothing read;
- otherwise the body is counted as it arrives, and the chunk that crosses the limit raises
  :class:`BodyTooLarge` (a 413 ``HTTPException``, which FastAPI's body reading passes through and the
  app renders as a problem document), so a chunked body never gets further than the limit either;
- a request to ``/api`` that carries a body must present a valid bearer token first (401 otherwise),
  so that nobody without one gets the server to read, let alone parse, what they sent.

The API takes JSON documents of a few kilobytes: ``API_BODY_LIMIT`` (1 MiB) leaves ample room. Every
other path (the OAuth forms, the Jaeger and metrics endpoints, which take no bodies at all) gets the
smaller ``FORM_BODY_LIMIT`` (64 KiB): a login or token form is well under a kilobyte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PROBLEM_MEDIA_TYPE, ProblemError, Unauthorized

__all__ = ["API_BODY_LIMIT", "FORM_BODY_LIMIT", "BodyLimitMiddleware", "BodyTooLarge", "body_limit"]

API_BODY_LIMIT: Final = 1024 * 1024
FORM_BODY_LIMIT: Final = 64 * 1024
_API_PREFIX: Final = "/api/"


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    return API_BODY_LIMIT if path.startswith(_API_PREFIX) else FORM_BODY_LIMIT


def _too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit} bytes for this endpoint"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` by the chunk that takes a streamed body over its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit), headers={"Connection": "close"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if not auth:
        return None
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class BodyLimitMiddleware:
    """Refuse oversized bodies (413) and tokenless API bodies (401) before routing; see the module doc.

    ``verify`` checks an access token (raises ``ValueError``); None takes ``app.state.verify_access_token``
    at request time.
    """

    def __init__(self, app: ASGIApp, verify: Callable[[str], Mapping[str, Any]] | None = None) -> None:
        self.app = app
        self.verify = verify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = body_limit(path)
        length = _header(scope, b"content-length")
        chunked = "chunked" in (_header(scope, b"transfer-encoding") or "").lower()
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                await _answer(scope, send, ProblemError(400, "Content-Length is not a number"))
                return
            if int(length) > limit:
                await _answer(
                    scope, send, ProblemError(413, _too_large(limit), headers={"Connection": "close"})
                )
                return
        has_body = chunked or (length is not None and int(length) > 0)
        if has_body and path.startswith(_API_PREFIX):
            refusal = await self._check_token(scope)
            if refusal is not None:
                await _answer(scope, send, refusal)
                return

        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # The app let it escape (FastAPI's routes turn it into a 413 themselves): answer here.
            if started:
                raise
            await _answer(scope, send, ProblemError(413, _too_large(limit), headers={"Connection": "close"}))

    async def _check_token(self, scope: Scope) -> ProblemError | None:
        token = _bearer(scope)
        if token is None:
            return Unauthorized("an access token is required (Authorization: Bearer ...)", error=None)
        verify = self.verify or scope["app"].state.verify_access_token
        try:
            # The check may read the database (revocation), so it runs off the event loop.
            await run_in_threadpool(verify, token)
        except ValueError as exc:
            return Unauthorized(str(exc))
        return None


async def _answer(scope: Scope, send: Send, problem: ProblemError) -> None:
    request_id = scope.get("state", {}).get("request_id")
    body = json.dumps(problem.body(instance=scope.get("path"), request_id=request_id)).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
