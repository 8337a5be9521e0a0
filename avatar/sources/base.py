"""The one interface every comment source implements, and the comment it delivers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PlatformComment:
    """One chat message from a platform, as its source read it.

    ``user_id`` is the platform's stable id of the author (Twitch user-id, YouTube channel id, the
    ingest caller's id): rate limits and memory key on ``platform:user_id``, never on the name.
    """

    platform: str  # "twitch", "youtube", or the ingest source's name ("douyin", "shop-bot")
    user_id: str
    name: str
    text: str
    delivered_at: float  # time.perf_counter() when the source had the whole message


Emit = Callable[[PlatformComment], None]
"""How a source hands over a comment (called on the event loop; never blocks)."""


class SourceError(Exception):
    """A source cannot go on (bad credentials, network down, the platform refused us).

    The hub logs ``str(error)``, shows it in /healthz and retries after ``retry_after_s`` (or its
    own backoff when None). ``fatal``: retrying cannot help (e.g. the chat no longer exists).
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.fatal = fatal


class ChatEnded(Exception):  # noqa: N818 - an outcome, not a failure: the platform ended the chat
    """The platform says the chat is over (the stream went offline): the source stops for good."""


class CommentSource(Protocol):
    """A running connection to one platform's chat.

    ``run`` connects, emits every comment it reads and returns or raises only when the connection is
    gone: :class:`ChatEnded` when the chat is over, :class:`SourceError` (or any exception) when it
    failed and should be retried. It must release what it opened when cancelled. ``malformed``
    counts messages it skipped because they could not be read.
    """

    name: str  # unique within a show, e.g. "twitch:#shop" (shown in /healthz and the console)
    platform: str
    malformed: int

    async def run(self, emit: Emit) -> None:
        """Read comments until the connection ends (see the class docstring)."""
        ...
