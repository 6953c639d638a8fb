"""A panel exported as PNG (what is on screen) and CSV (the data behind it)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtWidgets import QWidget

from .data import PanelData

CSV_HEADER = ("series", "timestamp", "time_utc", "value")


def save_png(widget: QWidget, path: Path) -> None:
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def write_csv(data: PanelData, path: Path) -> int:
    """One row per point: series name, Unix time, ISO time (UTC), value (NaN as "NaN"); the rows written."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for series in data.series:
            for t, v in zip(series.x.tolist(), series.y.tolist(), strict=True):
                when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                writer.writerow((series.name, f"{t:.3f}", when, "NaN" if v != v else repr(v)))
                rows += 1
    return rows
