"""The auth hook: bearer on every request, only over safe transports, async only."""

from __future__ import annotations

import httpx
import pytest

from opsconsole.auth.errors import InsecureTransportError, SignInRequired
from opsconsole.auth.hook import BearerAuth
from tests.unit.auth.conftest import session_for
from tests.unit.auth.mini_provider import MiniProvider


async def test_the_token_is_never_sent_over_plain_http_to_another_host(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        await session.login()
        async with session.client("http://192.0.2.10/api") as client:
            with pytest.raises(InsecureTransportError, match="must be an https URL"):
                await client.get("/me")


async def test_requests_without_a_session_raise_sign_in_required(provider: MiniProvider) -> None:
    async with session_for(provider) as session, session.client(provider.issuer + "/api") as client:
        with pytest.raises(SignInRequired) as caught:
            await client.get("/me")
    assert caught.value.exit_code == 3
    assert provider.api_calls == 0


async def test_the_client_sends_the_bearer_token_to_the_profile_api(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        tokens = await session.login()
        async with session.client() as client:
            response = await client.get("/me")
            assert response.request.headers["Authorization"] == f"Bearer {tokens.access_token}"
            assert str(response.request.url) == f"{provider.issuer}/api/me"
    assert response.json() == {"sub": "alice"}


def test_the_hook_refuses_synchronous_clients(provider: MiniProvider) -> None:
    with (
        httpx.Client(auth=BearerAuth(session_for(provider))) as client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        client.get(provider.issuer + "/api/me")
