"""What operations may touch of a running show: a narrow, typed view instead of the whole LiveShow.

:class:`~avatar.ops.operations.Operations` supervises, measures and persists a show through this
protocol, so the ops package does not depend on ``avatar.modes.live`` (which owns an
``Operations``): the dependency runs one way, and what operations reach into is listed here.
"""

from __future__ import annotations

from typing import Protocol

from avatar.brain.brain import Brain
from avatar.brain.scene import Scene
from avatar.brain.show import RunOfShow
from avatar.brain.triage import CommentQueue
from avatar.media.broadcaster import Broadcaster
from avatar.media.clock import Clock
from avatar.media.playout import Playout
from avatar.media.programme import Programme
from avatar.speaker import Speaker

__all__ = ["Show"]


class Show(Protocol):
    """The parts of a live show that operations use."""

    scene: Scene
    product_id: str
    clock: Clock
    comments: CommentQueue
    run_of_show: RunOfShow
    brain: Brain
    speaker: Speaker
    playout: Playout
    programme: Programme
    broadcaster: Broadcaster

    def use_scene(self, scene: Scene) -> None:
        """Put a reloaded scene on air (the one swap of catalog, fact lock and run of show)."""

    async def host_loop(self) -> None:
        """The host: scripted lines and answers, forever (supervised and restarted by operations)."""
