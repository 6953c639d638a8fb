"""The Users page's content: search, filters, the server-paged table, a count, and the actions.

Typing in the search box waits for a pause (250 ms) before asking the server; a filter picked or a
column header clicked asks at once; each starts a new query generation, so an answer to an older
query is never shown. The API sorts by email, name, created and updated; the other headers say so.
Selecting one user opens the detail panel; selecting several enables the bulk actions. Errors are
shown in words above the table, with *Retry*; while no one is signed in, the page says so instead,
with *Sign in…* (signed_out.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..shell import plain
from .detail import UserDetail, gate
from .dialogs import RoleChoiceDialog
from .editing import UserEditor
from .live import LiveUsers
from .progress import BulkDialog, ExportDialog
from .service import UsersService
from .signed_out import signed_out_notice
from .table_model import COLUMNS, UsersTableModel

if TYPE_CHECKING:
    from ...users import User, UserQuery
    from ...users.policy import Verdict
    from ..shell.context import PageContext

DEBOUNCE_MS = 250
STATUSES = (("All statuses", ""), ("Active", "active"), ("Disabled", "disabled"))


class Banner(QWidget):
    """A line of text with one button, above the table (errors, a stale list)."""

    def __init__(self, name: str, button: str, color: str) -> None:
        super().__init__()
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.text = plain.label()  # quotes the server
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName(name)
        self.text.setStyleSheet(f"color: {color};")
        self.button = QPushButton(button)
        self.button.setAccessibleName(button)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()

    def say(self, text: str) -> None:
        self.text.setText(text)
        self.setVisible(bool(text))


class AfterRowsPainted(QObject):
    """Calls ``callback`` once, right after ``table`` next paints rows (or at once if it is not shown).

    Armed only while waiting: an event filter on the viewport sees every event it gets (mouse moves
    too), so it is removed as soon as it has done its job. The viewport is looked up when armed, not
    kept: a scroll area's viewport can be replaced (seen while signing out and in again).
    """

    def __init__(self, table: QTableView, callback: Callable[[], object]) -> None:
        super().__init__(table)
        self._table = table
        self._callback = callback

    def arm(self) -> None:
        if not shiboken6.isValid(self._table):
            return  # the page is being torn down while a page of rows still arrives
        viewport = self._table.viewport()
        if not viewport.isVisible():  # nothing will be painted: no reason to wait
            self._callback()
            return
        viewport.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._table.model().rowCount() > 0:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._callback)  # queued now, so run once this paint is done
        return False


class UsersView(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usersView")
        self.context = context
        self.service = UsersService(context, self)
        self.model = UsersTableModel(self.service, self)
        # The first page is asked for before any widget is built: its round trip (the server, and the
        # decode on the bridge's thread) then overlaps building the page instead of following it.
        asked = self.service.available
        if asked:
            self.model.fetchMore(QModelIndex())
        self.editor = UserEditor(self.service, self)
        self.live = LiveUsers(context, self)
        self.detail: UserDetail | None = None
        self.dialog: Any = None  # the bulk or export dialog up now

        # -- the bar -------------------------------------------------------------------------------
        self.search = QLineEdit()
        self.search.setObjectName("usersSearch")
        self.search.setPlaceholderText("Search name or email")
        self.search.setAccessibleName("Search users by name or email")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.setAccessibleName("Filter by status")
        for text, value in STATUSES:
            self.status.addItem(text, value)
        self.role = QComboBox()
        self.role.setAccessibleName("Filter by role")
        self.role.addItem("All roles", "")
        self.count = QLabel()
        self.count.setObjectName("usersCount")
        self.count.setAccessibleName("Number of users")
        self.new_button = QPushButton("New user…")
        self.new_button.setAccessibleName("New user")
        self.bulk_button = QToolButton()
        self.bulk_button.setText("Selected")
        self.bulk_button.setAccessibleName("Actions on the selected users")
        self.bulk_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.bulk_button)
        self.bulk_grant = QAction("Grant role…", self)
        self.bulk_revoke = QAction("Revoke role…", self)
        self.bulk_disable = QAction("Disable", self)
        self.bulk_export = QAction("Export selected…", self)
        for action in (self.bulk_grant, self.bulk_revoke, self.bulk_disable, self.bulk_export):
            menu.addAction(action)
        self.bulk_button.setMenu(menu)
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the listed users")
        self.export_button.setToolTip(
            "Export every user of this list (search and filters applied) to CSV or JSON"
        )
        self.reload_button = QPushButton("Reload")
        self.reload_button.setAccessibleName("Reload the list")

        bar = QHBoxLayout()
        self.search.setMinimumWidth(180)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status)
        bar.addWidget(self.role)
        for widget in (self.new_button, self.bulk_button, self.export_button, self.reload_button):
            bar.addWidget(widget)

        self.error = Banner("usersError", "Retry", "#c62828")
        self.signed_out = signed_out_notice(context, "users", self)
        self.stale = Banner("usersStale", "Reload", "#b26a00")

        # -- the table -----------------------------------------------------------------------------
        self.table = QTableView()
        self.table.setObjectName("usersTable")
        self.table.setAccessibleName("Users")
        self.table.setModel(self.model)
        self._policy_after_paint = AfterRowsPainted(self.table, self._load_policy_once)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.table.verticalHeader()
        rows.hide()
        # Fixed row heights: never ResizeToContents (at 100k rows it measures every row).
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setAccessibleName("Columns: click email, name, created or updated to sort")
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(4, Qt.SortOrder.AscendingOrder)
        for column, width in enumerate((240, 180, 80, 170, 130)):
            header.resizeSection(column, width)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addLayout(bar)
        layout.addWidget(self.signed_out)
        layout.addWidget(self.error)
        layout.addWidget(self.stale)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)

        # -- wiring --------------------------------------------------------------------------------
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.apply_query)
        self.search.textChanged.connect(lambda _text: self.debounce.start())
        self.search.returnPressed.connect(self.apply_query)
        self.status.currentIndexChanged.connect(lambda _i: self.apply_query())
        self.role.currentIndexChanged.connect(lambda _i: self.apply_query())
        header.sectionClicked.connect(self._sort_clicked)
        self.model.pageLoaded.connect(lambda _n: self._after_page())
        self.model.pageFailed.connect(lambda _text: self._load_policy_once())
        self.model.modelReset.connect(self._update_count)
        self.model.pageFailed.connect(self.error.say)
        self.model.loadingChanged.connect(lambda _busy: self._update_count())
        self.error.button.clicked.connect(self._retry)
        self.stale.button.clicked.connect(self.reload)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.new_button.clicked.connect(self.editor.create)
        self.editor.changed.connect(self._user_changed)
        self.reload_button.clicked.connect(self.reload)
        self.export_button.clicked.connect(lambda: self.export())
        self.bulk_export.triggered.connect(lambda: self.export(selected=True))
        self.bulk_grant.triggered.connect(lambda: self.bulk_role(grant=True))
        self.bulk_revoke.triggered.connect(lambda: self.bulk_role(grant=False))
        self.bulk_disable.triggered.connect(self.bulk_disable_selected)
        self.service.policyChanged.connect(lambda _p: self._apply_policy())
        self.live.userEvent.connect(self._live_event)
        # A bound method, not a lambda: Qt drops the connection when this view is destroyed.
        context.sessionChanged.connect(self._session_changed)
        # Signing in happens within a session: ask the server only once someone is signed in (with the
        # session open but the sign-in not yet checked, a locked keyring made the page show an error).
        context.signedInChanged.connect(self._session_changed)

        self._sort = "created_at"
        self._policy_after_page = False
        self._write_allowed: Verdict | None = None  # write:users, once the policy is read
        self._apply_policy()
        self._update_count()
        self._follow_session(reload=not asked)

    # -- session -------------------------------------------------------------------------------------

    def _signed_out(self) -> bool:
        return self.context.session is None or not self.context.signed_in

    def _session_changed(self, _session: object = None) -> None:
        self._follow_session(reload=True)

    def _follow_session(self, *, reload: bool) -> None:
        """Show the list of the session signed in now (``reload``: read it again), or say there is none."""
        self._close_detail()
        self.error.say("")
        self.stale.say("")
        signed_out = self._signed_out()
        self.signed_out.setVisible(signed_out)
        # Nothing here can ask the server until someone signs in: no search, filter, export or reload
        # (a reload would be a Retry by another name).
        for control in (self.search, self.status, self.role, self.export_button, self.reload_button):
            control.setEnabled(not signed_out)
        self._apply_policy()
        if signed_out:
            self.model.reload()  # the previous sign-in's rows go; nothing is asked
            self.live.stop()
            return
        # The list first, alone: it is what the page is opened for. Who may do what (me and the
        # roles) is asked once its first page is shown, so the two do not share the first round trip.
        self._policy_after_page = True
        if reload:
            self.model.reload()
        self.live.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        # Another page is shown: this page's detail goes with it (not a minimised window).
        if not event.spontaneous():
            self._close_detail()

    def _after_page(self) -> None:
        self._update_count()
        if self._policy_after_page:
            # Once the rows are painted: read while they were being painted, me and the roles (the
            # server counting each role's members, the bridge's thread decoding the answer) took the
            # CPU and the interpreter lock from the GUI thread, and that paint took 2-3 times as long
            # at 100k users (bench/users_gui first_page).
            self._policy_after_paint.arm()

    def _load_policy_once(self) -> None:
        if self._policy_after_page:
            self._policy_after_page = False
            self.service.load_policy()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Signed in since the last attempt (the sign-in page covered the workspace): try again.
        if self.context.session is not None and (self.model.error is not None or self.service.policy_error):
            self._retry()

    def _retry(self) -> None:
        self.error.say("")
        if self.service.policy is None:
            self.service.load_policy()
        if self.model.error is not None:
            self.model.retry()
        elif not len(self.model.state) and not self.model.state.loading:
            self.model.reload()

    def reload(self) -> None:
        self.stale.say("")
        self.error.say("")
        self.model.reload()
        self.service.load_policy()

    # -- the query -----------------------------------------------------------------------------------

    def current_query(self) -> UserQuery:
        from ...users import UserQuery

        return UserQuery(search=self.search.text().strip(), role=str(self.role.currentData() or ""),
                         status=str(self.status.currentData() or ""), sort=self._sort)  # fmt: skip

    def apply_query(self) -> None:
        self.debounce.stop()
        self.error.say("")
        self.model.set_query(self.current_query())

    def _sort_clicked(self, column: int) -> None:
        key = COLUMNS[column][1]
        header = self.table.horizontalHeader()
        if not key:
            self.context.show_message(f"The server cannot sort by {COLUMNS[column][0].lower()}", 4000)
            current = next(i for i, (_, k) in enumerate(COLUMNS) if k == self._sort.lstrip("-"))
            order = (
                Qt.SortOrder.DescendingOrder if self._sort.startswith("-") else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(current, order)
            return
        descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        self._sort = f"-{key}" if descending else key
        self.apply_query()

    def focus_widget(self) -> QWidget:
        return self.search

    def focus_find(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def refresh_colors(self) -> None:
        self.signed_out.refresh_colors()

    def _update_count(self) -> None:
        loaded, total = len(self.model.state), self.model.state.total
        if self._signed_out():
            text = ""  # no list to count: the notice says why
        elif self.model.state.loading and not loaded:
            text = "Loading…"
        elif self.model.complete:
            text = f"{loaded:,} user{'s' if loaded != 1 else ''}"
        elif total is not None:
            # Counted by the server with the first page (not for a text search: PagedUsers.counts).
            text = f"{loaded:,} of {total:,} loaded"
        else:
            text = f"{loaded:,} loaded, more below"
        self.count.setText(text)

    # -- roles and policy ----------------------------------------------------------------------------

    def _apply_policy(self) -> None:
        policy = self.service.policy
        roles = [r.name for r in self.service.roles]
        current = self.role.currentData()
        known = [self.role.itemData(i) for i in range(1, self.role.count())]
        if roles and roles != known:
            self.role.blockSignals(True)
            self.role.clear()
            self.role.addItem("All roles", "")
            for name in roles:
                self.role.addItem(name, name)
            self.role.setCurrentIndex(max(0, self.role.findData(current)))
            self.role.blockSignals(False)
        write = policy.can("write:users") if policy is not None else None
        if self._signed_out():  # what was read for the last sign-in no longer holds
            self.new_button.setEnabled(False)
            self.new_button.setToolTip("Sign in to create users")
        else:
            gate(
                self.new_button, policy.may_create() if policy is not None else None, "Create a user account"
            )
        self._write_allowed = write
        self._selection_changed(open_detail=False)
        if self.service.policy_error and self.context.session is not None:
            self.error.say(f"Could not read your account and the roles: {self.service.policy_error}")

    def selected_users(self) -> list[User]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [u for u in (self.model.user_at(r) for r in rows) if u is not None]

    def _selection_changed(self, open_detail: bool = True) -> None:
        users = self.selected_users()
        self.bulk_button.setEnabled(bool(users))
        self.bulk_button.setToolTip(
            "Select users in the table first" if not users else f"{len(users)} selected"
        )
        write = self._write_allowed
        for action in (self.bulk_grant, self.bulk_revoke, self.bulk_disable):
            if write is None:
                action.setEnabled(False)
                action.setToolTip("Checking your permissions…")
            else:
                action.setEnabled(bool(write))
                action.setToolTip("" if write else f"You cannot do this: {write.reason}")
        if open_detail and len(users) == 1:
            self.open_detail(users[0])

    # -- detail --------------------------------------------------------------------------------------

    def open_detail(self, user: User) -> UserDetail:
        detail = UserDetail(self.service, user)
        detail.changed.connect(self._user_changed)
        detail.deleted.connect(self._user_deleted)
        detail.destroyed.connect(lambda *_: self._detail_gone(detail))
        self.detail = detail
        self.context.show_detail(detail, user.email)
        return detail

    def _detail_gone(self, detail: object) -> None:
        if self.detail is detail:
            self.detail = None

    def _user_changed(self, user: User) -> None:
        if self.model.replace(user) is None:
            self.stale.say("Users were added or changed since this list was read.")

    def _user_deleted(self, _user_id: str) -> None:
        self._close_detail()
        self.model.reload()

    def _close_detail(self) -> None:
        # Only our own detail: the panel may hold another page's content.
        if self.detail is not None:
            self.context.show_detail(None)
            self.detail = None

    def _live_event(self, event: Any) -> None:
        from ...users import User

        data = event.data.get("user") if isinstance(event.data, dict) else None
        try:
            user = User.parse(data) if data is not None else None
        except Exception:  # a malformed event must not break the page: the list is marked stale
            user = None
        if user is not None and event.topic != "user.deleted" and self.model.replace(user) is not None:
            if self.detail is not None and self.detail.user.id == user.id:
                self.detail.reload()
            return
        if event.topic in ("user.created", "user.deleted") or user is None:
            self.stale.say(f"Users changed since this list was read ({event.topic}).")

    # -- bulk and export -----------------------------------------------------------------------------

    def bulk_role(self, *, grant: bool, role: str | None = None) -> Any:
        """Grant or revoke a role for the selected users; asks which role unless ``role`` is given."""
        users = self.selected_users()
        if not users:
            return None
        if role is not None:
            return self._run_bulk(f"{'Grant' if grant else 'Revoke'} {role}", users, grant, role)
        policy = self.service.policy
        choices = []
        for each in self.service.roles:
            verdict = policy.may_assign(each.name) if policy is not None else None
            choices.append((each.name, "" if verdict is None or verdict else verdict.reason))
        verb = "Grant" if grant else "Revoke"
        dialog = RoleChoiceDialog(f"{verb} a role for {len(users)} users", verb, choices, self)

        def chosen() -> None:
            picked = dialog.chosen()
            dialog.accept()
            self._run_bulk(f"{verb} {picked}", users, grant, picked)

        dialog.submitted.connect(chosen)
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
        self.dialog = dialog
        return dialog

    def bulk_disable_selected(self) -> BulkDialog | None:
        users = self.selected_users()
        if not users:
            return None
        from ...users import bulk

        return self._start(BulkDialog(self.service, "Disable", users, bulk.disable, self))

    def _run_bulk(self, title: str, users: list[User], grant: bool, role: str) -> BulkDialog:
        from ...users import bulk

        make = (lambda c: bulk.grant(c, role)) if grant else (lambda c: bulk.revoke(c, role))
        return self._start(BulkDialog(self.service, title, users, make, self))

    def _start(self, dialog: Any) -> Any:
        self.dialog = dialog
        if isinstance(dialog, BulkDialog):
            dialog.finishedRun.connect(lambda _s: self.model.reload())
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
        dialog.start()
        return dialog

    def export(self, path: Path | None = None, fmt: str | None = None, *, selected: bool = False) -> Any:
        """Export the list (or the selected users) to ``path``, asked for in a file dialog when None."""
        if path is None:
            name, chosen = QFileDialog.getSaveFileName(
                self, "Export users", str(Path.home() / "users.csv"), "CSV (*.csv);;JSON (*.json)"
            )
            if not name:
                return None
            path = Path(name)
            fmt = fmt or ("json" if "json" in chosen.lower() or path.suffix.lower() == ".json" else "csv")
        fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
        users = self.selected_users() if selected else None
        query = None if selected else self.current_query()
        # The total counted with the list's first page sizes the progress bar (when it is this query's).
        expected = self.model.state.total if query == self.model.query else None
        return self._start(
            ExportDialog(self.service, path, fmt, query=query, users=users, expected=expected, parent=self)
        )

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (keyboard users do it with Shift/Ctrl; tests and scripts use this)."""
        chosen = QItemSelection()
        for row in rows:
            index = self.model.index(row, 0, QModelIndex())
            chosen.select(index, index)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(chosen, flags)
