"""A user's detail panel: profile, direct roles, effective permissions and where each comes from, and
the recent audit entries with old and new values; with the actions the signed-in user may take.

It reads the user again (for its version: writes send it as ``If-Match``), the effective permissions
and the audit entries in one background job, and shows them when they arrive. Controls for what the
signed-in user may not do are disabled, with the reason as their tooltip (``users.policy``).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..shell import plain
from .editing import UserEditor
from .service import UsersService, describe
from .table_model import when

if TYPE_CHECKING:
    from ...users import AuditEntry, EffectivePermissions, User, UsersClient
    from ...users.policy import Verdict

AUDIT_ENTRIES = 20


def gate(
    control: QWidget, verdict: Verdict | None, tooltip: str, waiting: str = "Checking your permissions…"
) -> None:
    """Enable ``control`` when ``verdict`` allows; otherwise disable it and say why in its tooltip."""
    if verdict is None:
        control.setEnabled(False)
        control.setToolTip(waiting)
    else:
        control.setEnabled(verdict.allowed)
        control.setToolTip(
            plain.tooltip(tooltip if verdict.allowed else f"You cannot do this: {verdict.reason}")
        )


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{escape(text)}</b>")
    label.setContentsMargins(0, 10, 0, 2)
    return label


def _value(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def audit_line(entry: AuditEntry) -> str:
    changes = "; ".join(f"{k}: {_value(old)} → {_value(new)}" for k, old, new in entry.changes())
    return f"{when(entry.time)}  {entry.action} by {entry.actor or 'system'}" + (
        f"\n{changes}" if changes else ""
    )


class UserDetail(QScrollArea):
    changed = Signal(object)
    deleted = Signal(str)

    def __init__(self, service: UsersService, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("userDetail")
        self.setAccessibleName(f"Details of {user.email}")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.service = service
        self.user = user  # the version shown; carries its ETag once read
        self.permissions: EffectivePermissions | None = None
        self.editor = UserEditor(service, self)
        self.editor.changed.connect(self._on_changed)
        self.editor.deleted.connect(self.deleted)
        self.editor.failed.connect(self.show_error)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        self.error = plain.label()  # quotes the server
        self.error.setObjectName("detailError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel#detailError { color: #c62828; }")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setAccessibleName("Error")
        self.error.hide()
        layout.addWidget(self.error)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, QLabel] = {}
        for key, title in (("email", "Email"), ("name", "Name"), ("status", "Status"), ("created", "Created"),
                           ("updated", "Updated")):  # fmt: skip
            label = plain.label()  # the user's name and email, as they are
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(title)
            label.setWordWrap(True)
            self.fields[key] = label
            form.addRow(f"{title}:", label)
        layout.addLayout(form)

        actions = QHBoxLayout()
        self.edit_button = self._button(
            "Edit…", "Change the name or email", lambda: self.editor.edit(self.user)
        )
        self.toggle_button = self._button("Disable", "", self._toggle)
        self.delete_button = self._button(
            "Delete…", "Delete this account", lambda: self.editor.delete(self.user)
        )
        for button in (self.edit_button, self.toggle_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)

        layout.addWidget(_heading("Roles"))
        self.roles_box = QVBoxLayout()
        layout.addLayout(self.roles_box)
        self.grant_button = self._button(
            "Grant role…", "Give this user another role", lambda: self.editor.grant(self.user)
        )
        row = QHBoxLayout()
        row.addWidget(self.grant_button)
        row.addStretch(1)
        layout.addLayout(row)

        layout.addWidget(_heading("Effective permissions"))
        self.permissions_tree = QTreeWidget()
        self.permissions_tree.setObjectName("effectivePermissions")
        self.permissions_tree.setAccessibleName("Effective permissions and the roles they come from")
        self.permissions_tree.setHeaderLabels(["Permission", "From roles"])
        self.permissions_tree.header().setAccessibleName("Permission and roles columns")
        self.permissions_tree.setRootIsDecorated(False)
        self.permissions_tree.setMinimumHeight(120)
        layout.addWidget(self.permissions_tree)

        layout.addWidget(_heading("Recent changes"))
        # A label, not a list: each entry wraps to show every old and new value in full.
        self.audit = QLabel()
        self.audit.setObjectName("auditEntries")
        self.audit.setAccessibleName("Recent changes to this user, with old and new values")
        self.audit.setWordWrap(True)
        self.audit.setTextFormat(Qt.TextFormat.RichText)
        self.audit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.audit.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.audit_lines: list[str] = []
        layout.addWidget(self.audit)
        layout.addStretch(1)
        self.setWidget(body)

        service.policyChanged.connect(self._apply_policy)
        self.loaded = False
        self._show_user()
        self.reload()

    def _button(self, text: str, tooltip: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setToolTip(tooltip)
        button.clicked.connect(slot)
        return button

    # -- reading -------------------------------------------------------------------------------------

    def reload(self) -> None:
        user_id = self.user.id

        async def read(client: UsersClient) -> tuple[User, EffectivePermissions, list[AuditEntry]]:
            import asyncio

            user, permissions, audit = await asyncio.gather(
                client.get_user(user_id),
                client.permissions_of(user_id),
                client.audit(target_id=user_id, limit=AUDIT_ENTRIES),
            )
            return user, permissions, list(audit.items)

        self.service.call(
            read, on_success=self._read, on_failure=self._read_failed, owner=self, name="user detail"
        )

    def _read(self, result: tuple[User, EffectivePermissions, list[AuditEntry]]) -> None:
        self.user, self.permissions, entries = result
        self.loaded = True
        self.error.hide()
        self._show_user()
        self.permissions_tree.clear()
        for permission in self.permissions.items:
            item = QTreeWidgetItem([permission.name, ", ".join(permission.roles)])
            item.setToolTip(0, plain.tooltip(permission.description))
            self.permissions_tree.addTopLevelItem(item)
        self.permissions_tree.resizeColumnToContents(0)
        self.audit_lines = [audit_line(entry) for entry in entries]
        paragraphs = [escape(line).replace("\n", "<br>&nbsp;&nbsp;") for line in self.audit_lines]
        html = "".join(f"<p style='margin-bottom:6px'>{text}</p>" for text in paragraphs)
        self.audit.setText(html or "No changes recorded")

    def _read_failed(self, error: BaseException) -> None:
        self.show_error(f"Could not read {self.user.email}: {describe(error)}")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    # -- showing -------------------------------------------------------------------------------------

    def _show_user(self) -> None:
        user = self.user
        self.fields["email"].setText(user.email)
        self.fields["name"].setText(user.name)
        self.fields["status"].setText(user.status)
        self.fields["created"].setText(when(user.created_at))
        self.fields["updated"].setText(when(user.updated_at))
        self.toggle_button.setText("Enable" if not user.active else "Disable")
        self.toggle_button.setAccessibleName(self.toggle_button.text())
        while self.roles_box.count():
            item = self.roles_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.revoke_buttons: dict[str, QPushButton] = {}
        for role in user.roles:
            line = QWidget()
            row = QHBoxLayout(line)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(plain.label(role), 1)
            revoke = QPushButton("Revoke")
            revoke.setAccessibleName(f"Revoke {role}")
            revoke.clicked.connect(lambda _=False, role=role: self.editor.revoke(self.user, role))
            row.addWidget(revoke)
            self.revoke_buttons[role] = revoke
            self.roles_box.addWidget(line)
        if not user.roles:
            self.roles_box.addWidget(QLabel("No roles"))
        self._apply_policy(self.service.policy)

    def _apply_policy(self, policy: Any) -> None:
        from ...users.policy import Action

        user, loaded = self.user, self.loaded
        waiting = "Reading the account…" if not loaded else "Checking your permissions…"

        def may(action: Action, role: str | None = None) -> Verdict | None:
            # Writes need the version read in this panel: until then, the controls wait.
            return policy.may(action, user, role) if policy is not None and loaded else None

        gate(self.edit_button, may(Action.EDIT), "Change the name or email", waiting)
        toggle = Action.ENABLE if not user.active else Action.DISABLE
        gate(self.toggle_button, may(toggle), f"{toggle.value.capitalize()} this account", waiting)
        gate(self.delete_button, may(Action.DELETE), "Delete this account", waiting)
        grantable = may(Action.EDIT)
        gate(self.grant_button, grantable, "Give this user another role", waiting)
        for role, button in self.revoke_buttons.items():
            gate(button, may(Action.REVOKE, role), f"Take {role} away from this user", waiting)

    # -- writes --------------------------------------------------------------------------------------

    def _toggle(self) -> None:
        self.editor.set_active(self.user, not self.user.active)

    def _on_changed(self, user: User) -> None:
        self.user = user
        self._show_user()
        self.changed.emit(user)
        self.reload()  # the permissions and the audit changed with it
