"""Chat triage: which viewer comments reach the host, and in what order.

Comments are accepted only within limits (length, a per-viewer rate), kept in a capped queue, and
expire: a question answered two minutes late is worse than one not answered.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_COMMENT_CHARS: Final = 300
QUEUE_CAPACITY: Final = 20
COMMENT_TTL_S: Final = 90.0
RATE_BURST: Final = 3  # comments a viewer may send at once
RATE_REFILL_S: Final = 4.0  # then one more every this many seconds


@dataclass(frozen=True)
class Comment:
    """One accepted viewer comment."""

    viewer_id: str
    name: str
    text: str
    received_at: float  # clock seconds


class Verdict(StrEnum):
    """What happened to a submitted comment."""

    ACCEPTED = "accepted"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"


class _Bucket:
    def __init__(self, now: float) -> None:
        self.tokens = float(RATE_BURST)
        self.updated = now

    def take(self, now: float) -> bool:
        self.tokens = min(RATE_BURST, self.tokens + (now - self.updated) / RATE_REFILL_S)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class CommentQueue:
    """Capped, expiring FIFO of accepted comments with a per-viewer token bucket."""

    def __init__(self) -> None:
        self._items: collections.deque[Comment] = collections.deque(maxlen=QUEUE_CAPACITY)
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self._arrived = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def submit(self, viewer_id: str, name: str, text: str, now: float) -> Verdict:
        """Check a comment and queue it if it passes."""
        text = " ".join(text.split())
        if not text:
            return Verdict.EMPTY
        if len(text) > MAX_COMMENT_CHARS:
            return Verdict.TOO_LONG
        bucket = self._buckets.pop(viewer_id, None) or _Bucket(now)
        self._buckets[viewer_id] = bucket
        while len(self._buckets) > 10_000:  # forget the least recent viewers: memory stays flat
            self._buckets.popitem(last=False)
        if not bucket.take(now):
            return Verdict.RATE_LIMITED
        self._items.append(Comment(viewer_id, name[:40] or "viewer", text, now))
        self._arrived.set()
        return Verdict.ACCEPTED

    def pop(self, now: float) -> Comment | None:
        """The oldest comment still fresh, or None."""
        while self._items:
            comment = self._items.popleft()
            if now - comment.received_at <= COMMENT_TTL_S:
                return comment
        self._arrived.clear()
        return None

    async def wait(self) -> None:
        """Return once a comment is waiting."""
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
