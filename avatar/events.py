"""The typed events the show publishes to viewers and operators, and the bus that fans them out.

Each subscriber gets a bounded queue; a subscriber that does not keep up loses its oldest events
rather than growing memory or slowing the show.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

QUEUE_SIZE: Final = 100


@dataclass(frozen=True)
class Caption:
    """A sentence started playing: what viewers hear now."""

    text: str
    turn_id: int


@dataclass(frozen=True)
class ProductShown:
    """The product on screen changed."""

    product_id: str


@dataclass(frozen=True)
class ChatPosted:
    """A viewer's comment was accepted (shown to everyone as the comment ticker)."""

    viewer_id: str
    name: str
    text: str
    platform: str = ""  # "" for the viewer page; "twitch", "youtube" or an ingest source's name


@dataclass(frozen=True)
class Notice:
    """A message for one viewer only (rate limit, message too long, ...)."""

    viewer_id: str
    text: str


Event = Caption | ProductShown | ChatPosted | Notice


class EventBus:
    """Publish/subscribe with bounded per-subscriber queues; publishing never blocks."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.discard(queue)

    def publish(self, event: Event) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a slow reader must not hold the show
            queue.put_nowait(event)
