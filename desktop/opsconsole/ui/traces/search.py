"""The search side of the Traces page: the form, the results table and the scatter of durations.

The form holds Jaeger UI's fields (service, operation, tags, min and max duration, lookback, limit)
and turns them into the core's SearchQuery; the table and the scatter show the same TraceSummary
list, and either opens a trace (``openRequested`` with its id).
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from ...errors import OpsError
from ...traces.model import TraceSummary
from ...traces.query import SearchQuery, parse_duration_us
from ...traces.render import format_duration
from ..shell import plain

__all__ = ["ResultsModel", "ResultsTable", "SearchForm"]

LOOKBACKS = (
    ("Last 15 minutes", "15m"),
    ("Last hour", "1h"),
    ("Last 3 hours", "3h"),
    ("Last 12 hours", "12h"),
    ("Last day", "1d"),
    ("Last 2 days", "2d"),
    ("Last week", "1w"),
)
ALL = "(all services)"
ANY = "(all operations)"


class SearchForm(QWidget):
    searchRequested = Signal(object)
    """The person asked to search: the SearchQuery."""
    serviceChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceSearchForm")
        self.setAccessibleName("Trace search")
        self.service = QComboBox()
        self.service.setObjectName("traceService")
        self.service.setAccessibleName("Service")
        self.service.addItem(ALL)
        self.service.currentTextChanged.connect(self._on_service)
        self.operation = QComboBox()
        self.operation.setObjectName("traceOperation")
        self.operation.setAccessibleName("Operation")
        self.operation.addItem(ANY)
        self.tags = QLineEdit()
        self.tags.setObjectName("traceTags")
        self.tags.setAccessibleName("Tags")
        self.tags.setPlaceholderText("error=true http.status_code=500")
        self.tags.setToolTip('Tags as key=value, separated by spaces; quote values with spaces: k="a b"')
        self.min_duration = QLineEdit()
        self.min_duration.setObjectName("traceSearchMin")
        self.min_duration.setAccessibleName("Minimum duration")
        self.min_duration.setPlaceholderText("e.g. 100ms")
        self.max_duration = QLineEdit()
        self.max_duration.setObjectName("traceSearchMax")
        self.max_duration.setAccessibleName("Maximum duration")
        self.max_duration.setPlaceholderText("e.g. 1.5s")
        self.lookback = QComboBox()
        self.lookback.setObjectName("traceLookback")
        self.lookback.setAccessibleName("Lookback")
        for label, value in LOOKBACKS:
            self.lookback.addItem(label, value)
        self.lookback.setCurrentIndex(1)
        self.limit = QSpinBox()
        self.limit.setObjectName("traceLimit")
        self.limit.setAccessibleName("Limit")
        self.limit.setRange(1, 1500)
        self.limit.setValue(20)
        self.button = QPushButton("Find traces")
        self.button.setObjectName("traceSearchButton")
        self.button.setDefault(True)
        self.button.setAccessibleName("Find traces")
        self.button.clicked.connect(self.submit)
        for edit in (self.tags, self.min_duration, self.max_duration):
            edit.returnPressed.connect(self.submit)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Service", self.service)
        form.addRow("&Operation", self.operation)
        form.addRow("&Tags", self.tags)
        form.addRow("Mi&n duration", self.min_duration)
        form.addRow("Ma&x duration", self.max_duration)
        form.addRow("&Lookback", self.lookback)
        form.addRow("Li&mit", self.limit)
        form.addRow(self.button)

    def set_services(self, services: list[str]) -> None:
        current = self.service.currentText()
        self.service.blockSignals(True)
        self.service.clear()
        self.service.addItems([ALL, *services])
        self.service.setCurrentText(current if current in services else ALL)
        self.service.blockSignals(False)

    def set_operations(self, operations: list[str]) -> None:
        self.operation.clear()
        self.operation.addItems([ANY, *operations])

    def _on_service(self, service: str) -> None:
        self.set_operations([])
        if service and service != ALL:
            self.serviceChanged.emit(service)

    def query(self) -> SearchQuery:
        """The form as a SearchQuery; OpsError (with words for the person) when a field is wrong."""
        tags: dict[str, str] = {}
        try:
            words = shlex.split(self.tags.text())
        except ValueError as exc:
            raise OpsError(f"Tags: {exc}") from None
        for word in words:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise OpsError(f"Tags: {word!r} is not key=value")
            tags[key] = value
        service = self.service.currentText()
        operation = self.operation.currentText()
        query = SearchQuery(
            service=None if service in ("", ALL) else service,
            operation=None if operation in ("", ANY) else operation,
            tags=tags,
            lookback_us=parse_duration_us(str(self.lookback.currentData())),
            limit=self.limit.value(),
        )
        if text := self.min_duration.text().strip():
            query.min_duration_us = parse_duration_us(text)
        if text := self.max_duration.text().strip():
            query.max_duration_us = parse_duration_us(text)
        return query

    def submit(self) -> None:
        self.searchRequested.emit(None)


COLUMNS = ("Started", "Trace", "Duration", "Spans", "Errors", "Services", "Trace id")


class ResultsModel(QAbstractTableModel):
    """Search results, one TraceSummary a row; sorted by any column through the sort role."""

    SortRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.results: list[TraceSummary] = []

    def set_results(self, results: list[TraceSummary]) -> None:
        self.beginResetModel()
        self.results = list(results)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.results)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        t = self.results[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return datetime.fromtimestamp(t.start_us / 1e6).strftime("%Y-%m-%d %H:%M:%S")
            if col == 1:
                return f"{t.root_service}: {t.root_operation}"
            if col == 2:
                return format_duration(t.duration_us)
            if col == 3:
                return t.span_count
            if col == 4:
                return t.error_count or ""
            if col == 5:
                return ", ".join(t.services)
            return t.trace_id
        if role == self.SortRole:
            return (t.start_us, f"{t.root_service}{t.root_operation}", t.duration_us, t.span_count,
                    t.error_count, len(t.services), t.trace_id)[col]  # fmt: skip
        if role == Qt.ItemDataRole.ToolTipRole and col == 5:
            return plain.tooltip(*t.services)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ResultsTable(QTableView):
    openRequested = Signal(str)

    def __init__(self, model: ResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtCore import QSortFilterProxyModel

        self.setObjectName("traceResults")
        self.setAccessibleName("Traces found")
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(ResultsModel.SortRole)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.activated.connect(self._open)

    def _open(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        model = self.proxy.sourceModel()
        assert isinstance(model, ResultsModel)
        self.openRequested.emit(model.results[source.row()].trace_id)

    def resize_columns(self) -> None:
        for col in range(len(COLUMNS) - 1):
            self.resizeColumnToContents(col)
        self.setColumnWidth(1, min(self.columnWidth(1), 360))
        self.setColumnWidth(5, min(self.columnWidth(5), 260))
