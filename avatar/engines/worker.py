"""One single-thread worker per model instance.

Model libraries (Coqui, Whisper, onnxruntime sessions used from Python) are not safe to call
concurrently and block for tens to hundreds of milliseconds, so each model gets its own thread and
takes one request at a time, and the event loop only ever awaits the result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ModelWorker:
    """Runs calls for one model on its own thread, one at a time, in arrival order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` on the worker thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop taking work; a call still running finishes in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
