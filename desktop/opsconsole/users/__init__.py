"""Users and roles, without Qt: the typed API client, and the building blocks the views and the CLI share.

Modules: parse (strict JSON readers), models (the records), errors (not found, refused, conflict),
client (the API over the session's httpx client, ETag/If-Match on every write), paging (the state of a
server-paged list), policy (may the signed-in user change this account, and why not), bulk (one action
over many users), export (CSV/JSON streamed page by page), commands (the ``users`` and ``roles`` CLI).
"""

from .client import UsersClient
from .errors import Conflict, MissingVersion, NotFound, Refused
from .models import (
    AuditEntry,
    AuditPage,
    EffectivePermission,
    EffectivePermissions,
    Me,
    Permission,
    Role,
    User,
    UserPage,
    UserQuery,
)

__all__ = [
    "AuditEntry",
    "AuditPage",
    "Conflict",
    "EffectivePermission",
    "EffectivePermissions",
    "Me",
    "MissingVersion",
    "NotFound",
    "Permission",
    "Refused",
    "Role",
    "User",
    "UserPage",
    "UserQuery",
    "UsersClient",
]
