"""The Traces page: search the profile's traces backend, see the results as a table and a scatter,
open a trace (from the results, by id, from a file, or from a notification through ``open_target``)
and read it in the waterfall, with each span's details in the shell's detail panel.

Every request, decode and layout runs through ``context.bridge`` (source.py); the page only shows
what comes back. What a shown trace still needs (its critical path, every span's details read) runs
on the GUI thread a slice at a time between frames (slices.py says why). Built the first time the
page is shown, so pyqtgraph is imported then, not at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...errors import OpsError
from ...traces.backend import normalize_trace_id
from ...traces.model import Trace, TraceSummary
from ..shell import plain
from . import source
from .detail import SpanDetail
from .prepared import PreparedTrace, background_steps
from .scatter import ResultsScatter
from .search import ResultsModel, ResultsTable, SearchForm
from .slices import TimeSliced
from .trace_view import TraceView

if TYPE_CHECKING:
    from ..shell.context import PageContext

__all__ = ["TracesPage"]

SEARCH_TAB, TRACE_TAB = 0, 1


class TracesPage(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setAccessibleName("Traces page")
        self.prepared: PreparedTrace | None = None
        self.file_traces: dict[str, Trace] = {}  # traces of the last file opened, by id
        self.file_name = ""
        self._services_for: object = None  # the (profile, session) the service list was loaded for
        self._trace_job: Any = None
        self._background: TimeSliced | None = None  # the shown trace's background pass

        self.trace_id = QLineEdit()
        self.trace_id.setObjectName("traceIdBox")
        self.trace_id.setPlaceholderText("Trace id")
        self.trace_id.setAccessibleName("Trace id to open")
        self.trace_id.setMaximumWidth(320)
        self.trace_id.returnPressed.connect(lambda: self.open_trace(self.trace_id.text()))
        open_button = QPushButton("Open")
        open_button.setObjectName("traceOpenButton")
        open_button.setAccessibleName("Open the trace with this id")
        open_button.clicked.connect(lambda: self.open_trace(self.trace_id.text()))
        file_button = QPushButton("Open file…")
        file_button.setObjectName("traceFileButton")
        file_button.setToolTip("Open a Jaeger, OTLP or Zipkin JSON file")
        file_button.setAccessibleName("Open a trace file")
        file_button.clicked.connect(lambda: self.open_file())
        self.status = plain.label()  # errors quote the backend
        self.status.setObjectName("tracesStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.trace_id)
        top.addWidget(open_button)
        top.addWidget(file_button)
        top.addWidget(self.status, 1)

        self.form = SearchForm()
        self.form.searchRequested.connect(lambda _q: self.search())
        self.form.serviceChanged.connect(self._load_operations)
        self.results = ResultsModel(self)
        self.table = ResultsTable(self.results)
        self.table.openRequested.connect(self.open_trace)
        self.scatter = ResultsScatter()
        self.scatter.openRequested.connect(self.open_trace)
        self.results_status = plain.label("Search for traces, or open one by id or from a file.")
        self.results_status.setObjectName("traceResultsStatus")
        self.results_status.setWordWrap(True)  # a long message must not set the page's least width
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.scatter)
        right.addWidget(self.table)
        right.setSizes([220, 400])
        right_box = QWidget()
        right_col = QVBoxLayout(right_box)
        right_col.setContentsMargins(0, 0, 0, 0)
        right_col.addWidget(self.results_status)
        right_col.addWidget(right, 1)
        form_box = QWidget()
        form_col = QVBoxLayout(form_box)
        form_col.setContentsMargins(0, 0, 8, 0)
        form_col.addWidget(self.form)
        form_col.addStretch(1)
        form_box.setMaximumWidth(340)
        search_tab = QSplitter(Qt.Orientation.Horizontal)
        search_tab.setObjectName("traceSearchTab")
        search_tab.addWidget(form_box)
        search_tab.addWidget(right_box)
        search_tab.setStretchFactor(1, 1)

        self.view = TraceView()
        self.view.spanActivated.connect(self.show_span)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tracesTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(search_tab, "&Search")
        self.tabs.addTab(self.view, "T&race")
        self.tabs.setTabEnabled(TRACE_TAB, False)
        self.tabs.setAccessibleName("Traces: search and trace")
        self.tabs.tabBar().setAccessibleName("Search or trace")

        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 8)
        column.setSpacing(8)
        column.addLayout(top)
        column.addWidget(self.tabs, 1)

        context.profileChanged.connect(lambda _p: self._backend_changed())
        context.sessionChanged.connect(lambda _s: self._backend_changed())
        self._backend_changed()

    # -- the backend -----------------------------------------------------------------------------

    def _backend_changed(self) -> None:
        problem = source.backend_problem(self.context)
        self.form.setEnabled(problem is None)
        if problem is not None:
            self.results_status.setText(problem + " Trace files can still be opened.")
            return
        key = (self.context.profile, self.context.session)
        if key != self._services_for:
            self._services_for = key
            self._run(source.services(self.context), self.form.set_services, quiet=True)

    def _load_operations(self, service: str) -> None:
        def show(ops: list[str]) -> None:
            if self.form.service.currentText() == service:
                self.form.set_operations(ops)

        self._run(source.operations(self.context, service), show, quiet=True)

    def _run(self, coro: Any, on_success: Any, *, quiet: bool = False) -> Any:
        bridge = self.context.bridge
        if bridge is None:
            coro.close()
            self._error("Cannot reach the traces backend: the console's background runner is not running")
            return None
        failure = self._quiet_error if quiet else self._error
        return bridge.run(coro, owner=self).success(on_success).failure(failure)

    def _error(self, exc: BaseException | str) -> None:
        text = str(exc) if isinstance(exc, OpsError | str) else f"{type(exc).__name__}: {exc}"
        hint = getattr(exc, "hint", "")
        self.set_status(text + (f" ({hint})" if hint else ""), error=True)
        self.context.show_message(text)

    def _quiet_error(self, exc: BaseException) -> None:
        self.results_status.setText(f"Could not load the services: {exc}")

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c62828" if error else "")

    # -- search ----------------------------------------------------------------------------------

    def search(self) -> None:
        try:
            query = self.form.query()
        except OpsError as exc:
            self._error(exc)
            return
        self.set_status("Searching…")
        self.form.button.setEnabled(False)

        def done(found: list[Any]) -> None:
            self.form.button.setEnabled(True)
            self.show_results(found)
            self.set_status("")

        def failed(exc: BaseException) -> None:
            self.form.button.setEnabled(True)
            self._error(exc)

        job = self._run(source.search(self.context, query), done)
        if job is not None:
            job.failure(failed)
        else:
            self.form.button.setEnabled(True)

    def show_results(self, found: list[Any]) -> None:
        self.results.set_results(found)
        self.scatter.set_results(found)
        self.table.resize_columns()
        n = len(found)
        self.results_status.setText(f"{n} trace{'s' if n != 1 else ''} found" if n else "No traces found")
        self.tabs.setCurrentIndex(SEARCH_TAB)

    # -- opening a trace -------------------------------------------------------------------------

    def open_target(self, target: str) -> None:
        """Open a trace by id (PageContext.open_target("traces", id): a notification that carries one)."""
        self.open_trace(target)

    def open_trace(self, text: str) -> None:
        try:
            trace_id = normalize_trace_id(text)
        except OpsError as exc:
            self._error(exc)
            return
        self.trace_id.setText(trace_id)
        self.set_status(f"Opening trace {trace_id}…")
        if self._trace_job is not None:
            self._trace_job.cancel()
        # A trace of the file opened last, by id (64- and 128-bit ids differ only by leading zeros).
        from_file = next(
            (t for i, t in self.file_traces.items() if i.lstrip("0") == trace_id.lstrip("0")), None
        )
        if from_file is not None:
            coro = source.prepare_trace(from_file, self.file_name)
        elif source.backend_problem(self.context) is not None:
            self._error(source.backend_problem(self.context) or "")
            return
        else:
            coro = source.load_trace(self.context, trace_id)
        self._trace_job = self._run(coro, self.show_trace)

    def open_file(self, path: str | Path | None = None) -> None:
        if path is None:
            chosen, _filter = QFileDialog.getOpenFileName(
                self, "Open a trace file", "", "Trace files (*.json);;All files (*)"
            )
            if not chosen:
                return
            path = chosen
        self.set_status(f"Opening {Path(path).name}…")

        def done(result: tuple[PreparedTrace | None, list[Trace], list[TraceSummary]]) -> None:
            prepared, traces, summaries = result
            self.file_traces = {t.trace_id: t for t in traces}
            self.file_name = Path(str(path)).name
            if len(traces) > 1:
                self.show_results(summaries)
                self.results_status.setText(f"{len(traces)} traces in {Path(str(path)).name}")
            if prepared is not None:
                self.show_trace(prepared)

        self._trace_job = self._run(source.load_file(path), done)

    def show_trace(self, prepared: PreparedTrace) -> None:
        self._trace_job = None
        self.prepared = prepared
        self.trace_id.setText(prepared.layout.trace.trace_id)  # the box names what is shown (files too)
        self.view.set_trace(prepared)
        # The rows first, then, between frames, the critical path and every span's details. The pass
        # of a trace no longer shown is dropped.
        if self._background is not None:
            self._background.stop()
        self._background = None
        if not (prepared.critical_ready and prepared.details_read):
            self._background = TimeSliced(background_steps(prepared), self.view.background_ready, self)
        self.tabs.setTabEnabled(TRACE_TAB, True)
        self.tabs.setCurrentIndex(TRACE_TAB)
        self.view.waterfall.setFocus()
        problems = prepared.layout.problems
        self.set_status(
            f"Trace {prepared.layout.trace.trace_id}: {len(prepared.layout.trace.spans):,} spans"
            + (f", {len(problems)} problem{'s' if len(problems) > 1 else ''}" if problems else "")
        )

    def show_span(self, row: int) -> None:
        if self.prepared is None:
            return
        span = self.prepared.span(row)
        self.context.show_detail(SpanDetail(self.prepared, row), f"{span.service}: {span.operation}")

    def focus_find(self) -> None:
        """Ctrl+F: find spans in the open trace, else the search form (or the trace id box without one)."""
        if self.tabs.currentIndex() == TRACE_TAB:
            self.view.focus_find()
        elif self.form.isEnabled():
            self.form.service.setFocus()
        else:  # no backend to search: a trace id or a file, then
            self.trace_id.setFocus()
            self.trace_id.selectAll()
