"""A console window signed in to a running sandbox, with the sandbox's /jaeger as its traces backend.

The sign-in is tested elsewhere; these tests start where a person starts after it: tokens from the
sandbox's real /token endpoint (through its real login form) in the memory token store, and the
window built by the real ``start_gui``, which opens the session on its first idle. (The events-ui
branch carries a shared tests/support/signed_in.py; until it is on main, this is the traces' own.)
"""

from __future__ import annotations

import time
from typing import Any

from opsconsole.auth.store import MemoryStore
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from opsconsole.sandbox.server import RunningSandbox
from tests.support.sandbox import ADMIN, ALL_SCOPES, CLIENT_ID, obtain_tokens

PROFILE = "sandbox"


def traces_profile(sandbox: RunningSandbox) -> Profile:
    url = sandbox.url.rstrip("/")
    return Profile(
        name=PROFILE,
        label="Test sandbox",
        api_url=f"{url}/api",
        issuer=url,
        client_id=CLIENT_ID,
        audience="opsconsole-api",
        token_storage="memory",
        traces_url=f"{url}/jaeger",
        traces_api="jaeger",
    )


def store_sign_in(sandbox: RunningSandbox, email: str = ADMIN) -> dict[str, Any]:
    """Sign ``email`` in at the sandbox and keep the tokens where the console's session finds them."""
    body = obtain_tokens(sandbox.url, email, scopes=ALL_SCOPES)
    now = time.time()
    MemoryStore().save(
        PROFILE,
        TokenSet(
            access_token=body["access_token"],
            issuer=sandbox.url.rstrip("/"),
            client_id=CLIENT_ID,
            refresh_token=body.get("refresh_token", ""),
            expires_at=now + float(body.get("expires_in", 60)),
            issued_at=now,
            scopes=tuple(str(body.get("scope", " ".join(ALL_SCOPES))).split()),
            username=email,
        ),
    )
    return body
