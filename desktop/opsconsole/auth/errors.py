"""The sign-in feature's errors: what went wrong, in words a support engineer can act on.

Every error here is an :class:`~opsconsole.errors.OpsError` with exit status 3 ("sign-in needed or
refused", INTERFACE.md), so the CLI maps them without knowing them. Texts never carry a token, an
authorization code, a PKCE verifier or a state value: only what the provider said in words (its
``error`` code and ``error_description``, made printable and clipped) and what the user can do next.
"""

from __future__ import annotations

from ..errors import OpsError

LOGIN_HINT = "Run `opsconsole login` to sign in (add --profile NAME for another profile)."
_MAX_DESCRIPTION = 300

# RFC 6749 4.1.2.1, 5.2; OpenID Connect Core 3.1.2.6; RFC 8628 3.5: the codes a provider sends, in words.
PROVIDER_ERRORS: dict[str, str] = {
    "access_denied": "The sign-in was declined (by you on the consent page, or by the provider's policy)",
    "invalid_scope": "The provider refused the requested scopes",
    "unauthorized_client": "The provider does not allow this client to sign in this way",
    "unsupported_response_type": "The provider does not support the authorization-code flow for this client",
    "invalid_request": "The provider rejected the sign-in request as malformed",
    "server_error": "The provider had an internal error during sign-in",
    "temporarily_unavailable": "The provider is temporarily unavailable",
    "login_required": "The provider requires you to log in",
    "consent_required": "The provider requires your consent",
    "interaction_required": "The provider requires you to interact with its sign-in page",
    "account_selection_required": "The provider requires you to choose an account",
    "invalid_grant": "The provider refused the grant: the code or refresh token is invalid, expired, "
    "revoked or was already used",
    "invalid_client": "The provider does not accept this client (check client_id in the profile)",
    "unsupported_grant_type": "The provider does not support this grant type for this client",
    "authorization_pending": "The sign-in on the other device is not finished yet",
    "slow_down": "The provider asked to poll more slowly",
    "expired_token": "The device code expired before the sign-in was finished",
}


def printable(text: object, limit: int = _MAX_DESCRIPTION) -> str:
    """Provider-supplied text made safe to show: printable characters only, clipped."""
    out = "".join(ch if ch.isprintable() else " " for ch in str(text)).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def describe_provider_error(error: str, description: str = "") -> str:
    """``access_denied`` + description -> a sentence people can read, keeping the code for searching."""
    code = printable(error, 80) or "unknown_error"
    words = PROVIDER_ERRORS.get(code, "The provider refused the sign-in")
    text = f"{words} ({code})"
    detail = printable(description)
    if detail:
        text += f": {detail}"
    return text


class AuthError(OpsError):
    """Base of the sign-in errors: the command cannot get or use a valid token (exit status 3)."""

    exit_code = 3


class SignInRequired(AuthError):
    """No usable session for the profile: never signed in, signed out, or the session ended."""

    hint = LOGIN_HINT


class SignInRefused(AuthError):
    """The provider answered with an OAuth error (``error=`` on the callback or the token endpoint)."""

    def __init__(self, error: str, description: str = "", *, hint: str | None = None) -> None:
        self.error = printable(error, 80)
        self.description = printable(description)
        super().__init__(describe_provider_error(error, description), hint=hint)


class SessionEnded(SignInRequired):
    """The provider refused the refresh token: the user must sign in again (the stored tokens are gone)."""


class SignInCancelled(AuthError):
    """The user cancelled the sign-in."""


class SignInTimeout(AuthError):
    """The browser never came back to the console within the time allowed."""

    hint = "Run `opsconsole login` again and finish the sign-in in the browser."


class CallbackError(AuthError):
    """The browser came back with a callback the console must not trust (wrong state, wrong issuer...)."""

    hint = "Start the sign-in again from Ops Console; do not reuse an old sign-in link."


class DiscoveryError(AuthError):
    """The provider's metadata could not be fetched or does not describe what the console needs."""

    hint = "Check the profile's issuer: it must be the provider's issuer URL exactly."


class ProviderError(AuthError):
    """The provider failed (HTTP 5xx, malformed answer) while issuing or refreshing tokens."""


class TokenError(AuthError):
    """A token from the provider failed verification (signature, issuer, audience, expiry, nonce)."""

    hint = (
        "Nothing was stored. If this persists, check the profile's issuer and audience, "
        "and this computer's clock."
    )


class TokenStorageError(AuthError):
    """The OS keyring could not be used to read or write the tokens."""


class InsecureTransportError(AuthError):
    """Refusing to send a token or credential over plain HTTP to a host other than this machine."""
