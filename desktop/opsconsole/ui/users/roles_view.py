"""The Roles page: each role with its description and member count, the roles x permissions matrix,
creating and deleting roles, and a role's members.

The matrix is editable with ``write:roles``: ticking a box marks the role changed (bold), *Save*
writes each changed role with the version it carries (``If-Match``). A role someone else changed in
the meantime is not overwritten: the conflict dialog shows their permissions and yours.

Member counts come with the roles list (``member_count``, one query on the server); a role written
here keeps the count read with the list until the list is read again.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...users.policy import Verdict
from ..shell import plain
from .detail import gate
from .dialogs import BusyDialog, ConfirmDialog, ConflictDialog
from .service import UsersService, describe
from .signed_out import signed_out_notice
from .users_view import Banner

if TYPE_CHECKING:
    from ...users import Permission, Role, UsersClient
    from ..shell.context import PageContext

MEMBERS_SHOWN = 100
ROLE_COLUMNS = ("Role", "Description", "Members")


class RoleFormDialog(BusyDialog):
    def __init__(self, permissions: list[Permission], parent: QWidget | None = None) -> None:
        super().__init__("New role", "Create", parent)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setAccessibleName("Role name")
        self.description = QLineEdit()
        self.description.setAccessibleName("Description")
        form.addRow("&Name", self.name)
        form.addRow("&Description", self.description)
        self.body.addLayout(form)
        self.checks: dict[str, QCheckBox] = {}
        for permission in permissions:
            box = QCheckBox(permission.name)
            box.setToolTip(plain.tooltip(permission.description))
            box.setAccessibleName(f"Permission {permission.name}")
            self.checks[permission.name] = box
            self.body.addWidget(box)
        self.finish_layout()

    def chosen(self) -> list[str]:
        return [name for name, box in self.checks.items() if box.isChecked()]


class RolesView(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rolesView")
        self.context = context
        self.service = UsersService(context, self)
        self.roles: list[Role] = []
        self.permissions: list[Permission] = []
        self.counts: dict[str, str] = {}
        self.dirty: dict[str, set[str]] = {}  # role -> the permissions wanted
        self.dialog: Any = None
        self.conflict: ConflictDialog | None = None
        self._filling = False

        self.new_button = QPushButton("New role…")
        self.new_button.setAccessibleName("New role")
        self.delete_button = QPushButton("Delete role…")
        self.delete_button.setAccessibleName("Delete the selected role")
        self.save_button = QPushButton("Save changes")
        self.save_button.setAccessibleName("Save the permission changes")
        self.revert_button = QPushButton("Revert")
        self.revert_button.setAccessibleName("Revert the permission changes")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setAccessibleName("Reload roles")
        bar = QHBoxLayout()
        self.heading = QLabel()
        bar.addWidget(self.heading, 1)
        for button in (
            self.new_button,
            self.delete_button,
            self.save_button,
            self.revert_button,
            self.reload_button,
        ):
            bar.addWidget(button)
        self.error = Banner("rolesError", "Retry", "#c62828")
        self.signed_out = signed_out_notice(context, "roles", self)
        self.error.button.clicked.connect(self.reload)

        self.table = QTableWidget(0, len(ROLE_COLUMNS))
        self.table.setObjectName("rolesTable")
        self.table.setAccessibleName("Roles")
        self.table.setHorizontalHeaderLabels(list(ROLE_COLUMNS))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setAccessibleName("Role columns")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        self.matrix = QTableWidget(0, 0)
        self.matrix.setObjectName("rolesMatrix")
        self.matrix.setAccessibleName("Roles and their permissions")
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix.itemChanged.connect(self._matrix_changed)
        # The dark scheme draws an empty box in the colour of the cell: outline it, so a permission the
        # role lacks shows as a box to tick rather than as nothing.
        self.matrix.setStyleSheet(
            "QTableWidget::indicator:unchecked { border: 1px solid palette(placeholder-text);"
            " background: palette(base); width: 12px; height: 12px; border-radius: 2px; }"
        )
        self.matrix.horizontalHeader().setAccessibleName("Permissions")
        self.matrix.verticalHeader().setAccessibleName("Roles")

        self.members = QListWidget()
        self.members.setObjectName("roleMembers")
        self.members.setAccessibleName("Members of the selected role")
        self.members_title = QLabel("<b>Members</b>")

        lower = QWidget()
        lower_layout = QHBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        matrix_box = QVBoxLayout()
        matrix_box.addWidget(QLabel("<b>Permissions</b> (tick to change; bold rows are not saved yet)"))
        matrix_box.addWidget(self.matrix)
        members_box = QVBoxLayout()
        members_box.addWidget(self.members_title)
        members_box.addWidget(self.members)
        lower_layout.addLayout(matrix_box, 3)
        lower_layout.addLayout(members_box, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setSizes([220, 360])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addLayout(bar)
        layout.addWidget(self.signed_out)
        layout.addWidget(self.error)
        layout.addWidget(split, 1)

        self.new_button.clicked.connect(self.create_role)
        self.delete_button.clicked.connect(self.delete_role)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self._fill)
        self.reload_button.clicked.connect(self.reload)
        self.table.itemSelectionChanged.connect(self._role_selected)
        self.service.policyChanged.connect(lambda _p: self._apply_policy())
        # A bound method, not a lambda: Qt drops the connection when this view is destroyed.
        context.sessionChanged.connect(self._on_session)
        context.signedInChanged.connect(self._on_session)  # signing in happens within a session
        self.loaded = False
        self._apply_policy()
        self.reload()

    def focus_widget(self) -> QWidget:
        return self.table

    def refresh_colors(self) -> None:
        self.signed_out.refresh_colors()

    def focus_find(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- reading -------------------------------------------------------------------------------------

    def _on_session(self, _session: object) -> None:
        self.reload()

    def reload(self) -> None:
        self.error.say("")
        signed_out = self.context.session is None or not self.context.signed_in
        self.signed_out.setVisible(signed_out)
        self.reload_button.setEnabled(not signed_out)  # a reload would be a Retry by another name
        if signed_out:
            return
        self.service.load_policy()

        async def read(client: UsersClient) -> tuple[list[Role], list[Permission]]:
            import asyncio

            roles, permissions = await asyncio.gather(client.list_roles(), client.list_permissions())
            return roles, permissions

        self.service.call(read, on_success=self._read, on_failure=self._failed, owner=self, name="roles")

    def _read(self, result: tuple[list[Role], list[Permission]]) -> None:
        roles, permissions = result
        self.roles = sorted(roles, key=lambda r: r.name)
        self.permissions = sorted(permissions, key=lambda p: p.name)
        self.loaded = True
        # A single role's read carries no count: kept by name, so a saved role keeps its count.
        self.counts = {r.name: "?" if r.member_count is None else f"{r.member_count:,}" for r in self.roles}
        self._fill()

    def _failed(self, error: BaseException) -> None:
        self.error.say(f"Could not read the roles: {describe(error)}")

    # -- showing -------------------------------------------------------------------------------------

    def _fill(self) -> None:
        self.dirty.clear()
        self._filling = True
        selected = self.selected_role()
        self.table.setRowCount(len(self.roles))
        for row, role in enumerate(self.roles):
            cells = (role.name, role.description, self.counts.get(role.name, "?"))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        names = [p.name for p in self.permissions]
        self.matrix.setRowCount(len(self.roles))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels(names)
        self.matrix.setVerticalHeaderLabels([r.name for r in self.roles])
        editable = self._may_edit()
        for column, permission in enumerate(self.permissions):
            header = self.matrix.horizontalHeaderItem(column)
            if header is not None:
                header.setToolTip(plain.tooltip(permission.description))
        for row, role in enumerate(self.roles):
            for column, name in enumerate(names):
                item = QTableWidgetItem()
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if editable:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable
                item.setFlags(flags)
                item.setCheckState(
                    Qt.CheckState.Checked if name in role.permissions else Qt.CheckState.Unchecked
                )
                item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{role.name}: {name}")
                self.matrix.setItem(row, column, item)
        self.matrix.resizeColumnsToContents()
        self._filling = False
        self.heading.setText(f"{len(self.roles)} roles, {len(names)} permissions")
        if selected is not None:
            self.select_role(selected)
        self._apply_policy()

    def selected_role(self) -> Role | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.roles[rows[0].row()] if rows and rows[0].row() < len(self.roles) else None

    def select_role(self, role: Role | str) -> None:
        name = role if isinstance(role, str) else role.name
        for row, each in enumerate(self.roles):
            if each.name == name:
                self.table.selectRow(row)

    def _role_selected(self) -> None:
        self._apply_policy()
        role = self.selected_role()
        self.members.clear()
        if role is None:
            self.members_title.setText("<b>Members</b>")
            return
        self.members_title.setText(f"<b>Members of {escape(role.name)}</b>")
        self.members.addItem("Loading…")
        name = role.name

        async def members(client: UsersClient) -> Any:
            return await client.role_members(name, limit=MEMBERS_SHOWN)

        def show(page: Any) -> None:
            if self.selected_role() is None or self.selected_role().name != name:  # type: ignore[union-attr]
                return
            self.members.clear()
            for user in page.items:
                self.members.addItem(f"{user.email}  ({user.name})")
            if page.next_cursor:
                self.members.addItem(f"… and more: search the Users page with the role filter {name}")
            if not page.items:
                self.members.addItem("Nobody holds this role")

        self.service.call(members, on_success=show, owner=self, name="role members",
                          on_failure=lambda e: self.members.addItem(f"Could not read members: {describe(e)}"))  # fmt: skip

    # -- permissions -------------------------------------------------------------------------------

    def _may_edit(self) -> bool:
        policy = self.service.policy
        return policy is not None and bool(policy.can("write:roles"))

    def _apply_policy(self) -> None:
        policy = self.service.policy
        verdict = policy.can("write:roles") if policy is not None else None
        gate(self.new_button, verdict, "Create a role")
        gate(self.delete_button, verdict if self.selected_role() is not None or verdict is None else
             _refused("select a role first"), "Delete the selected role")  # fmt: skip
        gate(self.save_button, verdict if self.dirty or verdict is None else _refused("nothing changed"),
             "Save the permission changes (each role with the version it was read at)")  # fmt: skip
        self.revert_button.setEnabled(bool(self.dirty))
        editable = verdict is not None and verdict.allowed
        self.matrix.setToolTip(
            ""
            if editable
            else (
                f"Read-only: {verdict.reason}"
                if verdict is not None
                else "Read-only: checking your permissions…"
            )
        )
        if self.loaded and editable != self._matrix_editable():
            self._fill()

    def _matrix_editable(self) -> bool:
        item = self.matrix.item(0, 0)
        return item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsUserCheckable)

    def _matrix_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        role = self.roles[item.row()]
        wanted = {
            self.permissions[c].name
            for c in range(self.matrix.columnCount())
            if (cell := self.matrix.item(item.row(), c)) is not None
            and cell.checkState() == Qt.CheckState.Checked
        }
        if wanted == set(role.permissions):
            self.dirty.pop(role.name, None)
        else:
            self.dirty[role.name] = wanted
        header = self.matrix.verticalHeaderItem(item.row())
        if header is not None:
            font = header.font()
            font.setBold(role.name in self.dirty)
            header.setFont(font)
        self._apply_policy()

    def set_permission(self, role: str, permission: str, held: bool) -> None:
        """Tick or untick one box of the matrix (as a click does)."""
        row = next(i for i, r in enumerate(self.roles) if r.name == role)
        column = next(i for i, p in enumerate(self.permissions) if p.name == permission)
        item = self.matrix.item(row, column)
        assert item is not None
        item.setCheckState(Qt.CheckState.Checked if held else Qt.CheckState.Unchecked)

    def save(self) -> None:
        loaded = {r.name: r for r in self.roles}
        for name, wanted in list(self.dirty.items()):
            self._save_one(loaded[name], sorted(wanted))

    def _save_one(self, seen: Role, wanted: list[str], *, base: Role | None = None) -> None:
        from ...users import Conflict

        async def write(client: UsersClient) -> Role:
            fresh = base or await client.get_role(seen.name)
            if base is None and sorted(fresh.permissions) != sorted(seen.permissions):
                # Changed since this page read it: the same as a 412, without sending anything.
                raise Conflict(status=412, title="Changed by someone else", current=fresh,
                               attempted={"permissions": wanted})  # fmt: skip
            return await client.set_role_permissions(fresh, wanted)

        def failed(error: BaseException) -> None:
            if isinstance(error, Conflict) and error.stale and error.current is not None:
                self._role_conflict(seen, error.current, wanted)
            else:
                self.error.say(f"Could not save {seen.name}: {describe(error)}")

        self.service.call(write, on_success=self._saved, on_failure=failed, owner=self, name="save role")

    def _saved(self, role: Role) -> None:
        self._replace(role)
        self.context.show_message(f"Saved the permissions of {role.name}", 4000)

    def _replace(self, role: Role) -> None:
        pending = {k: v for k, v in self.dirty.items() if k != role.name}
        self.roles = [role if r.name == role.name else r for r in self.roles]
        self._fill()
        for name, wanted in pending.items():  # other roles' unsaved ticks stay
            for permission in self.permissions:
                self.set_permission(name, permission.name, permission.name in wanted)

    def _role_conflict(self, seen: Role, current: Role, wanted: list[str]) -> None:
        dialog = ConflictDialog(f"The role {seen.name}", {"permissions": list(current.permissions)},
                                {"permissions": wanted}, fields=("permissions",), parent=self)  # fmt: skip
        self.conflict = dialog

        def chosen(result: int) -> None:
            self.conflict = None
            if result == ConflictDialog.KEEP_THEIRS:
                self._replace(current)
            elif result == ConflictDialog.APPLY_MINE:
                self._save_one(current, wanted, base=current)
            else:
                self.error.say(f"{seen.name} was changed by someone else; your ticks are kept, not saved.")
            dialog.deleteLater()

        dialog.finished.connect(chosen)
        dialog.open()

    # -- create and delete ---------------------------------------------------------------------------

    def create_role(self) -> RoleFormDialog:
        dialog = RoleFormDialog(self.permissions, self)

        def submit() -> None:
            name, description, chosen = (
                dialog.name.text().strip(),
                dialog.description.text().strip(),
                dialog.chosen(),
            )
            self.service.call(
                lambda c: c.create_role(name, description=description, permissions=chosen),
                on_success=lambda _role: self._finished(dialog),
                on_failure=lambda e: dialog.failed(describe(e)),
                owner=dialog,
                name="create role",
            )

        dialog.submitted.connect(submit)
        return self._open(dialog)

    def delete_role(self) -> ConfirmDialog | None:
        role = self.selected_role()
        if role is None:
            return None
        dialog = ConfirmDialog(
            "Delete role",
            f"Delete the role {role.name}? Accounts holding it must have it revoked first.",
            "Delete",
            environment=self.service.environment if self.service.production else "",
            expected=role.name,
            what="the role's name",
            parent=self,
        )
        name = role.name

        async def delete(client: UsersClient) -> None:
            await client.delete_role(await client.get_role(name))

        dialog.submitted.connect(lambda: self.service.call(
            delete, on_success=lambda _r: self._finished(dialog),
            on_failure=lambda e: dialog.failed(describe(e)), owner=dialog, name="delete role"))  # fmt: skip
        return self._open(dialog)

    def _finished(self, dialog: BusyDialog) -> None:
        dialog.accept()
        self.reload()

    def _open(self, dialog: Any) -> Any:
        self.dialog = dialog
        dialog.finished.connect(lambda _r: dialog.deleteLater() if shiboken6.isValid(dialog) else None)
        dialog.open()
        return dialog


def _refused(reason: str) -> Verdict:
    """A refusal that is not about permissions (nothing selected, nothing changed)."""
    return Verdict(False, reason)
