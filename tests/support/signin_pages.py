"""Small helpers for tests that drive the sandbox's sign-in pages one request at a time (to replay a
form, to count wrong passwords, to approve a device), on top of the scripted browser's form parser."""

from __future__ import annotations

from urllib.parse import urljoin

import httpx

# The parser is the scripted browser's own, so these tests read the pages exactly as it does.
from tests.support.sandbox import _Form, _only_form, _parse, authorize_url, pkce_pair

__all__ = ["alerts", "approve_device", "consent_page", "form", "submit"]


def form(page: httpx.Response, what: str) -> _Form:
    """The page's only form (raises with the page's alert text when there is none)."""
    return _only_form(page, what)


def alerts(page: httpx.Response) -> str:
    """The text of the page's alerts (errors), joined."""
    return " ".join(a.strip() for a in _parse(page).alerts)


def submit(browser: httpx.Client, page: httpx.Response, what: str, **fields: str) -> httpx.Response:
    """POST the page's only form with its hidden fields plus ``fields``, as a browser would."""
    found = form(page, what)
    return browser.post(urljoin(str(page.url), found.action), data={**found.fields, **fields})


def consent_page(base_url: str, browser: httpx.Client, email: str, password: str) -> httpx.Response:
    """Start a sign-in at ``base_url`` in ``browser`` and sign in: the consent page it reaches."""
    _, challenge = pkce_pair()
    login = browser.get(authorize_url(base_url, challenge=challenge, state="once"))
    consent = submit(browser, login, "login", email=email, password=password)
    assert consent.status_code == 200 and 'value="allow"' in consent.text, alerts(consent)
    return consent


def approve_device(verification_uri: str, email: str, password: str, *, allow: bool = True) -> httpx.Response:
    """Do what a person does on another device for RFC 8628: open the verification address (with the
    code in it), sign in, then allow or deny. Returns the final page (the sandbox says what happened)."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        page = browser.get(verification_uri)
        consent = submit(browser, page, "login", email=email, password=password)
        found = form(consent, "consent")
        if "password" in found.fields:
            raise AssertionError(f"sign-in refused (HTTP {consent.status_code}): {alerts(consent)}")
        return submit(browser, consent, "consent", decision="allow" if allow else "deny")
