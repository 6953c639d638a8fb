"""``/api/audit``: who changed what, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from .. import db, store
from ..tracing import span
from .common import ReadUsers, engine_of
from .models import SEARCH_PATTERN, AuditPage, problem_responses

router = APIRouter(prefix="/api")


@router.get(
    "/audit", response_model=AuditPage, tags=["audit"], responses=problem_responses(400, 401, 403, 422)
)
def list_audit(
    request: Request,
    caller: ReadUsers,
    limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]{1,18}$")] = None,
    target_id: Annotated[str | None, Query(max_length=100, pattern=SEARCH_PATTERN)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z]+\.[a-z]+$")] = None,
    actor: Annotated[str | None, Query(max_length=db.EMAIL_MAX, pattern=SEARCH_PATTERN)] = None,
) -> dict[str, Any]:
    """Who changed what, newest first (follow ``next_cursor`` for older entries)."""
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.reading(engine_of(request)) as conn,
    ):
        items, next_cursor = store.list_audit(
            conn, limit=limit, cursor=cursor, target_id=target_id, action=action, actor=actor
        )
    return {"items": items, "next_cursor": next_cursor}
