"""``create_app(settings)``: the sandbox's FastAPI application with everything wired in.

Building the app prepares the database (schema, seeding into an empty database), the signing key and
the event bus, so that a server started on it answers at once. ``app.state`` holds the seams listed
in docs/sandbox-contract.md; the lifespan starts and stops the background work (the event loop hand-off
of the bus, the synthetic generators, the periodic purge of expired OAuth rows).

Every HTTP response carries ``X-Request-ID`` (the client's, when it sent a sane one), and every error
of the API, including the framework's own (404, 405, validation), is an RFC 9457 problem document.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import api, db, files, jaeger, limits, seed, store, synthetic, telemetry, telemetry_access, tracing, ws
from .events import EventBus
from .oauth import AuthServer
from .problems import PROBLEM_MEDIA_TYPE, ProblemError, title_for, type_for
from .settings import SandboxSettings

log = logging.getLogger("opsconsole.sandbox.app")

API_VERSION = "1.0.0"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_PURGE_EVERY = 300.0


class RequestIdMiddleware:
    """Give each HTTP request an id (the client's if it is sane) and echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


def _problem_response(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    body.setdefault("instance", request.url.path)
    if request_id:
        body["request_id"] = request_id
    out_headers = dict(headers or {})
    if request_id:
        out_headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(body, status_code=status, headers=out_headers, media_type=PROBLEM_MEDIA_TYPE)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of ``app`` accepts on the request's path (asks the routes themselves)."""
    allowed = []
    for method in _METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return _problem_response(request, exc.status, exc.body(instance=None, request_id=None), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        # A body that is not JSON at all is a malformed request; JSON that breaks the schema is a 422.
        status = 400 if any(i["type"] == "json_invalid" for i in issues) else 422
        detail = "; ".join(f"{'.'.join(str(p) for p in i['loc'])}: {i['msg']}" for i in issues[:5])
        body = {
            "type": type_for(status),
            "title": title_for(status),
            "status": status,
            "detail": detail or "invalid request",
            "errors": issues,
        }
        return _problem_response(request, status, body)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else title_for(exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path often has several routes.
            allowed = _allowed_methods(app, request.scope)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        body = {
            "type": type_for(exc.status_code),
            "title": title_for(exc.status_code),
            "status": exc.status_code,
            "detail": detail,
        }
        return _problem_response(request, exc.status_code, body, headers)

    @app.exception_handler(IntegrityError)
    async def on_integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # The store checks uniqueness first; this is the race where a concurrent request won.
        body = {
            "type": type_for(409, "concurrent-change"),
            "title": title_for(409),
            "status": 409,
            "detail": "a concurrent change got there first (duplicate email, role or membership); reload and retry",
        }
        return _problem_response(request, 409, body)

    @app.exception_handler(OperationalError)
    async def on_database(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        body = {
            "type": type_for(503),
            "title": title_for(503),
            "status": 503,
            "detail": "the database is busy or unavailable; retry shortly",
        }
        return _problem_response(request, 503, body, {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        body = {
            "type": type_for(500),
            "title": title_for(500),
            "status": 500,
            "detail": "an unexpected error; the server log has the details",
        }
        return _problem_response(request, 500, body)


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = api.problem_media_types(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _purge_periodically(engine: Any) -> None:
    while True:
        await asyncio.sleep(_PURGE_EVERY)
        try:
            await run_in_threadpool(db.purge_expired, engine)
        except Exception:
            log.exception("purging expired OAuth rows failed")


def _account_permissions(engine: Any, claims: Mapping[str, Any]) -> set[str]:
    """What the roles of the token's account allow now (the stream's permission check)."""
    with db.reading(engine) as conn:
        return store.permission_names(conn, uuid.UUID(str(claims["sub"])))


def create_app(settings: SandboxSettings) -> FastAPI:
    """The sandbox app for ``settings``: database prepared and seeded, routes, middleware, lifespan."""
    scrape_token = telemetry_access.load_scrape_token(settings.scrape_token_file)
    # Before anything writes there: the folder 0700, the database and key 0600 (repaired if looser).
    files.prepare_data_dir(settings.data_dir, sqlite=settings.db_url is None)
    engine = db.create_engine_for(settings)
    db.create_schema(engine)
    bus = EventBus(engine, keep=settings.events_keep)
    bus.create_schema()
    seed.seed_database(
        engine, password=settings.password, users=settings.users, random_seed=settings.seed_random
    )
    auth = AuthServer(settings, engine)
    metrics = telemetry.Metrics(active_sessions=auth.active_sessions)
    traces = tracing.TraceStore()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bus.attach_loop(asyncio.get_running_loop())
        purge = asyncio.create_task(_purge_periodically(engine), name="sandbox-purge")
        # synthetic's settings Protocol declares plain (settable) attributes; ours are frozen fields.
        generators = synthetic.start(app, cast(Any, settings))
        try:
            yield
        finally:
            await synthetic.stop(generators)
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge
            bus.close()
            engine.dispose()

    app = FastAPI(
        title="Ops Console sandbox",
        version=API_VERSION,
        description=(
            "The reference backend of the system Ops Console operates. Errors are RFC 9457 problem "
            "details; resources carry ETags; PATCH, DELETE and PUT of role permissions need If-Match."
        ),
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.bus = bus
    app.state.metrics = metrics
    app.state.traces = traces
    app.state.auth = auth
    app.state.user_cache = store.UserCache()
    app.state.verify_access_token = auth.verify_access_token
    app.state.mint_service_token = auth.mint_service_token
    app.state.account_permissions = functools.partial(_account_permissions, engine)
    app.state.scrape_token = scrape_token
    app.state.streams = ws.StreamRegistry()

    app.include_router(auth.router)
    app.include_router(api.build_router())
    app.include_router(ws.router)
    # Open on loopback; beyond it a scrape token or an access token with read:telemetry.
    telemetry_guard = [Depends(telemetry_access.guard)]
    app.include_router(telemetry.router, dependencies=telemetry_guard)
    app.include_router(jaeger.router, dependencies=telemetry_guard)
    # Middleware added last runs first: request ids wrap everything, then metrics, then traces, then
    # the body limits (innermost, but still before routing and before any body is read).
    app.add_middleware(limits.BodyLimitMiddleware)
    app.add_middleware(tracing.TracingMiddleware)
    app.add_middleware(telemetry.MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    _install_error_handlers(app)
    _install_openapi(app)
    return app
