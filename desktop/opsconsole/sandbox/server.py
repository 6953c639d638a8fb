"""Running the sandbox: ``serve`` in the foreground (``opsconsole sandbox``) or ``start_background`` on a
thread (``opsconsole demo`` and the tests).

Both bind the listening socket first and only then build the app: with port 0 the free port the
system picked is known before the app is created, so the OAuth issuer URL (which names the port) is
right from the first request. The server binds loopback unless told otherwise, and says so loudly
when it is told otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI

from .app import create_app
from .seed import DEMO_ACCOUNTS
from .settings import DEFAULT_PASSWORD, SandboxSettings

log = logging.getLogger("opsconsole.sandbox.server")

_START_TIMEOUT = 120.0
_STOP_TIMEOUT = 30.0


class SandboxStartError(RuntimeError):
    """The sandbox could not start (port taken, database unreachable, bad data dir ...)."""


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SandboxStartError(f"cannot resolve host {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # SO_REUSEADDR lets a restarted sandbox take its port back from TIME_WAIT at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise SandboxStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class _QueryRedactingFilter(logging.Filter):
    """Drop query strings from uvicorn's access log: /authorize?... carries state and PKCE values."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


@contextmanager
def _redacted_access_log() -> Iterator[None]:
    access = logging.getLogger("uvicorn.access")
    redactor = _QueryRedactingFilter()
    access.addFilter(redactor)
    try:
        yield
    finally:
        access.removeFilter(redactor)


class _Server(uvicorn.Server):
    """uvicorn's server, telling a waiting thread when its startup has finished (well or not), and
    ending the event streams before it closes connections."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app
        self.startup_done = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_done.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn would close WebSockets with 1012 and only then run the lifespan shutdown; closing the
        # bus first lets each stream say goodbye itself (1001, "server shutting down").
        bus = getattr(self.app.state, "bus", None)
        if bus is not None:
            await bus.aclose("server shutting down")  # returns once every stream has sent its 1001
        await super().shutdown(sockets=sockets)


def _config(app: FastAPI, settings: SandboxSettings, *, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
        # Frames over 64 KiB are refused by the protocol layer (1009) instead of being buffered (up to
        # 16 MiB by default) before ws.py could look at them; pings find clients that vanished without
        # closing (a laptop lid shut), which the send timeout alone only notices once events flow.
        ws_max_size=65536,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )


def _prepare(settings: SandboxSettings) -> tuple[socket.socket, SandboxSettings, FastAPI]:
    if not settings.is_loopback:
        log.warning(
            "the sandbox listens on %s: other machines can reach it, and its demo accounts use a known "
            "password. Use --host 127.0.0.1 unless you mean it.",
            settings.host,
        )
    sock = _bind(settings.host, settings.port)
    try:
        port = sock.getsockname()[1]
        settings = dataclasses.replace(settings, port=port)
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    return sock, settings, app


def _banner(settings: SandboxSettings) -> str:
    accounts = ", ".join(email for email, _, _ in DEMO_ACCOUNTS)
    base = settings.public_url
    return (
        f"Ops Console sandbox on {base}\n"
        f"  issuer {base}   API {base}/api   docs {base}/docs\n"
        f"  events {base.replace('http', 'ws', 1)}/ws/notifications   metrics {base}/metrics   "
        f"traces {base}/jaeger\n"
        f"  accounts: {accounts} (password: the --password value, {DEFAULT_PASSWORD!r} by default)\n"
        f"  data: {'PostgreSQL' if settings.db_url else settings.data_dir}\n"
        "Press Ctrl+C to stop."
    )


def serve(settings: SandboxSettings) -> int:
    """Run the sandbox in the foreground until Ctrl+C (or SIGTERM); returns an exit status."""
    try:
        sock, settings, app = _prepare(settings)
    except SandboxStartError as exc:
        log.error("%s", exc)
        return 1
    except Exception as exc:
        log.error("the sandbox could not start: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return 1
    server = _Server(_config(app, settings, access_log=True), app)
    print(_banner(settings), file=sys.stderr, flush=True)
    try:
        with _redacted_access_log():
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl+C it handled, after a graceful shutdown.
        pass
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        sock.close()
    return 0 if server.started else 1


class RunningSandbox:
    """A sandbox serving on a background thread. Stop it with :meth:`stop` or a ``with`` block."""

    def __init__(self, settings: SandboxSettings, app: FastAPI, server: _Server, sock: socket.socket) -> None:
        self.settings = settings
        self.app = app
        self._server = server
        self._socket = sock
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{settings.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The base URL (and OAuth issuer), e.g. ``http://127.0.0.1:41234``."""
        return self.settings.public_url

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # SystemExit from a failed startup ends up here too
            self._error = exc

    def _start(self) -> None:
        self._thread.start()
        if not self._server.startup_done.wait(_START_TIMEOUT) or not self._server.started:
            self._server.should_exit = True
            self._thread.join(_STOP_TIMEOUT)
            self._socket.close()
            raise SandboxStartError(f"the sandbox did not start: {self._error or 'startup timed out'}")

    def stop(self) -> None:
        """Shut down gracefully and wait for the server thread (idempotent)."""
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT)
        self._socket.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.url}>"


def start_background(settings: SandboxSettings, **overrides: Any) -> RunningSandbox:
    """Start the sandbox on a thread and return once it accepts connections.

    ``settings.port`` 0 picks a free port; ``overrides`` replace fields of ``settings``.
    """
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    sock, settings, app = _prepare(settings)
    running = RunningSandbox(settings, app, _Server(_config(app, settings, access_log=False), app), sock)
    running._start()
    return running
