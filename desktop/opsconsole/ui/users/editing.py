"""Changing one user from the GUI: create, edit, disable/enable, delete, grant and revoke.

:class:`UserEditor` opens the dialog, sends the write through the service (with the version the record
carries: the core sends it as ``If-Match``) and reports the outcome as signals. A stale version (412)
opens the :class:`~.dialogs.ConflictDialog` with theirs and yours: nothing is overwritten without a
choice. A failed request leaves the dialog open with what was typed; the error is shown in words
(a 403 in the server's own words).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from .dialogs import BusyDialog, ConfirmDialog, ConflictDialog, RoleChoiceDialog, UserFormDialog
from .service import UsersService, describe

if TYPE_CHECKING:
    from ...users import User, UsersClient

Write = Callable[["UsersClient", "User"], Awaitable[Any]]
USER_FIELDS = ("email", "name", "status", "roles")


class UserEditor(QObject):
    changed = Signal(object)
    """A user was created or changed: the new version (a User)."""
    deleted = Signal(str)
    """A user was deleted: its id."""
    failed = Signal(str)
    """A write without a dialog of its own failed: why, in words."""

    def __init__(self, service: UsersService, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.service = service
        self.parent_widget = parent_widget
        self.dialog: QDialog | None = None  # the dialog up now (tests and screenshots reach it here)
        self.conflict: ConflictDialog | None = None

    # -- the actions ---------------------------------------------------------------------------------

    def create(self) -> UserFormDialog:
        roles = [r.name for r in self.service.roles]
        dialog = UserFormDialog(None, roles, self.parent_widget)

        def submit() -> None:
            values, role = dialog.changes(), dialog.chosen_role()
            self.service.call(
                lambda c: c.create_user(
                    email=values["email"], name=values["name"], roles=[role] if role else []
                ),
                on_success=lambda user: self._done(dialog, user),
                on_failure=lambda error: dialog.failed(describe(error)),
                owner=dialog,
                name="create user",
            )

        dialog.submitted.connect(submit)
        return self._open(dialog)

    def edit(self, user: User) -> UserFormDialog:
        dialog = UserFormDialog(user, parent=self.parent_widget)

        def submit() -> None:
            changes = dialog.changes()
            if not changes:
                dialog.accept()
                return
            self._write(
                "edit",
                dialog.user or user,
                lambda c, u: c.update_user(u, **changes),
                changes,
                dialog,
                on_base=lambda current: setattr(dialog, "user", current),
            )

        dialog.submitted.connect(submit)
        return self._open(dialog)

    def set_active(self, user: User, active: bool) -> None:
        verb = "enable" if active else "disable"
        self._write(
            verb,
            user,
            (lambda c, u: c.enable_user(u)) if active else (lambda c, u: c.disable_user(u)),
            {"status": "active" if active else "disabled"},
            None,
        )

    def delete(self, user: User) -> ConfirmDialog:
        production = self.service.production
        dialog = ConfirmDialog(
            "Delete user",
            f"Delete {user.email} ({user.name})? This cannot be undone.",
            "Delete",
            environment=self.service.environment if production else "",
            expected=user.email,
            parent=self.parent_widget,
        )

        def submit() -> None:
            self._write("delete", user, lambda c, u: c.delete_user(u), {"deleted": True}, dialog)

        dialog.submitted.connect(submit)
        return self._open(dialog)

    def grant(self, user: User) -> RoleChoiceDialog:
        policy = self.service.policy
        choices = []
        for role in self.service.roles:
            if role.name in user.roles:
                continue
            verdict = policy.may_assign(role.name) if policy is not None else None
            choices.append((role.name, "" if verdict is None or verdict else verdict.reason))
        dialog = RoleChoiceDialog(f"Grant a role to {user.email}", "Grant", choices, self.parent_widget)

        def submit() -> None:
            role = dialog.chosen()
            self._write("grant", user, lambda c, u: c.grant_role(u, role), {"roles": [*user.roles, role]},
                        dialog)  # fmt: skip

        dialog.submitted.connect(submit)
        return self._open(dialog)

    def revoke(self, user: User, role: str) -> None:
        self._write("revoke", user, lambda c, u: c.revoke_role(u, role),
                    {"roles": [r for r in user.roles if r != role]}, None)  # fmt: skip

    # -- the write and its conflicts -----------------------------------------------------------------

    def _write(
        self,
        verb: str,
        user: User,
        write: Write,
        attempted: dict[str, Any],
        dialog: BusyDialog | None,
        *,
        on_base: Callable[[User], None] | None = None,
    ) -> None:
        def failed(error: BaseException) -> None:
            from ...users import Conflict

            if isinstance(error, Conflict) and error.stale and error.current is not None:
                self._conflict(verb, user, error.current, write, attempted, dialog, on_base)
                return
            text = f"Could not {verb} {user.email}: {describe(error)}"
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.failed(text)
            else:
                self.failed.emit(text)

        self.service.call(
            lambda c: write(c, user),
            on_success=lambda result: self._written(dialog, user, result),
            on_failure=failed,
            owner=dialog if dialog is not None else self,
            name=f"{verb} user",
        )

    def _written(self, dialog: BusyDialog | None, user: User, result: Any) -> None:
        if result is None:  # a delete answers nothing
            self.deleted.emit(user.id)
            if dialog is not None:
                dialog.accept()
            return
        self._done(dialog, result)

    def _conflict(
        self,
        verb: str,
        user: User,
        current: User,
        write: Write,
        attempted: dict[str, Any],
        dialog: BusyDialog | None,
        on_base: Callable[[User], None] | None,
    ) -> None:
        parent = dialog if dialog is not None and shiboken6.isValid(dialog) else self.parent_widget
        conflict = ConflictDialog(user.email, current.to_json(), attempted, fields=USER_FIELDS, parent=parent)
        self.conflict = conflict

        def chosen(result: int) -> None:
            self.conflict = None
            if on_base is not None:
                on_base(current)  # whatever is chosen, their version is the one to build on now
            if result == ConflictDialog.KEEP_THEIRS:
                self.changed.emit(current)
                if dialog is not None and shiboken6.isValid(dialog):
                    dialog.reject()
            elif result == ConflictDialog.APPLY_MINE:
                self._write(verb, current, write, attempted, dialog, on_base=on_base)
            elif dialog is not None and shiboken6.isValid(dialog):
                dialog.failed(
                    f"{user.email} was changed by someone else: your fields are kept; saving now applies "
                    "them to their version."
                )
            else:
                self.changed.emit(current)

        conflict.finished.connect(chosen)
        conflict.open()

    def _done(self, dialog: BusyDialog | None, user: User) -> None:
        self.changed.emit(user)
        if dialog is not None and shiboken6.isValid(dialog):
            dialog.accept()

    def _open(self, dialog: Any) -> Any:
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._closed(dialog))
        dialog.open()
        return dialog

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
