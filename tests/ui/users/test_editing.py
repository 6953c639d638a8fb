"""A user's detail and its edits against a real sandbox: what it shows, an edit, a conflict between two
clients, a support user refused on an admin account, and the production delete confirmation."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from opsconsole.ui.users.dialogs import ConfirmDialog, ConflictDialog, UserFormDialog
from opsconsole.users import User, UsersClient

pytestmark = pytest.mark.slow


def _row_of(view: Any, email: str) -> int:
    return next(i for i, u in enumerate(view.model.state.rows) if u.email == email)


def _open_detail(console: Any, view: Any, email: str) -> Any:
    view.select_rows([_row_of(view, email)])
    detail = view.detail
    assert detail is not None and console.window.detail.content is detail
    console.qtbot.waitUntil(lambda: detail.loaded, timeout=10_000)
    return detail


def _ok(dialog: Any) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)  # exists: the dialog can be left
    dialog.ok.click()


def test_the_detail_shows_profile_roles_permissions_and_audit(open_console: Any) -> None:
    console = open_console()
    view = console.users()
    detail = _open_detail(console, view, "support@sandbox.test")
    assert detail.fields["email"].text() == "support@sandbox.test"
    assert detail.user.etag  # read again, with its version
    assert list(detail.revoke_buttons) == ["support"]
    permissions = {
        detail.permissions_tree.topLevelItem(i).text(0): detail.permissions_tree.topLevelItem(i).text(1)
        for i in range(detail.permissions_tree.topLevelItemCount())
    }
    assert permissions["read:users"] == "support" and permissions["write:users"] == "support"
    assert detail.edit_button.isEnabled() and detail.grant_button.isEnabled()


def test_an_edit_updates_the_row_and_the_audit_shows_old_and_new(open_console: Any) -> None:
    console = open_console()
    view = console.users()
    detail = _open_detail(console, view, "viewer@sandbox.test")
    old_name = detail.user.name
    detail.edit_button.click()
    dialog = detail.editor.dialog
    assert isinstance(dialog, UserFormDialog)
    dialog.name.setText("Vera Viewer-Renamed")
    with console.qtbot.waitSignal(detail.editor.changed, timeout=10_000):
        _ok(dialog)
    row = _row_of(view, "viewer@sandbox.test")
    assert view.model.data(view.model.index(row, 1)) == "Vera Viewer-Renamed"
    console.qtbot.waitUntil(
        lambda: bool(detail.audit_lines) and "user.updated" in detail.audit_lines[0],
        timeout=10_000,
    )
    assert f"\nname: {old_name} → Vera Viewer-Renamed" in detail.audit_lines[0]
    assert "Vera Viewer-Renamed" in detail.audit.text()


def test_a_conflict_between_two_clients_shows_theirs_and_yours(open_console: Any) -> None:
    console = open_console()
    view = console.users()
    detail = _open_detail(console, view, "viewer@sandbox.test")
    detail.edit_button.click()
    dialog = detail.editor.dialog
    dialog.name.setText("Mine")

    async def colleague(client: UsersClient) -> User:
        return await client.update_user(await client.find_user("viewer@sandbox.test"), name="Theirs")

    console.other(colleague)  # a second client changes the user while the dialog is open
    _ok(dialog)
    console.qtbot.waitUntil(lambda: detail.editor.conflict is not None, timeout=10_000)
    conflict: ConflictDialog = detail.editor.conflict
    cells = {conflict.table.item(r, 0).text(): (conflict.table.item(r, 1).text(), conflict.table.item(r, 2).text())
             for r in range(conflict.table.rowCount())}  # fmt: skip
    assert cells["name"] == ("Theirs", "Mine")
    assert cells["email"] == ("viewer@sandbox.test", "viewer@sandbox.test")

    # Back: nothing was written, what I typed is still there, and the error says what happened.
    conflict.back.click()
    assert dialog.isVisible() and dialog.name.text() == "Mine"
    assert "changed by someone else" in dialog.error.text()

    async def current(client: UsersClient) -> User:
        return await client.find_user("viewer@sandbox.test")

    assert console.other(current).name == "Theirs"
    # Saving again applies mine to their version, deliberately.
    with console.qtbot.waitSignal(detail.editor.changed, timeout=10_000):
        _ok(dialog)
    assert console.other(current).name == "Mine"


def test_a_failed_request_keeps_the_typed_fields(open_console: Any) -> None:
    console = open_console()
    view = console.users()
    view.new_button.click()
    dialog = view.editor.dialog
    dialog.email.setText("admin@sandbox.test")  # taken
    dialog.name.setText("Second Admin")
    _ok(dialog)
    console.qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "HTTP 409" in dialog.error.text() and "Traceback" not in dialog.error.text()
    assert dialog.isVisible() and dialog.name.text() == "Second Admin" and dialog.ok.isEnabled()
    dialog.reject()


def test_support_is_refused_on_an_admin_account(open_console: Any) -> None:
    console = open_console("support")
    view = console.users()
    detail = _open_detail(console, view, "admin@sandbox.test")
    for button in (detail.edit_button, detail.toggle_button, detail.delete_button, detail.grant_button,
                   *detail.revoke_buttons.values()):  # fmt: skip
        assert not button.isEnabled()
        assert "only someone with write:roles may change this account" in button.toolTip()
    # The same support user may still change an ordinary account.
    detail = _open_detail(console, view, "viewer@sandbox.test")
    assert detail.edit_button.isEnabled() and detail.toggle_button.isEnabled()


def _forced_disable(console: Any, view: Any, email: str) -> str:
    """Disable ``email`` bypassing the disabled controls; the words the panel shows."""
    detail = _open_detail(console, view, email)
    detail.editor.set_active(detail.user, False)
    console.qtbot.waitUntil(lambda: detail.error.isVisible(), timeout=10_000)
    return str(detail.error.text())


def test_a_viewer_forcing_a_change_sees_the_servers_403_in_words(open_console: Any) -> None:
    console = open_console("viewer")
    view = console.users()
    assert not view.new_button.isEnabled() and "write:users" in view.new_button.toolTip()
    text = _forced_disable(console, view, "support@sandbox.test")
    assert text.startswith("Could not disable support@sandbox.test: Refused by the server:")
    assert "write:users" in text and "Traceback" not in text


def test_support_forcing_a_change_to_an_admin_sees_the_servers_403(open_console: Any) -> None:
    console = open_console("support")
    view = console.users()
    text = _forced_disable(console, view, "admin@sandbox.test")
    assert text.startswith("Could not disable admin@sandbox.test: Refused by the server:")
    assert "write:roles" in text


def test_deleting_on_production_names_it_and_asks_for_the_email(open_console: Any) -> None:
    console = open_console(environment="production", label="Prod EU")
    view = console.users()
    detail = _open_detail(console, view, "viewer@sandbox.test")
    detail.delete_button.click()
    dialog = detail.editor.dialog
    assert isinstance(dialog, ConfirmDialog) and dialog.typed is not None
    warning = dialog.findChild(type(dialog.error), "productionWarning")
    assert "PRODUCTION (Prod EU)" in warning.text()
    assert not dialog.ok.isEnabled()
    dialog.typed.setText("viewer@sandbox.tes")
    assert not dialog.ok.isEnabled()
    dialog.typed.setText("viewer@sandbox.test")
    assert dialog.ok.isEnabled()
    with console.qtbot.waitSignal(detail.deleted, timeout=10_000):
        dialog.ok.click()
    console.qtbot.waitUntil(
        lambda: not view.model.state.loading and len(view.model.state) > 0, timeout=10_000
    )
    assert "viewer@sandbox.test" not in {u.email for u in view.model.state.rows}


def test_unsaved_edits_survive_a_token_refresh(open_console: Any) -> None:
    console = open_console()
    view = console.users()
    detail = _open_detail(console, view, "viewer@sandbox.test")
    detail.edit_button.click()
    dialog = detail.editor.dialog
    dialog.name.setText("Typed Before The Refresh")
    old_token = console.session._tokens.access_token if console.session._tokens else ""
    refreshed: list[object] = []
    console.bridge.run(console.session.refresh(force=True), on_success=refreshed.append,
                       on_failure=refreshed.append)  # fmt: skip
    console.qtbot.waitUntil(lambda: bool(refreshed), timeout=10_000)
    assert not isinstance(refreshed[0], BaseException), refreshed[0]
    assert refreshed[0].access_token != old_token  # type: ignore[attr-defined]
    assert dialog.isVisible() and dialog.name.text() == "Typed Before The Refresh"
    with console.qtbot.waitSignal(detail.editor.changed, timeout=10_000):
        _ok(dialog)
    assert detail.user.name == "Typed Before The Refresh"
