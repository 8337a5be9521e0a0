"""Runs a show's comment sources: start with the show, retry with backoff, report health.

A source that fails (bad credentials, network down, a platform error) is logged, shown in
/healthz and the console with its last error, and started again after a growing, jittered delay;
the other sources and the show go on. Every comment goes to ``submit`` (the show's triage), keyed
``platform:user_id`` so rate limits and memory are per platform user.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from avatar.sources.base import ChatEnded, CommentSource, PlatformComment, SourceError

log = logging.getLogger(__name__)

BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 60.0
HEALTHY_AFTER_S: Final = 30.0  # a connection that lasted this long resets the backoff
LATENCY_SAMPLES: Final = 1000
# Triage reads each comment (about 1.5-3 ms on a loaded 2-core machine): all platforms together may
# hand it this many a second, so a flood cannot take the CPU the stream needs (500 offered a second:
# 24.4 fps against 24.8 without, at 100 a second 22.6). The host answers one every few seconds, so
# 30 a second is still far more than it can take up; the queue keeps the most urgent.
TOTAL_RATE_PER_S: Final = 30.0
TOTAL_BURST: Final = 100.0
SHED: Final = "shed"
"""The verdict of a comment dropped because all sources together were over :data:`TOTAL_RATE_PER_S`."""

Submit = Callable[[str, str, str, str], object]
"""``submit(viewer_id, name, text, platform)``: the show's chat triage (returns its verdict)."""


@dataclass
class SourceState:
    """What /healthz and the console show for one source."""

    platform: str
    state: str = "starting"  # starting, running, retrying, ended, stopped
    comments: int = 0  # delivered by the platform
    verdicts: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: int = 0
    last_error: str | None = None
    retry_in_s: float | None = None


class SourceHub:
    """The comment sources of one show, each in its own supervised task."""

    def __init__(
        self,
        sources: Sequence[CommentSource],
        submit: Submit,
        *,
        rate_per_s: float = TOTAL_RATE_PER_S,
        burst: float = TOTAL_BURST,
    ) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"comment sources must have different names, got {names}")
        self.sources = list(sources)
        self.submit = submit
        self.states = {source.name: SourceState(source.platform) for source in sources}
        self.latencies_s: collections.deque[float] = collections.deque(maxlen=LATENCY_SAMPLES)
        self._tasks: list[asyncio.Task[None]] = []
        self.rate_per_s, self.burst = rate_per_s, burst
        self._tokens, self._updated = burst, time.monotonic()

    def start(self) -> None:
        """Start every source (call on the running event loop)."""
        for source in self.sources:
            self._tasks.append(asyncio.create_task(self._supervise(source), name=f"source {source.name}"))

    async def stop(self) -> None:
        """Stop every source and wait for it to release its connection."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for state in self.states.values():
            if state.state != "ended":
                state.state = "stopped"

    def _deliver(self, source: CommentSource, comment: PlatformComment) -> None:
        self.deliver(source, comment)

    def deliver(self, source: CommentSource, comment: PlatformComment) -> object:
        """One comment from ``source`` into the show's triage; its verdict is counted."""
        state = self.states[source.name]
        state.comments += 1
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        if self._tokens < 1.0:
            state.verdicts[SHED] += 1
            return SHED
        self._tokens -= 1.0
        viewer_id = f"{comment.platform}:{comment.user_id}"[:120]
        verdict = self.submit(viewer_id, comment.name, comment.text, comment.platform)
        self.latencies_s.append(time.perf_counter() - comment.delivered_at)
        state.verdicts[str(verdict)] += 1
        return verdict

    async def _supervise(self, source: CommentSource) -> None:
        state = self.states[source.name]
        delay = BACKOFF_FIRST_S
        while True:
            state.state, state.retry_in_s = "running", None
            started = time.monotonic()
            try:
                await source.run(lambda comment: self._deliver(source, comment))
                raise SourceError("the connection closed")
            except ChatEnded as ended:
                log.info("comment source %s: the chat ended (%s)", source.name, ended)
                state.state, state.last_error = "ended", str(ended) or "the chat ended"
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure of one source: retried, never the show's end
                message = str(error) or type(error).__name__
                state.failures += 1
                state.last_error = message[:300]
                if isinstance(error, SourceError) and error.fatal:
                    log.error("comment source %s stopped: %s", source.name, message)
                    state.state = "failed"
                    return
                if time.monotonic() - started >= HEALTHY_AFTER_S:
                    delay = BACKOFF_FIRST_S
                wait = delay * random.uniform(0.8, 1.2)  # jitter: many shows do not retry in step
                if isinstance(error, SourceError) and error.retry_after_s is not None:
                    wait = max(wait, error.retry_after_s)
                log.warning("comment source %s failed (%s); retrying in %.1f s", source.name, message, wait)
                state.state, state.retry_in_s = "retrying", round(wait, 1)
                delay = min(BACKOFF_MAX_S, delay * 2)
                await asyncio.sleep(wait)

    @property
    def healthy(self) -> bool:
        """No source is failing (ended sources are not failures)."""
        return all(s.state in {"running", "ended", "stopped", "starting"} for s in self.states.values())

    def health(self) -> dict[str, Any]:
        """Per source: state, counts, last error; and the delivery latency p50 in milliseconds."""
        malformed = {source.name: source.malformed for source in self.sources}
        latency = statistics.median(self.latencies_s) * 1000 if self.latencies_s else None
        return {
            "latency_p50_ms": round(latency, 2) if latency is not None else None,
            "sources": {
                name: {
                    "platform": s.platform,
                    "state": s.state,
                    "comments": s.comments,
                    "accepted": s.verdicts.get("accepted", 0),
                    "refused": sum(n for v, n in s.verdicts.items() if v != "accepted"),
                    "malformed": malformed[name],
                    "failures": s.failures,
                    "last_error": s.last_error,
                    "retry_in_s": s.retry_in_s,
                }
                for name, s in self.states.items()
            },
        }
