"""The search side without a server: the form's fields as a query, a profile without a traces
backend, a backend that does not answer, and a file of several traces listed as results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opsconsole.errors import OpsError
from opsconsole.ui.traces.page import TracesPage
from opsconsole.ui.traces.search import SearchForm
from tests.ui.traces.conftest import Shown
from tests.unit.traces.hostile import jaeger_doc

WAIT = 15_000
MakePage = Callable[..., tuple[TracesPage, Shown]]


def test_the_form_is_a_search_query(qtbot: Any) -> None:
    form = SearchForm()
    qtbot.addWidget(form)
    form.set_services(["api-gateway", "auth-service"])
    form.service.setCurrentText("auth-service")
    form.set_operations(["login"])
    form.operation.setCurrentText("login")
    form.tags.setText('error=true http.url="/a b"')
    form.min_duration.setText("5ms")
    form.max_duration.setText("1.5s")
    form.lookback.setCurrentIndex(form.lookback.findData("2d"))
    form.limit.setValue(50)
    q = form.query()
    assert (q.service, q.operation, q.tags) == (
        "auth-service",
        "login",
        {"error": "true", "http.url": "/a b"},
    )
    assert (q.min_duration_us, q.max_duration_us, q.lookback_us, q.limit) == (
        5000,
        1_500_000,
        2 * 86_400_000_000,
        50,
    )
    form.service.setCurrentIndex(0)  # all services: no operation either
    assert (form.query().service, form.query().operation) == (None, None)
    form.tags.setText("error")
    with pytest.raises(OpsError, match="'error' is not key=value"):
        form.query()
    form.tags.setText("")
    form.min_duration.setText("soon")
    with pytest.raises(OpsError, match="invalid duration 'soon'"):
        form.query()


def test_a_profile_without_traces_url_says_what_to_add_and_files_still_open(make_page: MakePage) -> None:
    page, _ = make_page()
    assert not page.form.isEnabled()
    assert (
        "has no traces_url" in page.results_status.text()
        and "files can still be opened" in page.results_status.text()
    )
    page.open_trace("0123456789abcdef0123456789abcdef")
    assert "has no traces_url" in page.status.text()


def test_a_backend_that_does_not_answer_is_a_message(qtbot: Any, make_page: MakePage) -> None:
    page, shown = make_page(traces_url="http://127.0.0.1:9/jaeger", traces_api="jaeger")
    assert page.form.isEnabled()
    qtbot.waitUntil(lambda: "Could not load the services" in page.results_status.text(), timeout=WAIT)
    page.search()
    qtbot.waitUntil(lambda: page.form.button.isEnabled() and bool(shown.messages), timeout=WAIT)
    assert page.status.text() == shown.messages[-1]
    assert (
        "Could not connect to 127.0.0.1:9" in page.status.text()
        and "is the server running" in page.status.text()
    )
    assert page.results.rowCount() == 0


def test_a_file_of_several_traces_lists_them_and_opens_each(
    qtbot: Any, make_page: MakePage, tmp_path: Path
) -> None:
    page, _ = make_page()
    first = jaeger_doc([("root", None, 0, 100), ("child", "root", 10, 50)])
    second = jaeger_doc([("other", None, 0, 300)])
    second["data"][0]["traceID"] = "00000000000000000000000000fedcba"
    for span in second["data"][0]["spans"]:
        span["traceID"] = "00000000000000000000000000fedcba"
    path = tmp_path / "search-result.json"
    path.write_text(json.dumps({"data": first["data"] + second["data"]}))
    page.open_file(path)
    qtbot.waitUntil(lambda: page.prepared is not None, timeout=WAIT)
    assert page.results.rowCount() == 2 and "2 traces in search-result.json" in page.results_status.text()
    assert len(page.scatter.item.points()) == 2
    page.open_trace("fedcba")  # from the file's traces: no backend needed
    qtbot.waitUntil(
        lambda: page.prepared is not None and page.prepared.layout.trace.trace_id.endswith("fedcba"),
        timeout=WAIT,
    )
    assert page.prepared.span(0).operation == "other" and "search-result.json" in page.view.facts.text()


def test_the_scatters_time_axis_shows_the_local_time_of_day_even_within_a_second(qtbot: Any) -> None:
    import re
    from datetime import datetime

    from opsconsole.traces import TraceSummary
    from opsconsole.ui.traces.scatter import ResultsScatter

    scatter = ResultsScatter()
    qtbot.addWidget(scatter)
    scatter.resize(900, 300)
    start = datetime(2026, 11, 30, 13, 41, 54).timestamp()  # local time, as the axis shows it
    found = [
        TraceSummary(f"{i:032x}", "api", "GET /", int((start + i * 0.03) * 1e6), 2000 + i, 5, 0, ("api",))
        for i in range(12)
    ]  # a search whose traces all started within 0.4 s, as a burst of requests gives
    with qtbot.waitExposed(scatter):
        scatter.show()
    scatter.set_results(found)
    axis = scatter.plot.getAxis("bottom")
    lo, hi = scatter.plot.plotItem.vb.viewRange()[0]
    labels = [
        label
        for spacing, values in axis.tickValues(lo, hi, axis.width())
        for label in axis.tickStrings(values, 1.0, spacing)
    ]
    assert labels and all(re.fullmatch(r"13:41:5[45]\.\d{3}", label) for label in labels), labels
