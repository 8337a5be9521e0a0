"""Chat triage: which comments reach the host, in what order, and which are refused or forgotten.

Time is the ``now`` argument, so the rate limit and expiry are checked exactly, without sleeping.
"""

from __future__ import annotations

import asyncio

import pytest

from avatar.brain.triage import (
    COMMENT_TTL_S,
    MAX_COMMENT_CHARS,
    QUEUE_CAPACITY,
    RATE_BURST,
    RATE_REFILL_S,
    CommentQueue,
    Verdict,
)


def test_accepted_comments_come_out_oldest_first_with_normalised_text() -> None:
    queue = CommentQueue()
    assert queue.submit("v1", "Ann", "  how much\n\tis   the lamp? ", now=0.0) is Verdict.ACCEPTED
    assert queue.submit("v2", "Bo", "is the bottle in stock?", now=1.0) is Verdict.ACCEPTED
    assert len(queue) == 2
    first = queue.pop(now=2.0)
    second = queue.pop(now=2.0)
    assert first is not None and second is not None
    assert (first.viewer_id, first.name, first.text, first.received_at) == (
        "v1",
        "Ann",
        "how much is the lamp?",
        0.0,
    )
    assert (second.viewer_id, second.text) == ("v2", "is the bottle in stock?")
    assert queue.pop(now=2.0) is None and len(queue) == 0


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000"])
def test_empty_comments_are_refused(text: str) -> None:
    queue = CommentQueue()
    assert queue.submit("v1", "Ann", text, now=0.0) is Verdict.EMPTY
    assert len(queue) == 0


def test_comments_over_the_length_limit_are_refused() -> None:
    queue = CommentQueue()
    assert queue.submit("v1", "Ann", "x" * (MAX_COMMENT_CHARS + 1), now=0.0) is Verdict.TOO_LONG
    assert len(queue) == 0
    assert MAX_COMMENT_CHARS == 300
    assert queue.submit("v1", "Ann", "x" * MAX_COMMENT_CHARS, now=0.0) is Verdict.ACCEPTED
    # Whitespace runs are collapsed before measuring: padding does not make a comment too long.
    padded = "a" + " " * (2 * MAX_COMMENT_CHARS) + "b"
    assert queue.submit("v2", "Bo", padded, now=0.0) is Verdict.ACCEPTED


def test_rate_limit_allows_a_burst_then_one_comment_per_refill() -> None:
    queue = CommentQueue()
    assert (RATE_BURST, RATE_REFILL_S) == (3, 4.0)
    verdicts = [queue.submit("v1", "Ann", f"question {i}", now=10.0) for i in range(RATE_BURST + 2)]
    assert verdicts == [Verdict.ACCEPTED] * RATE_BURST + [Verdict.RATE_LIMITED] * 2
    # Other viewers have their own bucket.
    assert queue.submit("v2", "Bo", "me too", now=10.0) is Verdict.ACCEPTED
    # Just before a refill: still limited. At the refill: exactly one more.
    assert queue.submit("v1", "Ann", "again", now=10.0 + RATE_REFILL_S * 0.9) is Verdict.RATE_LIMITED
    assert queue.submit("v1", "Ann", "again", now=10.0 + RATE_REFILL_S * 1.01) is Verdict.ACCEPTED
    assert queue.submit("v1", "Ann", "again", now=10.0 + RATE_REFILL_S * 1.02) is Verdict.RATE_LIMITED
    # After a long quiet spell the bucket is full again, but never holds more than the burst.
    later = 10.0 + 100 * RATE_REFILL_S
    verdicts = [queue.submit("v1", "Ann", f"later {i}", now=later) for i in range(RATE_BURST + 1)]
    assert verdicts == [Verdict.ACCEPTED] * RATE_BURST + [Verdict.RATE_LIMITED]


def test_refused_comments_do_not_use_up_the_rate_limit() -> None:
    queue = CommentQueue()
    for _ in range(10):
        assert queue.submit("v1", "Ann", "   ", now=0.0) is Verdict.EMPTY
        assert queue.submit("v1", "Ann", "y" * 1000, now=0.0) is Verdict.TOO_LONG
    assert queue.submit("v1", "Ann", "a real question", now=0.0) is Verdict.ACCEPTED


def test_comments_expire_after_their_time_to_live() -> None:
    queue = CommentQueue()
    gone: list[tuple[str, str]] = []
    queue.on_drop = lambda comment, why: gone.append((comment.text, why))  # the store records it
    assert COMMENT_TTL_S == 90.0
    queue.submit("v1", "Ann", "stale question", now=0.0)
    queue.submit("v2", "Bo", "fresh question", now=50.0)
    queue.submit("v3", "Cy", "edge question", now=60.0)
    fresh = queue.pop(now=COMMENT_TTL_S + 1.0)
    assert fresh is not None and fresh.text == "fresh question", "the 91 s old comment was skipped"
    edge = queue.pop(now=60.0 + COMMENT_TTL_S)
    assert edge is not None and edge.text == "edge question", "exactly 90 s old is still answered"
    queue.submit("v4", "Di", "too late", now=100.0)
    assert queue.pop(now=100.0 + COMMENT_TTL_S + 0.1) is None
    assert len(queue) == 0
    assert gone == [("stale question", "expired"), ("too late", "expired")]


def test_queue_is_capped_and_drops_the_oldest() -> None:
    queue = CommentQueue()
    dropped: list[str] = []
    queue.on_drop = lambda comment, why: dropped.append(f"{comment.text}: {why}")
    total = QUEUE_CAPACITY + 5
    for i in range(total):
        assert queue.submit(f"viewer-{i}", "x", f"question {i}", now=0.0) is Verdict.ACCEPTED
    assert len(queue) == QUEUE_CAPACITY
    assert dropped == [f"question {i}: dropped" for i in range(5)]
    texts = []
    while (comment := queue.pop(now=1.0)) is not None:
        texts.append(comment.text)
    assert texts == [f"question {i}" for i in range(total - QUEUE_CAPACITY, total)]


def test_names_are_trimmed_and_default_to_viewer() -> None:
    queue = CommentQueue()
    queue.submit("v1", "", "hello there", now=0.0)
    queue.submit("v2", "N" * 100, "hello again", now=0.0)
    first, second = queue.pop(now=0.0), queue.pop(now=0.0)
    assert first is not None and first.name == "viewer"
    assert second is not None and second.name == "N" * 40


async def test_wait_wakes_when_a_comment_is_submitted() -> None:
    queue = CommentQueue()
    waiter = asyncio.create_task(queue.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done(), "nothing to read yet"
    queue.submit("v1", "Ann", "   ", now=0.0)  # refused: no wake-up
    await asyncio.sleep(0.01)
    assert not waiter.done()
    queue.submit("v1", "Ann", "how much is it?", now=0.0)
    await asyncio.wait_for(waiter, 1)
    # With a comment waiting, wait() returns at once; after it is taken, wait() blocks again.
    await asyncio.wait_for(queue.wait(), 1)
    assert queue.pop(now=0.0) is not None
    again = asyncio.create_task(queue.wait())
    await asyncio.sleep(0.01)
    assert not again.done()
    again.cancel()
    with pytest.raises(asyncio.CancelledError):
        await again


async def test_wait_does_not_wake_for_comments_that_expired() -> None:
    queue = CommentQueue()
    queue.submit("v1", "Ann", "old question", now=0.0)
    assert queue.pop(now=COMMENT_TTL_S + 10) is None
    waiter = asyncio.create_task(queue.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
