"""The bridge between the GUI thread and the async core: one asyncio loop on a background thread.

Views never make their own threads or loops. They hand a coroutine to :meth:`AsyncBridge.run` and
get its result (or its exception, with its type intact: the view decides how to show an
``ApiError`` versus a ``NetworkError``) back on the GUI thread, through a queued Qt signal, in the
style of Anki's taskman::

    bridge.run(client.list_users(), owner=self).success(self.show_users).failure(self.show_error)

(``on_success=``/``on_failure=`` keyword arguments do the same.)

The returned :class:`Job` can be cancelled; it is cancelled by itself when ``owner`` (a QObject, usually
the view) is destroyed. A cancelled job's coroutine gets ``CancelledError`` at its current ``await`` (so
``async with`` blocks close their clients) and its callbacks never run, even when the result was
already on its way. A job settles when its coroutine has really ended, cleanup included:
``jobFinished`` is emitted on the GUI thread after that, for every job that was not abandoned by
:meth:`AsyncBridge.shutdown`.

Why a plain ``threading.Thread`` and not a QThread: the loop thread runs asyncio's loop, not Qt's, and
touches no QObject; everything it hands back crosses to the GUI thread as a queued signal emitted on
the bridge (a GUI-thread object), which Qt supports from any thread. A plain thread's lifetime is
Python's: :meth:`AsyncBridge.shutdown` joins it, so "QThread: Destroyed while thread is still running"
cannot happen, and it is a daemon so a crash elsewhere cannot hang the interpreter at exit.

Shutdown is ordered: jobs are marked cancelled (no callback will run), the loop's tasks are cancelled
and given time to finish their cleanup (httpx clients closed), async generators and the default
executor are shut down, the loop stops and is closed on its own thread, and the thread is joined. So
neither "Event loop is closed" nor "Task was destroyed but it is pending!" appears at exit.
``bridge.loop`` is there for code that schedules long-lived work (streams) itself; such tasks are
cancelled at shutdown like the rest.

A view that keeps a client open between jobs (the Metrics page's Prometheus client) hands its closing
to :meth:`AsyncBridge.close_with`: it is run on the loop when the view is destroyed (signing out drops
every page without closing it), and at the latest at shutdown, after the jobs are cancelled and
before the loop closes, so no connection is left for the garbage collector (aiohttp logs an error for
every session it finds unclosed).

The loop and its thread start on first use (``run`` or ``loop``), not when the bridge is made: the
window is built and painted before asyncio is even imported, which keeps startup short.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import shiboken6
from PySide6.QtCore import QMetaObject, QObject, Signal

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("opsconsole.ui.shell.bridge")

T = TypeVar("T")
JobState = Literal["running", "succeeded", "failed", "cancelled"]

DEFAULT_SHUTDOWN_TIMEOUT = 5.0
GRACE = 0.5  # seconds a task gets at shutdown to clean up after a late cancel (_finish)
_job_ids = itertools.count(1)
_closer_ids = itertools.count(1)
_CLOSING = "bridge-close"  # the name of the tasks close_with runs: shutdown lets them finish first


async def _close_quietly(close: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    try:
        await close()
    except Exception:
        log.warning("closing a client failed", exc_info=True)


# Tasks that ignored cancellation past the shutdown timeout. Kept referenced so their destruction
# does not log "Task was destroyed but it is pending!" on top of the warning that already names them.
_ABANDONED_TASKS: list[Any] = []


class BridgeClosedError(RuntimeError):
    """Work was submitted after the bridge shut down."""


class Job(Generic[T]):
    """One coroutine running on the bridge's loop, and what to do on the GUI thread when it ends.

    Use a job from the GUI thread. ``state`` moves from ``running`` to exactly one of ``succeeded``,
    ``failed`` or ``cancelled``; ``result``/``error`` hold the outcome. ``future`` is a
    ``concurrent.futures.Future`` completed on the loop thread when the coroutine has ended.
    """

    def __init__(
        self,
        bridge: AsyncBridge,
        *,
        name: str,
        on_success: Callable[[T], Any] | None,
        on_failure: Callable[[BaseException], Any] | None,
        owner: QObject | None,
    ) -> None:
        self.id = next(_job_ids)
        self.name = name
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.state: JobState = "running"
        self.result: T | None = None
        self.error: BaseException | None = None
        self._bridge = bridge
        self._task: asyncio.Task[T] | None = None  # set and used on the loop thread only
        self._on_success = on_success
        self._on_failure = on_failure
        self._cancel_requested = False
        self._owner: weakref.ref[QObject] | None = None
        self._owner_connection: QMetaObject.Connection | None = None
        if owner is not None:
            self._owner = weakref.ref(owner)
            # A weak reference to the job: the connection must not keep a finished job alive.
            job_ref = weakref.ref(self)

            def owner_destroyed(*_: object) -> None:
                job = job_ref()
                if job is not None:
                    job._owner_connection = None
                    job.cancel()

            self._owner_connection = owner.destroyed.connect(owner_destroyed)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name!r} {self.state}>"

    @property
    def done(self) -> bool:
        return self.state != "running"

    @property
    def cancelled(self) -> bool:
        return self.state == "cancelled" or self._cancel_requested

    def cancel(self) -> bool:
        """Cancel the coroutine and drop its callbacks. False when the job had already ended."""
        if self.done or self._cancel_requested:
            return False
        self._cancel_requested = True
        self._bridge._cancel(self)
        return True

    def success(self, callback: Callable[[T], Any]) -> Job[T]:
        """Call ``callback(result)`` on the GUI thread when the coroutine returns (Anki's ``success``).

        For chaining right after :meth:`AsyncBridge.run`: the outcome is delivered through the event
        loop, so a callback set before control returns to it is never missed."""
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[BaseException], Any]) -> Job[T]:
        """Call ``callback(error)`` on the GUI thread when the coroutine raises (else it is logged)."""
        self._on_failure = callback
        return self

    def owner_alive(self) -> bool:
        if self._owner is None:
            return True
        owner = self._owner()
        return owner is not None and shiboken6.isValid(owner)

    def _detach_owner(self) -> None:
        connection, self._owner_connection = self._owner_connection, None
        owner = self._owner() if self._owner is not None else None
        if connection is not None and owner is not None and shiboken6.isValid(owner):
            QObject.disconnect(connection)


class AsyncBridge(QObject):
    """Runs coroutines on one background asyncio loop and delivers their outcome on the GUI thread."""

    jobFinished = Signal(object)
    """Emitted on the GUI thread with the :class:`Job` after its callback ran (or was dropped)."""

    _settled = Signal(object)  # emitted on the loop thread, delivered queued on the GUI thread

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        thread_name: str = "opsconsole-asyncio",
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    ) -> None:
        super().__init__(parent)
        self.shutdown_timeout = shutdown_timeout
        self.thread_name = thread_name
        self._jobs: set[Job[Any]] = set()
        self._closers: dict[int, Callable[[], Coroutine[Any, Any, Any]]] = {}
        self._closing = False
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        if self._closing:
            raise BridgeClosedError("the background loop has shut down")
        import asyncio

        # Connected here, on first use, not in __init__: the connection type lives in ``Qt``, which
        # the window's first paint does without (qtprops.py). Nothing is emitted before the loop runs.
        from PySide6.QtCore import Qt

        loop = asyncio.new_event_loop()
        self._settled.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        loop.set_exception_handler(self._report_loop_error)
        running = threading.Event()
        loop.call_soon(running.set)
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        if not running.wait(timeout=10):
            raise RuntimeError("the asyncio loop thread did not start")
        log.debug("asyncio loop started on thread %s", self.thread_name)
        return loop

    # -- the loop thread -------------------------------------------------------------------------------

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        import asyncio

        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            # stop() was called by shutdown(): finish everything on this same thread, then close.
            loop.run_until_complete(self._drain(loop))
        except Exception:
            log.exception("the asyncio loop failed")
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Shutdown's work on the loop, in three steps within one ``shutdown_timeout`` (each step's
        stragglers are cancelled and given a moment, then left with a warning): the clients being closed
        already (views destroyed just before shutdown) finish first, so that the tasks their closing
        starts (aiohttp's connector starts one) are not cancelled with the rest; then every other task
        (jobs, streams) is cancelled and awaited; then the clients views left open are closed."""
        import asyncio

        deadline = loop.time() + self.shutdown_timeout
        closing = [t for t in asyncio.all_tasks() if t.get_name() == _CLOSING and not t.done()]
        await self._finish(closing, deadline, cancel=False)
        current = asyncio.current_task()
        rest = [
            t for t in asyncio.all_tasks() if t is not current and not t.done() and t not in _ABANDONED_TASKS
        ]
        await self._finish(rest, deadline)
        closers, self._closers = list(self._closers.values()), {}
        closing = [loop.create_task(_close_quietly(close), name=_CLOSING) for close in closers]
        await self._finish(closing, deadline, cancel=False)
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()

    async def _finish(self, tasks: list[asyncio.Task[Any]], deadline: float, *, cancel: bool = True) -> None:
        """Wait for ``tasks`` (cancelled first with ``cancel``) until ``deadline``; those still running
        are cancelled, given a moment to clean up, and then left (kept referenced) with a warning."""
        import asyncio

        if not tasks:
            return
        loop = asyncio.get_running_loop()
        if cancel:
            for task in tasks:
                task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        if pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=GRACE)
        for task in pending:
            _ABANDONED_TASKS.append(task)
            log.warning(
                "task %s did not finish within %.1f s at shutdown, cancelled or not",
                task.get_name(),
                self.shutdown_timeout,
            )

    def _start(self, job: Job[Any], coro: Coroutine[Any, Any, Any]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro, name=f"job-{job.id}-{job.name}")
        job._task = task
        task.add_done_callback(lambda t: self._task_done(job, t))

    def _cancel_in_loop(self, job: Job[Any]) -> None:
        # Queued after _start (call_soon_threadsafe keeps order), so the task exists by now.
        if job._task is not None:
            job._task.cancel()

    def _task_done(self, job: Job[Any], task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            job.future.cancel()
        elif (error := task.exception()) is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(task.result())
        if self._closed:
            return
        # RuntimeError: the bridge's C++ side is gone, so nobody is left to deliver to.
        with contextlib.suppress(RuntimeError):
            self._settled.emit(job)

    def _report_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        log.error(
            "asyncio: %s",
            context.get("message", "unhandled error"),
            exc_info=exc if exc is not None else None,
        )

    # -- the GUI thread ------------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, for code that schedules long-lived tasks itself (use loop.call_soon_threadsafe).

        Starts the loop if it is not running yet."""
        return self._ensure_started()

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def loop_thread(self) -> threading.Thread | None:
        return self._thread

    def pending_jobs(self) -> list[Job[Any]]:
        return sorted(self._jobs, key=lambda job: job.id)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        on_success: Callable[[T], Any] | None = None,
        on_failure: Callable[[BaseException], Any] | None = None,
        owner: QObject | None = None,
        name: str | None = None,
    ) -> Job[T]:
        """Run ``coro`` on the loop; call ``on_success(result)`` or ``on_failure(exc)`` on the GUI thread.

        With no ``on_failure``, an exception is logged (logger ``opsconsole.ui.shell.bridge``) rather than lost.
        """
        if self._closing:
            coro.close()  # never awaited by design; closing it avoids "coroutine was never awaited"
            raise BridgeClosedError("the background loop has shut down")
        job: Job[T] = Job(
            self,
            name=name or str(getattr(coro, "__qualname__", "job")),
            on_success=on_success,
            on_failure=on_failure,
            owner=owner,
        )
        try:
            loop = self._ensure_started()
        except BaseException:
            coro.close()
            raise
        self._jobs.add(job)
        loop.call_soon_threadsafe(self._start, job, coro)
        return job

    def close_with(self, owner: QObject, close: Callable[[], Coroutine[Any, Any, Any]]) -> Callable[[], None]:
        """Have ``close()`` (a client's ``aclose``) run on the loop when ``owner`` is destroyed, or at
        shutdown if that comes first (module doc). Returns the function that runs it now instead (when
        the view closes the client itself); it runs once whichever comes first."""
        key = next(_closer_ids)
        self._closers[key] = close
        connection: list[QMetaObject.Connection] = []

        def close_now(*_: object) -> None:
            if connection:  # not the owner's signal's business any more (a page changes clients often)
                with contextlib.suppress(RuntimeError, TypeError):
                    QObject.disconnect(connection.pop())
            if self._closing:
                return  # the drain closes what is still registered
            close = self._closers.pop(key, None)
            if close is None or self._loop is None:
                return  # done already; or the loop never started, so the client never opened anything
            loop = self._loop
            loop.call_soon_threadsafe(lambda: loop.create_task(_close_quietly(close), name=_CLOSING))

        connection.append(owner.destroyed.connect(close_now))
        return close_now

    def _cancel(self, job: Job[Any]) -> None:
        # The loop is closed only after shutdown, which has settled every job already.
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._cancel_in_loop, job)

    def _deliver(self, job: Job[Any]) -> None:
        if job.done:
            return
        self._jobs.discard(job)
        job._detach_owner()
        try:
            if job._cancel_requested or job.future.cancelled() or not job.owner_alive():
                job.state = "cancelled"
                return
            error = job.future.exception()
            if error is None:
                job.state = "succeeded"
                job.result = job.future.result()
                if job._on_success is not None:
                    job._on_success(job.result)
            else:
                job.state = "failed"
                job.error = error
                if job._on_failure is not None:
                    job._on_failure(error)
                else:
                    log.error("background job %s failed", job.name, exc_info=error)
        finally:
            self.jobFinished.emit(job)

    def shutdown(self, timeout: float | None = None) -> None:
        """Cancel everything, let it clean up, stop and close the loop and join its thread (idempotent).

        Blocks the GUI thread for at most about ``timeout`` seconds (default ``shutdown_timeout``): it is
        meant for the end of the application, after the window has closed.
        """
        if self._closing:
            return
        self._closing = True
        if timeout is not None:
            self.shutdown_timeout = timeout
        for job in list(self._jobs):
            job._cancel_requested = True
            job._detach_owner()
            job.state = "cancelled"
        self._jobs.clear()
        if self._thread is not None and self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.shutdown_timeout + 3 * GRACE + 5.0)  # the drain's budget (_drain)
            if self._thread.is_alive():
                log.error("the asyncio loop thread did not stop; leaving it to the interpreter")
        self._closed = True
