"""The ``users`` and ``roles`` commands: handlers ``(ctx, args) -> int`` dispatched by cli.py.

With ``--json`` stdout carries one JSON document in the contract's shapes (a user, a role, or a list
of them); otherwise a readable table or record. Errors are raised, and the CLI prints them and exits
with their status: 3 refused (with the server's reason), 4 not found, 5 conflict. A write first reads
the record for its current ETag and sends it as ``If-Match``, so the command never overwrites a
change made since that read, and nobody has to pass an ETag by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from ..errors import OpsError
from ..handler import CommandContext
from .client import MAX_PAGE, UsersClient
from .models import EffectivePermissions, Role, User, UserQuery

T = TypeVar("T")
DEFAULT_LIMIT = 100


class UsageError(OpsError):
    exit_code = 2


def _run(ctx: CommandContext, work: Callable[[UsersClient], Awaitable[T]]) -> T:
    """Run ``work`` with a users client over the profile's signed-in session."""
    from ..auth import open_session

    profile = ctx.profile()

    async def main() -> T:
        async with open_session(profile) as session, session.client() as http:
            return await work(UsersClient(http))

    return asyncio.run(main())


# --- text rendering ------------------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> str:
    """Columns sized to their content, each capped at its width in ``widths`` (the last one is not)."""
    sizes = [
        min(max([len(h), *(len(r[i]) for r in rows)]), cap) if i < len(headers) - 1 else 0
        for i, (h, cap) in enumerate(zip(headers, widths, strict=True))
    ]
    lines = []
    for cells in (headers, *rows):
        parts = [
            _clip(c, sizes[i]).ljust(sizes[i]) if sizes[i] else _clip(c, 200) for i, c in enumerate(cells)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _day(user: User) -> str:
    return user.created_at.astimezone().strftime("%Y-%m-%d")


def users_table(users: Sequence[User]) -> str:
    rows = [[u.email, u.name, u.status, ", ".join(u.roles) or "-", _day(u)] for u in users]
    return table(("EMAIL", "NAME", "STATUS", "ROLES", "CREATED"), rows, (40, 30, 8, 30, 10))


def user_text(user: User, permissions: EffectivePermissions | None = None) -> str:
    lines = [
        f"{user.name} <{user.email}>",
        f"  id:       {user.id}",
        f"  status:   {user.status}",
        f"  roles:    {', '.join(user.roles) or '-'}",
        f"  created:  {user.created_at.astimezone():%Y-%m-%d %H:%M:%S %Z}",
        f"  updated:  {user.updated_at.astimezone():%Y-%m-%d %H:%M:%S %Z}",
    ]
    if permissions is not None:
        lines.append("  permissions:" + ("" if permissions.items else " none"))
        width = max((len(p.name) for p in permissions.items), default=0)
        lines += [f"    {p.name:<{width}}  from {', '.join(p.roles)}" for p in permissions.items]
    return "\n".join(lines)


def role_text(role: Role) -> str:
    lines = [role.name + (f": {role.description}" if role.description else "")]
    lines += [f"  {p}" for p in role.permissions] or ["  (no permissions)"]
    return "\n".join(lines)


def _emit_user(ctx: CommandContext, user: User, heading: str) -> int:
    ctx.emit(user.to_json(), f"{heading}\n{user_text(user)}")
    return 0


# --- users -----------------------------------------------------------------------------------------


def users_list(ctx: CommandContext, args: argparse.Namespace) -> int:
    try:
        query = UserQuery(search=args.search or "", role=args.role or "", status=args.status or "")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    limit: int = args.limit or DEFAULT_LIMIT

    async def work(client: UsersClient) -> tuple[list[User], bool]:
        users: list[User] = []
        async for page in client.walk_users(query, page_size=min(limit + 1, MAX_PAGE)):
            users.extend(page.items)
            if len(users) > limit:
                return users[:limit], True
        return users, False

    users, more = _run(ctx, work)
    if ctx.json:
        ctx.emit([u.to_json() for u in users])
    else:
        text = users_table(users) if users else "No users match."
        ctx.emit(None, text)
    if more:
        sys.stderr.write(f"opsconsole: showing the first {limit} users; more match (use --limit N)\n")
    return 0


def users_show(ctx: CommandContext, args: argparse.Namespace) -> int:
    async def work(client: UsersClient) -> tuple[User, EffectivePermissions | None]:
        user = await client.resolve_user(args.user)
        return user, (None if ctx.json else await client.permissions_of(user.id))

    user, permissions = _run(ctx, work)
    ctx.emit(user.to_json(), user_text(user, permissions))
    return 0


def users_create(ctx: CommandContext, args: argparse.Namespace) -> int:
    user = _run(ctx, lambda c: c.create_user(email=args.email, name=args.name, roles=args.role))
    return _emit_user(ctx, user, "Created:")


def users_update(ctx: CommandContext, args: argparse.Namespace) -> int:
    if args.name is None and args.email is None:
        raise UsageError("nothing to change: give --name and/or --email")

    async def work(client: UsersClient) -> User:
        user = await client.resolve_user(args.user)
        return await client.update_user(user, name=args.name, email=args.email)

    return _emit_user(ctx, _run(ctx, work), "Updated:")


def _write(
    ctx: CommandContext,
    args: argparse.Namespace,
    write: Callable[[UsersClient, User], Awaitable[User]],
    heading: str,
) -> int:
    async def work(client: UsersClient) -> User:
        return await write(client, await client.resolve_user(args.user))

    return _emit_user(ctx, _run(ctx, work), heading)


def users_disable(ctx: CommandContext, args: argparse.Namespace) -> int:
    return _write(ctx, args, lambda c, u: c.disable_user(u), "Disabled:")


def users_enable(ctx: CommandContext, args: argparse.Namespace) -> int:
    return _write(ctx, args, lambda c, u: c.enable_user(u), "Enabled:")


def users_grant(ctx: CommandContext, args: argparse.Namespace) -> int:
    return _write(ctx, args, lambda c, u: c.grant_role(u, args.role), f"Granted {args.role}:")


def users_revoke(ctx: CommandContext, args: argparse.Namespace) -> int:
    return _write(ctx, args, lambda c, u: c.revoke_role(u, args.role), f"Revoked {args.role}:")


def _confirm_production(ctx: CommandContext, what: str, expected: str) -> None:
    """On a production profile, a person types ``expected`` to go on; a script cannot delete there."""
    profile = ctx.profile()
    if profile.environment != "production":
        return
    where = profile.display_name
    if not sys.stdin.isatty():
        raise OpsError(
            f"refusing to {what} on the production profile {where} without a person to confirm it",
            hint="run the command in a terminal, where it asks for confirmation",
        )
    sys.stderr.write(f"This will {what} on PRODUCTION ({where}).\nType {expected} to confirm: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip() != expected:
        raise OpsError("not confirmed; nothing was changed")


def users_delete(ctx: CommandContext, args: argparse.Namespace) -> int:
    async def work(client: UsersClient) -> User:
        user = await client.resolve_user(args.user)
        _confirm_production(ctx, f"delete the user {user.email}", user.email)
        await client.delete_user(user)  # exactly the version that was read and named
        return user

    user = _run(ctx, work)
    ctx.emit({**user.to_json(), "deleted": True}, f"Deleted {user.email} ({user.id}).")
    return 0


# --- roles -----------------------------------------------------------------------------------------


def roles_list(ctx: CommandContext, args: argparse.Namespace) -> int:
    roles = _run(ctx, lambda c: c.list_roles())
    rows = [[r.name, r.description or "-", " ".join(r.permissions) or "-"] for r in roles]
    ctx.emit([r.to_json() for r in roles], table(("ROLE", "DESCRIPTION", "PERMISSIONS"), rows, (24, 40, 0)))
    return 0


def roles_show(ctx: CommandContext, args: argparse.Namespace) -> int:
    role = _run(ctx, lambda c: c.get_role(args.role))
    ctx.emit(role.to_json(), role_text(role))
    return 0


def roles_create(ctx: CommandContext, args: argparse.Namespace) -> int:
    role = _run(ctx, lambda c: c.create_role(args.name, permissions=args.permission))
    ctx.emit(role.to_json(), "Created:\n" + role_text(role))
    return 0


def roles_delete(ctx: CommandContext, args: argparse.Namespace) -> int:
    async def work(client: UsersClient) -> Role:
        role = await client.get_role(args.name)
        _confirm_production(ctx, f"delete the role {role.name}", role.name)
        await client.delete_role(role)
        return role

    role = _run(ctx, work)
    ctx.emit({**role.to_json(), "deleted": True}, f"Deleted the role {role.name}.")
    return 0
