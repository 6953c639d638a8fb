"""The Users page against a real sandbox: paging, search, filters and sort while paging, the count."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from opsconsole.ui.users.table_model import FIRST_PAGE

pytestmark = pytest.mark.slow


def _scroll_to_end(qtbot: Any, view: Any) -> None:
    """What scrolling to the bottom does: the view asks for more until the server has no more."""
    model = view.model
    while not model.complete:
        view.table.scrollToBottom()
        model.fetchMore(QModelIndex())  # the view asks the same when its scroll bar reaches the end
        qtbot.waitUntil(lambda: not model.state.loading, timeout=15_000)
        assert model.error is None, model.error


def test_the_first_page_then_more_as_the_table_scrolls(open_console: Any) -> None:
    console = open_console(users=450)
    view = console.users()
    assert view.model.rowCount() == FIRST_PAGE
    assert view.count.text() == f"{FIRST_PAGE} of 453 loaded"  # counted by the server with the first page
    assert [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == [
        "Email", "Name", "Status", "Roles", "Created", "Updated"]  # fmt: skip
    # Fixed row heights: nothing measures rows by their contents.
    from PySide6.QtWidgets import QHeaderView

    assert view.table.verticalHeader().sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    _scroll_to_end(console.qtbot, view)
    assert view.model.rowCount() == 453
    assert len({u.id for u in view.model.state.rows}) == 453
    assert view.count.text() == "453 users"


def test_search_and_filters_keep_working_while_paging(open_console: Any) -> None:
    console = open_console(users=450)
    view = console.users()
    qtbot = console.qtbot

    view.status.setCurrentIndex(view.status.findData("disabled"))
    qtbot.waitUntil(
        lambda: view.model.query.status == "disabled" and not view.model.state.loading, timeout=10_000
    )
    _scroll_to_end(qtbot, view)
    disabled = view.model.state.rows
    assert len(disabled) > 0 and all(u.status == "disabled" for u in disabled)

    qtbot.waitUntil(lambda: view.role.count() > 1, timeout=10_000)
    view.status.setCurrentIndex(view.status.findData("active"))
    view.role.setCurrentIndex(view.role.findData("support"))
    qtbot.waitUntil(
        lambda: view.model.query.role == "support" and not view.model.state.loading, timeout=10_000
    )
    _scroll_to_end(qtbot, view)
    rows = view.model.state.rows
    assert rows and all("support" in u.roles and u.status == "active" for u in rows)
    assert "support@sandbox.test" in {u.email for u in rows}

    # Typing waits for a pause, then asks once; the answer honours the filters still set.
    view.role.setCurrentIndex(0)
    view.status.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not view.model.state.loading, timeout=10_000)
    probe = next(u for u in view.model.state.rows if "sandbox.test" not in u.email).name.split()[-1]
    qtbot.keyClicks(view.search, probe.upper())
    assert view.debounce.isActive() and view.model.query.search == ""
    with qtbot.waitSignal(view.model.pageLoaded, timeout=10_000):
        pass
    assert view.model.query.search == probe.upper()
    found = view.model.state.rows
    assert found and all(probe.lower() in (u.name + u.email).lower() for u in found)


def test_sorting_by_a_header_asks_the_server(open_console: Any) -> None:
    console = open_console(users=150)
    view = console.users()
    header = view.table.horizontalHeader()
    with console.qtbot.waitSignal(view.model.pageLoaded, timeout=10_000):
        header.sectionClicked.emit(0)  # Email: the view flips the indicator, then asks
    assert view.model.query.sort in ("email", "-email")
    emails = [u.email.lower() for u in view.model.state.rows]
    assert emails == sorted(emails, reverse=view.model.query.sort.startswith("-"))

    before = view.model.query
    header.sectionClicked.emit(2)  # Status: the API cannot sort by it
    assert view.model.query == before


def test_a_late_answer_of_an_older_search_is_dropped(open_console: Any) -> None:
    console = open_console(users=150)
    view = console.users()
    from opsconsole.users import UserQuery

    view.model.set_query(UserQuery(search="a"))  # its first page is out...
    view.model.set_query(UserQuery(search="viewer@"))  # ...when the query changes
    # Both answers are in once no job is left (the old one may come last: it must change nothing).
    console.qtbot.waitUntil(lambda: not console.bridge.pending_jobs(), timeout=10_000)
    assert [u.email for u in view.model.state.rows] == ["viewer@sandbox.test"]


def test_the_count_follows_the_filters_and_a_search_says_what_is_loaded(open_console: Any) -> None:
    console = open_console(users=450)
    view = console.users()
    qtbot = console.qtbot
    from opsconsole.users import UserQuery, UsersClient

    async def total(client: UsersClient) -> int | None:
        return (await client.list_users(UserQuery(status="active"), limit=1, count=True)).total

    active = console.other(total)
    assert active is not None and FIRST_PAGE < active < 453
    view.status.setCurrentIndex(view.status.findData("active"))
    qtbot.waitUntil(
        lambda: view.model.query.status == "active" and not view.model.state.loading, timeout=10_000
    )
    assert view.count.text() == f"{FIRST_PAGE} of {active} loaded"
    _scroll_to_end(qtbot, view)
    assert view.model.rowCount() == active and view.count.text() == f"{active} users"

    # A text search is not counted by the server: the count says what is loaded until the last page.
    view.status.setCurrentIndex(0)
    view.model.set_query(UserQuery(search="@"))
    qtbot.waitUntil(lambda: view.model.query.search == "@" and not view.model.state.loading, timeout=10_000)
    assert view.model.state.total is None
    assert view.count.text() == f"{FIRST_PAGE} loaded, more below"
    _scroll_to_end(qtbot, view)
    assert view.count.text() == "453 users"


def test_the_page_asks_the_server_only_once_someone_is_signed_in(open_console: Any) -> None:
    # The session opens before the sign-in is checked (a locked keyring can keep it unchecked): the
    # page says it is not signed in, asks nothing, and loads when the sign-in is there.
    console = open_console()
    view = console.users()
    console.window.context.set_signed_in(False)
    assert len(view.model.state) == 0
    assert not view.model.state.loading and not view.service.available  # nothing was asked
    console.window.context.set_signed_in(True)
    console.qtbot.waitUntil(
        lambda: len(view.model.state) > 0 and not view.model.state.loading, timeout=15_000
    )
    assert not view.error.isVisible() and not view.signed_out.isVisible() and view.reload_button.isEnabled()
    console.qtbot.waitUntil(view.new_button.isEnabled, timeout=10_000)


def test_signed_out_the_page_says_to_sign_in_with_the_way_to_and_offers_no_retry(open_console: Any) -> None:
    # Signed out, nothing can be retried and nothing is "loaded, more below": the page says what is
    # needed, with the button that signs in (the window's sign-in, through the page context).
    console = open_console()
    view = console.users()
    context = console.window.context
    context.set_signed_in(False)
    assert not view.error.isVisible()  # no error, no Retry
    assert view.count.text() == ""
    assert not view.reload_button.isEnabled() and not view.search.isEnabled()
    assert not view.new_button.isEnabled() and view.new_button.toolTip() == "Sign in to create users"
    assert view.signed_out.isVisible()
    assert view.signed_out.text() == "You are not signed in. Sign in to see users."
    assert view.signed_out.action.text() == "Sign in…" and view.signed_out.action.isVisible()
    with console.qtbot.waitSignal(context.signInRequested, timeout=1_000):
        view.signed_out.action.click()


def test_who_may_do_what_waits_for_the_first_rows_to_be_painted(qtbot: Any) -> None:
    # Read while the first rows were being painted, me and the roles (the server counting role members,
    # the bridge's thread decoding them) made that paint 2-3 times as long at 100k users.
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    from opsconsole.ui.users.users_view import AfterRowsPainted

    model = QStandardItemModel(0, 2)
    table = QTableView()
    table.setModel(model)
    qtbot.addWidget(table)
    calls: list[int] = []
    hook = AfterRowsPainted(table, lambda: calls.append(model.rowCount()))

    hook.arm()  # not shown: nothing will be painted, so no waiting
    assert calls == [0]

    table.show()
    qtbot.waitExposed(table)
    hook.arm()
    table.viewport().repaint()  # a paint without rows does not count
    QApplication.processEvents()  # what it would have queued runs here
    assert calls == [0]
    model.appendRow([])
    table.viewport().repaint()
    assert calls == [0]  # not from inside the paint: right after it
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=2_000)
    assert calls == [0, 1]
    table.viewport().repaint()
    QApplication.processEvents()
    assert calls == [0, 1]  # once per arming
