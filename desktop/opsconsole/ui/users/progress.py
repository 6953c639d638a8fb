"""Long runs over many users with a progress bar and Cancel: bulk actions and export.

:class:`BulkDialog` runs ``users.bulk.run_bulk`` on the bridge and lists each user's result as it
comes, then the summary of what failed and why. :class:`ExportDialog` streams a filtered list (or the
selected users) to a CSV or JSON file with ``users.export``. Progress is reported on the loop thread
and crosses to the GUI thread as a queued signal; Cancel sets the core's ``CancelToken`` (requests in
flight finish, nothing more is started).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..shell import plain
from .service import UsersService, describe

if TYPE_CHECKING:
    from ...users import User, UserQuery, UsersClient
    from ...users.bulk import Action, BulkSummary, ItemResult


class _RunDialog(QDialog):
    """A title line, a progress bar, a result area and Cancel/Close."""

    progressed = Signal(object)  # emitted on the loop thread, delivered queued

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        from ...users.bulk import CancelToken

        self.setWindowTitle(title)
        self.setModal(True)
        self.cancel_token = CancelToken()
        self.running = False
        self.heading = plain.label(title)  # may name a role
        self.heading.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Progress")
        self.summary = plain.label()  # errors quote the server; the path is the user's
        self.summary.setObjectName("runSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAccessibleName("Summary")
        self.buttons = QDialogButtonBox()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel")
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close")
        self.close_button.setEnabled(False)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.accept)
        self.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.heading)
        self.layout_.addWidget(self.bar)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self.buttons)

    def report(self, value: object) -> None:
        """From the loop thread: hand ``value`` to the GUI thread (dropped once the dialog is gone)."""
        with contextlib.suppress(RuntimeError):  # the dialog's C++ side is gone
            self.progressed.emit(value)

    def _on_progress(self, value: object) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        if self.running:
            self.cancel_token.cancel()
            self.cancel_button.setEnabled(False)
            self.summary.setText("Cancelling: requests already sent finish, nothing more is started…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.running:  # Escape while running cancels; the dialog closes when it has stopped
            self.cancel()
            return
        super().reject()

    def ended(self) -> None:
        self.running = False
        self.cancel_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setDefault(True)
        self.close_button.setFocus()


class BulkDialog(_RunDialog):
    """One action over the selected users: progress, each user's result, and a summary."""

    finishedRun = Signal(object)  # the BulkSummary

    def __init__(self, service: UsersService, verb: str, users: Sequence[User], action: Callable[[UsersClient], Action],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(f"{verb} for {len(users)} users", parent)
        self.setObjectName("bulkDialog")
        self.service = service
        self.users = list(users)
        self.summary_result: BulkSummary | None = None
        self.bar.setRange(0, len(self.users))
        self.bar.setValue(0)
        self.table = QTableWidget(len(self.users), 2)
        self.table.setObjectName("bulkResults")
        self.table.setAccessibleName("Result per user")
        self.table.setHorizontalHeaderLabels(["User", "Result"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._rows = {}
        for row, user in enumerate(self.users):
            self._rows[user.id] = row
            self.table.setItem(row, 0, QTableWidgetItem(user.email))
            self.table.setItem(row, 1, QTableWidgetItem("waiting"))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 260)
        self.layout_.addWidget(self.table, 1)
        self.finish_layout()
        self.resize(620, 440)
        self._action = action

    def start(self) -> None:
        from ...users.bulk import run_bulk

        self.running = True
        users, cancel, report, make = self.users, self.cancel_token, self.report, self._action

        async def run(client: UsersClient) -> BulkSummary:
            return await run_bulk(users, make(client), on_result=report, cancel=cancel)

        self.service.call(run, on_success=self._done, on_failure=self._crashed, owner=self, name="bulk")

    def _on_progress(self, value: object) -> None:
        result: ItemResult = value  # type: ignore[assignment]
        row = self._rows.get(result.user.id)
        if row is not None:
            text = (
                "done"
                if result.ok
                else ("not started (cancelled)" if result.skipped else f"failed: {result.error}")
            )
            item = QTableWidgetItem(text)
            item.setToolTip(plain.tooltip(text))
            if not result.ok and not result.skipped:
                item.setForeground(Qt.GlobalColor.red)
            self.table.setItem(row, 1, item)
        self.bar.setValue(self.bar.value() + 1)

    def _done(self, summary: BulkSummary) -> None:
        self.summary_result = summary
        for result in summary.results:  # the skipped ones were never reported one by one
            if result.skipped:
                self.table.setItem(self._rows[result.user.id], 1, QTableWidgetItem("not started (cancelled)"))
        self.bar.setValue(len(self.users))
        self.summary.setText(summary.text())
        self.ended()
        self.finishedRun.emit(summary)

    def _crashed(self, error: BaseException) -> None:
        self.summary.setText(f"The run stopped: {describe(error)}")
        self.ended()


class ExportDialog(_RunDialog):
    """The current list (or the selected users) to a CSV or JSON file, page by page."""

    finishedRun = Signal(int)

    def __init__(self, service: UsersService, path: Path, fmt: str, *, query: UserQuery | None = None,
                 users: Sequence[User] | None = None, expected: int | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(f"Exporting to {path.name}", parent)
        self.setObjectName("exportDialog")
        self.service, self.path, self.fmt, self.query, self.users = service, path, fmt, query, users
        self.count = 0
        # How many the list held when the server counted it (None: not counted, a busy bar).
        self.expected = len(users) if users is not None else expected
        self.bar.setRange(0, self.expected or 0)
        self.finish_layout()
        self.resize(460, 160)

    def start(self) -> None:
        from ...users.export import export_to_file

        self.running = True
        path, fmt, cancel, report = self.path, self.fmt, self.cancel_token, self.report
        query = self.query
        selected = self.users

        async def run(client: UsersClient) -> int:
            from ...users import UserQuery

            source: Any = client if selected is None else _Selected(selected)
            return await export_to_file(source, query or UserQuery(), path, fmt,  # type: ignore[arg-type]
                                        on_progress=report, cancel=cancel)  # fmt: skip

        self.service.call(run, on_success=self._done, on_failure=self._crashed, owner=self, name="export")

    def _on_progress(self, value: object) -> None:
        self.count = int(value)  # type: ignore[call-overload]
        if self.expected:
            self.summary.setText(f"{self.count:,} of {self.expected:,} users written…")
            self.bar.setValue(min(self.count, self.expected))  # users added meanwhile overshoot the count
        else:
            self.summary.setText(f"{self.count:,} users written…")

    def _done(self, count: int) -> None:
        self.count = count
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.summary.setText(f"{count:,} users written to {self.path}")
        self.ended()
        self.finishedRun.emit(count)

    def _crashed(self, error: BaseException) -> None:
        from ...users.export import ExportCancelled

        self.bar.setRange(0, 1)
        if isinstance(error, ExportCancelled):
            self.summary.setText("Export cancelled: no file was written.")
        else:
            self.summary.setText(f"Export failed, no file was written: {describe(error)}")
        self.ended()


class _Selected:
    """The selected users as the one page of a list, so the export writes them like any list."""

    def __init__(self, users: Sequence[User]) -> None:
        self.users = tuple(users)

    async def walk_users(self, _query: Any, *, page_size: int = 0) -> Any:
        from ...users.models import Page

        yield Page(self.users, None)
