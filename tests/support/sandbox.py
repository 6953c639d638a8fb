"""pytest plugin: a real sandbox server per test, and a scripted browser for its sign-in pages.

Fixtures:
- ``sandbox``: a fresh sandbox (SQLite in a temp data dir, demo accounts only, short token lifetimes)
  on a free loopback port, stopped at teardown. ``sandbox.url`` is its base URL and OAuth issuer.
- ``make_sandbox(**overrides)``: the same with settings overridden (``users=1000``,
  ``db_url=postgres_db_url``, ``access_token_ttl=5``, ...); every sandbox it made is stopped at teardown.

Helpers (plain functions, usable from any test):
- ``scripted_login(authorize_url, email, password, consent=True) -> str``: drives the HTML login and
  consent forms with httpx as a browser would (GET the page, read the form's action and hidden fields
  with html.parser, POST) and returns the final redirect URL (the loopback callback with code, state
  and iss, or with an error) without requesting it.
- ``pkce_pair()``, ``authorize_url(...)`` and ``obtain_tokens(base_url, email, ...)``: the whole
  authorization-code flow in one call, for tests that just need an access token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox, start_background
from opsconsole.sandbox.settings import SandboxSettings

PASSWORD = "sandbox"
ADMIN = "admin@sandbox.test"
SUPPORT = "support@sandbox.test"
VIEWER = "viewer@sandbox.test"
CLIENT_ID = "opsconsole"
ALL_SCOPES = ("openid", "offline_access", "read:users", "write:users", "read:roles", "write:roles")
_TIMEOUT = 15.0


def test_settings(data_dir: Path, **overrides: Any) -> SandboxSettings:
    """Settings for a test sandbox: free port, tmp data dir, demo accounts only, short lifetimes."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
        "password": PASSWORD,
        "users": 0,
        "access_token_ttl": 120,
        "refresh_token_ttl": 600,
        "code_ttl": 30,
        "events_keep": 1000,
        "heartbeat_interval": 1.0,
    }
    values.update(overrides)
    return SandboxSettings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningSandbox]]:
    """A factory of running sandboxes (``make_sandbox(**settings_overrides)``), all stopped at teardown."""
    running: list[RunningSandbox] = []

    def make(**overrides: Any) -> RunningSandbox:
        data_dir = overrides.pop("data_dir", None) or tmp_path_factory.mktemp("sandbox")
        sandbox = start_background(test_settings(Path(data_dir), **overrides))
        running.append(sandbox)
        return sandbox

    yield make
    for sandbox in reversed(running):
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    """A fresh sandbox on a free loopback port (SQLite, demo accounts, short token lifetimes)."""
    return make_sandbox()


# --- the scripted browser --------------------------------------------------------------------------


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    """Collects the forms of a page (action, hidden and other inputs, submit buttons) and its alerts."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.alerts: list[str] = []
        self._in_alert = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(attr.get("action", ""), attr.get("method", "get").lower()))
        elif tag == "input" and self.forms and attr.get("name"):
            self.forms[-1].fields[attr["name"]] = attr.get("value", "")
        elif tag == "button" and self.forms and attr.get("type", "submit") == "submit":
            self.forms[-1].buttons.append((attr.get("name", ""), attr.get("value", "")))
        if attr.get("role") == "alert":
            self._in_alert += 1
            self.alerts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._in_alert:
            self._in_alert -= 1

    def handle_data(self, data: str) -> None:
        if self._in_alert and self.alerts:
            self.alerts[-1] += data


class ScriptedLoginError(AssertionError):
    """The sign-in pages did not behave as a browser user would expect (the page's text is included)."""


def _parse(page: httpx.Response) -> _FormParser:
    parser = _FormParser()
    parser.feed(page.text)
    return parser


def _only_form(page: httpx.Response, what: str) -> _Form:
    parser = _parse(page)
    if len(parser.forms) != 1:
        alerts = "; ".join(a.strip() for a in parser.alerts) or page.text[:500]
        raise ScriptedLoginError(f"expected the {what} form (HTTP {page.status_code}), got: {alerts}")
    return parser.forms[0]


def scripted_login(authorize_url: str, email: str, password: str, consent: bool = True) -> str:
    """Sign in through the HTML pages as a browser would; return the final redirect URL, unrequested.

    The returned URL is the client's loopback callback with ``code``, ``state`` and ``iss`` (or with
    ``error`` when the user denies, or when /authorize itself refuses the request). A page that shows
    an error instead (wrong password, invalid redirect URI) raises :class:`ScriptedLoginError` with
    the page's alert text.
    """
    with httpx.Client(follow_redirects=False, timeout=_TIMEOUT) as browser:
        page = browser.get(authorize_url)
        if page.is_redirect:
            return page.headers["location"]
        login = _only_form(page, "login")
        data = dict(login.fields)
        data.update(email=email, password=password)
        page = browser.post(urljoin(str(page.url), login.action), data=data)
        if page.is_redirect:
            return page.headers["location"]
        consent_form = _only_form(page, "consent")
        if "password" in consent_form.fields:
            alerts = "; ".join(a.strip() for a in _parse(page).alerts)
            raise ScriptedLoginError(f"sign-in refused (HTTP {page.status_code}): {alerts}")
        decision = "allow" if consent else "deny"
        buttons = [b for b in consent_form.buttons if b[1] == decision]
        if not buttons:
            raise ScriptedLoginError(f"the consent page has no {decision} button: {consent_form.buttons}")
        data = dict(consent_form.fields)
        data[buttons[0][0]] = buttons[0][1]
        page = browser.post(urljoin(str(page.url), consent_form.action), data=data)
        if not page.is_redirect:
            alerts = "; ".join(a.strip() for a in _parse(page).alerts) or page.text[:500]
            raise ScriptedLoginError(f"consent did not redirect (HTTP {page.status_code}): {alerts}")
        return page.headers["location"]


# --- the whole flow --------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_url(
    base_url: str,
    *,
    challenge: str,
    state: str = "state-1",
    scopes: Sequence[str] = ALL_SCOPES,
    redirect_uri: str = "http://127.0.0.1:7777/callback",
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{base_url}/authorize?{urlencode(params)}"


def callback_params(url: str) -> dict[str, str]:
    """The query parameters of a callback URL (single values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def obtain_tokens(
    base_url: str,
    email: str,
    password: str = PASSWORD,
    scopes: Sequence[str] = ALL_SCOPES,
    redirect_uri: str = "http://127.0.0.1:7777/callback",
) -> dict[str, Any]:
    """Sign in as ``email`` through the real pages and exchange the code: the /token response body."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    url = authorize_url(base_url, challenge=challenge, state=state, scopes=scopes, redirect_uri=redirect_uri)
    params = callback_params(scripted_login(url, email, password))
    if params.get("state") != state or "code" not in params:
        raise ScriptedLoginError(f"sign-in did not return a code: {params}")
    response = httpx.post(
        f"{base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
        timeout=_TIMEOUT,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header for a /token response."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}
