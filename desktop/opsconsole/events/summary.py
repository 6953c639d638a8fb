"""One line of words for an event, as the feed, the CLI and desktop notifications show it.

Events carry what changed under a key naming the kind of thing (``user``, ``role``, ``alert``): the
line names it by what a person recognises (an email, a role's name, an alert's summary). Anything
else is shown as compact JSON, cut to a readable length.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["summarize", "target_of"]

_MAX = 160


def summarize(topic: str, data: dict[str, Any]) -> str:
    alert, user, role = data.get("alert"), data.get("user"), data.get("role")
    if alert is None and topic.startswith("alert.") and "summary" in data:
        alert = data  # an alert event may carry the alert itself as its data
    parts: list[str] = []
    if isinstance(alert, dict):
        parts.append(str(alert.get("summary") or alert.get("name") or alert.get("alert_id") or "alert"))
    if isinstance(user, dict):
        parts.append(f"user {user.get('email') or user.get('id') or '?'}")
    if isinstance(role, dict):
        parts.append(f"role {role.get('name') or '?'}")
    elif isinstance(role, str):
        parts.append(f"role {role}")
    if not parts:  # a shape we do not know: the data itself, compact
        parts.append(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str))
    actor = data.get("actor")
    if isinstance(actor, str) and actor:
        parts.append(f"by {actor}")
    return _clip(" · ".join(parts))


def target_of(data: dict[str, Any]) -> tuple[str, str] | None:
    """What an event is about, to open it: ("users", user id) or ("traces", trace id), else None."""
    user = data.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        return ("users", user["id"])
    for key in ("trace_id", "traceId"):
        if isinstance(data.get(key), str):
            return ("traces", data[key])
    alert = data.get("alert")
    if isinstance(alert, dict) and isinstance(alert.get("trace_id"), str):
        return ("traces", alert["trace_id"])
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"
