"""The sandbox's OAuth 2.0 / OpenID Connect authorization server, implemented by hand with care.

Endpoints (issuer at the root): discovery (``/.well-known/openid-configuration`` and the RFC 8414
``/.well-known/oauth-authorization-server``), ``/jwks.json``, ``/authorize`` with HTML login and consent
pages, ``/token`` (authorization_code, refresh_token, device_code), ``/revoke`` (RFC 7009),
``/userinfo``, and the device authorization grant (RFC 8628: ``/device_authorization`` and the
verification page ``/device``).

Rules it keeps:
- One public client, ``opsconsole``, with loopback redirect URIs on any port (RFC 8252 7.3):
  ``http://127.0.0.1:{port}/callback``, ``http://[::1]:{port}/callback``, ``http://localhost:{port}/callback``.
  An unknown client or a bad redirect URI gets an HTML error page, never a redirect.
- PKCE S256 is required (``plain`` is refused); ``state`` is required and returned; responses carry
  ``iss`` (RFC 9207).
- Codes (authorization and device) are single-use, decided atomically by a conditional UPDATE, and
  short-lived; a replayed code revokes the session it created.
- Refresh tokens rotate; presenting a used one revokes its whole family (the session).
- Access tokens are RS256 JWTs (RFC 9068 ``at+jwt``) with sub, iss, aud, iat, exp, jti, client_id,
  ``scope`` and ``scopes``; the API scopes are those requested that the user's roles allow.
- Only hashes of codes and refresh tokens are stored, and none of them is ever logged.

The pending request travels in an HMAC-signed hidden field of the login and consent forms, a CSRF
token bound to a cookie protects each form, and each form is good for one post. Failed sign-ins are
throttled per account and per client address (``throttle``).

Modules: ``common`` (constants and HTTP helpers), ``tokens`` (keys, token minting and checks: the
seams), ``forms`` (pages and sealed form state), ``authorize`` (/authorize, login, consent), ``grants``
(/token's code and refresh grants), ``device`` (RFC 8628), ``throttle`` (password guessing),
``revocation`` (/revoke, /userinfo), ``discovery`` (metadata), ``server`` (``AuthServer`` and its
router).
"""

from .common import API_SCOPES, OIDC_SCOPES, SCOPES_SUPPORTED, s256, valid_redirect_uri
from .server import AuthServer
from .tokens import InvalidToken

__all__ = [
    "API_SCOPES",
    "OIDC_SCOPES",
    "SCOPES_SUPPORTED",
    "AuthServer",
    "InvalidToken",
    "s256",
    "valid_redirect_uri",
]
