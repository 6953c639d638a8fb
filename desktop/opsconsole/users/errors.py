"""The users API's failures as the errors people act on: not found, refused, conflict.

Each is a :class:`net.ApiError` (so code that handles any API error still handles these), with the
contract's exit status: :class:`NotFound` 4, :class:`Refused` 3 (401/403, with the server's reason in
``why``), :class:`Conflict` 5. A conflict from a stale or missing ``If-Match`` (412, 428) carries
``current``, the record as the server holds it now, and ``attempted``, the change that was refused,
so a view can show theirs and yours side by side and nothing is overwritten silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from ..errors import OpsError
from ..net import ApiError

E = TypeVar("E", bound=ApiError)


@dataclass(eq=False)
class NotFound(ApiError):
    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 4


@dataclass(eq=False)
class Refused(ApiError):
    """The server refused: no valid token (401), or the token or the account may not do this (403)."""

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 3

    @property
    def why(self) -> str:
        """The server's own words for the refusal."""
        return self.detail or self.title


@dataclass(eq=False)
class Conflict(ApiError):
    """409 (duplicate, still in use, yourself), 412 (stale ETag) or 428 (no ETag sent)."""

    current: Any = None  # the User or Role as the server holds it now (412/428), when it could be read
    attempted: Mapping[str, Any] | None = None  # the change that was refused
    sent_etag: str | None = None

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 5

    @property
    def stale(self) -> bool:
        """The write was refused because of its version (the record changed, or no If-Match was sent)."""
        return self.status in (412, 428)


def convert(error: ApiError, kind: type[E], **extra: Any) -> E:
    """``error`` as an instance of the subclass ``kind``, with the same fields plus ``extra``."""
    values = {f.name: getattr(error, f.name) for f in fields(ApiError)}
    converted = kind(**values, **extra)
    converted.__cause__ = error.__cause__
    return converted


def specific(error: ApiError) -> ApiError:
    """The users feature's own error class for ``error``, by status; other statuses stay as they are."""
    if isinstance(error, NotFound | Refused | Conflict):
        return error
    if error.status in (404, 410):
        return convert(error, NotFound)
    if error.status in (401, 403):
        return convert(error, Refused)
    if error.status in (409, 412, 428):
        return convert(error, Conflict)
    return error


class MissingVersion(OpsError):
    """A write was asked for with a record that carries no ETag: the console never writes blindly."""
