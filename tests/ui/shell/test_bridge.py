"""The GUI bridge: results and typed errors on the GUI thread, cancellation, orderly shutdown.

The coroutines use the real HTTP client factory (opsconsole.net) against a real HTTP server on
127.0.0.1, so the error types checked are the ones views will get.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from opsconsole import net
from opsconsole.ui.shell.bridge import AsyncBridge, BridgeClosedError, Job
from tests.support.stub_http import HOLD, Reply, StubServer, by_prefix, stub_server

FORBIDDEN_AT_EXIT = (
    "Event loop is closed",
    "Task was destroyed but it is pending",
    "QThread: Destroyed while thread is still running",
    "was never awaited",
)

# A real HTTP server's routes: JSON, an RFC 9457 problem, a proxy's HTML 502, and one that never answers.
PROBLEM = {
    "type": "https://example.com/problems/not-found",
    "title": "Not Found",
    "status": 404,
    "detail": "No user with id 42",
}
ROUTES = {
    "/ok": Reply(200, "application/json", b'{"users": 3}'),
    "/problem": Reply(
        404, "application/problem+json", json.dumps(PROBLEM).encode(), {"X-Request-ID": "req-42"}
    ),
    "/proxy-error": Reply(
        502, "text/html", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    ),
    "/hang": HOLD,  # accepts the request, then holds the connection until the server stops
}


@pytest.fixture
def server() -> Iterator[StubServer]:
    with stub_server(by_prefix(ROUTES)) as running:
        yield running


@pytest.fixture
def bridge(qapp: Any) -> Iterator[AsyncBridge]:
    instance = AsyncBridge(shutdown_timeout=3.0)
    yield instance
    instance.shutdown()
    if shiboken6.isValid(instance):
        shiboken6.delete(instance)


async def get(base: str, path: str) -> Any:
    async with net.build_client(base_url=base) as client:
        return await net.request_json(client, "GET", path)


def test_result_arrives_on_the_gui_thread(qtbot: Any, bridge: AsyncBridge, server: StubServer) -> None:
    seen: dict[str, Any] = {}

    async def work() -> Any:
        seen["ran_on"] = threading.current_thread()
        return await get(server.url, "/ok")

    def on_success(value: Any) -> None:
        seen["value"] = value
        seen["delivered_on"] = threading.current_thread()

    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000) as finished:
        job = bridge.run(work(), on_success=on_success, on_failure=lambda exc: seen.setdefault("error", exc))

    assert finished.args == [job]
    assert job.state == "succeeded"
    assert job.result == {"users": 3}
    assert seen["value"] == {"users": 3}
    assert "error" not in seen
    assert seen["delivered_on"] is threading.main_thread()
    assert seen["ran_on"] is bridge.loop_thread
    assert bridge.pending_jobs() == []


def test_callbacks_chained_after_run_are_delivered(
    qtbot: Any, bridge: AsyncBridge, server: StubServer
) -> None:
    # Anki's style: run(...).success(...).failure(...), set after run() has handed the work over.
    outcomes: list[tuple[str, Any]] = []
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        ok = bridge.run(get(server.url, "/ok"))
        assert ok.success(lambda value: outcomes.append(("ok", value))) is ok
        ok.failure(lambda exc: outcomes.append(("ok failed", exc)))
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        bridge.run(get(server.url, "/problem")).success(
            lambda value: outcomes.append(("problem", value))
        ).failure(lambda exc: outcomes.append(("problem failed", type(exc))))
    assert outcomes == [("ok", {"users": 3}), ("problem failed", net.ApiError)]


def test_api_error_reaches_the_view_with_its_type(
    qtbot: Any, bridge: AsyncBridge, server: StubServer
) -> None:
    failures: list[BaseException] = []
    successes: list[Any] = []
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        job = bridge.run(get(server.url, "/problem"), on_success=successes.append, on_failure=failures.append)

    assert successes == []
    assert job.state == "failed"
    [error] = failures
    assert error is job.error
    assert type(error) is net.ApiError
    assert isinstance(error, net.ApiError)
    assert (error.status, error.title, error.detail, error.request_id) == (
        404,
        "Not Found",
        "No user with id 42",
        "req-42",
    )


def test_a_proxy_html_page_is_a_readable_api_error(
    qtbot: Any, bridge: AsyncBridge, server: StubServer
) -> None:
    failures: list[BaseException] = []
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        bridge.run(get(server.url, "/proxy-error"), on_failure=failures.append)
    [error] = failures
    assert isinstance(error, net.ApiError)
    assert error.status == 502
    assert "<html" not in str(error)


def test_network_error_reaches_the_view_with_its_type(qtbot: Any, bridge: AsyncBridge) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    failures: list[BaseException] = []
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        bridge.run(get(f"http://127.0.0.1:{port}", "/ok"), on_failure=failures.append)
    [error] = failures
    assert isinstance(error, net.NetworkError)
    assert not isinstance(error, net.ApiError)


def test_a_failure_without_a_handler_is_logged(
    qtbot: Any, bridge: AsyncBridge, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise ValueError("boom in the core")

    with (
        caplog.at_level(logging.ERROR, logger="opsconsole.ui.shell.bridge"),
        qtbot.waitSignal(bridge.jobFinished, timeout=10_000),
    ):
        job = bridge.run(broken(), name="broken-job")
    assert job.state == "failed"
    assert isinstance(job.error, ValueError)
    [record] = [r for r in caplog.records if r.name == "opsconsole.ui.shell.bridge"]
    assert "broken-job" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is job.error


def test_closing_the_owner_cancels_the_job(qtbot: Any, bridge: AsyncBridge, server: StubServer) -> None:
    view = QWidget()
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    view.show()
    cleaned_up = threading.Event()
    called: list[Any] = []

    async def load() -> Any:
        try:
            return await get(server.url, "/hang")
        except asyncio.CancelledError:
            cleaned_up.set()
            raise

    job = bridge.run(load(), on_success=called.append, on_failure=called.append, owner=view)
    qtbot.waitUntil(server.held.is_set, timeout=10_000)
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000) as finished:
        view.close()  # WA_DeleteOnClose: the view is destroyed, as a closed page or dialog would be

    assert finished.args == [job]
    assert cleaned_up.is_set()
    assert job.state == "cancelled"
    assert called == []
    assert job.future.cancelled()


def test_a_result_already_on_its_way_is_dropped_when_the_owner_goes(qtbot: Any, bridge: AsyncBridge) -> None:
    owner = QWidget()
    called: list[Any] = []

    async def quick() -> str:
        return "done"

    job = bridge.run(quick(), on_success=called.append, owner=owner)
    assert job.future.result(timeout=10) == "done"  # finished on the loop; delivery is queued, not run
    shiboken6.delete(owner)
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        pass
    assert job.state == "cancelled"
    assert called == []


def test_cancel_stops_the_coroutine_and_drops_callbacks(qtbot: Any, bridge: AsyncBridge) -> None:
    started = threading.Event()
    cancelled = threading.Event()
    called: list[Any] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job: Job[None] = bridge.run(forever(), on_success=called.append, on_failure=called.append)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        assert job.cancel() is True
    assert cancelled.is_set()
    assert job.state == "cancelled"
    assert job.cancel() is False
    assert called == []


def test_a_finished_job_releases_its_owner_connection(qtbot: Any, bridge: AsyncBridge) -> None:
    owner = QWidget()

    async def quick() -> int:
        return 1

    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        job = bridge.run(quick(), owner=owner)
    assert job.state == "succeeded"
    # Destroying the owner afterwards must not touch the finished job.
    shiboken6.delete(owner)
    assert job.state == "succeeded"


def test_shutdown_with_work_in_flight_cleans_up_in_order(
    qtbot: Any, server: StubServer, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    bridge = AsyncBridge(shutdown_timeout=3.0)
    events: list[str] = []
    clients: list[Any] = []
    called: list[Any] = []

    async def request_in_flight() -> Any:
        client = net.build_client(base_url=server.url)
        clients.append(client)
        try:
            return await net.request_json(client, "GET", "/hang")
        finally:
            await client.aclose()
            events.append("client closed")

    async def ticker() -> AsyncIterator[int]:
        try:
            for number in range(1_000_000):
                yield number
                await asyncio.sleep(0.01)
        finally:
            events.append("generator finalized")

    async def stream() -> None:
        # A long-lived task scheduled directly on bridge.loop, as a live stream would be.
        try:
            async for _ in ticker():
                pass
        finally:
            events.append("stream stopped")

    async def abandon_generator() -> None:
        # Leaves an async generator suspended with nobody iterating it: shutdown_asyncgens must close it.
        generator = abandoned()
        await generator.__anext__()
        holder.append(generator)

    async def abandoned() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            events.append("abandoned generator closed")

    holder: list[Any] = []
    job = bridge.run(request_in_flight(), on_success=called.append, on_failure=called.append)
    bridge.loop.call_soon_threadsafe(lambda: bridge.loop.create_task(stream(), name="live-stream"))
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        bridge.run(abandon_generator())
    qtbot.waitUntil(server.held.is_set, timeout=10_000)

    with caplog.at_level(logging.DEBUG):
        bridge.shutdown()

    assert not bridge.loop_thread.is_alive()
    assert bridge.loop.is_closed()
    assert job.state == "cancelled"
    assert called == []
    assert clients[0].is_closed
    assert "client closed" in events
    assert "generator finalized" in events and "stream stopped" in events
    assert "abandoned generator closed" in events
    with pytest.raises(BridgeClosedError):
        bridge.run(asyncio.sleep(0))
    bridge.shutdown()  # idempotent
    qtbot.wait(50)  # let any late queued delivery arrive: none may run a callback
    assert called == []
    shiboken6.delete(bridge)
    gc.collect()
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in FORBIDDEN_AT_EXIT:
        assert text not in err and text not in out and text not in logged, text


def test_run_after_shutdown_closes_the_coroutine(qapp: Any) -> None:
    bridge = AsyncBridge()
    bridge.shutdown()

    async def never() -> None:
        raise AssertionError("must not run")

    coro = never()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BridgeClosedError):
            bridge.run(coro)
        del coro
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    shiboken6.delete(bridge)


def test_shutdown_gives_up_on_a_task_that_ignores_cancellation(
    qapp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bridge = AsyncBridge(shutdown_timeout=0.2)
    release = threading.Event()
    started = threading.Event()

    async def stubborn() -> None:
        started.set()
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue  # ignores cancellation until released

    bridge.run(stubborn(), name="stubborn")
    assert started.wait(10)
    with caplog.at_level(logging.WARNING, logger="opsconsole.ui.shell.bridge"):
        threading.Timer(1.0, release.set).start()  # let it end after the bridge has given up on it
        bridge.shutdown()
    assert not bridge.loop_thread.is_alive()
    assert any("did not finish" in r.getMessage() for r in caplog.records)
    shiboken6.delete(bridge)


class _Client:
    """A client whose ``aclose`` notes the thread it ran on, once it has really finished."""

    def __init__(self, *, fail: bool = False) -> None:
        self.closed_on: list[str] = []
        self.fail = fail

    async def aclose(self) -> None:
        await asyncio.sleep(0.05)  # a real close awaits its connections
        if self.fail:
            raise OSError("the socket was already gone")
        self.closed_on.append(threading.current_thread().name)


def test_a_client_left_open_by_a_view_is_closed_when_the_view_goes(qtbot: Any, bridge: AsyncBridge) -> None:
    view, other = QWidget(), QWidget()
    client, kept = _Client(), _Client()
    bridge.run(asyncio.sleep(0))  # the loop runs, as it does once a view has asked for anything
    bridge.close_with(view, client.aclose)
    bridge.close_with(other, kept.aclose)
    shiboken6.delete(view)  # dropped without being closed, as signing out drops every page
    qtbot.waitUntil(lambda: client.closed_on == [bridge.thread_name], timeout=5_000)
    assert kept.closed_on == []
    shiboken6.delete(other)
    qtbot.waitUntil(lambda: kept.closed_on == [bridge.thread_name], timeout=5_000)


def test_closing_now_closes_once(qtbot: Any, bridge: AsyncBridge) -> None:
    view, client = QWidget(), _Client()
    bridge.run(asyncio.sleep(0))
    close_now = bridge.close_with(view, client.aclose)
    close_now()
    close_now()
    qtbot.waitUntil(lambda: client.closed_on != [], timeout=5_000)
    shiboken6.delete(view)
    bridge.shutdown()
    assert client.closed_on == [bridge.thread_name]


def test_shutdown_closes_what_views_left_open_after_cancelling_jobs(
    qtbot: Any, bridge: AsyncBridge, caplog: pytest.LogCaptureFixture
) -> None:
    alive, dying, failing = QWidget(), QWidget(), QWidget()
    order: list[str] = []

    async def job() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            order.append("job cancelled")

    clients = [_Client(), _Client(), _Client(fail=True)]
    bridge.run(job())
    for owner, client in zip((alive, dying, failing), clients, strict=True):
        bridge.close_with(owner, client.aclose)

    async def close_first() -> None:
        await clients[0].aclose()
        order.append("client closed")

    bridge.close_with(QWidget(alive), close_first)  # a child: destroyed with alive, after shutdown
    shiboken6.delete(dying)  # destroyed just before the window's end: its close must not be cancelled
    with caplog.at_level(logging.WARNING, logger="opsconsole.ui.shell.bridge"):
        bridge.shutdown()
    assert clients[0].closed_on and clients[1].closed_on == [bridge.thread_name]
    assert order[0] == "job cancelled" and "client closed" in order
    assert "closing a client failed" in caplog.text  # a failed close is logged, shutdown goes on
    shiboken6.delete(alive)
    shiboken6.delete(failing)


def test_a_close_under_way_at_shutdown_finishes_with_the_tasks_it_starts(
    qtbot: Any, bridge: AsyncBridge
) -> None:
    # aiohttp's connector starts a task of its own to wait for its connections to close: shutdown must
    # not cancel it with the jobs when the view was destroyed just before (the window deleted at exit).
    view, done = QWidget(), []

    async def close() -> None:
        waiter = asyncio.get_running_loop().create_task(asyncio.sleep(0.1))
        await waiter
        done.append("closed")

    bridge.run(asyncio.sleep(0))
    bridge.close_with(view, close)
    shiboken6.delete(view)
    bridge.shutdown()
    assert done == ["closed"]


def test_a_close_that_hangs_does_not_hold_shutdown(
    qtbot: Any, qapp: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    import time

    bridge = AsyncBridge(shutdown_timeout=0.5)
    view, cleaned = QWidget(), []

    async def hang() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append("cleaned up")

    bridge.run(asyncio.sleep(0))
    bridge.close_with(view, hang)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="opsconsole.ui.shell.bridge"):
        bridge.shutdown()
    assert time.monotonic() - started < 0.5 + 3 * 0.5 + 1  # its timeout and the grace, not 60 s
    assert cleaned == ["cleaned up"]  # cancelled once its time was up, its cleanup run
    assert "did not finish" not in caplog.text  # it did finish, once cancelled
    gc.collect()
    assert not any(text in capfd.readouterr().err for text in FORBIDDEN_AT_EXIT)
    shiboken6.delete(view)
    shiboken6.delete(bridge)


def test_closing_now_lets_go_of_the_owners_signal(qtbot: Any, bridge: AsyncBridge) -> None:
    from PySide6.QtCore import SIGNAL

    view = QWidget()
    bridge.run(asyncio.sleep(0))
    bridge.close_with(view, _Client().aclose)()
    before = view.receivers(SIGNAL("destroyed(QObject*)"))  # (PySide keeps one receiver of its own)
    for _ in range(50):  # a page changing its client again and again
        bridge.close_with(view, _Client().aclose)()
    assert view.receivers(SIGNAL("destroyed(QObject*)")) == before
    shiboken6.delete(view)
