"""Dashboards as JSON: panels in the Prometheus form and the direct-scrape form, validated on load.

The format is in docs/metrics.md. Loading checks every key and reports all problems at once, each
naming the panel and the key ("panel 'latency' (#3), scrape.transform: ..."), so a hand-edited file
is fixed in one go. The default dashboard ships in ``opsconsole/resources/dashboards/default.json``;
the user's own copy lives in the data folder and "reset" removes it.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .. import paths
from ..errors import OpsError
from .durations import DurationError, parse_duration
from .transform import TRANSFORMS, ScrapeSpec
from .units import UNITS

FORMAT_VERSION: Final = 1
GRID_COLUMNS: Final = 12
_COLOR: Final = re.compile(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?|[a-z]+")
_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_LABEL: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class DashboardError(OpsError):
    """A dashboard file that cannot be used; ``problems`` lists every one found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:20]
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: " + "\n  ".join(["the dashboard is not valid:", *shown]) + more)
        self.source = source
        self.problems = problems


@dataclass(slots=True, frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(slots=True, frozen=True)
class Threshold:
    value: float
    color: str


@dataclass(slots=True, frozen=True)
class Layout:
    x: int
    y: int
    w: int
    h: int


@dataclass(slots=True, frozen=True)
class Panel:
    id: str
    title: str
    layout: Layout
    unit: str = "none"
    queries: tuple[Query, ...] = ()
    scrape: ScrapeSpec | None = None
    scrape_legend: str = ""
    thresholds: tuple[Threshold, ...] = ()
    y_min: float | None = 0.0
    description: str = ""


@dataclass(slots=True, frozen=True)
class Dashboard:
    title: str
    panels: tuple[Panel, ...]
    range: str = "1h"
    refresh: str = "30s"
    scrape_interval: str = "5s"
    version: int = FORMAT_VERSION
    # Refreshes ask Prometheus only for the window's new part plus this overlap (metrics.incremental).
    incremental: bool = True
    incremental_overlap: str = "10m"

    def panel(self, panel_id: str) -> Panel:
        for panel in self.panels:
            if panel.id == panel_id:
                return panel
        raise KeyError(panel_id)


# ----------------------------------------------------------------------------------------- reading


@dataclass
class _Reader:
    """Collects problems while reading; ``where`` prefixes each one."""

    problems: list[str] = field(default_factory=list)

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}" if where else text)

    def keys(self, obj: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(obj) - allowed):
            self.problem(f"{where}{key}", "unknown key")

    def string(self, obj: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = obj.get(key, default)
        if value is None:
            self.problem(f"{where}{key}", "missing (a string)")
            return ""
        if not isinstance(value, str):
            self.problem(f"{where}{key}", f"must be a string, not {_kind(value)}")
            return default or ""
        return value

    def number(self, obj: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
        value = obj.get(key, default)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(
                f"{where}{key}",
                "missing (a number)" if value is None else f"must be a number, not {_kind(value)}",
            )
            return default if default is not None else 0.0
        if not math.isfinite(value):
            self.problem(f"{where}{key}", "must be a finite number")
        return float(value)

    def integer(self, obj: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                f"{where}{key}",
                "missing (a whole number)"
                if value is None
                else f"must be a whole number, not {_kind(value)}",
            )
            return low
        if not low <= value <= high:
            self.problem(f"{where}{key}", f"must be from {low} to {high}, not {value}")
        return value

    def duration(self, obj: dict[str, Any], key: str, where: str, default: str) -> str:
        text = self.string(obj, key, where, default)
        try:
            parse_duration(text)
        except DurationError as exc:
            self.problem(f"{where}{key}", str(exc))
            return default
        return text

    def boolean(self, obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{where}{key}", f"must be true or false, not {_kind(value)}")
            return default
        return value

    def label_map(self, obj: dict[str, Any], key: str, where: str) -> dict[str, str] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(f"{where}{key}", f"must be an object of label: regex, not {_kind(value)}")
            return {}
        out = {}
        for name, pattern in value.items():
            if not _LABEL.fullmatch(name):
                self.problem(f"{where}{key}.{name}", "not a valid label name")
            elif not isinstance(pattern, str):
                self.problem(f"{where}{key}.{name}", f"must be a regex string, not {_kind(pattern)}")
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.problem(f"{where}{key}.{name}", f"not a valid regex: {exc}")
                else:
                    out[name] = pattern
        return out


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def from_json(data: Any, source: str = "dashboard") -> Dashboard:
    """A dashboard from decoded JSON; :class:`DashboardError` listing every problem otherwise."""
    r = _Reader()
    if not isinstance(data, dict):
        raise DashboardError(source, [f"the top level must be an object, not {_kind(data)}"])
    top = {"version", "title", "range", "refresh", "scrape_interval", "incremental", "incremental_overlap"}
    r.keys(data, top | {"panels"}, "")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        r.problem("version", f"this console reads version {FORMAT_VERSION}, not {version!r}")
    title = r.string(data, "title", "", "Dashboard")
    range_ = r.duration(data, "range", "", "1h")
    refresh = r.duration(data, "refresh", "", "30s")
    scrape_interval = r.duration(data, "scrape_interval", "", "5s")
    incremental = r.boolean(data, "incremental", "", True)
    overlap = r.duration(data, "incremental_overlap", "", "10m")
    raw_panels = data.get("panels")
    panels: list[Panel] = []
    if not isinstance(raw_panels, list):
        r.problem("panels", "missing (a list of panels)" if raw_panels is None else "must be a list")
    else:
        ids: set[str] = set()
        for index, raw in enumerate(raw_panels, start=1):
            panel = _panel(r, raw, index)
            if panel is None:
                continue
            if panel.id in ids:
                r.problem(f"panel {panel.id!r} (#{index}), id", "used by an earlier panel too")
            ids.add(panel.id)
            panels.append(panel)
        _check_overlaps(r, panels)
    if r.problems:
        raise DashboardError(source, r.problems)
    return Dashboard(
        title,
        tuple(panels),
        range_,
        refresh,
        scrape_interval,
        incremental=incremental,
        incremental_overlap=overlap,
    )


_PANEL_KEYS: Final = {
    "id",
    "title",
    "description",
    "unit",
    "layout",
    "thresholds",
    "queries",
    "scrape",
    "y_min",
}
_SCRAPE_KEYS: Final = {
    "metric",
    "transform",
    "match",
    "by",
    "quantiles",
    "denominator",
    "scale",
    "window",
    "legend",
}


def _panel(r: _Reader, raw: Any, index: int) -> Panel | None:
    if not isinstance(raw, dict):
        r.problem(f"panel #{index}", f"must be an object, not {_kind(raw)}")
        return None
    panel_id = raw.get("id")
    name = f"panel {panel_id!r} (#{index})" if isinstance(panel_id, str) else f"panel #{index}"
    where = f"{name}, "
    r.keys(raw, _PANEL_KEYS, f"{name}, ")
    panel_id = r.string(raw, "id", where)
    if panel_id and not _ID.fullmatch(panel_id):
        r.problem(f"{where}id", "use 1-64 letters, digits, '_', '-' or '.'")
    title = r.string(raw, "title", where)
    description = r.string(raw, "description", where, "")
    unit = r.string(raw, "unit", where, "none")
    if unit not in UNITS:
        r.problem(f"{where}unit", f"{unit!r} is not one of {', '.join(UNITS)}")
    y_min: float | None = None
    if raw.get("y_min", 0) is not None:
        y_min = r.number(raw, "y_min", where, 0.0)
    layout = _layout(r, raw.get("layout"), where)
    thresholds = _thresholds(r, raw.get("thresholds", []), where)
    queries = _queries(r, raw.get("queries", []), where)
    scrape, scrape_legend = _scrape(r, raw.get("scrape"), where)
    if not queries and scrape is None:
        r.problem(f"{name}", "needs queries (Prometheus form), scrape (direct-scrape form), or both")
    return Panel(
        panel_id, title, layout, unit, queries, scrape, scrape_legend, thresholds, y_min, description
    )


def _layout(r: _Reader, raw: Any, where: str) -> Layout:
    if not isinstance(raw, dict):
        r.problem(
            f"{where}layout", "missing (an object with x, y, w, h)" if raw is None else "must be an object"
        )
        return Layout(0, 0, 1, 1)
    r.keys(raw, {"x", "y", "w", "h"}, f"{where}layout.")
    w_ = f"{where}layout."
    layout = Layout(
        r.integer(raw, "x", w_, 0, GRID_COLUMNS - 1),
        r.integer(raw, "y", w_, 0, 1000),
        r.integer(raw, "w", w_, 1, GRID_COLUMNS),
        r.integer(raw, "h", w_, 1, 100),
    )
    if layout.x + layout.w > GRID_COLUMNS:
        r.problem(
            f"{where}layout", f"x + w is {layout.x + layout.w}, beyond the grid's {GRID_COLUMNS} columns"
        )
    return layout


def _objects(
    r: _Reader, raw: Any, where: str, key: str, fields: tuple[str, ...]
) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the list ``key``, each with its place ("queries[0].") for messages."""
    shape = " and ".join(fields)
    if not isinstance(raw, list):
        r.problem(f"{where}{key}", f"must be a list of objects with {shape}")
        return []
    out = []
    for i, item in enumerate(raw):
        place = f"{where}{key}[{i}]."
        if not isinstance(item, dict):
            r.problem(place.rstrip("."), f"must be an object with {shape}")
            continue
        r.keys(item, set(fields), place)
        out.append((place, item))
    return out


def _thresholds(r: _Reader, raw: Any, where: str) -> tuple[Threshold, ...]:
    out = []
    for place, item in _objects(r, raw, where, "thresholds", ("value", "color")):
        value = r.number(item, "value", place)
        color = r.string(item, "color", place, "red")
        if not _COLOR.fullmatch(color):
            r.problem(f"{place}color", f"{color!r} is not #rrggbb or a colour name")
        out.append(Threshold(value, color))
    return tuple(out)


def _queries(r: _Reader, raw: Any, where: str) -> tuple[Query, ...]:
    out = []
    for place, item in _objects(r, raw, where, "queries", ("expr", "legend")):
        expr = r.string(item, "expr", place)
        if not expr.strip():
            r.problem(f"{place}expr", "empty")
        out.append(Query(expr, r.string(item, "legend", place, "")))
    return tuple(out)


def _scrape(r: _Reader, raw: Any, where: str) -> tuple[ScrapeSpec | None, str]:
    if raw is None:
        return None, ""
    w_ = f"{where}scrape."
    if not isinstance(raw, dict):
        r.problem(w_.rstrip("."), "must be an object with metric and transform")
        return None, ""
    r.keys(raw, _SCRAPE_KEYS, w_)
    metric = r.string(raw, "metric", w_)
    if metric and not _METRIC.fullmatch(metric):
        r.problem(f"{w_}metric", f"{metric!r} is not a metric name")
    transform = r.string(raw, "transform", w_, "value")
    if transform not in TRANSFORMS:
        r.problem(f"{w_}transform", f"{transform!r} is not one of {', '.join(TRANSFORMS)}")
    by: tuple[str, ...] | None = None
    if raw.get("by") is not None:
        value = raw["by"]
        if not isinstance(value, list) or not all(isinstance(v, str) and _LABEL.fullmatch(v) for v in value):
            r.problem(f"{w_}by", "must be a list of label names")
        else:
            by = tuple(value)
    quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)
    if "quantiles" in raw:
        value = raw["quantiles"]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(q, int | float) and not isinstance(q, bool) and 0 <= q <= 1 for q in value)
        ):
            r.problem(f"{w_}quantiles", "must be a non-empty list of numbers from 0 to 1")
        else:
            quantiles = tuple(float(q) for q in value)
    if transform == "quantile" and by is not None and "le" in by:
        r.problem(f"{w_}by", "'le' is the bucket label: leave it out")
    scale = r.number(raw, "scale", w_, 1.0)
    window = 0.0
    if raw.get("window") is not None:
        try:
            window = parse_duration(r.string(raw, "window", w_, "0s"))
        except DurationError as exc:
            r.problem(f"{w_}window", str(exc))
    spec = ScrapeSpec(
        metric=metric,
        transform=transform,
        match=r.label_map(raw, "match", w_) or {},
        by=by,
        quantiles=quantiles,
        denominator=r.label_map(raw, "denominator", w_),
        scale=scale,
        window=window,
    )
    return spec, r.string(raw, "legend", w_, "")


def _check_overlaps(r: _Reader, panels: list[Panel]) -> None:
    for i, a in enumerate(panels):
        for b in panels[i + 1 :]:
            la, lb = a.layout, b.layout
            if la.x < lb.x + lb.w and lb.x < la.x + la.w and la.y < lb.y + lb.h and lb.y < la.y + la.h:
                r.problem(f"panel {b.id!r}, layout", f"overlaps panel {a.id!r}")


# ----------------------------------------------------------------------------------------- writing


def to_json(dashboard: Dashboard) -> dict[str, Any]:
    """The JSON form of ``dashboard`` (what :func:`from_json` reads back to an equal dashboard)."""
    return {
        "version": dashboard.version,
        "title": dashboard.title,
        "range": dashboard.range,
        "refresh": dashboard.refresh,
        "scrape_interval": dashboard.scrape_interval,
        "incremental": dashboard.incremental,
        "incremental_overlap": dashboard.incremental_overlap,
        "panels": [_panel_json(p) for p in dashboard.panels],
    }


def _panel_json(panel: Panel) -> dict[str, Any]:
    out: dict[str, Any] = {"id": panel.id, "title": panel.title}
    if panel.description:
        out["description"] = panel.description
    out["unit"] = panel.unit
    out["layout"] = {"x": panel.layout.x, "y": panel.layout.y, "w": panel.layout.w, "h": panel.layout.h}
    if panel.y_min != 0.0:
        out["y_min"] = panel.y_min
    if panel.thresholds:
        out["thresholds"] = [{"value": t.value, "color": t.color} for t in panel.thresholds]
    if panel.queries:
        out["queries"] = [
            {"expr": q.expr, **({"legend": q.legend} if q.legend else {})} for q in panel.queries
        ]
    if panel.scrape is not None:
        s = panel.scrape
        scrape: dict[str, Any] = {"metric": s.metric, "transform": s.transform}
        if s.match:
            scrape["match"] = dict(s.match)
        if s.by is not None:
            scrape["by"] = list(s.by)
        if s.transform == "quantile":
            scrape["quantiles"] = list(s.quantiles)
        if s.denominator is not None:
            scrape["denominator"] = dict(s.denominator)
        if s.scale != 1.0:
            scrape["scale"] = s.scale
        if s.window:
            from .durations import format_duration

            scrape["window"] = format_duration(s.window)
        if panel.scrape_legend:
            scrape["legend"] = panel.scrape_legend
        out["scrape"] = scrape
    return out


def loads(text: str | bytes, source: str = "dashboard") -> Dashboard:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DashboardError(
            source, [f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except UnicodeDecodeError:
        raise DashboardError(source, ["not UTF-8 text"]) from None
    return from_json(data, source)


def load(path: Path) -> Dashboard:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DashboardError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    return loads(data, str(path))


def save(dashboard: Dashboard, path: Path) -> None:
    """Write ``dashboard`` to ``path`` atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_json(dashboard), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_text() -> str:
    return (resources.files("opsconsole") / "resources" / "dashboards" / "default.json").read_text("utf-8")


def default() -> Dashboard:
    """The dashboard that ships with the console."""
    return loads(default_text(), "default dashboard")


def user_path() -> Path:
    """Where the user's own dashboard is kept."""
    return paths.user_data_dir() / "dashboards" / "default.json"


def load_user() -> Dashboard:
    """The user's dashboard when there is one, else the default."""
    path = user_path()
    return load(path) if path.exists() else default()


def reset() -> Dashboard:
    """Forget the user's dashboard; the default again."""
    user_path().unlink(missing_ok=True)
    return default()
