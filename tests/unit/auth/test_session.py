"""The whole sign-in session against a real provider on 127.0.0.1: flow, refresh, sign-out, hostility."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from opsconsole.auth import flow
from opsconsole.auth.errors import (
    CallbackError,
    DiscoveryError,
    ProviderError,
    SessionEnded,
    SignInRefused,
    SignInRequired,
    SignInTimeout,
    TokenError,
)
from opsconsole.auth.session import Session, SessionEvent
from opsconsole.auth.store import MemoryStore
from opsconsole.auth.tokens import TokenSet
from tests.unit.auth.conftest import FakeClock, session_for
from tests.unit.auth.mini_provider import MiniProvider


def _stored(session: Session) -> TokenSet | None:
    return MemoryStore().load(session.profile.name)


async def test_sign_in_stores_verified_tokens_and_tells_the_browser(
    provider: MiniProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    urls: list[str] = []
    events: list[SessionEvent] = []
    async with session_for(provider) as session:
        session.add_listener(events.append)
        tokens = await session.login(on_url=urls.append)
        status = await session.status()
    assert status.signed_in and status.username == "alice@example.test" and status.subject == "alice"
    assert "read:users" in status.scopes and status.storage == "memory"
    assert _stored(session) == tokens
    assert [e.kind for e in events] == ["signed_in"]
    page = provider.final_page()
    assert "Signed in" in page and "alice@example.test" in page
    query = urlsplit(urls[0]).query
    for part in ("code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code"):
        assert part in query
    assert "code_verifier" not in query
    # Nothing secret reached a log record, whatever the level.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (tokens.access_token, tokens.refresh_token):
        assert secret not in logged


HOSTILE: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"callback": "deny"}, SignInRefused, r"declined .*\(access_denied\): The user said no"),
    ({"callback": "invalid_scope"}, SignInRefused, r"refused the requested scopes \(invalid_scope\)"),
    ({"callback": "wrong_iss"}, CallbackError, "comes from the issuer 'https://evil.example'"),
    ({"callback": "no_iss"}, CallbackError, "has no issuer"),
    ({"sign_with_unpublished_key": True}, TokenError, "signature does not verify"),
    ({"issuer_claim": "https://evil.example"}, TokenError, "issued by 'https://evil.example'"),
    ({"already_expired": True}, TokenError, "already expired"),
    ({"token_status": 500}, ProviderError, r"token endpoint failed: Internal Server Error \(HTTP 500\)"),
    ({"token_html": True}, ProviderError, r"not JSON: an HTML page.*: Login"),
    ({"token_overrides": {"expires_in": "soon"}}, ProviderError, "invalid expires_in"),
    ({"token_overrides": {"token_type": "mac"}}, ProviderError, "only uses Bearer tokens"),
    ({"omit_id_token": True}, TokenError, "no ID token"),
]


@pytest.mark.parametrize(("behaviour", "error", "words"), HOSTILE, ids=[str(h[0]) for h in HOSTILE])
async def test_hostile_sign_ins_give_a_clear_error_and_store_nothing(
    make_provider: Callable[..., MiniProvider], behaviour: dict[str, Any], error: type[Exception], words: str
) -> None:
    provider = make_provider(**behaviour)
    async with session_for(provider) as session:
        with pytest.raises(error, match=words) as caught:
            await session.login()
        assert await session.status() == await session.status()
        assert not (await session.status()).signed_in
    assert _stored(session) is None
    assert getattr(caught.value, "exit_code", None) == 3
    assert "Sign-in failed" in provider.final_page()  # the browser is told too


@pytest.mark.parametrize("mode", ["404", "html"])
async def test_a_broken_discovery_stops_before_the_browser(
    make_provider: Callable[..., MiniProvider], mode: str
) -> None:
    provider = make_provider(discovery=mode)
    async with session_for(provider) as session:
        with pytest.raises(DiscoveryError):
            await session.login()
    assert "/authorize" not in provider.requests and _stored(session) is None


async def test_a_replayed_callback_is_refused_and_the_real_one_still_signs_in(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        first = await session.login()
        old = urlsplit(provider.last_callback_url)
        answers: list[int] = []

        def replay_then_browse(url: str) -> bool:
            # An attacker (or a browser's history) delivers the earlier callback to the new sign-in first.
            port = urlsplit(httpx.URL(url).params["redirect_uri"]).port
            with httpx.Client() as client:
                stale = client.get(urlunsplit((old.scheme, f"127.0.0.1:{port}", old.path, old.query, "")))
            answers.append(stale.status_code)
            return provider.browse(url)

        session._open_browser = replay_then_browse
        second = await session.login()
    assert answers == [400]
    assert second.refresh_token != first.refresh_token and _stored(session) == second
    assert provider.token_calls["authorization_code"] == 2  # the replayed code was never exchanged


async def test_a_provider_returning_another_state_cannot_finish_the_sign_in(
    make_provider: Callable[..., MiniProvider],
) -> None:
    provider = make_provider(callback="wrong_state")
    async with session_for(provider) as session:
        shown: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.create_task(session.login(open_browser=False, on_url=shown.put_nowait))
        assert not await asyncio.to_thread(provider.browse, await shown.get())
        assert "Not this sign-in" in provider.final_page()
        assert not task.done()  # refused, and still waiting for a callback that belongs to it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert _stored(session) is None and provider.token_calls["authorization_code"] == 0


async def test_a_code_is_good_for_one_exchange_only(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        meta = await session.metadata()
        request = flow.new_authorization_request(
            session._client(), meta, ("openid",), "http://127.0.0.1:1/callback", state="s"
        )
        async with httpx.AsyncClient() as browser:
            location = (await browser.get(request.url)).headers["location"]
        code = httpx.URL(location).params["code"]
        await flow.exchange_code(session._client(), meta, request, code)
        with pytest.raises(SignInRefused, match=r"already used \(invalid_grant\)"):
            await flow.exchange_code(session._client(), meta, request, code)


async def test_refresh_rotates_and_the_old_refresh_token_is_refused(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        first = await session.login()
        second = await session.refresh(force=True)
        assert second.refresh_token and second.refresh_token != first.refresh_token
        assert second.access_token != first.access_token
        assert _stored(session) == second
        with pytest.raises(SignInRefused, match="invalid_grant"):
            await flow.refresh_grant(session._client(), await session.metadata(), first.refresh_token)


async def test_expiry_refreshes_before_the_request(provider: MiniProvider) -> None:
    clock = FakeClock(time.time())
    provider.clock = clock
    async with session_for(provider, clock=clock) as session:
        first = await session.login()
        clock.advance(250)  # 50 s left of 300: still outside the 30 s margin
        assert await session.access_token() == first.access_token
        clock.advance(30)  # 20 s left: inside the margin
        async with session.client() as client:
            response = await client.get("/me")
    assert response.status_code == 200
    assert provider.token_calls["refresh_token"] == 1
    assert provider.api_calls == 1  # refreshed before sending, not after a 401


async def test_twenty_concurrent_requests_at_expiry_share_one_refresh(provider: MiniProvider) -> None:
    clock = FakeClock(time.time())
    provider.clock = clock
    provider.behaviour.token_delay = 0.05  # a slow provider widens the window for a second refresh
    async with session_for(provider, clock=clock) as session:
        await session.login()
        clock.advance(301)
        async with session.client() as client:
            responses = await asyncio.gather(*(client.get("/me") for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert provider.token_calls["refresh_token"] == 1


async def test_a_401_refreshes_once_and_retries(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        first = await session.login()
        provider.rotate_keys(drop_old=True)  # the API now refuses every token signed before
        async with session.client() as client:
            response = await client.get("/me")
        assert response.status_code == 200
        assert provider.token_calls["refresh_token"] == 1 and provider.api_calls == 2
        assert (await session.current()) != first


async def test_a_second_401_is_returned_not_looped(make_provider: Callable[..., MiniProvider]) -> None:
    provider = make_provider(opaque_access_token=True)  # the mini API cannot read opaque tokens: always 401
    async with session_for(provider) as session:
        await session.login()
        async with session.client() as client:
            response = await client.get("/me")
    assert response.status_code == 401
    assert provider.token_calls["refresh_token"] == 1 and provider.api_calls == 2


async def test_opaque_access_tokens_are_accepted_with_expires_in(
    make_provider: Callable[..., MiniProvider],
) -> None:
    provider = make_provider(opaque_access_token=True)
    async with session_for(provider) as session:
        tokens = await session.login()
    assert tokens.access_token.count(".") == 0
    assert tokens.expires_at is not None and tokens.expires_at - tokens.issued_at == 300
    assert "read:users" in tokens.scopes  # from the token response's scope


async def test_a_refused_refresh_ends_the_session_and_forgets_the_tokens(provider: MiniProvider) -> None:
    events: list[str] = []
    async with session_for(provider) as session:
        session.add_listener(lambda e: events.append(e.kind))
        await session.login()
        provider.refresh_tokens.clear()  # the provider revoked the grant (an admin, a password change)
        with pytest.raises(SessionEnded, match="has ended: the provider refused") as caught:
            await session.refresh(force=True)
        assert caught.value.exit_code == 3 and "opsconsole login" in caught.value.hint
        assert not (await session.status()).signed_in
    assert _stored(session) is None
    assert events == ["signed_in", "session_ended"]


async def test_a_transient_refresh_failure_keeps_a_still_valid_token(provider: MiniProvider) -> None:
    clock = FakeClock(time.time())
    provider.clock = clock
    async with session_for(provider, clock=clock) as session:
        first = await session.login()
        provider.behaviour.token_status = 500
        clock.advance(280)  # inside the margin, not yet expired
        assert await session.access_token() == first.access_token
        clock.advance(60)  # now expired: the failure can no longer be hidden
        with pytest.raises(ProviderError, match="HTTP 500"):
            await session.access_token()
    assert _stored(session) == first  # kept: the next attempt may succeed


async def test_without_a_refresh_token_expiry_ends_the_session(provider: MiniProvider) -> None:
    clock = FakeClock(time.time())
    provider.clock = clock
    async with session_for(provider, clock=clock, scopes=("openid", "read:users")) as session:
        tokens = await session.login()
        assert tokens.refresh_token == ""
        clock.advance(400)
        with pytest.raises(SessionEnded, match="gave no refresh token"):
            await session.access_token()


async def test_sign_out_revokes_the_refresh_token_and_forgets(provider: MiniProvider) -> None:
    events: list[str] = []
    async with session_for(provider) as session:
        session.add_listener(lambda e: events.append(e.kind))
        tokens = await session.login()
        result = await session.logout()
        assert result.was_signed_in and result.revocation is not None and result.revocation.done
        assert provider.revoked == [tokens.refresh_token]
        with pytest.raises(SignInRequired, match="Not signed in"):
            await session.access_token()
        with pytest.raises(SignInRefused, match="invalid_grant"):
            await flow.refresh_grant(session._client(), await session.metadata(), tokens.refresh_token)
    assert _stored(session) is None and events == ["signed_in", "signed_out"]


async def test_sign_out_without_a_revocation_endpoint_still_forgets(
    make_provider: Callable[..., MiniProvider],
) -> None:
    provider = make_provider(metadata_overrides={"revocation_endpoint": None})
    async with session_for(provider) as session:
        await session.login()
        result = await session.logout()
    assert result.revocation is not None and not result.revocation.done
    assert "no revocation endpoint" in result.message
    assert _stored(session) is None


async def test_sign_out_with_the_provider_unreachable_still_forgets(provider: MiniProvider) -> None:
    session = session_for(provider)
    await session.login()
    provider.__exit__(None, None, None)
    session._discovery.forget()
    result = await session.logout()
    await session.aclose()
    assert "could not reach the provider" in result.message
    assert _stored(session) is None


async def test_the_sign_in_times_out(provider: MiniProvider) -> None:
    notices: list[str] = []
    async with session_for(provider) as session:
        session._open_browser = lambda url: False  # no browser on this machine
        with pytest.raises(SignInTimeout):
            await session.login(give_up_after=0.3, on_notice=notices.append)
    assert notices == ["No browser could be started: open the sign-in link yourself."]
    assert _stored(session) is None


async def test_the_sign_in_can_be_cancelled(provider: MiniProvider) -> None:
    urls: list[str] = []
    shown = asyncio.Event()

    def show(url: str) -> None:
        urls.append(url)
        shown.set()

    async with session_for(provider) as session:
        task = asyncio.create_task(session.login(open_browser=False, on_url=show))
        await shown.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        redirect = httpx.URL(urls[0]).params["redirect_uri"]
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(redirect + "?code=x&state=y")  # the receiver is gone
    assert _stored(session) is None


async def test_a_non_interactive_session_never_starts_a_sign_in(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        session.interactive = False
        with pytest.raises(SignInRequired) as caught:
            await session.login()
    assert "opsconsole login" in caught.value.hint
    assert "/authorize" not in provider.requests


async def test_tokens_of_another_issuer_are_ignored(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        await session.login()
    MemoryStore().save(
        "test", TokenSet(access_token="x", issuer="https://old-idp.example", client_id="opsconsole")
    )
    async with session_for(provider) as session:
        assert not (await session.status()).signed_in
        with pytest.raises(SignInRequired):
            await session.access_token()


async def test_another_local_process_cannot_end_or_steer_a_sign_in(provider: MiniProvider) -> None:
    """Issue 15 item 9: only the callback carrying this sign-in's state counts; the rest is refused."""
    shown: asyncio.Queue[str] = asyncio.Queue()
    async with session_for(provider) as session:
        task = asyncio.create_task(session.login(open_browser=False, on_url=shown.put_nowait))
        url = await shown.get()
        redirect = httpx.URL(url).params["redirect_uri"]
        async with httpx.AsyncClient() as intruder:
            # What any process on this machine can send while `login` waits.
            no_state = await intruder.get(redirect + "?error=access_denied")
            wrong_state = await intruder.get(redirect + "?error=access_denied&state=guess")
            forged_code = await intruder.get(redirect + "?code=stolen&state=guess")
            other_path = await intruder.get(redirect.replace("/callback", "/done") + "?error=x")
        assert [r.status_code for r in (no_state, wrong_state, forged_code, other_path)] == [
            400,
            400,
            400,
            404,
        ]
        assert "does not belong to the sign-in" in no_state.text
        assert not task.done()  # still listening for the real browser
        assert await asyncio.to_thread(provider.browse, url)
        tokens = await task
    assert tokens.username == "alice@example.test"
    assert _stored(session) == tokens
    assert provider.token_calls["authorization_code"] == 1  # nothing forged reached the token endpoint


async def test_a_provider_that_does_not_rotate_keeps_the_refresh_token_and_its_expiry(
    make_provider: Callable[..., MiniProvider],
) -> None:
    provider = make_provider(rotate_refresh_tokens=False, token_overrides={"refresh_expires_in": 3600})
    async with session_for(provider) as session:
        first = await session.login()
        provider.behaviour.token_overrides = {}  # refresh answers say nothing about the refresh token
        second = await session.refresh(force=True)
    assert first.refresh_expires_at is not None
    assert second.refresh_token == first.refresh_token and second.access_token != first.access_token
    assert second.refresh_expires_at == first.refresh_expires_at
