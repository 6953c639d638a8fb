"""The sandbox's settings: one dataclass that the command line, the demo and the tests fill in.

Every module of the sandbox reads its knobs from :class:`SandboxSettings` (held at
``app.state.settings``), so a test can shorten token lifetimes or point at PostgreSQL without
touching anything else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

DEFAULT_PORT = 8700
DEFAULT_PASSWORD = "sandbox"
CLIENT_ID = "opsconsole"
API_AUDIENCE = "opsconsole-api"
MAX_HEARTBEAT = 15.0


def default_data_dir() -> Path:
    """Where the sandbox keeps its SQLite file and signing key when ``--data-dir`` is not given."""
    return Path(platformdirs.user_data_dir("opsconsole", appauthor=False)) / "sandbox"


def is_loopback_host(host: str) -> bool:
    """True for hosts that only this machine can reach (127.0.0.0/8, ::1, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SandboxSettings:
    """Everything the sandbox can be told; defaults are the documented ones of ``opsconsole sandbox``.

    ``db_url`` None means SQLite in ``data_dir``. ``port`` 0 asks :func:`server.start_background` for a
    free port; ``public_url`` (the OAuth issuer) is derived from host and port unless
    ``external_url`` pins it (behind a proxy, or when binding a wildcard address).
    ``scrape_token_file`` holds the token that opens ``/metrics`` and ``/jaeger`` beyond loopback.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    users: int = 0
    event_rate: float = 0.0
    traffic: float = 0.0
    password: str = DEFAULT_PASSWORD
    access_token_ttl: int = 900
    refresh_token_ttl: int = 604_800
    code_ttl: int = 60
    events_keep: int = 10_000
    heartbeat_interval: float = 15.0
    external_url: str | None = None
    login_ttl: int = 600
    seed_random: int = 20_240_601
    scrape_token_file: Path | None = None

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port must be 0..65535, not {self.port}")
        if self.users < 0:
            problems.append(f"users must be >= 0, not {self.users}")
        if self.event_rate < 0 or self.traffic < 0:
            problems.append("event rate and traffic must be >= 0")
        for name in ("access_token_ttl", "refresh_token_ttl", "code_ttl", "login_ttl"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        if self.events_keep < 1:
            problems.append("events_keep must be >= 1")
        if not 0 < self.heartbeat_interval <= MAX_HEARTBEAT:
            # Open streams are re-checked (revocation, permissions) at each heartbeat.
            problems.append(f"heartbeat_interval must be > 0 and at most {MAX_HEARTBEAT:g} s")
        if not self.password:
            problems.append("password must not be empty")
        if problems:
            raise ValueError("invalid sandbox settings: " + "; ".join(problems))
        # Accept str for convenience (CLI, tests); keep the field a Path for everyone reading it.
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.scrape_token_file is not None:
            object.__setattr__(self, "scrape_token_file", Path(self.scrape_token_file))

    @property
    def public_url(self) -> str:
        """The issuer and base URL clients use, without a trailing slash."""
        if self.external_url:
            return self.external_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "", "::"):  # noqa: S104 - a wildcard bind is reached through loopback here
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)
