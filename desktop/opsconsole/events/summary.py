"""One line of words for an event, as the feed, the CLI and desktop notifications show it.

Events carry what changed under a key naming the kind of thing (``user``, ``role``, ``alert``): the
line names it by what a person recognises (an email, a role's name, an alert's summary). Anything
else is shown as compact JSON, cut to a readable length.

Who made a change: the server sends ``actor`` (the account's email) and ``actor_id`` (its id, the
``sub`` of its tokens), and leaves the email out for a reader without read:users (a read:roles-only
reader still gets role events). The line then names the account by its id, shortened like a git hash:
"by user 3f2a9c1e"; :func:`actor_words` gives the whole id for a tooltip.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = ["actor_words", "printable", "short_id", "summarize", "target_of"]

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
    actor = actor_words(data)
    if actor:
        parts.append(actor)
    return _clip(" · ".join(parts))


def actor_words(data: dict[str, Any], *, full: bool = False) -> str:
    """Who made the change: "by <email>", else "by user <id>" (shortened unless ``full``), else ""."""
    actor = data.get("actor")
    # Printable like the id: a tooltip puts these words on a line of their own, where a line break or
    # an RTL override in the email would forge another line; nothing visible left is no email.
    email = printable(actor) if isinstance(actor, str) else ""
    if email:
        return f"by {email}"
    actor_id = data.get("actor_id")
    if isinstance(actor_id, bool) or not isinstance(actor_id, str | int):
        return ""  # absent, or a shape we do not know: better no words than "by user None"
    text = printable(str(actor_id))
    if not text:
        return ""
    return f"by user {text if full else short_id(text)}"


def short_id(text: str) -> str:
    """An id short enough for a list row: a UUID's first group, anything else cut to 12 characters."""
    try:
        return uuid.UUID(text).hex[:8]
    except ValueError:
        return text if len(text) <= 12 else text[:11] + "…"


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


def printable(text: str) -> str:
    """Server text made safe for a terminal or a list row: no control characters (an escape sequence in
    an event must not repaint someone's terminal), white space folded."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _clip(text: str) -> str:
    text = printable(text)
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"
