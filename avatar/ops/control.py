"""What an operator can do to a running show: pause, mute, inject a line, pin or skip a question,
switch product, trigger a promotion.

The console only changes this state; the host loop reads it between lines (see
``avatar.modes.live``), so an operator action never races the speech pipeline. Pause and mute cut
the line being spoken at once through ``on_cut``; the programme keeps running (idle animation,
silence) while paused.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from avatar.brain.triage import Comment

MAX_OPERATOR_LINES: Final = 10  # injected lines waiting; more are refused (the operator sees why)
MAX_LINE_CHARS: Final = 500


@dataclass(frozen=True)
class OperatorLine:
    """A line the operator asked the host to say next (``source`` names why, for the records)."""

    text: str
    product_id: str | None = None
    source: str = "operator"


def comment_key(comment: Comment) -> str:
    """A stable id for a waiting comment (the console pins and skips by it)."""
    raw = f"{comment.viewer_id}|{comment.received_at!r}|{comment.text}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


class Control:
    """Operator state of one show."""

    def __init__(self, on_cut: Callable[[], None] = lambda: None) -> None:
        self.on_cut = on_cut  # stops the line being spoken (the show wires speaker.interrupt here)
        self.paused = False
        self.muted = False
        self.pinned: Comment | None = None
        self.jump_to: str | None = None  # product to switch to before the next line
        self._lines: collections.deque[OperatorLine] = collections.deque()
        self._changed = asyncio.Event()

    @property
    def live(self) -> bool:
        """The host may speak."""
        return not (self.paused or self.muted)

    @property
    def lines_waiting(self) -> int:
        """Injected lines not yet spoken."""
        return len(self._lines)

    def set_paused(self, paused: bool) -> None:
        """Pause (the host stops mid-sentence) or resume (from the interrupted sentence)."""
        self.paused = paused
        if paused:
            self.on_cut()
        self._changed.set()

    def set_muted(self, muted: bool) -> None:
        """Emergency mute: silence at once, and the host stops until unmuted."""
        self.muted = muted
        if muted:
            self.on_cut()
        self._changed.set()

    def inject(self, line: OperatorLine) -> None:
        """Queue a line for the host to say next; ValueError when it cannot be taken."""
        if not line.text.strip():
            raise ValueError("the line is empty")
        if len(line.text) > MAX_LINE_CHARS:
            raise ValueError(f"the line is longer than {MAX_LINE_CHARS} characters")
        if len(self._lines) >= MAX_OPERATOR_LINES:
            raise ValueError(f"{MAX_OPERATOR_LINES} lines are already waiting")
        self._lines.append(line)
        self.on_cut()  # the scripted line yields now (it resumes afterwards)
        self._changed.set()

    def switch_product(self, product_id: str) -> None:
        """Move the run of show to ``product_id`` (the current line is cut)."""
        self.jump_to = product_id
        self.on_cut()
        self._changed.set()

    def pin(self, comment: Comment) -> None:
        """Answer ``comment`` next (already taken out of the queue by the caller)."""
        self.pinned = comment
        self._changed.set()

    def take_line(self) -> OperatorLine | None:
        """The next injected line, if any."""
        return self._lines.popleft() if self._lines else None

    def take_pinned(self) -> Comment | None:
        """The pinned comment, once."""
        comment, self.pinned = self.pinned, None
        return comment

    def take_jump(self) -> str | None:
        """The product to switch to, once."""
        product, self.jump_to = self.jump_to, None
        return product

    async def wait_live(self, beat: Callable[[], None], poll_s: float = 1.0) -> None:
        """Return once the host may speak; calls ``beat`` while waiting (the supervisor sees life)."""
        while not self.live:
            beat()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), poll_s)
