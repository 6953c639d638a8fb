"""Reconnect delays: exponential with full jitter, capped, and reset after a healthy connection.

Full jitter (a uniform draw between zero and the exponential bound) spreads the reconnects of many
consoles after a server restart, so they do not arrive in waves (AWS Architecture Blog, "Exponential
Backoff And Jitter"). The first retry after a healthy period is quick: a one-off drop should be
invisible to the person watching.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    base: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    healthy_after: float = 30.0
    """A connection that stayed up this long resets the delays."""
    rand: Callable[[], float] = field(default=random.random, repr=False)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, and count the attempt."""
        # The exponent is bounded too: a night-long outage must not overflow the float (2.0 ** 1024).
        bound = min(self.cap, self.base * self.factor ** min(self.attempt, 64))
        self.attempt += 1
        return bound * self.rand()

    def connected_for(self, seconds: float) -> None:
        """A connection ended after ``seconds`` live: a healthy one resets the delays."""
        if seconds >= self.healthy_after:
            self.attempt = 0
