"""The Metrics page: a dashboard's panels in a grid, fed by Prometheus or a direct scrape.

The toolbar picks the source (Prometheus when the profile has ``prometheus_url``, direct scrape of
``metrics_url`` otherwise or when chosen), the time range, the auto-refresh interval (or pause), and
holds the dashboard's file actions (open, save, save as, reset to the default). Firing and pending
alerts stand in a strip above the panels in Prometheus mode.

Each panel is refreshed by its own job on ``context.bridge`` (fetch, parse, legend names, NaN/Inf
handling all happen there), so a panel whose query fails shows its own message while the others keep
updating, and a panel still waiting for a slow answer is skipped by the next tick rather than asked
twice. In direct-scrape mode one job per scrape feeds every panel (one fetch, one parse).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...metrics import dashboard as dashboards
from ...metrics.api import Alert
from ...metrics.dashboard import Dashboard, DashboardError, Panel
from ...metrics.durations import format_duration, parse_duration
from ...metrics.incremental import RangeCache
from ..shell.context import PageContext
from . import export
from .alerts import AlertStrip
from .chart import PanelView
from .data import PanelData
from .editor import PanelEditor
from .source import PrometheusSource, ScrapeSource, open_client
from .timerange import TimeRange, TimeRangePicker

log = logging.getLogger("opsconsole.ui.metrics")

ROW_PX = 70  # one grid row of the dashboard layout
FLUSH_MS = 50  # a panel answering within this of the one before is drawn with it, in one go...
FLUSH_MAX_MS = 250  # ...and the first answer of a refresh waits no longer than this to be drawn
REFRESH_CHOICES = (("Off", 0), ("5s", 5), ("10s", 10), ("30s", 30), ("1m", 60), ("5m", 300))
SCRAPE_CHOICES = (("1s", 1), ("2s", 2), ("5s", 5), ("10s", 10), ("15s", 15), ("30s", 30), ("1m", 60))
MODES = (("prometheus", "Prometheus"), ("scrape", "Direct scrape"))


class MetricsPage(QWidget):
    panelUpdated = Signal(str)  # a panel got data or an error
    alertsUpdated = Signal()
    dashboardChanged = Signal()

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.bridge = context.bridge
        self.views: dict[str, PanelView] = {}
        self.source: PrometheusSource | ScrapeSource | None = None
        self._close_client: Callable[[], None] | None = None  # closes the source's client (bridge.close_with)
        self.query_timeout = 30.0
        self.editor: PanelEditor | None = None
        self._names: dict[tuple[str, str, str], list[str]] = {}
        self._scrape_job: Any = None
        self._alerts_job: Any = None
        self._paused_update: dict[str, PanelData] | None = None
        self._shown = False
        self.setAccessibleName("Metrics page")

        self.dashboard, problem = self._initial_dashboard()
        self.scrape_interval = parse_duration(self.dashboard.scrape_interval)

        self.title = QLabel()
        self.mode_combo = QComboBox()
        self.mode_combo.setAccessibleName("Data source")
        for key, text in MODES:
            self.mode_combo.addItem(text, key)
        self.range_picker = TimeRangePicker(self.dashboard.range)
        self.refresh_combo = QComboBox()
        self.refresh_combo.setAccessibleName("Auto-refresh")
        for text, seconds in REFRESH_CHOICES:
            self.refresh_combo.addItem(f"Refresh: {text}", seconds)
        self.scrape_combo = QComboBox()
        self.scrape_combo.setAccessibleName("Scrape interval")
        for text, seconds in SCRAPE_CHOICES:
            self.scrape_combo.addItem(f"Scrape every {text}", seconds)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Stop redrawing (the direct scrape keeps collecting)")
        self.refresh_button = QPushButton("Refresh")
        self.dashboard_button = QToolButton()
        self.dashboard_button.setText("Dashboard")
        self.dashboard_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.dashboard_button)
        menu.addAction("Open…", self._open_dialog)
        menu.addAction("Save", self.save_dashboard)
        menu.addAction("Save as…", self._save_as_dialog)
        menu.addSeparator()
        menu.addAction("Reset to default…", self._reset_dialog)
        self.dashboard_button.setMenu(menu)

        toolbar = QHBoxLayout()
        toolbar.addWidget(self.title, 1)
        for widget in (
            self.mode_combo,
            self.range_picker,
            self.refresh_combo,
            self.scrape_combo,
            self.pause_button,
            self.refresh_button,
            self.dashboard_button,
        ):
            toolbar.addWidget(widget)
        self.notice = QLabel("")
        self.notice.setObjectName("metricsNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)  # errors quoting files and servers
        self.alerts = AlertStrip()

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        # An explicit minimum, below the toolbar's natural width: the window's detail panel and a
        # narrow window may squeeze the page (the grid scrolls; the toolbar gets tight).
        self.setMinimumSize(320, 240)
        layout.addLayout(toolbar)
        layout.addWidget(self.notice)
        layout.addWidget(self.alerts)
        layout.addWidget(scroll, 1)

        self._ready: dict[str, tuple[PanelView, PanelData | BaseException]] = {}
        self._first_ready = 0.0  # time.monotonic() of the first of the answers in _ready
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._select_combo(self.refresh_combo, int(parse_duration(self.dashboard.refresh)))
        self._select_combo(self.scrape_combo, int(self.scrape_interval))
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._setup_source())
        self.range_picker.changed.connect(lambda _r: self.refresh(force=True))
        self.refresh_combo.currentIndexChanged.connect(lambda _i: self._arm_timer())
        self.scrape_combo.currentIndexChanged.connect(lambda _i: self._scrape_interval_changed())
        self.pause_button.toggled.connect(self._paused)
        self.refresh_button.clicked.connect(lambda: self.refresh(force=True, reload=True))
        context.profileChanged.connect(lambda _p: self._setup_source())
        context.sessionChanged.connect(lambda _s: self._setup_source())

        self._build_grid()
        self._set_notice(problem)
        self._setup_source(refresh=False)

    # -- dashboard ----------------------------------------------------------------------------------------

    def _initial_dashboard(self) -> tuple[Dashboard, str]:
        try:
            return dashboards.load_user(), ""
        except DashboardError as exc:
            return dashboards.default(), f"Your saved dashboard could not be used; showing the default. {exc}"

    def set_dashboard(self, dashboard: Dashboard) -> None:
        """Show ``dashboard``, with its own time range, refresh and scrape intervals."""
        self.dashboard = dashboard
        self.range_picker.blockSignals(True)
        self.range_picker.set_range(TimeRange(parse_duration(dashboard.range)))
        self.range_picker.blockSignals(False)
        for combo, value in (
            (self.refresh_combo, parse_duration(dashboard.refresh)),
            (self.scrape_combo, parse_duration(dashboard.scrape_interval)),
        ):
            combo.blockSignals(True)
            self._select_combo(combo, int(value))
            combo.blockSignals(False)
        self.scrape_interval = float(self.scrape_combo.currentData())
        self._build_grid()
        self._setup_source()
        self.dashboardChanged.emit()

    def _build_grid(self) -> None:
        for view in self.views.values():
            if view.job is not None:
                view.job.cancel()
            self.grid.removeWidget(view)
            # Hidden and unparented now: deleteLater waits for the event loop, and until then the old
            # panel would still be painted under the new ones.
            view.hide()
            view.setParent(None)
            view.deleteLater()
        self.views = {}
        self._ready.clear()
        self.title.setText(f"<b>{escape(self.dashboard.title)}</b>")
        bottom = 0
        for panel in self.dashboard.panels:
            view = PanelView(panel)
            view.editRequested.connect(self.open_editor)
            view.exportPngRequested.connect(self._export_png_dialog)
            view.exportCsvRequested.connect(self._export_csv_dialog)
            lay = panel.layout
            self.grid.addWidget(view, lay.y, lay.x, lay.h, lay.w)
            self.views[panel.id] = view
            bottom = max(bottom, lay.y + lay.h)
        # Rows of a fixed height, as in Grafana: a panel keeps the size its layout gives it whatever the
        # window's height, and a tall dashboard scrolls. Rows left over from a larger dashboard go flat.
        for row in range(max(bottom, self.grid.rowCount())):
            self.grid.setRowMinimumHeight(row, ROW_PX if row < bottom else 0)
            self.grid.setRowStretch(row, 0)
        self.grid.setRowStretch(bottom, 1)
        for column in range(dashboards.GRID_COLUMNS):
            self.grid.setColumnStretch(column, 1)

    def save_dashboard(self, path: Path | None = None) -> Path:
        target = path or dashboards.user_path()
        try:
            dashboards.save(self.dashboard, target)
        except OSError as exc:
            self._set_notice(f"Could not save the dashboard to {target}: {exc.strerror or exc}")
            raise
        self._set_notice("")
        self.context.show_message(f"Dashboard saved to {target}")
        return target

    def load_dashboard(self, path: Path) -> bool:
        try:
            loaded = dashboards.load(path)
        except DashboardError as exc:
            self._set_notice(str(exc))
            return False
        self._set_notice("")
        self.set_dashboard(loaded)
        self.context.show_message(f"Dashboard loaded from {path}")
        return True

    def reset_dashboard(self) -> None:
        self.set_dashboard(dashboards.reset())
        self._set_notice("")
        self.context.show_message("Dashboard reset to the default")

    def replace_panel(self, panel: Panel) -> None:
        panels = tuple(panel if p.id == panel.id else p for p in self.dashboard.panels)
        self.dashboard = dataclasses.replace(self.dashboard, panels=panels)
        view = self.views[panel.id]
        view.set_panel(panel)
        if isinstance(self.source, ScrapeSource):
            self._setup_source()  # the scrape forms are fixed when the scraper is made
        else:
            self.refresh_panel(view, force=True)
        self.dashboardChanged.emit()

    # -- source -------------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))

    def _setup_source(self, *, refresh: bool = True) -> None:
        self._close_source()
        profile = self.context.profile
        prometheus_url = profile.prometheus_url if profile else ""
        metrics_url = profile.metrics_url if profile else ""
        model = self.mode_combo.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        for row, (key, _text) in enumerate(MODES):
            available = bool(prometheus_url if key == "prometheus" else metrics_url)
            item = model.item(row)
            if item is not None:
                item.setEnabled(available)
        if self.mode == "prometheus" and not prometheus_url and metrics_url:
            self.mode_combo.blockSignals(True)
            self.set_mode("scrape")
            self.mode_combo.blockSignals(False)
        scrape = self.mode == "scrape"
        self.refresh_combo.setVisible(not scrape)
        self.scrape_combo.setVisible(scrape)
        self.alerts.hide()
        if self.bridge is None:
            self._all_panels("The console's background loop is not running", "error")
            return
        if scrape and metrics_url:
            self.source = ScrapeSource(
                open_client(self.context, metrics_url),
                metrics_url,
                self.dashboard,
                interval=self.scrape_interval,
            )
            for view in self.views.values():
                if view.panel.scrape is None:
                    view.set_message(
                        "This panel has no direct-scrape form: it needs a Prometheus server", "info"
                    )
        elif not scrape and prometheus_url:
            self.source = PrometheusSource(
                open_client(self.context, prometheus_url),
                prometheus_url,
                timeout=self.query_timeout,
                ranges=self._range_cache(),
            )
        else:
            name = f'Profile "{profile.name}"' if profile else "No profile is in use:"
            self._all_panels(f"{name} has no prometheus_url or metrics_url: add one to chart metrics", "info")
        if self.source is not None:
            # Closed by _close_source, or when the page is dropped without it (signing out) or at exit.
            self._close_client = self.bridge.close_with(self, self.source.close)
        self._arm_timer()
        if refresh and self._shown:
            self.refresh(force=True)

    def _range_cache(self) -> RangeCache | None:
        """The dashboard's incremental refresh setting as a cache of the panels' answers, or None."""
        if not self.dashboard.incremental:
            return None
        return RangeCache(overlap=parse_duration(self.dashboard.incremental_overlap))

    def _close_source(self) -> None:
        self.timer.stop()
        self._flush_timer.stop()
        self._ready.clear()
        for job in (self._scrape_job, self._alerts_job):
            if job is not None:
                job.cancel()
        self._scrape_job = self._alerts_job = None
        for view in self.views.values():
            if view.job is not None:
                view.job.cancel()
                view.job = None
        self._names.clear()
        if self._close_client is not None:
            self._close_client()
            self._close_client = None
        self.source = None

    def set_query_timeout(self, seconds: float) -> None:
        self.query_timeout = seconds
        if isinstance(self.source, PrometheusSource):
            self.source.api.timeout = seconds

    def _all_panels(self, message: str, kind: str) -> None:
        for view in self.views.values():
            view.set_message(message, kind)

    def _set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # -- refreshing -----------------------------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        first = not self._shown
        self._shown = True
        if first or self.mode != "scrape":
            # Shown again after another page: catch up at once, then keep the interval.
            self.refresh(force=first)
            self._arm_timer()

    def closeEvent(self, event: Any) -> None:
        self._close_source()  # timers stopped, jobs cancelled, the HTTP client closed
        super().closeEvent(event)

    def hideEvent(self, event: Any) -> None:
        # Nobody looks at a hidden page: stop asking the server (a direct scrape keeps its buffers).
        super().hideEvent(event)
        if self.mode != "scrape":
            self.timer.stop()

    @property
    def time_range(self) -> TimeRange:
        return self.range_picker.time_range

    def set_time_range(self, time_range: TimeRange) -> None:
        self.range_picker.set_range(time_range)

    def _arm_timer(self) -> None:
        self.timer.stop()
        if self.source is None or not self._shown:
            return
        if isinstance(self.source, ScrapeSource):
            self.timer.start(int(self.scrape_interval * 1000))
            return
        seconds = int(self.refresh_combo.currentData() or 0)
        if seconds and not self.pause_button.isChecked():
            self.timer.start(seconds * 1000)

    def _scrape_interval_changed(self) -> None:
        self.scrape_interval = float(self.scrape_combo.currentData())
        if isinstance(self.source, ScrapeSource):
            self._setup_source()

    def set_scrape_interval(self, seconds: float) -> None:
        """Direct scrape every ``seconds`` (also values not in the menu, for tests and benchmarks)."""
        self.scrape_interval = seconds
        self.scrape_combo.blockSignals(True)
        index = self.scrape_combo.findData(int(seconds)) if seconds == int(seconds) else -1
        if index < 0:
            self.scrape_combo.addItem(f"Scrape every {format_duration(seconds)}", seconds)
            index = self.scrape_combo.count() - 1
        self.scrape_combo.setCurrentIndex(index)
        self.scrape_combo.blockSignals(False)
        if isinstance(self.source, ScrapeSource):
            self._setup_source()

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if isinstance(self.source, ScrapeSource):
            if not paused and self._paused_update is not None:
                self._scraped(self._paused_update)
            return
        self._arm_timer()
        if not paused:
            self.refresh(force=True)

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def _tick(self) -> None:
        self.refresh(force=False)

    def refresh(self, *, force: bool = True, reload: bool = False) -> None:
        """Ask for new data for every panel. ``force``: also panels still waiting (their job is dropped);
        ``reload``: the whole time range, not only its new part (the Refresh button)."""
        if self.source is None or self.bridge is None:
            return
        if isinstance(self.source, ScrapeSource):
            self._scrape(force)
            return
        for view in self.views.values():
            self.refresh_panel(view, force=force, reload=reload)
        self._refresh_alerts()

    def refresh_panel(self, view: PanelView, *, force: bool = True, reload: bool = False) -> None:
        source = self.source
        if not isinstance(source, PrometheusSource) or self.bridge is None:
            return
        if view.job is not None:
            if not force:
                return  # still waiting for the last answer: do not pile up requests
            view.job.cancel()
        time_range = self.time_range
        start, end = time_range.bounds()
        view.show_loading(start, end)
        panel_id = view.panel.id
        view.job = (
            self.bridge.run(
                source.fetch_panel(
                    view.panel, start, end, view.plot_width(), reload=reload, live=time_range.relative
                ),
                owner=view,
                name=f"metrics-{panel_id}",
            )
            .success(functools.partial(self._panel_done, view))
            .failure(functools.partial(self._panel_failed, view))
        )

    def _panel_done(self, view: PanelView, outcome: PanelData | BaseException) -> None:
        # Drawn together: panels that answer within FLUSH_MS of each other share one repaint of the
        # page instead of one each, and the drawing waits until the answers stop coming: drawn while
        # the bridge's thread still parses answers, both threads fight for the GIL and the drawing takes
        # several times as long (bench/metrics_gui.py). A slow panel holds the others up by FLUSH_MS,
        # and a stream of answers by FLUSH_MAX_MS, at most.
        view.job = None
        if not self._ready:
            self._first_ready = time.monotonic()
        self._ready[view.panel.id] = (view, outcome)
        if all(v.job is None for v in self.views.values()):
            self._flush()
        else:
            left = FLUSH_MAX_MS - (time.monotonic() - self._first_ready) * 1000
            self._flush_timer.start(int(max(0, min(FLUSH_MS, left))))

    def _panel_failed(self, view: PanelView, error: BaseException) -> None:
        if not hasattr(error, "message"):
            log.error("panel %s failed", view.panel.id, exc_info=error)
        self._panel_done(view, error)

    def _flush(self) -> None:
        self._flush_timer.stop()
        ready, self._ready = self._ready, {}
        for panel_id, (view, outcome) in ready.items():
            if isinstance(outcome, BaseException):
                view.show_error(outcome)
            else:
                view.show_data(outcome)
            self.panelUpdated.emit(panel_id)

    def _refresh_alerts(self) -> None:
        source = self.source
        if not isinstance(source, PrometheusSource) or self.bridge is None or self._alerts_job is not None:
            return

        def done(alerts: list[Alert]) -> None:
            self._alerts_job = None
            self.alerts.set_alerts(alerts)
            self.alertsUpdated.emit()

        def failed(error: BaseException) -> None:
            self._alerts_job = None
            self.alerts.set_error(getattr(error, "message", None) or str(error))
            self.alertsUpdated.emit()

        self._alerts_job = (
            self.bridge.run(source.alerts(), owner=self, name="metrics-alerts").success(done).failure(failed)
        )

    def _scrape(self, force: bool) -> None:
        source = self.source
        if not isinstance(source, ScrapeSource) or self.bridge is None or self._scrape_job is not None:
            return
        time_range = self.time_range
        start, end = time_range.bounds()
        for view in self.views.values():
            view.show_loading(start, end)

        def failed(error: BaseException) -> None:
            self._scrape_job = None
            log.error("direct scrape failed", exc_info=error)
            self._all_panels(f"The scrape failed: {error}", "error")

        self._scrape_job = (
            self.bridge.run(
                source.scrape(time_range.start, time_range.end, time_range.span),
                owner=self,
                name="metrics-scrape",
            )
            .success(self._scraped)
            .failure(failed)
        )

    def _scraped(self, update: dict[str, PanelData]) -> None:
        self._scrape_job = None
        if self.paused:
            self._paused_update = update
            return
        self._paused_update = None
        for panel_id, data in update.items():
            view = self.views.get(panel_id)
            if view is not None:
                view.show_data(data)
                self.panelUpdated.emit(panel_id)

    # -- editor ---------------------------------------------------------------------------------------------

    def current_scrape_interval(self) -> float | None:
        if isinstance(self.source, ScrapeSource):
            return self.source.interval
        if isinstance(self.source, PrometheusSource):
            return self.source._interval
        return None

    def open_editor(self, panel_id: str) -> PanelEditor:
        view = self.views[panel_id]
        editor = PanelEditor(
            view.panel,
            range_seconds=self.time_range.span,
            width_px=view.plot_width(),
            scrape_interval=self.current_scrape_interval(),
            request_names=self.request_names,
            parent=self,
        )
        self.editor = editor

        def accepted() -> None:
            if editor.result_panel is not None:
                self.replace_panel(editor.result_panel)

        editor.accepted.connect(accepted)
        editor.finished.connect(lambda _r: editor.deleteLater())
        editor.open()
        return editor

    def request_names(self, kind: str, metric: str, label: str) -> None:
        """Fetch names for the editor's completion off the GUI thread (kept until the source changes)."""
        key = (kind, metric, label)
        source, editor = self.source, self.editor
        if editor is None:
            return
        if key in self._names:
            editor.provide_names(kind, metric, label, self._names[key])
            return
        if source is None or self.bridge is None:
            return
        if kind == "metric":
            coro = source.metric_names()
        elif kind == "label":
            coro = source.label_names(metric)
        else:
            coro = source.label_values(label, metric)

        def done(names: list[str]) -> None:
            self._names[key] = names
            if self.editor is not None:
                self.editor.provide_names(kind, metric, label, names)

        self.bridge.run(coro, owner=editor, name=f"metrics-names-{kind}").success(done).failure(
            lambda error: self.context.show_message(f"Completion unavailable: {error}")
        )

    # -- export ---------------------------------------------------------------------------------------------

    def export_png(self, panel_id: str, path: Path) -> None:
        export.save_png(self.views[panel_id], path)

    def export_csv(self, panel_id: str, path: Path) -> int:
        data = self.views[panel_id].data
        if data is None or not data.series:
            raise ValueError("this panel has no data to export")
        return export.write_csv(data, path)

    def _export_png_dialog(self, panel_id: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export panel as PNG", f"{panel_id}.png", "PNG image (*.png)"
        )
        if path:
            self._report(lambda: self.export_png(panel_id, Path(path)), f"Panel saved to {path}")

    def _export_csv_dialog(self, panel_id: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export panel as CSV", f"{panel_id}.csv", "CSV (*.csv)")
        if path:
            self._report(lambda: self.export_csv(panel_id, Path(path)), f"Panel data saved to {path}")

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open dashboard", "", "Dashboard (*.json)")
        if path:
            self.load_dashboard(Path(path))

    def _save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save dashboard as", "dashboard.json", "Dashboard (*.json)"
        )
        if path:
            self._report(lambda: self.save_dashboard(Path(path)), "")

    def _reset_dialog(self) -> None:
        answer = QMessageBox.question(
            self,
            "Reset dashboard",
            "Replace this dashboard with the default one? Your saved copy is removed.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.reset_dashboard()

    def _report(self, action: Any, done: str) -> None:
        try:
            action()
        except (OSError, ValueError) as exc:
            self._set_notice(f"{exc}")
            return
        if done:
            self.context.show_message(done)

    @staticmethod
    def _select_combo(combo: QComboBox, value: int) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
