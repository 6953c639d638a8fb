"""One console process for the cross-process refresh test (run by test_signin_sandbox.py).

    python -m tests.e2e.auth.refresh_worker PROFILES_TOML CLOCK_OFFSET_SECONDS

It loads the profile's stored session, prints ``ready``, waits for a line on stdin (so two workers
start their refresh together), asks for an access token with its clock moved forward (so the token
looks about to expire and a refresh is due), and prints the SHA-256 of the access and refresh tokens
it ends with: never the tokens themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time

from opsconsole import config
from opsconsole.auth import open_session


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def run(profiles: str, offset: float) -> dict[str, str]:
    profile = config.load(profiles).resolve()
    async with open_session(profile, clock=lambda: time.time() + offset) as session:
        held = await session.current()
        assert held is not None, "not signed in"
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        token = await session.access_token()
        final = await session.current()
        assert final is not None
        return {
            "access": _digest(token),
            "refresh": _digest(final.refresh_token),
            "store": session.store.kind,
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1], float(sys.argv[2])))), flush=True)
