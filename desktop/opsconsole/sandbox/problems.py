"""RFC 9457 problem details: the one error type the sandbox's API raises and the one shape it answers.

Store and API code raise :class:`ProblemError` (or a named subclass); app.py turns it, and every
framework error, into an ``application/problem+json`` response that carries the request id.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:opsconsole:problem:"

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def title_for(status: int) -> str:
    return _TITLES.get(status, "Error")


def type_for(status: int, slug: str | None = None) -> str:
    return TYPE_PREFIX + (slug or _SLUGS.get(status, "error"))


class ProblemError(Exception):
    """An error the client caused (or can act on), reported as problem details."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_for(status, slug)
        self.title = title or title_for(status)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, *, instance: str | None, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        if request_id is not None:
            body["request_id"] = request_id
        body.update(self.extra)
        return body


class NotFound(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


class Conflict(ProblemError):
    def __init__(self, detail: str, *, slug: str = "conflict") -> None:
        super().__init__(409, detail, slug=slug)


class InvalidInput(ProblemError):
    def __init__(self, detail: str, *, status: int = 422) -> None:
        super().__init__(status, detail)


class PreconditionRequired(ProblemError):
    def __init__(
        self, detail: str = "this request needs an If-Match header with the resource's ETag"
    ) -> None:
        super().__init__(428, detail)


class PreconditionFailed(ProblemError):
    def __init__(self, current_etag: str | None) -> None:
        detail = "the resource changed since you read it: fetch it again and retry with its new ETag"
        if current_etag is None:
            super().__init__(412, detail)
        else:
            super().__init__(412, detail, headers={"ETag": current_etag})


class Forbidden(ProblemError):
    def __init__(
        self, detail: str, *, slug: str = "forbidden", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(403, detail, slug=slug, headers=headers)


class Unauthorized(ProblemError):
    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        challenge = 'Bearer realm="opsconsole-sandbox"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(401, detail, headers={"WWW-Authenticate": challenge})
