"""A console window already signed in to a running sandbox, for GUI tests of the feature pages.

The sign-in itself is tested through the real pages elsewhere (tests/ui/signin, tests/e2e/auth); a
feature test starts where a person starts after it: tokens from the sandbox's real /token endpoint
(signing in through its real login form) in the memory token store, and the window built by the real
``start_gui``, which opens the session on its first idle.
"""

from __future__ import annotations

import time
from typing import Any

from opsconsole.auth.store import MemoryStore
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import ConfigSet, Profile
from opsconsole.sandbox.server import RunningSandbox
from tests.support.sandbox import ADMIN, ALL_SCOPES, CLIENT_ID, obtain_tokens

PROFILE = "sandbox"


def sandbox_profile(sandbox: RunningSandbox, **overrides: Any) -> Profile:
    url = sandbox.url.rstrip("/")
    values: dict[str, Any] = {
        "name": PROFILE,
        "label": "Test sandbox",
        "api_url": f"{url}/api",
        "issuer": url,
        "client_id": CLIENT_ID,
        "audience": "opsconsole-api",
        "events_url": url.replace("http://", "ws://") + "/ws/notifications",
        "token_storage": "memory",
    }
    values.update(overrides)
    return Profile(**values)


def store_sign_in(
    sandbox: RunningSandbox, email: str = ADMIN, scopes: tuple[str, ...] = ALL_SCOPES
) -> TokenSet:
    """Sign ``email`` in at the sandbox and keep the tokens where the console's session finds them."""
    body = obtain_tokens(sandbox.url, email, scopes=scopes)
    now = time.time()
    tokens = TokenSet(
        access_token=body["access_token"],
        issuer=sandbox.url.rstrip("/"),
        client_id=CLIENT_ID,
        refresh_token=body.get("refresh_token", ""),
        expires_at=now + float(body.get("expires_in", 60)),
        issued_at=now,
        scopes=tuple(str(body.get("scope", " ".join(scopes))).split()),
        username=email,
    )
    MemoryStore().save(PROFILE, tokens)
    return tokens


def config_for(profile: Profile) -> ConfigSet:
    return ConfigSet.in_memory(profile)
