"""The dialogs of the users feature: a user's form, a typed confirmation, a role to pick, a conflict.

Each is non-blocking (``open()``), so the bridge keeps delivering while it is up, and keeps what was
typed when a request fails: the error is shown inside the dialog and the fields stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..shell import plain

if TYPE_CHECKING:
    from ...users import User


def error_label() -> QLabel:
    """A label for an error in words inside a dialog (hidden until there is one)."""
    label = plain.label()  # quotes the server
    label.setObjectName("dialogError")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("QLabel#dialogError { color: #c62828; }")
    label.setAccessibleName("Error")
    label.hide()
    return label


class BusyDialog(QDialog):
    """A dialog whose OK sends a request: disabled while it runs, the error shown when it fails."""

    submitted = Signal()

    def __init__(self, title: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.error = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setAccessibleName(ok_text)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)

    def finish_layout(self) -> None:
        self.body.addWidget(self.error)
        self.body.addWidget(self.buttons)

    def _submit(self) -> None:
        self.set_busy(True)
        self.error.hide()
        self.submitted.emit()

    def set_busy(self, busy: bool) -> None:
        self.ok.setEnabled(not busy)

    def failed(self, text: str) -> None:
        """The request failed: say why, and leave every field as the user left it."""
        self.set_busy(False)
        self.error.setText(text)
        self.error.show()


class UserFormDialog(BusyDialog):
    """Create a user, or edit one's name and email."""

    def __init__(self, user: User | None, roles: Sequence[str] = (), parent: QWidget | None = None) -> None:
        super().__init__("Edit user" if user else "New user", "Save" if user else "Create", parent)
        self.user = user
        form = QFormLayout()
        self.email = QLineEdit(user.email if user else "")
        self.email.setAccessibleName("Email")
        self.name = QLineEdit(user.name if user else "")
        self.name.setAccessibleName("Name")
        form.addRow("&Email", self.email)
        form.addRow("&Name", self.name)
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        if user is None:
            self.role.addItem("(no role)", "")
            for name in roles:
                self.role.addItem(name, name)
            form.addRow("&Role", self.role)
        self.body.addLayout(form)
        self.finish_layout()
        self.resize(420, self.sizeHint().height())

    def changes(self) -> dict[str, str]:
        """What the form changes (for an edit: only the fields that differ)."""
        values = {"email": self.email.text().strip(), "name": self.name.text().strip()}
        if self.user is None:
            return values
        return {k: v for k, v in values.items() if v != getattr(self.user, k)}

    def chosen_role(self) -> str:
        return str(self.role.currentData() or "")


class ConfirmDialog(BusyDialog):
    """A confirmation; on a production profile it names the environment and asks to type ``expected``."""

    def __init__(
        self,
        title: str,
        question: str,
        ok_text: str,
        *,
        environment: str = "",
        expected: str = "",
        what: str = "the account's email",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, ok_text, parent)
        self.expected = expected
        text = plain.label(question)  # names users and roles
        text.setWordWrap(True)
        self.body.addWidget(text)
        self.typed: QLineEdit | None = None
        if environment:
            warning = QLabel(
                f"<b>This is PRODUCTION ({escape(environment)}):</b> the change affects real users. "
                f"Type {escape(what)} to confirm."
            )
            warning.setObjectName("productionWarning")
            warning.setWordWrap(True)
            self.body.addWidget(warning)
            self.typed = QLineEdit()
            self.typed.setAccessibleName(f"Type {what} to confirm")
            self.typed.setPlaceholderText(expected)
            self.typed.textChanged.connect(self._check)
            self.body.addWidget(self.typed)
        self.finish_layout()
        self._check()

    def _check(self) -> None:
        self.ok.setEnabled(self.confirmed())

    def confirmed(self) -> bool:
        return self.typed is None or self.typed.text().strip().lower() == self.expected.lower()

    def set_busy(self, busy: bool) -> None:
        self.ok.setEnabled(not busy and self.confirmed())


class RoleChoiceDialog(BusyDialog):
    """Pick a role to grant or revoke; roles the signed-in user may not assign are listed but disabled."""

    def __init__(
        self, title: str, ok_text: str, roles: Iterable[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(title, ok_text, parent)
        form = QFormLayout()
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        model = self.role.model()
        for name, refusal in roles:
            self.role.addItem(name, name)
            if refusal:
                item = model.item(self.role.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(plain.tooltip(refusal))
        form.addRow("&Role", self.role)
        self.body.addLayout(form)
        self.finish_layout()
        first = next((i for i in range(self.role.count()) if model.item(i).isEnabled()), -1)  # type: ignore[attr-defined]
        self.role.setCurrentIndex(first)
        self.ok.setEnabled(first >= 0)

    def chosen(self) -> str:
        return str(self.role.currentData() or "")


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


class ConflictDialog(QDialog):
    """Someone changed the record after it was read: theirs (as it is now) beside yours (the refused change).

    Nothing is overwritten without a choice: *Keep theirs* drops the change; *Apply mine to theirs*
    sends it again on top of the version shown (a new, deliberate write); *Back* returns to editing.
    """

    KEEP_THEIRS, APPLY_MINE = 1, 2

    def __init__(
        self,
        what: str,
        theirs: Mapping[str, Any],
        yours: Mapping[str, Any],
        *,
        fields: Sequence[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setWindowTitle("Changed by someone else")
        self.setModal(True)
        head = QLabel(
            f"<b>{escape(what)} was changed by someone else</b> after you opened it. Your change was "
            "<b>not</b> saved. Compare the two and choose."
        )
        head.setWordWrap(True)
        self.table = QTableWidget(len(fields), 3)
        self.table.setObjectName("conflictTable")
        self.table.setAccessibleName("Their version and yours")
        self.table.setHorizontalHeaderLabels(["Field", "Theirs (now)", "Yours"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, field in enumerate(fields):
            mine = yours.get(field, theirs.get(field))
            cells = (field, _shown(theirs.get(field)), _shown(mine))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column and _shown(theirs.get(field)) != _shown(mine):
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.theirs, self.yours = dict(theirs), dict(yours)

        buttons = QDialogButtonBox()
        self.keep = QPushButton("Keep theirs")
        self.keep.setAccessibleName("Keep theirs, discard my change")
        self.apply = QPushButton("Apply mine to theirs")
        self.apply.setAccessibleName("Apply my change on top of their version")
        self.back = QPushButton("Back")
        self.back.setAccessibleName("Back to editing")
        buttons.addButton(self.keep, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.apply, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.back, QDialogButtonBox.ButtonRole.ResetRole)
        self.keep.clicked.connect(lambda: self.done(self.KEEP_THEIRS))
        self.apply.clicked.connect(lambda: self.done(self.APPLY_MINE))
        self.back.clicked.connect(lambda: self.done(0))

        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 300)
