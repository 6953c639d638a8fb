"""The Users table: a server-paged ``QAbstractTableModel`` driven by the core's ``PagedUsers``.

Rows arrive a page at a time: the view asks ``canFetchMore``/``fetchMore`` as it nears the bottom,
the page is fetched on the bridge's loop (parsed there, off the GUI thread), and appended here. A new
query (search, filter, sort) resets the list and starts a new generation: a late page of the old query
is dropped (``PagedUsers.apply`` returns None for it). The first page is small so it shows quickly;
later pages are larger so scrolling to the end of a long list takes few round trips.

Nothing here sizes rows to their contents: the view uses fixed row heights (at 100k rows, resizing to
contents takes tens of seconds).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from ..shell import plain
from .service import UsersService, describe

if TYPE_CHECKING:
    from ...users import User, UserPage, UserQuery
    from ...users.paging import PagedUsers, Ticket

FIRST_PAGE = 100
NEXT_PAGE = 500
# Item roles as plain ints: data() runs for every visible cell on every paint, and comparing the int
# Qt passes with a Python enum member goes through the enum machinery each time.
DISPLAY_ROLE, TOOLTIP_ROLE, FOREGROUND_ROLE = 0, 3, 9
USER_ROLE = 256

# (header, sort key of the API or "" when the API cannot sort by it)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Email", "email"),
    ("Name", "name"),
    ("Status", ""),
    ("Roles", ""),
    ("Created", "created_at"),
    ("Updated", "updated_at"),
)
Index = QModelIndex | QPersistentModelIndex

# Past this many rows, loaded rows are moved out of the cyclic garbage collector's sight (see _out_of_gc).
FREEZE_FROM = 0


def _out_of_gc() -> None:
    """Keep the loaded rows out of Python's full garbage collections.

    Each full collection walks every container object; with 100k rows that took 250-450 ms on a busy
    machine, holding the GIL, and the GUI thread stalled for as long (bench/users_gui.py). The rows
    are plain records freed by reference counting, never part of a cycle, so the collector has
    nothing to find in them: young objects are collected first (so no fresh cyclic garbage is kept),
    then everything alive is moved to the permanent generation (``gc.freeze``: a list splice).
    """
    gc.collect(1)
    gc.freeze()


@functools.lru_cache(maxsize=8192)
def when(value: dt.datetime) -> str:
    """A time as people read it in a table: local, to the minute (cached: painting asks again and again)."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


class UsersTableModel(QAbstractTableModel):
    loadingChanged = Signal(bool)
    pageFailed = Signal(str)
    """A page could not be read: the reason in words (``retry()`` tries again)."""
    pageLoaded = Signal(int)
    """A page was appended (the number of rows now loaded)."""

    def __init__(self, service: UsersService, parent: Any = None) -> None:
        super().__init__(parent)
        from ...users.paging import PagedUsers

        self.service = service
        self.state: PagedUsers = PagedUsers(page_size=FIRST_PAGE)

    # -- the query -----------------------------------------------------------------------------------

    @property
    def query(self) -> UserQuery:
        return self.state.query

    def set_query(self, query: UserQuery) -> None:
        """Show ``query`` from its first page (nothing happens when it is the current one)."""
        if query == self.state.query:
            return
        self.beginResetModel()
        self.state.set_query(query)
        self.state.page_size = FIRST_PAGE
        self.endResetModel()
        self.loadingChanged.emit(False)
        self.fetchMore(QModelIndex())

    def reload(self) -> None:
        """Forget every row and read the current query again."""
        self.beginResetModel()
        self.state.reset()
        self.state.page_size = FIRST_PAGE
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def retry(self) -> None:
        self.state.error = None
        self.fetchMore(QModelIndex())

    @property
    def complete(self) -> bool:
        return self.state.complete

    @property
    def error(self) -> Exception | None:
        return self.state.error

    # -- Qt's model interface ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own default)
        return 0 if parent.isValid() else len(self.state.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            key = COLUMNS[section][1]
            return f"Sort by {COLUMNS[section][0].lower()}" if key else "The server cannot sort by this"
        return None

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        rows = self.state.rows
        row = index.row()
        if not 0 <= row < len(rows):  # an invalid index has row -1
            return None
        user = rows[row]
        if role == TOOLTIP_ROLE:  # the cell whole (a long one is elided), never read as markup
            return plain.tooltip(self.data(index, DISPLAY_ROLE))
        if role == DISPLAY_ROLE:
            column = index.column()
            if column == 0:
                return user.email
            if column == 1:
                return user.name
            if column == 2:
                return user.status
            if column == 3:
                return ", ".join(user.roles)
            return when(user.created_at if column == 4 else user.updated_at)
        if role == USER_ROLE:
            return user
        if role == FOREGROUND_ROLE and not user.active:
            from PySide6.QtGui import QPalette
            from PySide6.QtWidgets import QApplication

            return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.state.can_fetch_more() and self.service.available

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self.service.available:
            return
        ticket = self.state.begin_fetch()
        if ticket is None:
            return
        self.loadingChanged.emit(True)

        async def page(client: Any) -> UserPage:
            return await client.list_users(
                ticket.query, cursor=ticket.cursor, limit=ticket.limit, count=ticket.count
            )

        self.service.call(
            page,
            on_success=lambda result: self._apply(ticket, result),
            on_failure=lambda error: self._failed(ticket, error),
            owner=self,
            name="users page",
        )

    # -- answers -------------------------------------------------------------------------------------

    def _apply(self, ticket: Ticket, page: UserPage) -> None:
        if not self._current(ticket):
            return  # an older query's page: dropped
        fresh = [u for u in page.items if self.state.index_of(u.id) is None]
        ids = {u.id for u in fresh}
        first = len(self.state.rows)
        if ids:
            self.beginInsertRows(QModelIndex(), first, first + len(ids) - 1)
            self.state.apply(ticket, page)
            self.endInsertRows()
        else:
            self.state.apply(ticket, page)
        self.state.page_size = NEXT_PAGE
        if len(self.state.rows) >= FREEZE_FROM:
            _out_of_gc()
        self.loadingChanged.emit(False)
        self.pageLoaded.emit(len(self.state.rows))

    def _failed(self, ticket: Ticket, error: BaseException) -> None:
        if self.state.failed(ticket, error if isinstance(error, Exception) else RuntimeError(str(error))):
            self.loadingChanged.emit(False)
            self.pageFailed.emit(describe(error))

    def _current(self, ticket: Ticket) -> bool:
        # One page is out at a time per generation, so the current generation's ticket is the one.
        return self.state.loading and ticket.generation == self.state.generation

    # -- rows ----------------------------------------------------------------------------------------

    def user_at(self, row: int) -> User | None:
        return self.state.rows[row] if 0 <= row < len(self.state.rows) else None

    def replace(self, user: User) -> int | None:
        """Show a newer version of a loaded user (an edit, a live event); its row, or None."""
        row = self.state.replace(user)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        return row
