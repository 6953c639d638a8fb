"""The Roles page against a real sandbox: roles and counts, the matrix, saving, a conflict, members,
create and delete, and a read-only matrix for whoever lacks write:roles."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from opsconsole.ui.users.dialogs import ConflictDialog
from opsconsole.users import Role, UserQuery, UsersClient

pytestmark = pytest.mark.slow


def _roles(console: Any) -> Any:
    view = console.page("roles")
    console.qtbot.waitUntil(lambda: view.loaded and view.service.policy is not None, timeout=10_000)
    console.qtbot.waitUntil(lambda: bool(view.counts), timeout=15_000)
    return view


def _role(console: Any, name: str) -> Role:
    async def get(client: UsersClient) -> Role:
        return await client.get_role(name)

    return console.other(get)


def test_roles_with_descriptions_counts_members_and_the_matrix(open_console: Any) -> None:
    console = open_console(users=30)
    view = _roles(console)
    names = [view.table.item(r, 0).text() for r in range(view.table.rowCount())]
    assert names == ["admin", "analyst", "editor", "support", "viewer"]
    admin = names.index("admin")
    assert view.table.item(admin, 1).text() == "Manages users and roles"
    assert view.table.item(admin, 2).text() == "1"  # the demo admin only (the seeded users are not admins)

    async def members(client: UsersClient) -> dict[str, int | None]:
        return {n: (await client.list_users(UserQuery(role=n), limit=1, count=True)).total for n in names}

    counted = console.other(members)
    assert {n: view.table.item(r, 2).text() for r, n in enumerate(names)} == {
        n: str(c) for n, c in counted.items()
    }
    assert counted["viewer"] and counted["viewer"] > 1
    columns = [view.matrix.horizontalHeaderItem(c).text() for c in range(view.matrix.columnCount())]
    assert "write:roles" in columns
    cell = view.matrix.item(admin, columns.index("write:roles"))
    assert cell.checkState() == Qt.CheckState.Checked
    assert cell.flags() & Qt.ItemFlag.ItemIsUserCheckable  # the admin may edit it

    view.select_role("support")
    console.qtbot.waitUntil(lambda: view.members.count() > 0 and view.members.item(0).text() != "Loading…",
                            timeout=10_000)  # fmt: skip
    members = [view.members.item(i).text() for i in range(view.members.count())]
    assert any(m.startswith("support@sandbox.test") for m in members)


def test_saving_the_matrix_and_a_conflict_with_another_client(open_console: Any) -> None:
    console = open_console()
    view = _roles(console)
    assert not view.save_button.isEnabled()
    view.set_permission("viewer", "read:reports", True)
    assert view.dirty == {"viewer": {"read:users", "read:roles", "read:reports"}}
    assert view.save_button.isEnabled()
    view.save_button.click()
    console.qtbot.waitUntil(lambda: not view.dirty, timeout=10_000)
    assert set(_role(console, "viewer").permissions) == {"read:users", "read:roles", "read:reports"}
    viewer = [view.table.item(r, 0).text() for r in range(view.table.rowCount())].index("viewer")
    assert view.table.item(viewer, 2).text() == "1"  # a saved role keeps the count read with the list

    # Someone else changes the analyst role after this page read it.
    view.set_permission("analyst", "read:posts", True)

    async def colleague(client: UsersClient) -> Role:
        return await client.set_role_permissions(await client.get_role("analyst"), ["read:reports"])

    console.other(colleague)
    view.save_button.click()
    console.qtbot.waitUntil(lambda: view.conflict is not None, timeout=10_000)
    conflict: ConflictDialog = view.conflict
    assert conflict.table.item(0, 1).text() == "read:reports"
    assert conflict.table.item(0, 2).text() == "read:posts, read:reports, read:users"
    assert set(_role(console, "analyst").permissions) == {"read:reports"}  # nothing overwritten
    conflict.keep.click()
    assert not view.dirty
    row = [r.name for r in view.roles].index("analyst")
    columns = [p.name for p in view.permissions]
    assert view.matrix.item(row, columns.index("read:users")).checkState() == Qt.CheckState.Unchecked


def test_create_and_delete_a_role(open_console: Any) -> None:
    console = open_console()
    view = _roles(console)
    dialog = view.create_role()
    dialog.name.setText("auditor")
    dialog.description.setText("Reads the audit trail")
    dialog.checks["read:users"].setChecked(True)
    dialog.ok.click()
    console.qtbot.waitUntil(lambda: "auditor" in [r.name for r in view.roles], timeout=10_000)
    assert _role(console, "auditor").permissions == ("read:users",)

    view.select_role("auditor")
    assert view.delete_button.isEnabled()
    dialog = view.delete_role()
    assert dialog.typed is None  # not production: a plain confirmation
    dialog.ok.click()
    console.qtbot.waitUntil(lambda: "auditor" not in [r.name for r in view.roles], timeout=10_000)


def test_without_write_roles_the_matrix_is_read_only_and_says_why(open_console: Any) -> None:
    console = open_console("support")
    view = _roles(console)
    assert not view.matrix.item(0, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert "write:roles" in view.matrix.toolTip()
    assert not view.new_button.isEnabled() and "write:roles" in view.new_button.toolTip()


def test_signed_out_the_page_says_to_sign_in_with_the_way_to_and_offers_no_retry(open_console: Any) -> None:
    console = open_console()
    view = _roles(console)
    context = console.window.context
    context.set_signed_in(False)
    assert not view.error.isVisible()  # no error, no Retry
    assert view.signed_out.isVisible()
    assert view.signed_out.text() == "You are not signed in. Sign in to see roles."
    assert not view.reload_button.isEnabled()
    # Nothing stays editable on the strength of the account that left.
    assert not view.new_button.isEnabled()
    assert not view.matrix.item(0, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable
    with console.qtbot.waitSignal(context.signInRequested, timeout=1_000):
        view.signed_out.action.click()
    context.set_signed_in(True)
    console.qtbot.waitUntil(lambda: not view.signed_out.isVisible(), timeout=10_000)
    assert view.reload_button.isEnabled()
