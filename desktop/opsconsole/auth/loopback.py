"""The one-shot loopback receiver the browser returns to after sign-in (RFC 8252 7.3).

It listens on 127.0.0.1 (``::1`` when this machine has no IPv4 loopback) on an ephemeral port, or on the
profile's ``redirect_port`` for providers that pin it. The first GET of ``/callback`` that carries this
sign-in's ``state`` and a ``code`` or an ``error`` is handed to the sign-in flow, and the browser's
connection is held open until the flow has finished the token exchange, so the page can honestly say
"signed in" or what went wrong. Any process on this machine can reach the port, so the state is the
receiver's first check (RFC 6749 10.12): a callback with a missing or wrong state, an ``error=``
included, is answered 400 and changes nothing; the receiver keeps listening for the real browser until
the time runs out. Anything else (``/favicon.ico``, a stray request, a second callback) also gets a
short polite answer. After the answer the listener closes: a replayed callback URL finds no one
listening.

The HTTP handling is deliberately minimal (one request per connection, bounded sizes and times): the
only client is the user's own browser, and nothing here needs more than a request line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import html
import logging
import socket
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from .errors import AuthError, CallbackError, SignInTimeout

log = logging.getLogger("opsconsole.auth")

CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 300.0
_HEAD_LIMIT = 16 * 1024
_READ_TIMEOUT = 10.0
# How long the browser's connection is held for the flow's verdict before a neutral page is sent.
_VERDICT_TIMEOUT = 60.0
_IPV4 = "127.0.0.1"
_IPV6 = "::1"
# Binding 127.0.0.1 fails with these when the machine has no IPv4 loopback; anything else is a real error.
_NO_ADDRESS = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}


@dataclass
class Callback:
    """The browser's return to the console: the query parameters of the callback request."""

    params: dict[str, str]
    duplicated: tuple[str, ...] = ()  # parameter names sent more than once (RFC 6749 3.1 forbids it)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)


class LoopbackReceiver:
    """Async context manager: ``async with LoopbackReceiver(state) as r: url = r.redirect_uri; cb = await r.wait()``.

    ``state`` is the one the authorization request carries: only a callback that returns it is delivered.
    """

    def __init__(
        self,
        state: str,
        port: int = 0,
        *,
        hosts: tuple[str, ...] = (_IPV4, _IPV6),
        path: str = CALLBACK_PATH,
        app_name: str = "Ops Console",
    ) -> None:
        if not state:
            raise ValueError("a sign-in receiver needs the state of its authorization request")
        self._state = state.encode()
        self._port = port
        self._refused = 0  # callbacks that did not carry this sign-in's state
        self._hosts = hosts
        self._path = path
        self._app_name = app_name
        self._server: asyncio.Server | None = None
        self._callback: asyncio.Future[Callback] | None = None
        self._pending: Callback | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._done = False
        self._expiry: asyncio.TimerHandle | None = None
        self.host = ""
        self.port = 0

    @property
    def redirect_uri(self) -> str:
        if not self.port:
            raise RuntimeError("the receiver is not listening yet")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self._path}"

    async def start(self) -> str:
        """Start listening; return the redirect URI."""
        self._callback = asyncio.get_running_loop().create_future()
        last: OSError | None = None
        for host in self._hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            try:
                self._server = await asyncio.start_server(
                    self._serve, host=host, port=self._port, family=family, reuse_address=False
                )
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise AuthError(
                        f"Port {self._port} on {host} is already in use, so the browser cannot return "
                        "to the console (the profile pins redirect_port).",
                        hint="Close the program using that port, or set redirect_port = 0 if the "
                        "provider accepts any loopback port.",
                    ) from exc
                if exc.errno not in _NO_ADDRESS:
                    raise AuthError(f"Cannot listen on {host} for the sign-in callback: {exc}") from exc
                last = exc
                continue
            sockname = self._server.sockets[0].getsockname()
            self.host, self.port = host, int(sockname[1])
            log.debug("sign-in receiver listening on %s port %d", host, self.port)
            return self.redirect_uri
        raise AuthError(f"Cannot listen on a loopback address for the sign-in callback: {last}")

    async def __aenter__(self) -> LoopbackReceiver:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def wait(self, give_up_after: float | None = DEFAULT_TIMEOUT) -> Callback:
        """The first valid callback. Raises SignInTimeout after ``give_up_after`` seconds; cancellable."""
        if self._callback is None:
            raise RuntimeError("start() the receiver first")
        try:
            return await asyncio.wait_for(asyncio.shield(self._callback), give_up_after)
        except TimeoutError:
            limit = give_up_after or 0.0
            minutes = f"{limit / 60:g} minutes" if limit >= 60 else f"{limit:g} seconds"
            text = f"The browser did not come back to the console within {minutes}."
            if self._refused:
                text += (
                    f" {self._refused} sign-in response(s) that did not belong to this sign-in (wrong or "
                    "missing state) were refused; only the tab the console opened can finish it."
                )
            raise SignInTimeout(text) from None

    async def respond(self, ok: bool, message: str) -> None:
        """Answer the browser that delivered the callback, then stop listening."""
        pending, self._pending = self._pending, None
        self._done = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if pending is not None and pending._writer is not None:
            title = "Signed in" if ok else "Sign-in failed"
            page = _page(title, message, ok=ok, app_name=self._app_name)
            with contextlib.suppress(OSError, TimeoutError):  # the browser may have gone away
                await _send(pending._writer, 200 if ok else 400, page)
        await self.close()

    async def close(self) -> None:
        self._done = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._pending is not None and self._pending._writer is not None:
            # The flow ended without a verdict (cancelled, crashed): the browser still deserves a page.
            writer, self._pending = self._pending._writer, None
            page = _page(
                "Sign-in stopped", "The console stopped this sign-in. You can close this tab.", ok=False
            )
            with contextlib.suppress(Exception):
                await _send(writer, 503, page)
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._callback is not None and not self._callback.done():
            self._callback.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        held = False
        try:
            held = await self._handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            if not held:
                raise
        finally:
            self._connections.discard(task)
            if not held:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True when the connection is held for the flow's verdict."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        if len(head) > _HEAD_LIMIT:
            await _send(writer, 431, _page("Request too large", "", ok=False))
            return False
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            await _send(writer, 400, _page("Bad request", "", ok=False))
            return False
        method, target, _version = parts
        try:
            url = urlsplit(target)
        except ValueError:  # e.g. an unclosed IPv6 bracket in an absolute-form target
            await _send(writer, 400, _page("Bad request", "", ok=False))
            return False
        if url.path != self._path:
            # /favicon.ico and the like: nothing to see, and no reason to alarm anyone.
            await _send(writer, 404, b"", content_type="text/plain")
            return False
        if method not in ("GET", "HEAD"):
            await _send(writer, 405, _page("Method not allowed", "", ok=False), extra=(("Allow", "GET"),))
            return False
        raw = parse_qs(url.query, keep_blank_values=True)
        if not self._belongs(raw.get("state", [])):
            # Another tab, a replayed link or another local process: refused, and the sign-in goes on.
            self._refused += 1
            log.warning("refused a sign-in callback without this sign-in's state")
            await _send(
                writer,
                400,
                _page(
                    "Not this sign-in",
                    "This response does not belong to the sign-in in progress, so it was ignored. "
                    "Finish the sign-in in the tab the console opened, or start it again from the console.",
                    ok=False,
                ),
            )
            return False
        if "code" not in raw and "error" not in raw:
            await _send(
                writer,
                400,
                _page("Not a sign-in response", "This address only receives sign-in responses.", ok=False),
            )
            return False
        if method == "HEAD" or self._done or self._callback is None or self._callback.done():
            await _send(
                writer,
                409,
                _page(
                    "Already handled",
                    "This sign-in has already been completed or stopped. You can close this tab.",
                    ok=False,
                ),
            )
            return False
        callback = Callback(
            params={k: v[0] for k, v in raw.items()},
            duplicated=tuple(sorted(k for k, v in raw.items() if len(v) > 1)),
            _writer=writer,
        )
        self._pending = callback
        self._callback.set_result(callback)
        # Hold the connection until respond() (or close()) answers it; a flow that forgets gets a timeout.
        self._expiry = asyncio.get_running_loop().call_later(_VERDICT_TIMEOUT, self._expire, callback)
        return True

    def _belongs(self, states: list[str]) -> bool:
        # Exactly one state, equal to ours; compared in constant time so a local process cannot time it.
        return len(states) == 1 and hmac.compare_digest(states[0].encode(), self._state)

    def _expire(self, callback: Callback) -> None:
        if self._pending is callback and callback._writer is not None:
            self._pending = None
            writer = callback._writer
            page = _page("Sign-in pending", "The console did not answer in time; check it.", ok=False)
            task = asyncio.ensure_future(_send(writer, 504, page))
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


def check_callback_shape(callback: Callback) -> None:
    """RFC 6749 3.1: a parameter sent twice makes the response ambiguous; refuse it."""
    if callback.duplicated:
        raise CallbackError(
            "The sign-in response repeats the parameter(s) " + ", ".join(callback.duplicated) + "."
        )


_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    *,
    content_type: str = "text/html; charset=utf-8",
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    headers = [
        f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "Cache-Control: no-store",
        # The page's URL carries the code: never pass it on, and run nothing from anywhere.
        "Referrer-Policy: no-referrer",
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options: nosniff",
        *(f"{k}: {v}" for k, v in extra),
    ]
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body)
    try:
        await asyncio.wait_for(writer.drain(), _READ_TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _page(title: str, message: str, *, ok: bool, app_name: str = "Ops Console") -> bytes:
    colour = "#1a7f37" if ok else "#b42318"
    mark = "&#10003;" if ok else "!"
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{html.escape(title)} - {html.escape(app_name)}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f6f8fa;color:#1f2328;display:flex;
align-items:center;justify-content:center;min-height:90vh;margin:0}}
main{{background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:2rem 2.5rem;max-width:32rem;
text-align:center}}
.mark{{font-size:2.5rem;color:{colour};line-height:1}}
h1{{font-size:1.4rem;margin:.5rem 0}}
p{{margin:.25rem 0;color:#57606a}}
</style></head>
<body><main><div class="mark" aria-hidden="true">{mark}</div>
<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>
<p><small>{html.escape(app_name)}</small></p></main></body></html>
"""
    return body.encode("utf-8")
