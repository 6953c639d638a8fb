"""A stub users API on httpx.MockTransport: canned answers per (method, path), and the requests seen."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from opsconsole import net
from opsconsole.users import UsersClient

API = "https://api.test/api"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def user_json(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "email": f"user{n}@example.com",
        "name": f"User {n}",
        "status": "active",
        "roles": ["viewer"],
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
    }
    data.update(overrides)
    return data


def problem(status: int, detail: str, title: str = "Problem", **extra: Any) -> httpx.Response:
    body = {"type": "urn:test", "title": title, "status": status, "detail": detail, **extra}
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/problem+json"}
    )


def ok(body: Any, status: int = 200, etag: str | None = None) -> httpx.Response:
    headers = {"ETag": etag} if etag else {}
    return httpx.Response(status, json=body, headers=headers)


class StubApi:
    """Answers by ``"METHOD /path"`` (path below /api); a list of answers is served in turn."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, route: str, *answers: Answer) -> None:
        self.routes.setdefault(route, []).extend(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = f"{request.method} {request.url.raw_path.decode().split('?')[0].removeprefix('/api')}"
        answers = self.routes.get(route)
        if not answers:
            return problem(404, f"no stub for {route}", title="Not found")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    def client(self) -> UsersClient:
        return UsersClient(net.build_client(base_url=API, transport=httpx.MockTransport(self.handler)))
