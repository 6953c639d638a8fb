"""The strip of firing and pending alerts above the panels (Prometheus mode only)."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ...metrics.api import Alert
from ..shell import plain

_STATE_STYLE = {
    "firing": "background: rgba(220, 53, 69, 0.85); color: white;",
    "pending": "background: rgba(255, 170, 0, 0.85); color: black;",
}
MAX_CHIPS = 8


class AlertStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metricsAlerts")
        self.setAccessibleName("Alerts")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.alerts: list[Alert] = []
        self.hide()

    def chips(self) -> list[QLabel]:
        return [w for w in self.findChildren(QLabel) if w.objectName().startswith("alert-")]

    def set_alerts(self, alerts: list[Alert]) -> None:
        # Firing first, then pending; by name within each.
        self.alerts = sorted(
            (a for a in alerts if a.state in _STATE_STYLE), key=lambda a: (a.state != "firing", a.name)
        )
        self._clear()
        for alert in self.alerts[:MAX_CHIPS]:
            severity = alert.labels.get("severity", "")
            chip = QLabel(
                f"<b>{escape(alert.state.upper())}</b> {escape(alert.name)}"
                + (f" <small>({escape(severity)})</small>" if severity else "")
            )
            chip.setObjectName(f"alert-{alert.state}")
            chip.setStyleSheet(
                f"QLabel {{ {_STATE_STYLE[alert.state]} border-radius: 3px; padding: 2px 8px; }}"
            )
            summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
            labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
            chip.setToolTip(plain.tooltip(summary, labels, f"active since {alert.active_at}"))
            self._layout.addWidget(chip)
        if len(self.alerts) > MAX_CHIPS:
            more = QLabel(f"+{len(self.alerts) - MAX_CHIPS} more")
            more.setObjectName("alert-more")
            self._layout.addWidget(more)
        self._layout.addStretch(1)
        self.setVisible(bool(self.alerts))

    def set_error(self, message: str) -> None:
        self._clear()
        label = plain.label(f"Alerts unavailable: {message}")  # quotes the server
        label.setObjectName("alert-error")
        self._layout.addWidget(label)
        self._layout.addStretch(1)
        self.show()

    def _clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
                widget.setParent(None)
