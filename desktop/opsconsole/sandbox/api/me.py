"""``/api/me``: the signed-in caller, its current permissions and the token's scopes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from .. import db, store
from ..tracing import span
from .common import AnyCaller, engine_of, remember, user_cache, with_etag
from .models import ETAG_HEADER, Me, problem_responses

router = APIRouter(prefix="/api")


@router.get(
    "/me",
    response_model=Me,
    tags=["me"],
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(401, 422)},
    summary="The caller",
)
def get_me(request: Request, response: Response, caller: AnyCaller) -> dict[str, Any]:
    """The signed-in user, what their roles allow now and what the token carries; any valid token."""
    with span("User Service", service="user-service"):
        with span("DB Query", service="user-service"), db.reading(engine_of(request)) as conn:
            record = store.get_user(conn, caller.id, user_cache(request))
        remember(request, record)
    with_etag(response, record.etag)  # the user's ETag, usable for If-Match on /api/users/{id}
    return {**record.data, "permissions": sorted(caller.permissions), "scopes": caller.scopes}
