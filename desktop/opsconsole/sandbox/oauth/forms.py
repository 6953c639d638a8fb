"""The HTML side of the server: rendering its pages, and the sealed hidden field and CSRF token that
carry a pending sign-in from page to page.

The pending request travels in the form, HMAC-sealed; the only server-side state is the id of each
form once posted (``used_forms``), so that a sealed form is good for one post: a replayed login or
consent post is refused, whoever replays it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection

from .. import db
from .common import CLIENT_NAME, CSRF_COOKIE, PAGE_HEADERS, b64url


class Forms:
    """Seals form state with a per-process HMAC key and renders the templates."""

    def __init__(self, cookie_max_age: int) -> None:
        # Signs the hidden form fields and CSRF tokens; per process, so a restart voids pending forms.
        self._secret = secrets.token_bytes(32)
        self._cookie_max_age = cookie_max_age
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("opsconsole.sandbox", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def seal(self, payload: dict[str, Any]) -> str:
        """``payload`` sealed for a hidden field, with a fresh form id (so each page is its own form)."""
        payload = dict(payload, form_id=secrets.token_urlsafe(24))
        data = b64url(json.dumps(payload, separators=(",", ":")).encode())
        mac = b64url(hmac.new(self._secret, data.encode(), hashlib.sha256).digest())
        return f"{data}.{mac}"

    def unseal(self, blob: str) -> dict[str, Any] | None:
        if len(blob) > 8192 or blob.count(".") != 1:
            return None
        data, mac = blob.split(".")
        expected = b64url(hmac.new(self._secret, data.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
            return None
        return payload

    @staticmethod
    def consume(conn: Connection, payload: dict[str, Any]) -> bool:
        """Record the unsealed form as posted; False if it was posted before (atomic on both databases)."""
        form_id = payload.get("form_id")
        if not isinstance(form_id, str) or len(form_id) > 64:
            return False
        expires = dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC)
        return db.insert_new(conn, db.used_forms, form_id=form_id, expires_at=expires)

    def csrf_for(self, cookie: str) -> str:
        return b64url(hmac.new(self._secret, b"csrf:" + cookie.encode(), hashlib.sha256).digest())

    def csrf_ok(self, request: Request, token: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(token, self.csrf_for(cookie))

    def page(
        self,
        template: str,
        status: int = 200,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self._templates.get_template(template).render(client_name=CLIENT_NAME, **context)
        response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
        if cookie is not None:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                path="/authorize",
                httponly=True,
                samesite="lax",
                max_age=self._cookie_max_age,
            )
        return response

    def error_page(self, title: str, message: str, status: int = 400) -> HTMLResponse:
        return self.page("error.html", status=status, title=title, message=message)
