"""Clocks the media loop runs on.

Logic never reads the wall clock directly: it asks a :class:`Clock`, so tests can drive time with
:class:`ManualClock` and check pacing exactly, without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol


class Clock(Protocol):
    """Monotonic time in seconds, and a way to wait for a moment on it."""

    def now(self) -> float:
        """Seconds since an arbitrary origin; never goes backwards."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``now() >= deadline`` (at once if it already is)."""
        ...


class LoopClock:
    """The event loop's monotonic clock: the one the live show runs on."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when a test says so.

    ``await clock.advance(dt)`` moves time forward in order, waking each sleeper at its own deadline,
    and lets the woken tasks run before moving on, so a test sees exactly what a real run would do.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking sleepers in deadline order."""
        target = self._now + seconds
        await _let_tasks_run()  # what is due now runs before time moves on
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
            await _let_tasks_run()
        self._now = target
        await _let_tasks_run()


async def _let_tasks_run(rounds: int = 20) -> None:
    # A woken task may itself wake others (futures, queues); a few loop turns let the chain settle.
    for _ in range(rounds):
        await asyncio.sleep(0)
