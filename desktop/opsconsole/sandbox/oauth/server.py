"""``AuthServer``: the token core plus the endpoint families, and the one router that mounts them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from ..settings import CLIENT_ID, SandboxSettings
from . import discovery, revocation
from .authorize import AuthorizePages
from .common import basic_client_id, in_thread, read_form, token_error
from .device import GRANT_TYPE as DEVICE_GRANT
from .device import DeviceFlow
from .forms import Forms
from .grants import TokenGrants
from .tokens import TokenService


class AuthServer(TokenService):
    """The authorization server of one sandbox app: the token core (inherited), its pages and grants,
    and ``router`` with every endpoint."""

    def __init__(self, settings: SandboxSettings, engine: Engine) -> None:
        super().__init__(settings, engine)
        self.forms = Forms(cookie_max_age=settings.login_ttl)
        self.device = DeviceFlow(self, self.forms)
        self.pages = AuthorizePages(self, self.forms, self.device)
        self.grants = TokenGrants(self)
        self.router = self._build_router()

    def metadata(self, *, openid: bool) -> dict[str, object]:
        return discovery.metadata(self.issuer, openid=openid)

    def _build_router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)
        pages, forms, grants, device = self.pages, self.forms, self.grants, self.device

        @router.get("/.well-known/openid-configuration")
        def openid_configuration() -> JSONResponse:
            return JSONResponse(self.metadata(openid=True))

        @router.get("/.well-known/oauth-authorization-server")
        def authorization_server_metadata() -> JSONResponse:
            return JSONResponse(self.metadata(openid=False))

        @router.get("/jwks.json")
        @router.get("/.well-known/jwks.json")
        def jwks() -> JSONResponse:
            return JSONResponse({"keys": [self.key.public_jwk()]}, headers={"Cache-Control": "max-age=300"})

        @router.get("/authorize")
        def authorize(request: Request) -> Response:
            return pages.authorize(request)

        async def html_form(request: Request, handler: Callable[..., Response], what: str) -> Response:
            form, problem = await read_form(request)
            if problem is not None:
                return forms.error_page("Bad form", f"The {what} form was not sent as a form.")
            return await in_thread(handler, request, form)

        @router.post("/authorize/login")
        async def login(request: Request) -> Response:
            return await html_form(request, pages.login, "sign-in")

        @router.post("/authorize/consent")
        async def consent(request: Request) -> Response:
            return await html_form(request, pages.consent, "consent")

        async def client_form(request: Request) -> tuple[dict[str, str], Response | None]:
            """The form of a token-endpoint-style request and its (public) client, or the error answer."""
            params, problem = await read_form(request)
            if problem is not None:
                return params, token_error("invalid_request", problem)
            basic_client = basic_client_id(request)
            if basic_client is not None:
                if params.get("client_id", basic_client) != basic_client:
                    return params, token_error(
                        "invalid_request", "client_id differs from the Authorization header"
                    )
                params["client_id"] = basic_client
            if params.get("client_id") != CLIENT_ID:
                return params, token_error("invalid_client", "unknown client", status=401)
            return params, None

        @router.get("/device")
        def verify(request: Request) -> Response:
            return pages.verify(request)

        @router.post("/device_authorization")
        async def device_authorization(request: Request) -> Response:
            params, refused = await client_form(request)
            return refused or await in_thread(device.authorize, params)

        @router.post("/token")
        async def token(request: Request) -> Response:
            params, refused = await client_form(request)
            if refused is not None:
                return refused
            grant_type = params.get("grant_type", "")
            if grant_type == "authorization_code":
                return await in_thread(grants.exchange_code, params)
            if grant_type == "refresh_token":
                return await in_thread(grants.refresh, params)
            if grant_type == DEVICE_GRANT:
                return await in_thread(device.token, params)
            if not grant_type:
                return token_error("invalid_request", "grant_type is required")
            return token_error(
                "unsupported_grant_type", f"supported: authorization_code, refresh_token, {DEVICE_GRANT}"
            )

        @router.post("/revoke")
        async def revoke(request: Request) -> Response:
            params, problem = await read_form(request)
            if problem is not None:
                return token_error("invalid_request", problem)
            client_id = basic_client_id(request) or params.get("client_id")
            if client_id != CLIENT_ID:
                return token_error("invalid_client", "unknown client", status=401)
            return await in_thread(revocation.revoke, self, params)

        @router.api_route("/userinfo", methods=["GET", "POST"])
        def userinfo(request: Request) -> Response:
            return revocation.userinfo(self, request)

        return router
