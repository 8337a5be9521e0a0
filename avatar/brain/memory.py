"""What each viewer was last talking about, so follow-ups ("and the blue one?", "那黑色呢",
"how long to arrive?") resolve.

Bounded (least recently heard viewers are forgotten first) and short-lived (a topic older than
``ttl_s`` is gone): a 24/7 show must not grow with its audience.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Final

__all__ = ["MEMORY_TTL_S", "Memory", "Topic"]

MEMORY_TTL_S: Final = 300.0
MEMORY_VIEWERS: Final = 5_000


@dataclass(frozen=True)
class Topic:
    """The last thing a viewer asked about."""

    product_id: str | None
    variant: str | None  # SKU
    intent: str
    attribute: str | None  # fact field (spec:<key>, faq:<n>, ...)
    on_screen: str | None  # what was on screen when they asked
    at: float  # clock seconds
    concepts: frozenset[str] = frozenset()  # what kind of fact it was ("shelf_life"), for "那蜂蜜呢"


class Memory:
    """Per-viewer topics, bounded in count and age."""

    def __init__(self, ttl_s: float = MEMORY_TTL_S, capacity: int = MEMORY_VIEWERS) -> None:
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._topics: collections.OrderedDict[str, Topic] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._topics)

    def recall(self, viewer: str, now: float) -> Topic | None:
        """The viewer's topic if it is fresh, else None (and a stale one is dropped)."""
        topic = self._topics.get(viewer)
        if topic is None:
            return None
        if now - topic.at > self.ttl_s:
            del self._topics[viewer]
            return None
        return topic

    def remember(self, viewer: str, topic: Topic) -> None:
        """Store ``topic`` as the viewer's latest."""
        self._topics.pop(viewer, None)
        self._topics[viewer] = topic
        while len(self._topics) > self.capacity:
            self._topics.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (the catalog changed under the topics)."""
        self._topics.clear()
