"""The one-shot loopback receiver, with real HTTP requests from a real client."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from opsconsole.auth.errors import AuthError, CallbackError, SignInTimeout
from opsconsole.auth.loopback import LoopbackReceiver, check_callback_shape

STATE = "xyz"


async def test_listens_on_ipv4_loopback_on_an_ephemeral_port() -> None:
    async with LoopbackReceiver(STATE) as receiver:
        assert receiver.host == "127.0.0.1"
        assert receiver.port > 1024
        assert receiver.redirect_uri == f"http://127.0.0.1:{receiver.port}/callback"


async def test_first_valid_callback_is_delivered_and_answered_after_the_verdict() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?code=abc&state=xyz"))
        callback = await receiver.wait(5)
        assert callback.params == {"code": "abc", "state": "xyz"}
        assert not browser.done()  # the browser waits for the outcome of the exchange
        await receiver.respond(True, "Signed in as alice. You can close this tab.")
        page = await browser
    assert page.status_code == 200
    assert "Signed in" in page.text and "You can close this tab" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_a_failure_is_shown_to_the_browser_in_words() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?error=access_denied&state=xyz"))
        await receiver.wait(5)
        await receiver.respond(False, "The sign-in was declined <script>")
        page = await browser
    assert page.status_code == 400
    assert "Sign-in failed" in page.text
    assert "declined &lt;script&gt;" in page.text  # provider text is escaped, never markup


async def test_stray_requests_are_answered_politely_and_ignored() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{receiver.port}"
        favicon = await client.get(base + "/favicon.ico")
        stray = await client.get(base + "/anything")
        empty = await client.get(base + "/callback")
        posted = await client.post(base + "/callback?code=x&state=xyz")
        assert (favicon.status_code, stray.status_code, empty.status_code) == (404, 404, 400)
        assert posted.status_code == 405
        with pytest.raises(SignInTimeout):
            await receiver.wait(0.05)  # none of those was a callback


@pytest.mark.parametrize(
    "query",
    [
        "?error=access_denied",  # no state: the attack of issue 15, item 9
        "?error=access_denied&state=guess",
        "?code=stolen&state=guess",
        "?code=stolen&state=",
        "?code=c&state=xyz&state=guess",  # two states: ambiguous, so not ours
        "?code=c&state=XYZ",
    ],
)
async def test_a_callback_without_this_sign_ins_state_is_refused_and_the_receiver_keeps_listening(
    query: str,
) -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        refused = await client.get(receiver.redirect_uri + query)
        assert refused.status_code == 400
        assert "does not belong to the sign-in in progress" in refused.text
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?code=real&state=xyz"))
        callback = await receiver.wait(5)
        assert callback.params == {"code": "real", "state": "xyz"}
        await receiver.respond(True, "ok")
        assert (await browser).status_code == 200


async def test_an_error_with_the_right_state_is_delivered() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?error=access_denied&state=xyz"))
        assert (await receiver.wait(5)).params["error"] == "access_denied"
        await receiver.respond(False, "declined")
        assert (await browser).status_code == 400


async def test_a_timeout_after_refused_callbacks_says_so() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        assert (await client.get(receiver.redirect_uri + "?error=x")).status_code == 400
        with pytest.raises(SignInTimeout, match=r"1 sign-in response\(s\) that did not belong"):
            await receiver.wait(0.05)


def test_a_receiver_without_a_state_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="needs the state"):
        LoopbackReceiver("")


async def test_it_is_one_shot_a_replayed_callback_finds_no_listener() -> None:
    receiver = LoopbackReceiver(STATE)
    uri = await receiver.start()
    async with httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(uri + "?code=abc&state=xyz"))
        await receiver.wait(5)
        second = await client.get(uri + "?code=abc&state=xyz")  # while the first is being handled
        assert second.status_code == 409
        await receiver.respond(True, "ok")
        await browser
        with pytest.raises(httpx.ConnectError):
            await client.get(uri + "?code=abc&state=xyz")


async def test_it_times_out_with_a_clear_error() -> None:
    async with LoopbackReceiver(STATE) as receiver:
        with pytest.raises(SignInTimeout, match=r"did not come back to the console within 0\.1 seconds"):
            await receiver.wait(0.1)


async def test_stopping_mid_exchange_leaves_the_browser_a_page_and_stops_listening() -> None:
    receiver = LoopbackReceiver(STATE)
    uri = await receiver.start()
    async with httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(uri + "?code=abc&state=xyz"))
        await receiver.wait(5)
        await receiver.close()  # what a cancelled sign-in does: no verdict was given
        page = await browser
        assert page.status_code == 503 and "stopped" in page.text
        with pytest.raises(httpx.ConnectError):
            await client.get(uri + "?code=abc&state=xyz")


async def test_cancel_while_waiting_for_the_browser() -> None:
    async with LoopbackReceiver(STATE) as receiver:
        waiting = asyncio.create_task(receiver.wait(60))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_falls_back_to_ipv6_when_ipv4_loopback_is_unavailable() -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface: binding it fails the way a missing 127.0.0.1 does.
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    async with LoopbackReceiver(STATE, hosts=("192.0.2.1", "::1")) as receiver, httpx.AsyncClient() as client:
        assert receiver.redirect_uri == f"http://[::1]:{receiver.port}/callback"
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?code=c&state=xyz"))
        assert (await receiver.wait(5)).params["code"] == "c"
        await receiver.respond(True, "ok")
        assert (await browser).status_code == 200


async def test_a_pinned_port_in_use_is_explained() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(AuthError, match=f"Port {port} on 127.0.0.1 is already in use") as caught:
            await LoopbackReceiver(STATE, port).start()
    assert "redirect_port" in caught.value.hint


async def test_a_pinned_port_is_used_when_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopbackReceiver(STATE, port) as receiver:
        assert receiver.redirect_uri == f"http://127.0.0.1:{port}/callback"


async def test_repeated_parameters_are_refused() -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?code=a&code=b&state=xyz"))
        callback = await receiver.wait(5)
        with pytest.raises(CallbackError, match="repeats the parameter"):
            check_callback_shape(callback)
        await receiver.respond(False, "no")
        assert (await browser).status_code == 400


@pytest.mark.parametrize(
    "request_head",
    [
        b"NONSENSE\r\n\r\n",
        # urlsplit raises ValueError on an unclosed IPv6 bracket: that once escaped as a logged
        # traceback, with no answer for the client.
        b"GET http://[::1/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET //[fe80::1/callback?state=xyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ],
)
async def test_garbage_on_the_socket_is_answered_400_and_does_not_break_the_receiver(
    request_head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with LoopbackReceiver(STATE) as receiver, httpx.AsyncClient() as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        writer.write(request_head)
        await writer.drain()
        assert (await reader.read()).startswith(b"HTTP/1.1 400")
        writer.close()
        browser = asyncio.create_task(client.get(receiver.redirect_uri + "?code=c&state=xyz"))
        assert (await receiver.wait(5)).params["code"] == "c"
        await receiver.respond(True, "ok")
        assert (await browser).status_code == 200
    assert not [r for r in caplog.records if r.exc_info]
