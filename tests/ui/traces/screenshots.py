"""Regenerate the Traces page's screenshots in docs/screenshots/ (offscreen, light and dark).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.traces.screenshots [OUTPUT_DIR]

A real sandbox (temporary data directory) gets some API traffic, a real signed-in window searches
its Jaeger API; the big trace is the benchmarks' generated 20,000-span one. Writes
traces-search-*.png (results with the scatter), traces-20k-*.png, traces-critical-*.png (a sandbox
trace, the critical path drawn), traces-details-*.png (a span's details in the detail panel) and
traces-hostile-*.png (a broken trace's orphans, cycle, skew and duplicate ids, flagged).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[3] / "docs" / "screenshots"
    home = Path(tempfile.mkdtemp(prefix="opsconsole-traces-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(home / var.lower())

    import httpx
    from bench._traces_data import jaeger_trace

    from opsconsole.auth.store import MemoryStore
    from opsconsole.config import ConfigSet
    from opsconsole.sandbox.server import start_background
    from opsconsole.traces import traces_from_bytes
    from opsconsole.ui.shell.app import ensure_application, start_gui
    from opsconsole.ui.traces.page import TracesPage
    from opsconsole.ui.traces.prepared import prepare
    from tests.support.sandbox import test_settings
    from tests.support.signed_in import store_sign_in
    from tests.ui.traces.test_sandbox import traces_profile
    from tests.unit.traces.hostile import jaeger_doc, span_id

    app = ensure_application(["screenshots"])
    sandbox = start_background(test_settings(home / "sandbox"))
    big = prepare(traces_from_bytes(json.dumps(jaeger_trace(20_000)).encode())[0], "generated")
    hostile = prepare(traces_from_bytes(json.dumps(jaeger_doc([
        ("checkout", None, 0, 100, {"kind": "server"}),
        ("clock-skewed", "checkout", -50, 20),
        ("orphan", "gone", 10, 20, {"error": True}),
        ("cycle-a", "cycle-b", 10, 50), ("cycle-b", "cycle-a", 20, 30),
        ("twin-1", "checkout", 30, 10, {"id": span_id("twin")}),
        ("twin-2", "checkout", 40, 10, {"id": span_id("twin"), "service": "p2"}),
    ])).encode())[0], "hostile.json")  # fmt: skip
    written: list[Path] = []

    def settle(until: object = None, rounds: int = 400) -> None:
        # A real event loop, run 20 ms at a time: work waiting for idle (the sign-in session) needs the
        # loop to block, which processEvents() alone never does.
        from PySide6.QtCore import QEventLoop, QTimer

        for _ in range(rounds if until is not None else 3):
            loop = QEventLoop()
            QTimer.singleShot(20, loop.quit)
            loop.exec()
            if until is not None and until():  # type: ignore[operator]
                return

    def save(widget: object, name: str) -> None:
        settle()
        path = out / name
        if not widget.grab().save(str(path), "PNG"):  # type: ignore[attr-defined]
            raise SystemExit(f"cannot write {path}")
        written.append(path)

    def shoot(scheme: str, profile: Any, ids: list[str]) -> None:
        os.environ["OPSCONSOLE_THEME"] = scheme
        store_sign_in(sandbox)
        session = start_gui(
            app,
            ConfigSet.in_memory(profile),
            profile=profile.name,
            install_qt_log=False,
            show_problems=False,
        )
        window = session.window
        window.resize(1440, 860)
        settle(lambda: "admin" in window.status.sign_in.value)
        window.show_page("traces")
        page = window.page("traces")
        assert isinstance(page, TracesPage)
        settle(lambda: page.form.service.findText("api-gateway") >= 0)
        page.form.service.setCurrentText("api-gateway")
        page.search()
        settle(lambda: page.results.rowCount() > 0)
        save(window, f"traces-search-{scheme}.png")

        page.show_trace(big)
        page.view.time_window.set(28.6e6, 35.2e6)  # where its 20,000 spans are: zoomed in
        settle(lambda: big.details_read)  # the error count, read in the background
        save(window, f"traces-20k-{scheme}.png")

        page.open_trace(ids[6])  # warm: the first request's trace has the cold start in it
        settle(lambda: page.prepared is not None and page.prepared.layout.trace.trace_id == ids[6])
        save(window, f"traces-critical-{scheme}.png")

        wf = page.view.waterfall
        row = next(r for r in range(page.prepared.rows) if page.prepared.span(r).service == "user-service")
        wf.set_current(row)
        page.show_span(row)
        window.set_detail_visible(True)
        window.splitter.setSizes([1440 - 200 - 420, 420])
        save(window, f"traces-details-{scheme}.png")
        window.set_detail_visible(False)
        page.show_trace(hostile)  # orphans, a cycle, skew and a duplicate id: marked, not hidden
        save(window, f"traces-hostile-{scheme}.png")
        window.close()
        session.shutdown()
        MemoryStore.clear_all()

    try:
        tokens = store_sign_in(sandbox)
        ids = []
        with httpx.Client(
            base_url=sandbox.url, timeout=15, headers={"Authorization": f"Bearer {tokens.access_token}"}
        ) as http:
            for i in range(30):
                path = ("/api/users", "/api/roles", "/api/users/999999")[i % 3]
                ids.append(http.get(path, params={"limit": 5 + i}).headers["X-Trace-Id"])
        profile = traces_profile(sandbox)
        for scheme in ("light", "dark"):
            shoot(scheme, profile, ids)
    finally:
        sandbox.stop()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
