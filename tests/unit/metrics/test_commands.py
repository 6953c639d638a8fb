"""Which requests carry the profile's sign-in: only those to the system the profile signs in to."""

from __future__ import annotations

import pytest

from opsconsole.config import Profile
from opsconsole.metrics.commands import uses_sign_in


def profile(base: str) -> Profile:
    return Profile(name="p", api_url=f"{base}/api", issuer=base, client_id="opsconsole")


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        ("http://127.0.0.1:8700", "http://127.0.0.1:8700/metrics", True),
        ("https://ops.example.com", "https://ops.example.com/metrics", True),
        ("https://ops.example.com", "https://prometheus.example.com/api/v1", False),  # a third party
        ("https://ops.example.com", "https://ops.example.com:9090/metrics", False),  # another port
        ("http://ops.example.com", "http://ops.example.com/metrics", False),  # plain http off loopback
        ("http://127.0.0.1:8700", "http://127.0.0.1:9090", False),
    ],
)
def test_uses_sign_in(base: str, url: str, expected: bool) -> None:
    assert uses_sign_in(profile(base), url) is expected
