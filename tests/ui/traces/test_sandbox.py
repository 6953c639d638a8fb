"""The Traces page in a real, signed-in window against the real sandbox's Jaeger API: search, the
table and the scatter, opening a trace from each of them, by id, from a notification's target and
from a file the API served, and the span details in the detail panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from opsconsole.auth.store import MemoryStore
from opsconsole.config import Profile
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.ui.shell.app import GuiSession, start_gui
from opsconsole.ui.traces.detail import SpanDetail
from opsconsole.ui.traces.page import TracesPage
from tests.support.signed_in import config_for, sandbox_profile, store_sign_in

pytestmark = pytest.mark.slow
WAIT = 20_000


@pytest.fixture
def signed_in(qapp: Any, qtbot: Any, sandbox: RunningSandbox) -> Iterator[tuple[GuiSession, list[str]]]:
    """A signed-in window, and the trace ids of three user lists and a role list made through the API."""
    MemoryStore.clear_all()
    tokens = store_sign_in(sandbox)
    ids = []
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    with httpx.Client(base_url=sandbox.url, timeout=15, headers=headers) as http:
        for path in ("/api/users", "/api/users", "/api/users", "/api/roles"):
            response = http.get(path, params={"limit": 5})
            assert response.status_code == 200
            ids.append(response.headers["X-Trace-Id"])
    profile = traces_profile(sandbox)
    session = start_gui(
        qapp, config_for(profile), profile=profile.name, install_qt_log=False, show_problems=False
    )
    qtbot.waitUntil(lambda: session.window.context.session is not None, timeout=WAIT)
    yield session, ids
    session.window.close()
    session.shutdown()
    MemoryStore.clear_all()


def traces_profile(sandbox: RunningSandbox) -> Profile:
    """The test sandbox's profile with its /jaeger as the traces backend (and no event stream)."""
    return sandbox_profile(
        sandbox, traces_url=sandbox.url.rstrip("/") + "/jaeger", traces_api="jaeger", events_url=""
    )


def traces_page(session: GuiSession) -> TracesPage:
    session.window.show_page("traces")
    page = session.window.page("traces")
    assert isinstance(page, TracesPage)
    return page


def shown_trace(page: TracesPage) -> str:
    return page.prepared.layout.trace.trace_id if page.prepared is not None else ""


def check_users_trace(qtbot: Any, page: TracesPage) -> None:
    """The waterfall of a GET /api/users request, as the sandbox traces it."""
    qtbot.waitUntil(lambda: page.prepared is not None and page.view.critical.isEnabled(), timeout=WAIT)
    p = page.prepared
    assert p is not None and p.layout.problems == []
    wf = page.view.waterfall
    shown = [(int(p.row_depth[r]), p.span(r).service, p.span(r).operation) for r in wf.state.visible.tolist()]
    assert shown[0] == (0, "api-gateway", "GET /api/users")
    children = [(s, o) for d, s, o in shown if d == 1]
    assert children[0] == ("api-gateway", "API Gateway") and children[-1] == ("api-gateway", "Response")
    assert {"auth-service", "user-service"} <= {s for _, s, _ in shown}
    assert 0 in p.critical  # the root is on the critical path


def test_search_the_table_and_the_scatter_open_the_trace(
    qtbot: Any, signed_in: tuple[GuiSession, list[str]]
) -> None:
    session, ids = signed_in
    page = traces_page(session)
    form = page.form
    qtbot.waitUntil(lambda: form.service.findText("api-gateway") >= 0, timeout=WAIT)
    form.service.setCurrentText("api-gateway")
    qtbot.waitUntil(lambda: form.operation.findText("GET /api/users") >= 0, timeout=WAIT)
    form.operation.setCurrentText("GET /api/users")
    qtbot.mouseClick(form.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.results.rowCount() >= 3, timeout=WAIT)
    found = [t.trace_id for t in page.results.results]
    assert set(ids[:3]) <= set(found) and ids[3] not in found
    assert page.results_status.text() == f"{len(found)} traces found"
    starts = [page.table.proxy.index(r, 0).data(page.results.SortRole) for r in range(len(found))]
    assert starts == sorted(starts, reverse=True)  # newest first
    assert len(page.scatter.item.points()) == len(found)
    assert {p.data() for p in page.scatter.item.points()} == set(found)

    # A click on a point of the scatter opens its trace.
    plot = page.scatter.plot
    qtbot.waitUntil(lambda: plot.viewport().isVisible(), timeout=WAIT)
    pos = page.scatter.point_position(ids[0])
    (at,) = [
        QPointF(t.start_us / 1e6, t.duration_us / 1e6) for t in page.results.results if t.trace_id == ids[0]
    ]
    under = {p.data() for p in page.scatter.item.pointsAt(at)}  # points may overlap: any of them may open
    QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos.toPoint())
    qtbot.waitUntil(lambda: page.prepared is not None, timeout=WAIT)
    assert ids[0] in under and shown_trace(page) in under
    assert page.tabs.currentIndex() == 1
    check_users_trace(qtbot, page)

    # Enter on a row of the table opens that trace.
    page.tabs.setCurrentIndex(0)
    table = page.table
    row = next(r for r in range(table.proxy.rowCount()) if table.proxy.index(r, 6).data() == ids[1])
    table.setCurrentIndex(table.proxy.index(row, 0))
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_trace(page) == ids[1], timeout=WAIT)
    check_users_trace(qtbot, page)

    # Enter in the waterfall shows the root span's details in the window's detail panel.
    qtbot.keyClick(page.view.waterfall, Qt.Key.Key_Return)
    detail = session.window.detail.content
    assert isinstance(detail, SpanDetail)
    text = detail.toPlainText()
    assert "GET /api/users" in text and "http.status_code" in text and "Process" in text


def test_open_by_id_from_a_notification_and_from_the_apis_own_json(
    qtbot: Any, signed_in: tuple[GuiSession, list[str]], sandbox: RunningSandbox, tmp_path: Path
) -> None:
    session, ids = signed_in
    page = traces_page(session)
    page.trace_id.setText(ids[3].upper())  # as pasted from a log line
    qtbot.keyClick(page.trace_id, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_trace(page) == ids[3], timeout=WAIT)
    assert page.prepared is not None and page.prepared.span(0).operation == "GET /api/roles"

    session.window.show_page("notifications")
    session.window.context.open_target("traces", ids[0])  # as a notification carrying a trace id does
    assert session.window.current_page_key == "traces"
    qtbot.waitUntil(lambda: shown_trace(page) == ids[0], timeout=WAIT)
    check_users_trace(qtbot, page)
    from_api = [(p.service, p.operation) for p in (page.prepared.span(r) for r in range(page.prepared.rows))]

    path = tmp_path / "downloaded.json"
    path.write_bytes(httpx.get(f"{sandbox.url.rstrip('/')}/jaeger/api/traces/{ids[0]}", timeout=15).content)
    page.prepared = None
    page.trace_id.clear()
    page.open_file(path)
    qtbot.waitUntil(lambda: page.prepared is not None, timeout=WAIT)
    assert [
        (s.service, s.operation) for s in (page.prepared.span(r) for r in range(page.prepared.rows))
    ] == from_api
    assert "downloaded.json" in page.view.facts.text()
    assert page.trace_id.text() == ids[0]

    page.open_trace("0123456789abcdef0123456789abcdef")
    qtbot.waitUntil(lambda: "was not found" in page.status.text(), timeout=WAIT)
    assert shown_trace(page) == ids[0]  # the trace on screen stays
