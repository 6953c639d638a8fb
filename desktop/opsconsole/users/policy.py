"""May the signed-in user do this to that account? The server's rule, mirrored so a view can disable a
control and say why before anyone clicks it.

The rule (docs/sandbox.md, "who may change whom"): every API call needs its permission both in the
access token's scopes and in the account's roles now. A write to an account (profile, email, status,
delete, grants) needs ``write:users``, and the target's permissions must be a subset of the caller's
unless the caller holds ``write:roles``; granting or revoking a role without ``write:roles`` needs
every permission of that role. Nobody disables or deletes their own account. The server stays the
judge: a 403 it gives anyway is shown in its own words (errors.Refused).

A target's permissions are taken from its roles (the roles catalogue maps each role to its
permissions), whatever its status: a disabled administrator is still an administrator once enabled,
so the console treats changing one as changing an administrator.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import Me, Role, User

READ_USERS, WRITE_USERS, READ_ROLES, WRITE_ROLES = "read:users", "write:users", "read:roles", "write:roles"


class Action(enum.Enum):
    EDIT = "edit"  # name, email, password
    DISABLE = "disable"
    ENABLE = "enable"
    DELETE = "delete"
    GRANT = "grant"
    REVOKE = "revoke"


@dataclass(slots=True, frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # why not, in words for a tooltip; empty when allowed

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def role_permissions(roles: Iterable[Role]) -> dict[str, frozenset[str]]:
    """Role name -> its permissions, from the roles catalogue."""
    return {role.name: frozenset(role.permissions) for role in roles}


class Policy:
    """What ``me`` may do, judged against the roles catalogue ``roles`` (name -> permissions)."""

    def __init__(self, me: Me, roles: Mapping[str, frozenset[str]]) -> None:
        self.me = me
        self.roles = roles

    def _needs(self, permission: str) -> Verdict:
        if permission not in self.me.scopes:
            return Verdict(False, f"your sign-in does not carry {permission}: sign in again to ask for it")
        if permission not in self.me.permissions:
            return Verdict(False, f"your roles do not grant {permission}")
        return ALLOWED

    def can(self, permission: str) -> Verdict:
        """A permission the token and the account both hold (read:users, write:roles, ...)."""
        return self._needs(permission)

    def held_by(self, user: User) -> frozenset[str]:
        """The permissions ``user``'s roles carry (roles unknown to the catalogue count as nothing)."""
        held: set[str] = set()
        for role in user.roles:
            held |= self.roles.get(role, frozenset())
        return frozenset(held)

    @property
    def _writes_roles(self) -> bool:
        return self.me.holds(WRITE_ROLES)

    def may(self, action: Action, target: User, role: str | None = None) -> Verdict:
        """May the signed-in user do ``action`` to ``target`` (``role`` for GRANT and REVOKE)?"""
        verdict = self._needs(WRITE_USERS)
        if not verdict:
            return verdict
        if target.id == self.me.user.id and action in (Action.DISABLE, Action.DELETE):
            return Verdict(False, f"you cannot {action.value} your own account")
        if not self._writes_roles:
            beyond = self.held_by(target) - self.me.permissions
            if beyond:
                return Verdict(
                    False,
                    f"{target.email} holds {', '.join(sorted(beyond))}, which you do not: "
                    f"only someone with {WRITE_ROLES} may change this account",
                )
        if action in (Action.GRANT, Action.REVOKE):
            if role is None:
                raise ValueError(f"{action.value} needs the role")
            return self.may_assign(role)
        return ALLOWED

    def may_assign(self, role: str) -> Verdict:
        """May the signed-in user grant or revoke ``role`` at all (whoever the account)?"""
        verdict = self._needs(WRITE_USERS)
        if not verdict or self._writes_roles:
            return verdict
        if role not in self.roles:
            return Verdict(False, f"there is no role {role}")
        extra = self.roles[role] - self.me.permissions
        if extra:
            return Verdict(
                False,
                f"granting or revoking {role} needs {WRITE_ROLES}, or holding {', '.join(sorted(extra))}",
            )
        return ALLOWED

    def may_create(self, roles: Iterable[str] = ()) -> Verdict:
        verdict = self._needs(WRITE_USERS)
        if not verdict:
            return verdict
        for role in roles:
            verdict = self.may_assign(role)
            if not verdict:
                return verdict
        return ALLOWED
