"""Viewers per interval from joins and leaves, not from point samples.

A sample once a minute misses everyone who came and went between two samples (five viewers
watching for 40 seconds show as 0). Each viewer session's join and leave are recorded instead, and
every interval reports its peak and time-weighted average concurrent viewers and how many distinct
viewers it saw. A ``start`` event (the show started) closes sessions a crash left open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

START = "start"
JOIN = "join"
LEAVE = "leave"


def watch(present: set[str], viewer: str, event: str) -> None:
    """Who is watching after ``viewer``'s ``event`` (a start empties the room)."""
    if event == START:
        present.clear()
    elif event == JOIN:
        present.add(viewer)
    elif event == LEAVE:
        present.discard(viewer)


def audience_series(
    events: Iterable[tuple[float, str, str]], since: float, until: float, bucket_s: float
) -> list[dict[str, Any]]:
    """``[{t, max, avg, unique}]`` per bucket in ``[since, until)`` from ``(ts, viewer, event)``
    rows ordered by time (events before ``since`` set who is watching when the window opens)."""
    present: set[str] = set()
    buckets: dict[float, dict[str, Any]] = {}

    def bucket(ts: float) -> dict[str, Any]:
        start = int(ts // bucket_s) * bucket_s
        if start not in buckets:
            buckets[start] = {"t": start, "max": len(present), "area": 0.0, "unique": set(present)}
        return buckets[start]

    def advance(a: float, b: float) -> None:
        """Account the viewers present from ``a`` to ``b`` (bucket by bucket)."""
        while a < b:
            current = bucket(a)
            end = min(b, current["t"] + bucket_s)
            current["area"] += len(present) * (end - a)
            current["max"] = max(current["max"], len(present))
            current["unique"] |= present
            a = end

    clock = since
    for ts, viewer, event in events:
        if ts >= until:
            break
        if ts > clock:
            advance(clock, ts)
            clock = ts
        watch(present, viewer, event)
        if ts >= since:
            current = bucket(ts)
            current["max"] = max(current["max"], len(present))
            current["unique"] |= present
    advance(clock, until)
    series = []
    for start in sorted(buckets):
        item = buckets[start]
        span = min(bucket_s, until - start) if until > start else bucket_s
        if not item["unique"]:
            continue
        series.append(
            {
                "t": start,
                "max": item["max"],
                "avg": round(item["area"] / span, 3) if span > 0 else 0.0,
                "unique": len(item["unique"]),
            }
        )
    return series
