"""The sandbox's REST API under ``/api``: users, roles, permissions, memberships, audit, and ``/api/me``.

Each endpoint checks the bearer token, the scope the endpoint needs in that token, and the caller's
current permissions in the database (the system's ``has_permission``), so revoking a role or disabling
an account takes effect on the next request, whatever tokens are out there. Changes are one
transaction with their audit row; after the commit they publish an event on ``app.state.bus``.

Resources carry ETags; PATCH, DELETE and PUT of role permissions need ``If-Match`` (428 without it,
412 when stale), and every other write honours it when given. Errors are RFC 9457 problem details,
and the response models are explicit so that ``/openapi.json`` describes what is really sent.

One module per resource (``me``, ``users``, ``roles``, ``audit``); ``common`` holds what they share
(the caller and its checks, ETags, events), ``models`` the wire formats.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import audit, me, roles, users
from .models import problem_media_types

__all__ = ["build_router", "problem_media_types"]


def build_router() -> APIRouter:
    """Every ``/api`` route, in the order the OpenAPI document lists them."""
    # Each module's router carries the /api prefix itself: FastAPI reports the route as its module
    # defined it, and the metrics label requests with that route's template (/api/users, not /users).
    router = APIRouter()
    for module in (me, users, roles, audit):
        router.include_router(module.router)
    return router
