"""PKCE S256 and the one-time values of a sign-in."""

from __future__ import annotations

import re

import pytest

from opsconsole.auth import pkce


def test_s256_matches_the_rfc_7636_example() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_unreserved_and_fresh() -> None:
    verifiers = {pkce.make_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    for verifier in verifiers:
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space" + "x" * 40, "é" * 50])
def test_a_verifier_outside_the_rfc_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="RFC 7636"):
        pkce.s256_challenge(bad)


def test_state_and_nonce_are_unguessable_and_distinct() -> None:
    values = {pkce.make_state() for _ in range(20)} | {pkce.make_nonce() for _ in range(20)}
    assert len(values) == 40
    assert all(len(v) >= 40 for v in values)
