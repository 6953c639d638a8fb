"""The device authorization grant (RFC 8628), for a console without a browser (an SSH session).

``POST /device_authorization`` hands out a device code (the console's secret, polled with) and a short
user code (typed by the person on another device). The person opens ``/device``, enters the user code,
signs in on the same login form as ``/authorize`` (same throttling) and allows or denies on the same
consent form. Meanwhile ``/token`` with grant_type ``urn:ietf:params:oauth:grant-type:device_code``
answers ``authorization_pending``, ``slow_down`` (polled sooner than the interval; the interval then
grows by 5 s), ``access_denied`` or ``expired_token``, and once approved issues tokens exactly once:
a conditional UPDATE (approved -> used) decides, and a later poll with the same code revokes what it
issued, as a replayed authorization code does.

Only SHA-256 hashes of both codes are stored. User codes are 8 letters from RFC 8628 6.1's 20-letter
alphabet (about 34 bits); wrong user codes count as failures of the client address in the throttle.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628.endpoint import create_string_user_code
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.engine import Connection

from .. import db
from .common import NO_STORE, SCOPES_SUPPORTED, sha256_hex, token_error
from .forms import Forms
from .tokens import TokenService

log = logging.getLogger("opsconsole.sandbox.oauth")

GRANT_TYPE: str = DEVICE_CODE_GRANT_TYPE
EXPIRES_IN = 600
INTERVAL = 5
SLOW_DOWN_STEP = 5
# A poll this much sooner than the interval is not "too fast": timers and networks jitter.
_POLL_SLACK = 1.0
_USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{8}$")


def normalize_user_code(typed: str) -> str | None:
    """The user code as stored (8 capital letters), from what a person typed: case, spaces and dashes
    do not matter (RFC 8628 6.1). None when it cannot be a user code."""
    letters = re.sub(r"[\s-]", "", typed.upper())[:16]
    return letters if _USER_CODE_RE.match(letters) else None


class DeviceFlow:
    """The device authorization endpoint, the approval behind the consent form, and the device grant."""

    def __init__(self, tokens: TokenService, forms: Forms) -> None:
        self.tokens = tokens
        self.forms = forms
        self.engine = tokens.engine
        self.verification_uri = f"{tokens.issuer}/device"

    def authorize(self, params: dict[str, str]) -> JSONResponse:
        """RFC 8628 3.1/3.2: a new device code and user code for the (already checked) client."""
        requested = params.get("scope", "").split()
        if not requested:
            return token_error("invalid_scope", "scope is required")
        unknown = [s for s in requested if s not in SCOPES_SUPPORTED]
        if unknown:
            return token_error("invalid_scope", f"unknown scope: {' '.join(unknown)[:200]}")
        device_code = secrets.token_urlsafe(32)
        user_code = str(create_string_user_code())
        now = db.utcnow()
        with db.writing(self.engine) as conn:
            conn.execute(
                sa.insert(db.device_codes).values(
                    device_code_hash=sha256_hex(device_code),
                    user_code_hash=sha256_hex(user_code.replace("-", "")),
                    client_id=params["client_id"],
                    scope=" ".join(dict.fromkeys(requested)),
                    status="pending",
                    interval=INTERVAL,
                    expires_at=now + dt.timedelta(seconds=EXPIRES_IN),
                )
            )
        body = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": f"{self.verification_uri}?{urlencode({'user_code': user_code})}",
            "expires_in": EXPIRES_IN,
            "interval": INTERVAL,
        }
        return JSONResponse(body, headers=NO_STORE)

    def pending_for(self, conn: Connection, user_code: str) -> dict[str, Any] | None:
        """The sign-in to seal into the login form for a typed user code, or None if no pending
        (unexpired, undecided) request has it."""
        normalized = normalize_user_code(user_code)
        if normalized is None:
            return None
        row = conn.execute(
            sa.select(
                db.device_codes.c.device_code_hash, db.device_codes.c.client_id, db.device_codes.c.scope
            ).where(
                db.device_codes.c.user_code_hash == sha256_hex(normalized),
                db.device_codes.c.status == "pending",
                db.device_codes.c.expires_at > db.utcnow(),
            )
        ).first()
        if row is None:
            return None
        return {
            "device": row.device_code_hash,
            "user_code": f"{normalized[:4]}-{normalized[4:]}",
            "client_id": row.client_id,
            "scope": row.scope.split(),
            "nonce": None,
            "exp": int(time.time()) + self.tokens.settings.login_ttl,
        }

    def decide(
        self, conn: Connection, pending: dict[str, Any], user_id: uuid.UUID, *, allow: bool, disabled: bool
    ) -> HTMLResponse:
        """The person's answer on the consent form, recorded once for a still pending device code."""
        values: dict[str, Any] = {"status": "denied"}
        if allow:
            auth_time = dt.datetime.fromtimestamp(pending["auth_time"], dt.UTC)
            values = {"status": "approved", "user_id": user_id, "auth_time": auth_time}
        decided = conn.execute(
            sa.update(db.device_codes)
            .where(
                db.device_codes.c.device_code_hash == pending["device"],
                db.device_codes.c.status == "pending",
                db.device_codes.c.expires_at > db.utcnow(),
            )
            .values(**values)
        ).rowcount
        if decided != 1:
            return self.forms.error_page("Code expired", "This code has expired or was already answered.")
        if allow:
            title, message = "Signed in", "You are signed in on your device. You can close this page."
        elif disabled:
            title, message = "Account disabled", "This account is disabled: the device was not signed in."
        else:
            title, message = "Sign-in denied", "The device was not signed in. You can close this page."
        return self.forms.page(
            "device_done.html", title=title, message=message, user_code=pending["user_code"]
        )

    def token(self, params: dict[str, str]) -> JSONResponse:
        """RFC 8628 3.4/3.5: the device grant at /token."""
        device_code = params.get("device_code", "")
        if not device_code:
            return token_error("invalid_request", "device_code is required")
        if len(device_code) > 512:
            return token_error("invalid_grant", "unknown device code")
        code_hash = sha256_hex(device_code)
        now = db.utcnow()
        with db.writing(self.engine) as conn:
            row = conn.execute(
                sa.select(db.device_codes).where(db.device_codes.c.device_code_hash == code_hash)
            ).first()
            if row is None or row.client_id != params["client_id"]:
                return token_error("invalid_grant", "unknown device code")
            if row.status == "used":
                return self._replayed(conn, code_hash)
            if row.expires_at <= now:
                return token_error("expired_token", "the device code expired: start the sign-in again")
            this_poll = sa.update(db.device_codes).where(db.device_codes.c.device_code_hash == code_hash)
            if (
                row.last_poll_at is not None
                and (now - row.last_poll_at).total_seconds() < row.interval - _POLL_SLACK
            ):
                conn.execute(this_poll.values(last_poll_at=now, interval=row.interval + SLOW_DOWN_STEP))
                return token_error("slow_down", f"poll at most every {row.interval + SLOW_DOWN_STEP} seconds")
            conn.execute(this_poll.values(last_poll_at=now))
            if row.status == "pending":
                return token_error("authorization_pending", "the sign-in on the other device is not finished")
            if row.status == "denied":
                return token_error("access_denied", "the user denied the request")
            used = conn.execute(
                this_poll.where(db.device_codes.c.status == "approved").values(status="used")
            ).rowcount
            if used != 1:
                return self._replayed(conn, code_hash)
            return self.tokens.first_use(
                conn,
                this_poll,
                user_id=row.user_id,
                client_id=row.client_id,
                scope=row.scope,
                auth_time=row.auth_time,
                nonce=None,
                now=now,
            )

    def _replayed(self, conn: Connection, code_hash: str) -> JSONResponse:
        key = db.device_codes.c.device_code_hash == code_hash
        return self.tokens.replayed(conn, key, db.device_codes.c.session_id, "device code")
