"""Who may read the sandbox's telemetry (``/metrics`` and ``/jaeger/*``).

On loopback, anyone on this machine: the demo's console and a local Prometheus read them freely.
Bound beyond loopback, metrics and traces tell strangers what the system does (routes, timings,
session counts), so they need a credential in ``Authorization: Bearer``:

- a sandbox access token carrying ``read:telemetry``, whose account's roles still grant it (the seed
  gives it to ``admin``); or
- the scrape token read at start from ``--scrape-token-file`` (what Prometheus sends with
  ``authorization: {credentials_file: ...}``), compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from fastapi import Request

from .problems import Forbidden, Unauthorized

log = logging.getLogger("opsconsole.sandbox.telemetry_access")

__all__ = ["MIN_SCRAPE_TOKEN", "TELEMETRY_SCOPE", "guard", "load_scrape_token"]

TELEMETRY_SCOPE: Final = "read:telemetry"
MIN_SCRAPE_TOKEN: Final = 16


def load_scrape_token(path: Path | None) -> bytes | None:
    """The scrape token in ``path`` (surrounding whitespace removed), or None without a file.

    Raises ValueError, saying why, for a file that cannot be read or holds too short a token.
    """
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"cannot read the scrape token file {path}: {exc}") from exc
    if len(text) < MIN_SCRAPE_TOKEN:
        raise ValueError(f"the scrape token in {path} is shorter than {MIN_SCRAPE_TOKEN} characters")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the scrape token file %s can be read by other users: chmod 600 it", path)
    return text.encode()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def guard(request: Request) -> None:
    """A dependency for the telemetry routes: passes on loopback, else demands a credential."""
    state = request.app.state
    if state.settings.is_loopback:
        return
    token = _bearer(request)
    if token is None:
        raise Unauthorized(
            f"telemetry beyond loopback needs Authorization: Bearer with an access token carrying "
            f"{TELEMETRY_SCOPE}, or the scrape token",
            error=None,
        )
    scrape: bytes | None = state.scrape_token
    if scrape is not None and hmac.compare_digest(token.encode(), scrape):
        return
    verify: Callable[[str], Mapping[str, Any]] = state.verify_access_token
    permissions: Callable[[Mapping[str, Any]], Iterable[str]] = state.account_permissions
    try:
        claims = verify(token)
    except ValueError as exc:
        raise Unauthorized(f"neither the scrape token nor a valid access token: {exc}") from None
    if TELEMETRY_SCOPE not in claims.get("scopes", ()):
        raise Forbidden(f"the access token lacks the scope {TELEMETRY_SCOPE}", slug="insufficient-scope")
    if TELEMETRY_SCOPE not in set(permissions(claims)):
        raise Forbidden(f"your roles do not (or no longer) grant {TELEMETRY_SCOPE}", slug="permission-denied")
