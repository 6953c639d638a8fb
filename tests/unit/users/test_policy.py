"""The "who may change whom" rule as the console mirrors it."""

from __future__ import annotations

from opsconsole.users import Me, User
from opsconsole.users.policy import Action, Policy
from tests.unit.users.stub import user_json

ROLES = {
    "admin": frozenset({"read:users", "write:users", "read:roles", "write:roles"}),
    "support": frozenset({"read:users", "write:users", "read:roles"}),
    "viewer": frozenset({"read:users", "read:roles"}),
}
ALL = ("read:users", "write:users", "read:roles", "write:roles")


def me(role: str, scopes: tuple[str, ...] = ALL, n: int = 100) -> Me:
    user = User.parse(user_json(n, roles=[role]))
    return Me(user, ROLES[role], frozenset(scopes))


def target(*roles: str, status: str = "active", n: int = 1) -> User:
    return User.parse(user_json(n, roles=list(roles), status=status))


def test_support_may_change_ordinary_accounts_but_not_an_admin() -> None:
    policy = Policy(me("support"), ROLES)
    assert policy.may(Action.EDIT, target("viewer"))
    assert policy.may(Action.DISABLE, target("support"))
    assert policy.may(Action.GRANT, target("viewer"), "support")
    refused = policy.may(Action.DISABLE, target("admin"))
    assert not refused
    assert refused.reason == (
        "user1@example.com holds write:roles, which you do not: only someone with write:roles may change this account"
    )
    # A disabled admin is still an admin once enabled.
    assert not policy.may(Action.ENABLE, target("admin", status="disabled"))


def test_support_may_not_grant_a_role_beyond_its_own_permissions() -> None:
    policy = Policy(me("support"), ROLES)
    verdict = policy.may(Action.GRANT, target("viewer"), "admin")
    assert not verdict and "needs write:roles, or holding write:roles" in verdict.reason
    assert not policy.may_create(["viewer", "admin"]) and policy.may_create(["viewer"])
    assert "no role ghost" in policy.may_assign("ghost").reason


def test_admin_may_change_anyone_but_not_disable_or_delete_itself() -> None:
    admin = me("admin")
    policy = Policy(admin, ROLES)
    assert policy.may(Action.DELETE, target("admin"))
    assert policy.may(Action.GRANT, target("viewer"), "admin")
    assert policy.may(Action.EDIT, admin.user)
    assert policy.may(Action.DELETE, admin.user).reason == "you cannot delete your own account"


def test_scope_and_role_are_both_needed() -> None:
    viewer = Policy(me("viewer"), ROLES)
    assert viewer.may(Action.EDIT, target()).reason == "your roles do not grant write:users"
    narrow = Policy(me("admin", scopes=("read:users",)), ROLES)
    assert "sign-in does not carry write:users" in narrow.may(Action.EDIT, target()).reason
    # Without write:roles in the token, the subset rule decides, on what the roles grant: an admin's
    # roles hold everything another admin holds.
    no_roles_scope = Policy(me("admin", scopes=("read:users", "write:users")), ROLES)
    assert no_roles_scope.may(Action.EDIT, target("admin"))
    support_roles = Policy(me("support", scopes=("read:users", "write:users")), ROLES)
    assert not support_roles.may(Action.EDIT, target("admin"))
    assert no_roles_scope.can("read:users") and not no_roles_scope.can("write:roles")
