"""What a caller may read on the event stream: the REST API's read rules, per topic family.

A topic's family is its first word (`user.created` -> `user`). Each family the sandbox publishes names
the permission its REST reads need: `user.*` carries emails, names and roles like `GET /api/users`
(read:users), `role.*` carries what `GET /api/roles` shows (read:roles). `alert.*` is the synthetic
alert feed, which holds no account data: any signed-in account may read it, as the console's
notification pane shows alerts to everyone. A family listed nowhere is read by nobody, so a new kind
of event is private until someone decides who may see it. Some topics carry more than their family
suggests and need more (``TOPIC_EXTRAS``): ``role.granted`` and ``role.revoked`` hold the user's
record, so they need read:users as well. Some fields of an event's data name a person wherever they
appear (``FIELD_PERMISSIONS``): ``actor``, the email of whoever made the change, is account data like
``GET /api/audit`` shows (read:users), so a reader without read:users gets the event without it and
identifies the actor by ``actor_id`` (the account's id, the ``sub`` of its tokens) alone.

As in the REST API, a family needs its permission twice: in the access token's scopes (what the user
consented to give this client) and in the account's current roles (what the system allows now).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .events import Event, StreamItem, topic_matches

__all__ = ["FIELD_PERMISSIONS", "TOPIC_EXTRAS", "TOPIC_PERMISSIONS", "Screened", "StreamGrant"]

# family -> the permission reading it needs (None: any signed-in account).
TOPIC_PERMISSIONS: Final[Mapping[str, str | None]] = {
    "user": "read:users",
    "role": "read:roles",
    "alert": None,
}
# topic -> a permission it needs on top of its family's (the event's data says more than the family).
TOPIC_EXTRAS: Final[Mapping[str, str]] = {"role.granted": "read:users", "role.revoked": "read:users"}
# data field -> the permission seeing it needs, in any topic (the event is sent without it otherwise).
FIELD_PERMISSIONS: Final[Mapping[str, str]] = {"actor": "read:users"}


def family(topic_or_pattern: str) -> str:
    return topic_or_pattern.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Screened:
    """A subscription request after the check: the patterns kept, and what was refused or filtered."""

    topics: list[str]
    refused: list[dict[str, str]]
    filtered: list[dict[str, Any]]

    def as_message(self) -> dict[str, Any]:
        return {"refused": self.refused, "filtered": self.filtered}


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """The families one caller may read, judged from its token's scopes and its current permissions."""

    scopes: frozenset[str]
    permissions: frozenset[str]
    families: Mapping[str, str | None] = field(default_factory=lambda: TOPIC_PERMISSIONS)
    extras: Mapping[str, str] = field(default_factory=lambda: TOPIC_EXTRAS)
    fields: Mapping[str, str] = field(default_factory=lambda: FIELD_PERMISSIONS)

    @classmethod
    def of(cls, claims: Mapping[str, Any], permissions: Iterable[str]) -> StreamGrant:
        return cls(frozenset(claims.get("scopes") or ()), frozenset(permissions))

    def refusal(self, name: str) -> str | None:
        """Why the family or topic ``name`` may not be read, or None when it may."""
        first = family(name)
        if first not in self.families:
            return f"the stream has no topic family {first!r} (it has {', '.join(sorted(self.families))})"
        for what, needed in ((f"{first}.*", self.families[first]), (name, self.extras.get(name))):
            if needed is None:
                continue
            if needed not in self.scopes:
                return f"{what} needs {needed}: the access token lacks that scope"
            if needed not in self.permissions:
                return f"{what} needs {needed}: your roles do not (or no longer) grant it"
        return None

    def allows(self, topic: str) -> bool:
        return self.refusal(topic) is None

    def hidden_fields(self) -> frozenset[str]:
        """The event data fields this caller may not see (``FIELD_PERMISSIONS``)."""
        return frozenset(
            name for name, needed in self.fields.items() if needed not in self.scopes & self.permissions
        )

    def wire(self, item: StreamItem, hidden: frozenset[str] | None = None) -> str:
        """``item`` as this caller receives it: an event without its ``hidden`` fields (default: computed)."""
        if not isinstance(item, Event):
            return item.json
        hidden = self.hidden_fields() if hidden is None else hidden
        return item.without(hidden).json if hidden else item.json

    def reach(self, pattern: str) -> list[str]:
        """What a pattern can match, as families and the topics with extra needs it matches.

        A pattern without wildcards reaches just its topic; a wildcard first word reaches every family.
        """
        if "*" not in pattern and "#" not in pattern:
            return [pattern]
        first = family(pattern)
        families = sorted(self.families) if first in ("*", "#") else [first]
        return families + sorted(t for t in self.extras if topic_matches(pattern, t))

    def screen(self, patterns: Sequence[str]) -> Screened:
        """Drop the patterns that reach only refused families; name the families withheld from the rest."""
        topics: list[str] = []
        refused: list[dict[str, str]] = []
        filtered: list[dict[str, Any]] = []
        for pattern in patterns:
            reached = self.reach(pattern)
            reasons = {name: why for name in reached if (why := self.refusal(name)) is not None}
            # Refused when no family it reaches is readable (a topic with extra needs is never
            # readable where its family is not).
            if all(name in reasons for name in reached if name in self.families or name == pattern):
                refused.append({"topic": pattern, "reason": "; ".join(reasons.values())})
                continue
            topics.append(pattern)
            if reasons:
                filtered.append(
                    {"topic": pattern, "withheld": sorted(reasons), "reason": "; ".join(reasons.values())}
                )
        return Screened(topics, refused, filtered)

    def lost(self, since: StreamGrant, patterns: Sequence[str]) -> str | None:
        """Why ``patterns``, readable under ``since``, are no longer (all) readable under this grant."""
        for pattern in patterns:
            for name in self.reach(pattern):
                if since.refusal(name) is None and (why := self.refusal(name)) is not None:
                    return why
        return None
