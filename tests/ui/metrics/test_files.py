"""Dashboards saved, loaded and reset from the page; a panel exported as PNG and CSV."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

from opsconsole.metrics import dashboard as dashboards


def test_save_load_and_reset(page: Any, tmp_path: Path, qtbot: Any) -> None:
    edited = dataclasses.replace(page.dashboard.panel("ok"), title="Renamed")
    page.replace_panel(edited)
    saved = page.save_dashboard()
    assert saved == dashboards.user_path()
    assert dashboards.load(saved) == page.dashboard
    elsewhere = page.save_dashboard(tmp_path / "mine.json")
    assert json.loads(elsewhere.read_text())["panels"][0]["title"] == "Renamed"

    page.reset_dashboard()
    assert page.dashboard == dashboards.default()
    assert not dashboards.user_path().exists()
    assert set(page.views) == {p.id for p in dashboards.default().panels}

    assert page.load_dashboard(elsewhere)
    assert page.dashboard.panel("ok").title == "Renamed"
    assert "Renamed" in page.views["ok"].title.text()


def test_a_broken_dashboard_file_is_reported_and_changes_nothing(page: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"panels": [{"id": "x", "title": "x", "unit": "furlongs", "layout": {}}]}')
    before = page.dashboard
    assert not page.load_dashboard(broken)
    assert page.dashboard is before
    notice = page.notice.text()
    assert page.notice.isVisibleTo(page) and str(broken) in notice and "'furlongs' is not one of" in notice


def test_export_png(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "ok.png"
    page.export_png("ok", path)
    image = QImage(str(path))
    view = page.views["ok"]
    assert not image.isNull()
    assert (image.width(), image.height()) == (
        view.width() * view.devicePixelRatio(),
        view.height() * view.devicePixelRatio(),
    )
    # A chart, not a blank picture: many distinct colours (curve, axes, text).
    pixels = {image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
    assert len(pixels) > 20


def test_export_csv(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    rows_written = page.export_csv("nan", path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    data = page.views["nan"].data
    series = data.series[0]
    assert rows[0] == ["series", "timestamp", "time_utc", "value"]
    assert rows_written == len(rows) - 1 == len(series.x)
    assert {r[0] for r in rows[1:]} == {"nan"}
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(series.x.tolist(), abs=1e-3)
    values = [r[3] for r in rows[1:]]
    assert "NaN" in values and "2.0" in values
    assert np.isnan(series.y[[v == "NaN" for v in values]]).all()
    assert rows[1][2].endswith("Z") and rows[1][2][:4].isdigit()


def test_export_csv_without_data_says_so(page: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no data"):
        page.export_csv("bad", tmp_path / "bad.csv")
