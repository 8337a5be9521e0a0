"""Chat triage: which viewer comments reach the host, and in what order.

Comments are accepted only within limits (length, a per-viewer rate) and only when they pass
moderation (swearing, contact spam and prompt injection are refused, never queued and never
repeated on stream). Accepted comments wait in a capped priority queue: a question about the
product on screen first, then purchase intent, then other products and everything else, then
greetings, then chit-chat; oldest first within a rank. Ten viewers asking "how much?" are one
question (near-duplicates merge into the waiting comment). Comments expire, chit-chat sooner than
questions: a question answered two minutes late is worse than one not answered.
"""

from __future__ import annotations

import asyncio
import collections
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Final

from avatar.brain.catalog import Catalog
from avatar.brain.intents import Intent, classify
from avatar.brain.language import detect_language
from avatar.brain.moderation import moderate
from avatar.brain.understanding import Reading, read

MAX_COMMENT_CHARS: Final = 300
QUEUE_CAPACITY: Final = 20
COMMENT_TTL_S: Final = 90.0  # questions and purchase intent
SOCIAL_TTL_S: Final = 30.0  # greetings and chit-chat: stale after half a minute
RATE_BURST: Final = 3  # comments a viewer may send at once
RATE_REFILL_S: Final = 4.0  # then one more every this many seconds
SIMILAR_RATIO: Final = 0.88  # normalised texts at least this alike are the same question
_SIMILAR_MIN_CHARS: Final = 6  # shorter texts merge only when identical after normalising


class Rank(IntEnum):
    """Answer order, most urgent first."""

    COHOST = -1  # the co-host in the studio, speaking on air: answered before any viewer
    ON_SCREEN = 0  # a question about the product on screen (or naming none)
    PURCHASE = 1  # "how do I buy?", "I'll take it"
    OTHER_PRODUCT = 2  # questions about other products, comparisons, complaints, the rest
    GREETING = 3
    CHITCHAT = 4  # chit-chat and off-topic


@dataclass(frozen=True)
class Comment:
    """One accepted viewer comment (``count`` > 1 when near-duplicates were merged into it)."""

    viewer_id: str
    name: str
    text: str
    received_at: float  # clock seconds
    intent: str = Intent.OTHER.value
    product_id: str | None = None  # the product it names, if any
    count: int = 1
    role: str = "viewer"  # "viewer" (chat or push-to-talk) or "cohost" (the studio's microphone)
    # What the text says, read once on arrival; the brain puts it in context when it answers.
    reading: Reading | None = field(default=None, compare=False, repr=False)


class Verdict(StrEnum):
    """What happened to a submitted comment."""

    ACCEPTED = "accepted"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    MODERATED = "moderated"  # profanity, contact spam or prompt injection: never queued or shown


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


def _ttl(intent: str) -> float:
    social = {Intent.GREETING.value, Intent.CHITCHAT.value, Intent.OFF_TOPIC.value}
    return SOCIAL_TTL_S if intent in social else COMMENT_TTL_S


COHOST: Final = "cohost"
"""The role of the co-host's comments (their spoken questions, from the studio page)."""


def _rank(comment: Comment, current_product_id: str | None) -> Rank:
    if comment.role == COHOST:
        return Rank.COHOST
    intent = comment.intent
    if intent == Intent.PURCHASE.value:
        return Rank.PURCHASE
    if intent == Intent.GREETING.value:
        return Rank.GREETING
    if intent in (Intent.CHITCHAT.value, Intent.OFF_TOPIC.value):
        return Rank.CHITCHAT
    if intent in (Intent.RECOMMENDATION.value, Intent.COMPLAINT.value, Intent.COMPARISON.value):
        return Rank.OTHER_PRODUCT
    if comment.product_id is None or comment.product_id == current_product_id:
        return Rank.ON_SCREEN
    return Rank.OTHER_PRODUCT


def _key(text: str) -> str:
    """The text as compared for duplicates: case, width, punctuation, spaces and stretched letters
    ("sooo", "!!!") do not make a question different."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(.)\1{2,}", r"\1", text)
    return "".join(ch for ch in text if ch.isalnum())


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    # Numbers carry the meaning ("2 pairs" vs "3 pairs", "question 1" vs "question 2").
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return False
    if min(len(a), len(b)) < _SIMILAR_MIN_CHARS:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILAR_RATIO


class CommentQueue:
    """Capped, expiring priority queue of accepted comments with a per-viewer token bucket.

    With a ``catalog``, comments are sorted by the product they name (so questions about the
    product on screen go first); without one, every product question ranks as on screen.
    """

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog
        self._items: list[tuple[Comment, str]] = []  # (comment, duplicate key), arrival order
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self._arrived = asyncio.Event()
        self._current: str | None = None  # the product on screen at the last pop
        self.merged = 0  # near-duplicates folded into waiting comments so far
        self.moderated = 0  # comments refused by moderation so far
        # Told of each accepted comment that leaves unanswered: "expired" (stale) or "dropped" (full).
        self.on_drop: Callable[[Comment, str], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def submit(self, viewer_id: str, name: str, text: str, now: float, *, role: str = "viewer") -> Verdict:
        """Check a comment and queue it (or merge it into a waiting near-duplicate) if it passes.

        ``role`` :data:`COHOST`: the co-host's spoken question goes first, is not rate-limited (they
        talk in turns on air) and is never folded into a viewer's comment (it would lose its place).
        """
        text = " ".join(text.split())
        if not text:
            return Verdict.EMPTY
        if len(text) > MAX_COMMENT_CHARS:
            return Verdict.TOO_LONG
        if role != COHOST:
            bucket = self._buckets.pop(viewer_id, None) or _Bucket(now)
            self._buckets[viewer_id] = bucket
            while len(self._buckets) > 10_000:  # forget the least recent viewers: memory stays flat
                self._buckets.popitem(last=False)
            if not bucket.take(now):
                return Verdict.RATE_LIMITED
        if not moderate(text).ok:
            self.moderated += 1
            return Verdict.MODERATED

        key = _key(text)
        for index, (waiting, waiting_key) in enumerate(self._items):
            if role != COHOST and waiting.role != COHOST and _same(key, waiting_key):
                self._items[index] = (replace(waiting, count=waiting.count + 1), waiting_key)
                self.merged += 1
                return Verdict.ACCEPTED
        reading = read(text, self.catalog) if self.catalog is not None else None
        if reading is not None:
            intent, named = reading.intent.value, (reading.named[0] if reading.named else None)
        else:
            intent, named = classify(text, detect_language(text)).value, None
        comment = Comment(
            viewer_id, name[:40] or "viewer", text, now, intent, named, role=role, reading=reading
        )
        self._items.append((comment, key))
        if len(self._items) > QUEUE_CAPACITY:
            # Full: the least urgent, oldest comment goes (the newcomer itself if it is that one).
            worst = max(range(len(self._items)), key=lambda i: (_rank(self._items[i][0], self._current), -i))
            self._dropped(self._items.pop(worst)[0], "dropped")
        self._arrived.set()
        return Verdict.ACCEPTED

    def pop(self, now: float, current_product_id: str | None = None) -> Comment | None:
        """The most urgent comment still fresh (oldest first within a rank), or None.

        ``current_product_id`` is the product on screen: questions about it go first.
        """
        self._current = current_product_id
        fresh = []
        for item in self._items:
            if now - item[0].received_at <= _ttl(item[0].intent):
                fresh.append(item)
            else:
                self._dropped(item[0], "expired")
        self._items = fresh
        if not self._items:
            self._arrived.clear()
            return None
        best = min(range(len(self._items)), key=lambda i: (_rank(self._items[i][0], current_product_id), i))
        comment, _ = self._items.pop(best)
        return comment

    def _dropped(self, comment: Comment, why: str) -> None:
        if self.on_drop is not None:
            self.on_drop(comment, why)

    async def wait(self) -> None:
        """Return once a comment is waiting."""
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()

    # -- operator and restart hooks (avatar.ops) ------------------------------------------------
    def waiting(self) -> list[Comment]:
        """The comments waiting, in arrival order (for the operator console and restarts)."""
        return [comment for comment, _ in self._items]

    def remove(self, comment: Comment) -> bool:
        """Take ``comment`` out of the queue (skipped or pinned by the operator)."""
        for index, (waiting, _) in enumerate(self._items):
            if waiting == comment:
                del self._items[index]
                return True
        return False

    def restore(self, comment: Comment) -> None:
        """Put back a comment saved before a restart (no rate limit or moderation: it passed them)."""
        if len(self._items) < QUEUE_CAPACITY:
            self._items.append((comment, _key(comment.text)))
            self._arrived.set()
