"""A live show on a driven clock, for fault-injection and soak tests.

Time moves only when the test says so (``ManualClock``), 20 ms at a time, and stands still while a
frame renders or a model call returns on its worker thread, as on a machine with time to spare:
the programme must then produce exactly 50 audio chunks and 25 frames per second of show time,
whatever else is failing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from avatar.brain.scene import Scene
from avatar.config import Settings
from avatar.media.clock import ManualClock
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.store import Store
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker

TICK_S = 0.02


@dataclass
class Pace:
    """Ticks and frames produced in each whole second of show time while the test drove it."""

    ticks: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)

    def worst(self) -> tuple[int, int]:
        """The fewest ticks and the fewest frames seen in any one second."""
        return min(self.ticks, default=0), min(self.frames, default=0)


@dataclass
class DrivenShow:
    """A started show, its clock and its fake voice."""

    show: LiveShow
    clock: ManualClock
    engine: FakeTTSEngine
    settle_limit_s: float = 2.0  # real seconds to wait for threads per step (lower it while one is hung)

    async def advance(self, seconds: float, pace: Pace | None = None) -> None:
        """Move show time forward by ``seconds`` in 20 ms ticks, recording the pace per second."""
        stats = self.show.programme.stats
        steps = round(seconds / TICK_S)
        per_second = round(1 / TICK_S)
        ticks0, frames0 = stats.ticks, stats.frames
        for step in range(1, steps + 1):
            await self.clock.advance(TICK_S)
            await self.settle()
            if pace is not None and step % per_second == 0:
                pace.ticks.append(stats.ticks - ticks0)
                pace.frames.append(stats.frames - frames0)
                ticks0, frames0 = stats.ticks, stats.frames

    async def settle(self) -> None:
        """Let a frame in flight finish rendering and model calls in flight return (real time
        passes, show time does not): threads never fall behind the driven clock."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_limit_s
        show = self.show
        workers = [v.worker for v in [*show.speaker.voices.values(), show.speaker.fallback] if v is not None]
        workers.append(show.ops.brain)
        for _ in range(100_000):  # bounded; the deadline ends it sooner
            busy = show.programme.rendering or any(worker.busy for worker in workers)
            if not busy or loop.time() >= deadline:
                break
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0)


def driven_show(
    scene: Scene,
    *,
    engine: FakeTTSEngine | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
) -> DrivenShow:
    """A show on a manual clock with a fake voice (not started)."""
    clock = ManualClock()
    engine = engine or FakeTTSEngine(seconds_per_char=0.004)
    show = LiveShow(
        scene,
        settings or Settings(scene=DEMO_SCENE),
        clock=clock,
        speaker=fake_speaker(Playout(), engine),
        store=store,
    )
    return DrivenShow(show, clock, engine)
