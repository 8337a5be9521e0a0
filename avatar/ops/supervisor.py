"""The supervisor: every stage of the show reports health; a stage that crashes or hangs is restarted.

Two kinds of stage:

- **tasks** (the programme pump, the host loop): coroutines that should run forever. One that ends
  or raises is started again after a short backoff; one whose progress signal stops moving for its
  ``hang_s`` is cancelled and started again.
- **watches** (model workers, the renderer): things that are *busy* at times. One busy without
  progress for its ``hang_s``, or found dead, is recovered by its ``recover`` callback (for a worker:
  a fresh thread, see :meth:`avatar.engines.worker.ModelWorker.restart`).

Checks run on the injected clock, so tests drive hangs and recoveries without sleeping. The
programme pump never waits on any other stage, which is what keeps picture and sound flowing
while one of them recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from avatar.engines.worker import ModelWorker
from avatar.media.clock import Clock

log = logging.getLogger(__name__)

CHECK_INTERVAL_S: Final = 0.25
BACKOFF_FIRST_S: Final = 0.05
BACKOFF_MAX_S: Final = 5.0
STABLE_AFTER_S: Final = 30.0  # a stage that ran this long since its restart starts over at the first backoff


@dataclass
class StageHealth:
    """What the supervisor knows about one stage (reported by /healthz and /metrics)."""

    name: str
    state: str = "starting"  # starting | ok | restarting | busy | failed
    errors: int = 0  # crashes, hangs and errors the stage reported
    restarts: int = 0
    last_error: str = ""
    _streak: int = field(default=0, repr=False)  # restarts without a stable run between them

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "state": self.state,
            "errors": self.errors,
            "restarts": self.restarts,
            "last_error": self.last_error,
        }


@dataclass
class _Progress:
    read: Callable[[], object]
    hang_s: float
    value: object = None
    since: float = 0.0

    def stalled(self, now: float) -> bool:
        value = self.read()
        if value != self.value:
            self.value, self.since = value, now
            return False
        return now - self.since > self.hang_s

    def reset(self, now: float) -> None:
        self.value, self.since = self.read(), now


@dataclass
class _Task:
    health: StageHealth
    factory: Callable[[], Coroutine[Any, Any, None]]
    progress: _Progress | None
    on_restart: Callable[[], None] | None
    task: asyncio.Task[None] | None = None
    started_at: float = 0.0
    restart_at: float | None = None


@dataclass
class _Watch:
    health: StageHealth
    progress: _Progress
    active: Callable[[], bool]
    dead: Callable[[], bool]
    recover: Callable[[str], None] | None


class Supervisor:
    """Starts, watches and restarts the stages of one show."""

    def __init__(self, clock: Clock, *, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self.clock = clock
        self.check_interval_s = check_interval_s
        self.stages: dict[str, StageHealth] = {}
        self._tasks: dict[str, _Task] = {}
        self._watches: dict[str, _Watch] = {}
        self._monitor: asyncio.Task[None] | None = None

    # -- registration ------------------------------------------------------------------------------
    def _stage(self, name: str) -> StageHealth:
        return self.stages.setdefault(name, StageHealth(name))

    def task(
        self,
        name: str,
        factory: Callable[[], Coroutine[Any, Any, None]],
        *,
        progress: Callable[[], object] | None = None,
        hang_s: float = 5.0,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        """Run ``factory()`` as a supervised task (started by :meth:`start`, or now if running)."""
        watch = _Progress(progress, hang_s) if progress is not None else None
        entry = _Task(self._stage(name), factory, watch, on_restart)
        self._tasks[name] = entry
        if self._monitor is not None:
            self._launch(entry)

    def watch(
        self,
        name: str,
        *,
        progress: Callable[[], object],
        hang_s: float,
        recover: Callable[[str], None] | None,
        active: Callable[[], bool] = lambda: True,
        dead: Callable[[], bool] = lambda: False,
    ) -> None:
        """Recover ``name`` when it is ``active`` without ``progress`` for ``hang_s``, or ``dead``.

        ``recover=None``: nothing to restart (the stage only passes on what another makes); a
        stall is counted and reported as ``stalled`` until progress resumes.
        """
        self._watches[name] = _Watch(self._stage(name), _Progress(progress, hang_s), active, dead, recover)
        self._stage(name).state = "ok"

    def watch_worker(self, name: str, worker: ModelWorker, *, hang_s: float) -> None:
        """Restart a model worker that hangs on a call or whose thread pool died."""
        self.watch(
            name,
            progress=lambda: worker.completed,
            hang_s=hang_s,
            recover=worker.restart,
            active=lambda: worker.busy,
            dead=lambda: not worker.alive,
        )

    def error(self, name: str, error: BaseException | str) -> None:
        """A stage reports an error it survived (a failed model call): counted, not restarted."""
        stage = self._stage(name)
        stage.errors += 1
        stage.last_error = str(error)[:200] or type(error).__name__

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every registered task and the monitor."""
        for entry in self._tasks.values():
            self._launch(entry)
        self._monitor = asyncio.create_task(self._watch_loop(), name="supervisor")

    async def stop(self) -> None:
        """Cancel the monitor and every task, and wait for them (bounded)."""
        tasks = [entry.task for entry in self._tasks.values() if entry.task is not None]
        if self._monitor is not None:
            tasks.append(self._monitor)
        self._monitor = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(task, 5)
        for entry in self._tasks.values():
            entry.task = None

    def health(self) -> dict[str, dict[str, Any]]:
        """Every stage's state and counters."""
        return {name: stage.as_dict() for name, stage in sorted(self.stages.items())}

    @property
    def healthy(self) -> bool:
        """No stage is down right now."""
        return all(stage.state in {"ok", "busy"} for stage in self.stages.values())

    # -- internals ---------------------------------------------------------------------------------
    def _launch(self, entry: _Task) -> None:
        now = self.clock.now()
        entry.task = asyncio.create_task(entry.factory(), name=entry.health.name)
        entry.started_at = now
        entry.restart_at = None
        entry.health.state = "ok"
        if entry.progress is not None:
            entry.progress.reset(now)

    def _failed(self, entry: _Task, reason: str) -> None:
        stage = entry.health
        stage.errors += 1
        stage.last_error = reason[:200]
        now = self.clock.now()
        if now - entry.started_at > STABLE_AFTER_S:
            stage._streak = 0
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**stage._streak)
        stage._streak += 1
        stage.state = "restarting"
        entry.restart_at = now + delay
        entry.task = None
        log.error("stage %s: %s; restarting in %.2f s", stage.name, reason, delay)

    async def _watch_loop(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now() + self.check_interval_s)
            try:
                self.check()
            except Exception:  # the watchdog itself must never die
                log.exception("supervisor check failed")

    def check(self) -> None:
        """One round of checks (the monitor calls this every ``check_interval_s``)."""
        now = self.clock.now()
        for entry in self._tasks.values():
            task = entry.task
            if task is None:
                if entry.restart_at is not None and now >= entry.restart_at:
                    entry.health.restarts += 1
                    if entry.on_restart is not None:
                        with contextlib.suppress(Exception):
                            entry.on_restart()
                    self._launch(entry)
                continue
            if task.done():
                error = None if task.cancelled() else task.exception()
                self._failed(entry, f"crashed: {error!r}" if error else "ended")
                continue
            if entry.progress is not None and entry.progress.stalled(now):
                task.cancel()
                self._failed(entry, f"hung: no progress for {entry.progress.hang_s:.1f} s")
        for name, watch in self._watches.items():
            stage = watch.health
            reason = ""
            if watch.dead():
                reason = "dead"
            elif not watch.active():
                watch.progress.reset(now)
                stage.state = "ok"
            elif watch.progress.stalled(now):
                reason = f"hung: no progress for {watch.progress.hang_s:.1f} s"
            else:
                stage.state = "busy"
            recover = watch.recover
            if reason and recover is None:
                if stage.state != "stalled":
                    stage.errors += 1
                    stage.last_error = reason
                stage.state = "stalled"
            elif reason and recover is not None:
                stage.errors += 1
                stage.restarts += 1
                stage.last_error = reason
                log.error("stage %s: %s; recovering", name, reason)
                try:
                    recover(reason)
                    stage.state = "ok"
                except Exception as error:
                    stage.state = "failed"
                    stage.last_error = f"{reason}; recovery failed: {error!r}"[:200]
                watch.progress.reset(now)
