"""The sign-in commands: ``login``, ``logout``, ``auth status`` and ``auth refresh``.

Each is a ``handler(ctx, args) -> int`` dispatched by cli.py. Errors are raised, not printed: the CLI
maps them to their exit status (3 for every sign-in error) and prints their text and hint. With
``--json`` stdout carries exactly one JSON document; everything meant for the person at the keyboard
(the sign-in link, warnings) goes to stderr then, so scripts can parse stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from typing import TextIO

from ..handler import CommandContext
from .flow import DeviceAuthorization
from .session import AuthStatus, open_session


def login(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()
    no_browser = bool(getattr(args, "no_browser", False))
    device = bool(getattr(args, "device", False))
    # The link goes where the person reads: stdout for text, stderr when stdout is JSON for a script.
    link_out: TextIO = sys.stderr if ctx.json else ctx.out

    def show_url(url: str) -> None:
        if no_browser:
            link_out.write("Open this link in a browser on this computer to sign in:\n")
        else:
            link_out.write("Opening the sign-in page in your browser. If it does not open, use this link:\n")
        link_out.write(f"{url}\n")
        link_out.write("Waiting for the browser to come back (Ctrl+C to cancel)…\n")
        link_out.flush()

    def notice(text: str) -> None:
        sys.stderr.write(f"opsconsole: {text}\n")
        sys.stderr.flush()

    def show_code(device: DeviceAuthorization) -> None:
        link_out.write(f"To sign in, open this address on any device:\n{device.verification_uri}\n")
        link_out.write(f"and enter the code {device.user_code}\n")
        if device.verification_uri_complete:
            link_out.write(
                f"(or open this link, which carries the code):\n{device.verification_uri_complete}\n"
            )
        link_out.write(f"Waiting for the sign-in (the code is valid for {_duration(device.expires_in)})…\n")
        link_out.flush()

    async def run() -> AuthStatus:
        async with open_session(profile, interactive=True) as session:
            _warn_storage(session.storage_warning)
            if device:
                await session.login_device(on_code=show_code)
            else:
                await session.login(open_browser=not no_browser, on_url=show_url, on_notice=notice)
            return await session.status()

    status = asyncio.run(run())
    ctx.emit(
        status.to_json(), f"Signed in to profile {profile.name} as {_who(status)}.\n" + _describe(status)
    )
    return 0


def logout(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()

    async def run() -> tuple[bool, bool, str]:
        async with open_session(profile) as session:
            result = await session.logout()
            revoked = result.revocation.done if result.revocation else False
            return result.was_signed_in, revoked, result.message

    was_signed_in, revoked, message = asyncio.run(run())
    ctx.emit(
        {"profile": profile.name, "was_signed_in": was_signed_in, "revoked": revoked, "message": message},
        f"Profile {profile.name}: {message}.",
    )
    return 0


def status(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()

    async def run() -> AuthStatus:
        async with open_session(profile) as session:
            return await session.status()

    current = asyncio.run(run())
    if not ctx.json:
        _warn_storage(current.storage_warning)
    heading = (
        f"Profile {profile.name}: signed in as {_who(current)}."
        if current.signed_in
        else f"Profile {profile.name}: not signed in (run `opsconsole login`)."
    )
    ctx.emit(current.to_json(), heading + "\n" + _describe(current))
    return 0


def refresh(ctx: CommandContext, args: argparse.Namespace) -> int:
    profile = ctx.profile()

    async def run() -> AuthStatus:
        async with open_session(profile) as session:
            _warn_storage(session.storage_warning)
            await session.refresh(force=True)
            return await session.status()

    current = asyncio.run(run())
    ctx.emit(current.to_json(), f"Profile {profile.name}: refreshed.\n" + _describe(current))
    return 0


def _warn_storage(warning: str) -> None:
    if warning:
        sys.stderr.write(f"opsconsole: warning: {warning}\n")
        sys.stderr.flush()


def _who(status: AuthStatus) -> str:
    if status.username and status.subject and status.username != status.subject:
        return f"{status.username} (subject {status.subject})"
    return status.username or status.subject or "an unknown user"


def _describe(status: AuthStatus) -> str:
    lines = []
    if status.signed_in:
        lines.append(f"  scopes:   {' '.join(status.scopes) or '-'}")
        lines.append(f"  access:   {_expiry(status.access_expires_at)}")
    storage = {
        "keyring": "the OS keyring",
        "memory": "memory only (this run)",
    }.get(status.storage, status.storage)
    lines.append(f"  storage:  {storage}")
    return "\n".join(lines)


def _expiry(expires_at: float | None) -> str:
    if expires_at is None:
        return "no expiry given by the provider"
    left = expires_at - time.time()
    when = datetime.fromtimestamp(expires_at).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    if left <= 0:
        return f"expired at {when} (refreshed on next use)"
    return f"valid until {when} ({_duration(left)} left)"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
