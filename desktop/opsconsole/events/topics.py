"""Topic patterns as a topic exchange routes them (AMQP): words separated by dots, ``*`` matches
exactly one word, ``#`` matches zero or more.

The server filters what it sends by the subscription; the client uses the same rules for its own
view filters (the Notifications page's topic box, desktop notifications for chosen topics), so that
``user.*`` means the same thing on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["TopicFilter", "topic_matches", "validate_pattern"]

_WORD = re.compile(r"[A-Za-z0-9_\-]+")


def validate_pattern(pattern: str) -> str:
    """The pattern, stripped; raises ValueError naming what is wrong with it."""
    text = pattern.strip()
    if not text:
        raise ValueError("a topic pattern is empty")
    for word in text.split("."):
        if word not in ("*", "#") and not _WORD.fullmatch(word):
            raise ValueError(
                f"topic pattern {pattern!r}: {word!r} is not a word, '*' (one word) or '#' (any words)"
            )
    return text


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` (e.g. ``user.created``) is routed to ``pattern`` (e.g. ``user.*``)."""
    return _words_match(tuple(validate_pattern(pattern).split(".")), topic.split("."))


def _words_match(pattern: tuple[str, ...], words: list[str]) -> bool:
    # reach[j]: the pattern words so far can consume exactly the first j topic words. One pass per
    # pattern word keeps this linear in both, where a regex with several '#' backtracks exponentially
    # (a filter box is user input). The sandbox has the same routine: it may not import the client.
    reach = [True] + [False] * len(words)
    for p in pattern:
        if p == "#":
            seen = False
            for j, r in enumerate(reach):
                seen = seen or r
                reach[j] = seen
        else:
            reach = [False] + [reach[j] and (p == "*" or p == w) for j, w in enumerate(words)]
        if not any(reach):
            return False
    return reach[-1]


class TopicFilter:
    """A set of patterns; a topic passes when any pattern matches (no patterns: everything passes)."""

    __slots__ = ("_cache", "_split", "patterns")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: tuple[str, ...] = tuple(dict.fromkeys(validate_pattern(p) for p in patterns))
        self._split = [tuple(p.split(".")) for p in self.patterns]
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __call__(self, topic: str) -> bool:
        if not self.patterns:
            return True
        hit = self._cache.get(topic)
        if hit is None:
            if len(self._cache) > 4096:  # topics are few in practice; never let a hostile stream grow it
                self._cache.clear()
            words = topic.split(".")
            hit = self._cache[topic] = any(_words_match(p, words) for p in self._split)
        return hit
