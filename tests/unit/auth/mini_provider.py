"""A small, real OAuth 2.0 / OpenID Connect provider on 127.0.0.1 for the sign-in tests.

It is a standards-following provider (discovery, JWKS, authorization code with PKCE S256, refresh with
rotation and reuse detection, RFC 7009 revocation, RFC 9207 ``iss``) that can be told to misbehave in
the ways a hostile or broken provider would: a 404 or HTML discovery, a token endpoint that fails, a
token signed with a key it does not publish, a wrong issuer, an expired token, an opaque token, a
callback with the wrong ``state`` or ``iss`` or an ``error=``. The sandbox cannot produce most of these,
and the client must survive all of them. The "browser" of these tests is :meth:`MiniProvider.browse`:
it follows the provider's (consent-free) redirect and then requests the loopback callback, as a
browser would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "opsconsole"
AUDIENCE = "opsconsole-api"


@dataclass
class Key:
    kid: str
    private: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk


def new_key(kid: str) -> Key:
    return Key(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


# Key generation is the slow part of starting a provider; tests share a small pool.
_KEY_POOL: list[Key] = []
_POOL_LOCK = threading.Lock()


def pooled_key(index: int) -> Key:
    with _POOL_LOCK:
        while len(_KEY_POOL) <= index:
            _KEY_POOL.append(new_key(f"key-{len(_KEY_POOL)}"))
        return _KEY_POOL[index]


@dataclass
class Grant:
    subject: str
    scopes: list[str]
    family: str
    nonce: str | None = None


@dataclass
class Behaviour:
    """What the provider does wrong (all False/empty: it behaves)."""

    discovery: str = "oidc"  # oidc | oauth (RFC 8414 only) | 404 | html
    metadata_overrides: dict[str, Any] = field(default_factory=dict)
    advertise_iss: bool = True  # RFC 9207 authorization_response_iss_parameter_supported
    callback: str = "ok"  # ok | deny | wrong_state | wrong_iss | no_iss | invalid_scope
    token_status: int = 200  # 500: the token endpoint fails
    token_html: bool = False
    sign_with_unpublished_key: bool = False
    issuer_claim: str | None = None  # a wrong `iss` in the tokens
    access_ttl: int = 300
    already_expired: bool = False
    opaque_access_token: bool = False
    omit_id_token: bool = False
    rotate_refresh_tokens: bool = True
    token_delay: float = 0.0  # seconds the token endpoint takes (widens race windows)
    device_interval: int = 1  # RFC 8628 polling interval it asks for
    device_expires_in: int = 600  # how long its device codes are valid
    device_overrides: dict[str, Any] = field(default_factory=dict)  # fields changed in device answers
    device_slow_down: bool = False  # answer the first poll with slow_down
    token_overrides: dict[str, Any] = field(default_factory=dict)  # fields changed in token responses


class MiniProvider:
    """Run with ``with MiniProvider() as p:``; ``p.issuer`` is its URL."""

    def __init__(self, behaviour: Behaviour | None = None, *, key_index: int = 0) -> None:
        self.behaviour = behaviour or Behaviour()
        self.keys = [pooled_key(key_index)]
        self.signing_key = self.keys[0]
        self.codes: dict[str, tuple[Grant, str, str, float]] = {}  # code -> grant, challenge, redirect_uri
        self.refresh_tokens: dict[str, Grant] = {}
        self.used_refresh_tokens: dict[str, str] = {}  # token -> family
        self.revoked_families: set[str] = set()
        self.revoked: list[str] = []
        self.token_calls: dict[str, int] = {"authorization_code": 0, "refresh_token": 0}
        self.requests: list[str] = []
        self.posts: list[tuple[str, dict[str, str], dict[str, str]]] = []  # path, headers, form
        self.api_calls = 0
        self.clock = time.time  # tests share a movable clock with the client
        self.devices: dict[str, dict[str, Any]] = {}  # device_code -> grant, user_code, state, polls
        self.last_callback_url = ""
        self.last_callback_page = ""
        self.browsed = threading.Event()  # set when the browser has shown the console's final page
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> MiniProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- keys and tokens -----------------------------------------------------------------------

    def rotate_keys(self, *, drop_old: bool = False) -> None:
        key = pooled_key(len(self.keys) + 10)
        with self.lock:
            self.keys = [key] if drop_old else [*self.keys, key]
            self.signing_key = key

    def metadata(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "device_authorization_endpoint": f"{self.issuer}/device",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "offline_access", "read:users", "write:users"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": self.behaviour.advertise_iss,
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
        }
        doc.update(self.behaviour.metadata_overrides)
        return doc

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.signing_key
        if self.behaviour.sign_with_unpublished_key:
            key = Key(key.kid, pooled_key(9).private)  # same kid, different private key
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})

    def issue(self, grant: Grant, *, with_id_token: bool) -> dict[str, Any]:
        b = self.behaviour
        now = int(self.clock())
        exp = now - 3600 if b.already_expired else now + b.access_ttl
        iss = b.issuer_claim or self.issuer
        if b.opaque_access_token:
            access = secrets.token_urlsafe(32)
        else:
            access = self.sign(
                {
                    "iss": iss,
                    "sub": grant.subject,
                    "aud": AUDIENCE,
                    "client_id": CLIENT_ID,
                    "iat": now,
                    "exp": exp,
                    "scope": " ".join(s for s in grant.scopes if s not in ("openid", "offline_access")),
                    "jti": secrets.token_hex(8),
                }
            )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": b.access_ttl,
            "scope": " ".join(grant.scopes),
        }
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
            body["refresh_token"] = refresh
        if with_id_token and "openid" in grant.scopes and not b.omit_id_token:
            claims = {
                "iss": iss,
                "sub": grant.subject,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": exp,
                "email": f"{grant.subject}@example.test",
                "name": grant.subject.title(),
            }
            if grant.nonce:
                claims["nonce"] = grant.nonce
            body["id_token"] = self.sign(claims)
        body.update(b.token_overrides)
        return body

    def approve_device(self, user_code: str, *, approve: bool = True) -> None:
        """What the user does on the other device: enter the code and allow (or deny)."""
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["state"] = "approved" if approve else "denied"
                    return
        raise KeyError(user_code)

    # -- the browser ---------------------------------------------------------------------------

    def browse(self, url: str) -> bool:
        """Follow the authorization URL like a browser and deliver the callback; True on a 2xx page."""
        self.browsed.clear()
        try:
            with httpx.Client(timeout=30) as client:
                answer = client.get(url, follow_redirects=False)
                location = answer.headers.get("location")
                if answer.status_code != 302 or not location:
                    return False
                self.last_callback_url = location
                page = client.get(location)
                self.last_callback_page = page.text
                return page.is_success
        finally:
            self.browsed.set()

    def final_page(self) -> str:
        """The page the console showed the browser (the browser runs beside the flow: wait for it)."""
        assert self.browsed.wait(10), "the browser never finished"
        return self.last_callback_page


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handler_for(provider: MiniProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: Any, content_type: str = "application/json", **headers: str
        ) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            return {k: v[0] for k, v in raw.items()}

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            provider.requests.append(url.path)
            b = provider.behaviour
            if url.path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
                wanted = "oidc" if url.path.endswith("openid-configuration") else "oauth"
                if b.discovery == "html":
                    self._send(200, b"<html><title>Welcome to nginx</title></html>", "text/html")
                elif b.discovery == wanted:
                    self._send(200, provider.metadata())
                else:
                    self._send(404, b"<html><title>404 Not Found</title></html>", "text/html")
            elif url.path == "/jwks":
                self._send(200, {"keys": [k.public_jwk() for k in provider.keys]})
            elif url.path == "/api/me":
                self._api_me()
            elif url.path == "/authorize":
                self._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
            else:
                self._send(404, {"error": "not_found"})

        def _api_me(self) -> None:
            """A protected resource: 200 with the token's subject, 401 for a missing or invalid token."""
            with provider.lock:
                provider.api_calls += 1
                keys = list(provider.keys)
            header = self.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else ""
            kid = jwt.get_unverified_header(token).get("kid") if token.count(".") == 2 else None
            for key in keys:
                if key.kid != kid:
                    continue
                try:
                    claims = jwt.decode(
                        token,
                        key.private.public_key(),
                        algorithms=["RS256"],
                        audience=AUDIENCE,
                        options={"verify_exp": False, "verify_iat": False},
                    )
                except jwt.InvalidTokenError:
                    break
                if claims["exp"] <= provider.clock():
                    break
                self._send(200, {"sub": claims["sub"]})
                return
            self._send(
                401, {"error": "invalid_token"}, **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )

        def _authorize(self, q: dict[str, str]) -> None:
            b = provider.behaviour
            redirect = q.get("redirect_uri", "")
            target = urlsplit(redirect)
            if (
                q.get("client_id") != CLIENT_ID
                or target.hostname not in ("127.0.0.1", "::1")
                or target.path != "/callback"
            ):
                self._send(400, b"bad client or redirect", "text/plain")
                return
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                self._send(400, b"PKCE S256 required", "text/plain")
                return
            state = q.get("state", "")
            params: dict[str, str] = {}
            if b.callback == "deny":
                params = {"error": "access_denied", "error_description": "The user said no"}
            elif b.callback == "invalid_scope":
                params = {"error": "invalid_scope", "error_description": "write:everything is unknown"}
            else:
                code = secrets.token_urlsafe(24)
                grant = Grant("alice", q.get("scope", "").split(), secrets.token_hex(8), q.get("nonce"))
                provider.codes[code] = (grant, q["code_challenge"], redirect, time.time())
                params = {"code": code}
            params["state"] = "forged-state" if b.callback == "wrong_state" else state
            if b.callback == "wrong_iss":
                params["iss"] = "https://evil.example"
            elif b.callback != "no_iss":
                params["iss"] = provider.issuer
            self._send(302, b"", "text/plain", Location=f"{redirect}?{urlencode(params)}")

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            provider.requests.append(url.path)
            form = self._form()
            provider.posts.append((url.path, dict(self.headers), form))
            if url.path == "/token":
                self._token(form)
            elif url.path == "/device":
                if form.get("client_id") != CLIENT_ID:
                    self._send(401, {"error": "invalid_client"})
                    return
                device_code, user_code = secrets.token_urlsafe(24), "WDJB-MJHT"
                with provider.lock:
                    provider.devices[device_code] = {
                        "grant": Grant("alice", form.get("scope", "").split(), secrets.token_hex(8)),
                        "user_code": user_code,
                        "state": "pending",
                        "polls": 0,
                    }
                self._send(
                    200,
                    {
                        "device_code": device_code,
                        "user_code": user_code,
                        "verification_uri": f"{provider.issuer}/activate",
                        "verification_uri_complete": f"{provider.issuer}/activate?user_code={user_code}",
                        "expires_in": provider.behaviour.device_expires_in,
                        "interval": provider.behaviour.device_interval,
                        **provider.behaviour.device_overrides,
                    },
                )
            elif url.path == "/revoke":
                token = form.get("token", "")
                with provider.lock:
                    grant = provider.refresh_tokens.pop(token, None)
                    if grant:
                        provider.revoked_families.add(grant.family)
                    provider.revoked.append(token)
                self._send(200, b"", "text/plain")
            else:
                self._send(404, {"error": "not_found"})

        def _token(self, form: dict[str, str]) -> None:
            b = provider.behaviour
            grant_type = form.get("grant_type", "")
            with provider.lock:
                provider.token_calls[grant_type] = provider.token_calls.get(grant_type, 0) + 1
            if b.token_delay:
                time.sleep(b.token_delay)
            if b.token_status != 200:
                self._send(b.token_status, b"<html><title>502 Bad Gateway</title></html>", "text/html")
                return
            if b.token_html:
                self._send(200, b"<html><title>Login</title></html>", "text/html")
                return
            if form.get("client_id") != CLIENT_ID:
                self._send(401, {"error": "invalid_client"})
                return
            with provider.lock:
                if grant_type == "authorization_code":
                    entry = provider.codes.pop(form.get("code", ""), None)
                    if entry is None:
                        self._send(
                            400, {"error": "invalid_grant", "error_description": "unknown or used code"}
                        )
                        return
                    grant, challenge, redirect, _ = entry
                    verifier = form.get("code_verifier", "")
                    if _b64(hashlib.sha256(verifier.encode()).digest()) != challenge:
                        self._send(400, {"error": "invalid_grant", "error_description": "PKCE failed"})
                        return
                    if form.get("redirect_uri") != redirect:
                        self._send(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
                        return
                    self._send(200, provider.issue(grant, with_id_token=True))
                elif grant_type == "refresh_token":
                    token = form.get("refresh_token", "")
                    grant = provider.refresh_tokens.get(token)
                    if grant is None or grant.family in provider.revoked_families:
                        family = provider.used_refresh_tokens.get(token)
                        if family:  # reuse of a rotated token: the whole family is revoked (RFC 9700 4.14)
                            provider.revoked_families.add(family)
                        self._send(
                            400, {"error": "invalid_grant", "error_description": "refresh token reused"}
                        )
                        return
                    if b.rotate_refresh_tokens:
                        del provider.refresh_tokens[token]
                        provider.used_refresh_tokens[token] = grant.family
                    body = provider.issue(
                        Grant(grant.subject, grant.scopes, grant.family), with_id_token=False
                    )
                    if not b.rotate_refresh_tokens:
                        provider.refresh_tokens.pop(body.pop("refresh_token", ""), None)
                    self._send(200, body)
                elif grant_type == "urn:ietf:params:oauth:grant-type:device_code":
                    device = provider.devices.get(form.get("device_code", ""))
                    if device is None:
                        self._send(400, {"error": "invalid_grant"})
                        return
                    device["polls"] += 1
                    if b.device_slow_down and device["polls"] == 1:
                        self._send(400, {"error": "slow_down"})
                    elif device["state"] == "pending":
                        self._send(400, {"error": "authorization_pending"})
                    elif device["state"] == "denied":
                        self._send(
                            400, {"error": "access_denied", "error_description": "denied on the device"}
                        )
                    else:
                        del provider.devices[form["device_code"]]
                        self._send(200, provider.issue(device["grant"], with_id_token=True))
                else:
                    self._send(400, {"error": "unsupported_grant_type"})

    return Handler
