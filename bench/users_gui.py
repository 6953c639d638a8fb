"""The Users page at 100k users, each figure against the raw HTTP call (or the idle GUI) in the same run.

A sandbox seeded with 100,000 users runs in a child process (``bench.users_api._sandbox``), so this
process holds only the GUI. Signed in as the demo admin through the sandbox's real pages, a real main
window with a real bridge and session shows the real Users page, offscreen, with the interpreter's
switch interval the console sets for its GUI (``start_gui``; Python's default 5 ms made each hand-over
of the lock between the painting GUI thread and the bridge's thread cost up to 5 ms, which the console
never pays):

1. ``first_page``: from building the Users page (its view, with the session open) to its first rows
   painted, against a bare ``httpx`` GET of the same page plus ``json()`` timed on the same loop
   (p50 of ``OPSCONSOLE_BENCH_REPEATS``, interleaved). Targets: at most 2x the raw call, under 300 ms.
   The raw call is the page's own first request, ``count=true`` included (the count of the list comes
   with its first page, ``PagedUsers.counts``): without it the baseline skipped the server's count
   and charged that to the GUI. ``first_page_vs_bare_table`` sets the same figure against the floor
   of showing rows at all: bare Qt (a QStandardItemModel of the same 100 rows, decoded already, in a
   default QTableView put where the page goes, as large as the page's table and its rows as high, so
   that as many show) from building it to its rows painted, no request; ``_vs_raw_then_bare_table``
   against that plus the raw call, what a minimal client that fetches, then shows, would take. Both
   depend only on the machine, and ``floor_vs_raw`` says what that minimal client scores against the
   2x target: when bare Qt's first show of the rows costs as much as the raw call (on one machine,
   with the sandbox on loopback answering in about 10 ms), no page that fetches, then paints, can
   meet it.
2. ``search_after_last_key``: from the last key typed to the result painted, against the raw search
   call plus the debounce (250 ms, ``users_view.DEBOUNCE_MS``); ``search`` is the same less the
   debounce, against the raw call.
3. ``scroll_to_end``: scrolling from the top to row 100,000 the way a scroll bar does (to the bottom,
   the view asks for more, again), with the stall probe (ui/shell/stall_probe.py) running: the longest
   GUI stall against the longest stall of the idle GUI over one second (the machine's floor), and the
   total time against a raw keyset walk of the same pages.
4. ``rows_memory``: the process's resident memory grown by the 100k rows loaded, against the growth of
   a child process that walks the same pages with raw httpx and keeps the decoded JSON.

Start-up with the Users page as the first page is ``python -m bench startup`` (the console's first
page is Users; its content waits for the first idle).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.users_api import _raw_page, _result, _sandbox, _sign_in, _users
from opsconsole.ui.shell.app import GUI_SWITCH_INTERVAL
from opsconsole.ui.users.users_view import DEBOUNCE_MS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PAGE = 100
SEARCH = "garcia"


def _repeats() -> int:
    return max(3, int(os.environ.get("OPSCONSOLE_BENCH_REPEATS", "15")))


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


RAW_WALK = """
import json, sys, httpx
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
url, token = sys.argv[1], sys.argv[2]
client = httpx.Client(base_url=url + "/api/", headers={"Authorization": "Bearer " + token}, timeout=30)
client.get("users", params={"limit": 1}).raise_for_status()
before = rss()
rows, cursor = [], None
while True:
    params = {"limit": 500, "sort": "created_at", **({"cursor": cursor} if cursor else {})}
    page = client.get("users", params=params).raise_for_status().json()
    rows.extend(page["items"])
    cursor = page["next_cursor"]
    if not cursor:
        break
print(json.dumps({"rows": len(rows), "growth": rss() - before}))
"""


class _Gui:
    """A window-sized host for Users pages, their page context, a real bridge and session."""

    def __init__(self, url: str, profile: Any) -> None:
        from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

        from opsconsole.auth.session import Session
        from opsconsole.auth.store import MemoryStore
        from opsconsole.config import ConfigSet
        from opsconsole.ui.shell.bridge import AsyncBridge
        from opsconsole.ui.shell.context import PageContext

        self.app = QApplication.instance() or QApplication([])
        # As the console runs (start_gui): without this, every hand-over of the interpreter lock between
        # painting and the bridge's thread waited up to Python's default 5 ms, a cost the console never pays.
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self.url = url
        self.bridge = AsyncBridge()
        self.context = PageContext(ConfigSet.in_memory(profile), bridge=self.bridge)
        self.context.set_profile(profile)
        self.session = Session(profile, store=MemoryStore())
        self.context.set_session(self.session)
        self.context.set_signed_in(True)  # what the sign-in coordinator says once the session has tokens
        self.token = MemoryStore().load(profile.name).access_token  # type: ignore[union-attr]
        self.raw: Any = None
        self.host = QWidget()
        self.host.resize(1200, 760)
        self.layout = QVBoxLayout(self.host)
        self.host.show()
        self.page: Any = None

    def wait(self, done: Callable[[], bool], timeout: float = 120.0) -> None:
        """Run Qt's event loop until ``done()``, checking every 2 ms.

        A real event loop, not a processEvents() loop: processEvents returns at once when nothing is
        pending, so calling it in a loop spins holding the GIL and starves the bridge's thread (it
        made every answer look 60-130 ms late)."""
        from PySide6.QtCore import QEventLoop, QTimer

        if done():
            return
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(2)
        deadline = time.monotonic() + timeout

        def check() -> None:
            if done() or time.monotonic() > deadline:
                loop.quit()

        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        if not done():
            raise TimeoutError("the GUI did not get there in time")

    def on_loop(self, coro: Any) -> Any:
        box: list[Any] = []
        self.bridge.run(coro, on_success=box.append, on_failure=box.append)
        self.wait(lambda: bool(box))
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _raw_client(self) -> Any:
        import httpx

        if self.raw is None:
            self.raw = httpx.AsyncClient(base_url=f"{self.url}/api/", timeout=30,
                                         headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
        return self.raw

    async def _raw(self, params: dict[str, Any]) -> float:
        raw = self._raw_client()
        started = time.perf_counter()
        (await raw.get("users", params=params)).raise_for_status().json()
        return (time.perf_counter() - started) * 1000

    async def _raw_items(self) -> list[dict[str, Any]]:
        page = (await self._raw_client().get("users", params={"limit": PAGE, "sort": "created_at"})).json()
        return list(page["items"])

    def raw_items(self) -> list[dict[str, Any]]:
        """The first page's users, decoded by bare httpx (for the bare table)."""
        return list(self.on_loop(self._raw_items()))

    def raw_call(self, **params: Any) -> float:
        return float(self.on_loop(self._raw({"limit": PAGE, "sort": "created_at", **params})))

    def new_view(self) -> Any:
        """A fresh Users page in the host (the previous one dropped)."""
        from opsconsole.ui.users.page import UsersPage

        if self.page is not None:
            self.layout.removeWidget(self.page)
            self.page.deleteLater()
        self.page = UsersPage(self.context)
        self.layout.addWidget(self.page)
        return self.page

    def close(self) -> None:
        self.host.close()
        self.context.set_session(None)
        if self.raw is not None:
            self.on_loop(self.raw.aclose())
        self.on_loop(self.session.aclose())
        self.bridge.shutdown()
        sys.setswitchinterval(self.switch_interval)


class _PaintClock:
    """When the table's viewport has painted rows: the moment a person sees them.

    An event filter notes a paint of the viewport while the model has rows; the time is read on the
    next turn of the event loop, after that paint has been done."""

    def __init__(self, view: Any) -> None:
        from PySide6.QtCore import QEvent, QObject, QTimer

        self.at: float | None = None
        clock = self

        class Filter(QObject):
            def eventFilter(self, _obj: Any, event: Any) -> bool:
                if clock.at is None and event.type() == QEvent.Type.Paint and view.model.rowCount() > 0:
                    QTimer.singleShot(0, self, clock.stamp)
                return False

        self.filter = Filter()
        self.viewport = view.table.viewport()
        self.viewport.installEventFilter(self.filter)

    def stamp(self) -> None:
        if self.at is None:
            self.at = time.perf_counter()

    def close(self) -> None:
        self.viewport.removeEventFilter(self.filter)


def _first_page(gui: _Gui) -> tuple[float, float]:
    """(ms from building the Users page to its first rows painted, the raw first-page call ms)."""
    mine, base = [], []
    for _ in range(_repeats() + 2):
        page = gui.new_view()
        started = time.perf_counter()
        view = page.build()
        clock = _PaintClock(view)
        gui.wait(lambda clock=clock: clock.at is not None)
        assert clock.at is not None
        mine.append((clock.at - started) * 1000)
        clock.close()
        gui.wait(lambda view=view: view.service.policy is not None)
        base.append(gui.raw_call(count="true"))  # the page's own first request (see the docstring)
    return statistics.median(mine[2:]), statistics.median(base[2:])  # the first two warm up


COLUMNS = ("email", "name", "status", "roles", "created_at", "updated_at")


def _bare_table(gui: _Gui, items: list[dict[str, Any]], like: Any) -> float:
    """ms for bare Qt to show the same page: a QStandardItemModel of the first page's rows (decoded
    already), a QTableView with default settings put where the Users page goes, until its rows are
    painted (the same clock). No request: this is the floor of showing the rows, whatever fetched them."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView

    times = []
    for _ in range(_repeats() + 2):
        started = time.perf_counter()
        model = QStandardItemModel(0, len(COLUMNS))
        model.setHorizontalHeaderLabels(list(COLUMNS))
        for item in items:
            cells = [", ".join(v) if isinstance(v := item.get(key), list) else str(v) for key in COLUMNS]
            model.appendRow([QStandardItem(cell) for cell in cells])
        table = QTableView()
        # As large as the page's table, its rows as high: as many rows shown as on the page.
        table.setFixedSize(like.size())
        table.verticalHeader().setDefaultSectionSize(like.verticalHeader().defaultSectionSize())
        table.setModel(model)
        bare = type("Bare", (), {"table": table, "model": model})()
        clock = _PaintClock(bare)
        gui.layout.addWidget(table)
        gui.wait(lambda clock=clock: clock.at is not None)
        assert clock.at is not None
        times.append((clock.at - started) * 1000)
        clock.close()
        gui.layout.removeWidget(table)
        table.deleteLater()
    return statistics.median(times[2:])


def _search(gui: _Gui, view: Any) -> tuple[float, float]:
    """(ms from the last key to the result painted, the raw search call ms): medians."""
    mine, base = [], []
    for i in range(_repeats() + 2):
        text = SEARCH if i % 2 == 0 else SEARCH[:-1]  # alternate, so each is a new query
        started = time.perf_counter()
        view.search.setText(text)  # the last key: the debounce starts now
        gui.wait(lambda text=text: view.model.query.search == text and view.model.rowCount() > 0
                 and not view.model.state.loading)  # fmt: skip
        clock = _PaintClock(view)
        view.table.viewport().update()  # (already scheduled by the rows' arrival; harmless if so)
        gui.wait(lambda clock=clock: clock.at is not None)
        assert clock.at is not None
        mine.append((clock.at - started) * 1000)
        clock.close()
        base.append(gui.raw_call(search=text))
    view.search.setText("")
    gui.wait(
        lambda: view.model.query.search == "" and view.model.rowCount() > 0 and not view.model.state.loading
    )
    return statistics.median(mine[2:]), statistics.median(base[2:])


def _idle_stall(gui: _Gui) -> float:
    from opsconsole.ui.shell.stall_probe import StallProbe

    probe = StallProbe()
    probe.start()
    end = time.monotonic() + 1.0
    gui.wait(lambda: time.monotonic() > end)
    probe.stop()
    return probe.max_stall_s * 1000


def _scroll(gui: _Gui, view: Any, users: int) -> tuple[float, float, float]:
    """(longest stall ms, total s, RSS growth MiB) of scrolling from the top to the last row."""
    from PySide6.QtCore import QModelIndex

    from opsconsole.ui.shell.stall_probe import StallProbe

    gc.collect()
    before = _rss_mib()
    probe = StallProbe()
    probe.start()
    started = time.perf_counter()
    model = view.model
    while not model.complete:
        view.table.scrollToBottom()  # the scroll bar at its end: the view asks for more itself
        if model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())  # what the view does on the next scroll event
        gui.wait(lambda: not model.state.loading)
        if model.error is not None:
            raise RuntimeError(f"a page failed: {model.error}")
    view.table.scrollTo(model.index(model.rowCount() - 1, 0))
    clock = _PaintClock(view)
    gui.wait(lambda: clock.at is not None)
    clock.close()
    total = time.perf_counter() - started
    probe.stop()
    if model.rowCount() < users:
        raise RuntimeError(f"scrolled to {model.rowCount()} rows, expected at least {users}")
    gc.collect()
    return probe.max_stall_s * 1000, total, _rss_mib() - before


async def _raw_walk_time(gui: _Gui) -> float:
    cursor, started = None, time.perf_counter()
    assert gui.raw is not None
    while True:
        cursor = (await _raw_page(gui.raw, cursor))["next_cursor"]
        if not cursor:
            return time.perf_counter() - started


def run() -> list[dict[str, Any]]:
    users = _users()
    started = time.perf_counter()
    with _sandbox(users) as url:
        print(f"sandbox with {users} users ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        profile = _sign_in(url)
        gui = _Gui(url, profile)
        try:
            first, first_raw = _first_page(gui)
            gui.page.hide()  # the bare table takes its place
            bare_table = _bare_table(gui, gui.raw_items(), like=gui.page.view.table)
            gui.page.show()
            view = gui.page.build()
            after_key, search_raw = _search(gui, view)

            floor = _idle_stall(gui)
            stall, total, growth = _scroll(gui, view, users)
            raw_total = gui.on_loop(_raw_walk_time(gui))
        finally:
            gui.close()
        child = subprocess.run([sys.executable, "-c", RAW_WALK, url, gui.token], capture_output=True,
                               text=True, check=True, timeout=600)  # fmt: skip
        raw_growth = json.loads(child.stdout)["growth"]
    k = users // 1000
    return [
        _result("users_gui.first_page", first, first_raw),
        # The floor under first_page: bare Qt showing the same 100 rows, already decoded, no request.
        _result("users_gui.first_page_vs_bare_table", first, bare_table),
        _result("users_gui.first_page_vs_raw_then_bare_table", first, first_raw + bare_table),
        _result("users_gui.floor_vs_raw", first_raw + bare_table, first_raw),
        # The debounce is a chosen wait, not work: the search itself is the time after it.
        _result("users_gui.search", after_key - DEBOUNCE_MS, search_raw),
        _result("users_gui.search_after_last_key", after_key, search_raw + DEBOUNCE_MS),
        _result(f"users_gui.scroll_to_end_{k}k.max_stall", stall, floor),
        _result(f"users_gui.scroll_to_end_{k}k.time", total, raw_total, "s"),
        _result(f"users_gui.rows_{k}k.memory_growth", growth, raw_growth, "MB"),
    ]
