"""The state of a server-paged users list, without Qt: the rows loaded so far, and what to fetch next.

A table model (``canFetchMore``/``fetchMore``) drives it in three synchronous steps, so the network
call can run anywhere (the GUI's asyncio thread) while the state lives on one thread:

1. :meth:`PagedUsers.begin_fetch` returns a :class:`Ticket` (the query, cursor and generation to
   fetch) or None when there is nothing to fetch or a fetch is already out;
2. the caller fetches the page (``client.list_users(ticket.query, cursor=ticket.cursor, ...)``);
3. :meth:`PagedUsers.apply` appends it and says which rows were added, or :meth:`PagedUsers.failed`
   records the error. Either one drops the answer of a ticket from an older generation: changing the
   query (search typed, filter picked, sort clicked) or :meth:`reset` starts a new generation, so a
   late page of the previous query never lands in the new list.

:func:`fetch_next` does the three steps in one coroutine, for code that runs on one loop (CLI, tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from .client import DEFAULT_PAGE, UsersClient
from .models import User, UserPage, UserQuery


@dataclass(slots=True, frozen=True)
class Ticket:
    """One page to fetch: for which query and generation, after which cursor."""

    generation: int
    query: UserQuery
    cursor: str | None
    limit: int
    count: bool = False
    """Ask the server for the query's total (the first page only: a count is a second query)."""


@dataclass(slots=True, frozen=True)
class Appended:
    """Rows ``first`` to ``last`` (inclusive) were appended; ``first > last`` when the page was empty."""

    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


class PagedUsers:
    """Rows of one query loaded page by page, with the next cursor and a generation counter."""

    def __init__(self, query: UserQuery | None = None, *, page_size: int = DEFAULT_PAGE) -> None:
        self.page_size = page_size
        self.query = query or UserQuery()
        self.generation = 0
        self.rows: list[User] = []
        self.error: Exception | None = None
        self.total: int | None = None
        """How many users match the query, as the server counted with its first page (None: not known)."""
        self._index: dict[str, int] = {}
        self._cursor: str | None = None
        self._exhausted = False
        self._pending: Ticket | None = None

    # -- the query ---------------------------------------------------------------------------------

    def set_query(self, query: UserQuery) -> bool:
        """Show ``query`` from its first page; False (and nothing changes) when it is the current one."""
        if query == self.query:
            return False
        self.query = query
        self.reset()
        return True

    def reset(self) -> None:
        """Forget every row and start the current query again (a new generation)."""
        self.generation += 1
        self.rows = []
        self._index = {}
        self._cursor = None
        self._exhausted = False
        self._pending = None
        self.error = None
        self.total = None

    # -- fetching ----------------------------------------------------------------------------------

    @staticmethod
    def counts(query: UserQuery) -> bool:
        """Whether the first page of ``query`` asks for its total.

        Not for a text search: the server counts a search by reading every user (60-150 ms at 100k
        users on SQLite, four to ten times the page itself), and a search is typed and retyped. Its
        total is known when its last page is (``complete``). Status and role filters are counted from
        indexes (about 1-15 ms at 100k).
        """
        return not query.search.strip()

    @property
    def loading(self) -> bool:
        return self._pending is not None

    @property
    def complete(self) -> bool:
        """Every row of the query is loaded (the server said there is no next page)."""
        return self._exhausted

    def can_fetch_more(self) -> bool:
        """True while pages remain and none is being fetched and the last one did not fail."""
        return not self._exhausted and self._pending is None and self.error is None

    def begin_fetch(self) -> Ticket | None:
        """The next page to fetch, or None when there is none to fetch now."""
        if not self.can_fetch_more():
            return None
        count = self._cursor is None and not self.rows and self.counts(self.query)
        self._pending = Ticket(self.generation, self.query, self._cursor, self.page_size, count=count)
        return self._pending

    def retry(self) -> Ticket | None:
        """After a failed page: clear the error and fetch it again."""
        self.error = None
        return self.begin_fetch()

    def apply(self, ticket: Ticket, page: UserPage) -> Appended | None:
        """Append ``page`` (the answer to ``ticket``); None when the ticket is from an older generation."""
        if ticket is not self._pending:
            return None
        self._pending = None
        first = len(self.rows)
        for user in page.items:
            if user.id in self._index:  # a row edited meanwhile can move into a later page: keep one
                continue
            self._index[user.id] = len(self.rows)
            self.rows.append(user)
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None or not page.items
        if page.total is not None:
            self.total = page.total
        return Appended(first, len(self.rows) - 1)

    def failed(self, ticket: Ticket, error: Exception) -> bool:
        """Record that ``ticket``'s fetch failed; False when it is from an older generation (ignored)."""
        if ticket is not self._pending:
            return False
        self._pending = None
        self.error = error
        return True

    # -- rows --------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rows)

    def index_of(self, user_id: str) -> int | None:
        return self._index.get(user_id)

    def replace(self, user: User) -> int | None:
        """Put a newer version of a loaded user in its row (an edit, a live event); its row or None."""
        row = self._index.get(user.id)
        if row is not None:
            self.rows[row] = user
        return row


async def fetch_next(state: PagedUsers, client: UsersClient) -> Appended | None:
    """Fetch and apply the next page of ``state`` (None when there was nothing to fetch)."""
    ticket = state.begin_fetch()
    if ticket is None:
        return None
    try:
        page = await client.list_users(
            ticket.query, cursor=ticket.cursor, limit=ticket.limit, count=ticket.count
        )
    except Exception as exc:
        state.failed(ticket, exc)
        raise
    return state.apply(ticket, page)
