"""One single-thread worker per model instance.

Model libraries (Coqui, Whisper, onnxruntime sessions used from Python) are not safe to call
concurrently and block for tens to hundreds of milliseconds, so each model gets its own thread and
takes one request at a time, and the event loop only ever awaits the result.

A model call that hangs cannot be killed from Python, so a worker can be *restarted*: the stuck
thread is abandoned (it ends when its call does), calls waiting on it fail with
:class:`WorkerRestarted`, and a fresh thread takes new work (the supervisor does this).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class WorkerRestarted(RuntimeError):
    """The worker was restarted (hung or dead) while this call waited on it. ``started``: the call
    itself was running (it may be what hung); otherwise it only waited in line and may be retried."""

    def __init__(self, message: str, started: bool = False) -> None:
        super().__init__(message)
        self.started = started


class ModelWorker:
    """Runs calls for one model on its own thread, one at a time, in arrival order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.completed = 0  # calls finished (ok or failed): the supervisor's progress signal
        self.restarts = 0
        self._closed = False
        self._pending: set[asyncio.Future[object]] = set()
        self._executor = self._new_executor()

    def _new_executor(self) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)

    @property
    def busy(self) -> bool:
        """A call is queued or running."""
        return bool(self._pending)

    @property
    def alive(self) -> bool:
        """False once the thread pool was shut down (by :meth:`close` or by a crash of its owner)."""
        return not self._closed and not getattr(self._executor, "_shutdown", False)

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` on the worker thread and await its result."""
        loop = asyncio.get_running_loop()
        # Our own future, not the executor's: a restart can fail it without racing the thread.
        result: asyncio.Future[R] = loop.create_future()
        began: list[bool] = []

        def call() -> R:
            began.append(True)
            return fn(*args, **kwargs)

        job = self._executor.submit(call)

        def settle(done: concurrent.futures.Future[R]) -> None:
            if result.done():
                return
            error = done.exception()
            if error is not None:
                result.set_exception(error)
            else:
                result.set_result(done.result())

        def finished(done: concurrent.futures.Future[R]) -> None:
            loop.call_soon_threadsafe(settle, done)

        pending: asyncio.Future[object] = result  # type: ignore[assignment]
        self._pending.add(pending)
        job.add_done_callback(finished)
        try:
            return await result
        except WorkerRestarted as error:
            raise WorkerRestarted(str(error), started=bool(began)) from None
        except asyncio.CancelledError:
            job.cancel()  # nobody wants it any more: dropped if it has not started (a no-op if it has)
            raise
        finally:
            self._pending.discard(pending)
            self.completed += 1

    def restart(self, reason: str = "restarted") -> None:
        """Abandon the current thread and take new work on a fresh one; waiting calls fail."""
        old = self._executor
        self._executor = self._new_executor()
        self._closed = False
        self.restarts += 1
        old.shutdown(wait=False, cancel_futures=True)
        for future in list(self._pending):
            if not future.done():
                future.set_exception(WorkerRestarted(f"{self.name}: {reason}"))

    def close(self) -> None:
        """Stop taking work; a call still running finishes in the background."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
