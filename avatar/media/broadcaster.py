"""Fan-out of the one running programme to any number of viewers.

The programme is produced once, whether anyone watches or not; each viewer subscribes and gets its
own small bounded buffer. A viewer that stops reading loses its own oldest audio and sees only the
latest picture; it never slows the programme or the other viewers.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
from typing import Final

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

# 0.5 s of audio per viewer: enough to ride out a scheduling hiccup, small enough that a stuck
# viewer costs almost nothing.
AUDIO_BACKLOG_CHUNKS: Final = 25
AUDIO_TIME_BASE: Final = fractions.Fraction(1, 48_000)
VIDEO_TIME_BASE: Final = fractions.Fraction(1, 90_000)


class Subscription:
    """One viewer's view of the programme: a bounded audio backlog and a latest-only video slot."""

    def __init__(self, *, audience: bool = True) -> None:
        self.audience = audience  # False for internal consumers (shared encoders, egress): not a viewer
        self._audio: collections.deque[av.AudioFrame] = collections.deque(maxlen=AUDIO_BACKLOG_CHUNKS)
        self._audio_ready = asyncio.Event()
        self._video: av.VideoFrame | None = None
        self._video_ready = asyncio.Event()
        self.closed = False
        self.dropped_audio = 0

    def push_audio(self, frame: av.AudioFrame) -> None:
        if len(self._audio) == self._audio.maxlen:
            self.dropped_audio += 1
        self._audio.append(frame)
        self._audio_ready.set()

    def push_video(self, frame: av.VideoFrame) -> None:
        self._video = frame
        self._video_ready.set()

    async def next_audio(self) -> av.AudioFrame:
        while not self._audio:
            if self.closed:
                raise MediaStreamError
            self._audio_ready.clear()
            await self._audio_ready.wait()
        return self._audio.popleft()

    async def next_video(self) -> av.VideoFrame:
        while self._video is None:
            if self.closed:
                raise MediaStreamError
            self._video_ready.clear()
            await self._video_ready.wait()
        frame, self._video = self._video, None
        return frame

    def close(self) -> None:
        self.closed = True
        self._audio_ready.set()
        self._video_ready.set()


class Broadcaster:
    """Hands every produced frame to every current subscriber."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.last_video: av.VideoFrame | None = None

    @property
    def viewers(self) -> int:
        return sum(1 for subscription in self._subscriptions if subscription.audience)

    def subscribe(self, *, audience: bool = True) -> Subscription:
        """A new bounded view of the programme; ``audience=False`` for internal consumers."""
        subscription = Subscription(audience=audience)
        if self.last_video is not None:
            # A new viewer sees a picture at once instead of waiting for the next frame.
            subscription.push_video(self.last_video)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.close()
        self._subscriptions.discard(subscription)

    def publish_audio(self, frame: av.AudioFrame) -> None:
        for subscription in self._subscriptions:
            subscription.push_audio(frame)

    def publish_video(self, frame: av.VideoFrame) -> None:
        self.last_video = frame
        for subscription in self._subscriptions:
            subscription.push_video(frame)


class ProgrammeTrack(MediaStreamTrack):
    """An aiortc track that reads one viewer's subscription.

    It does no pacing of its own: frames arrive when the programme pump makes them, stamped with the
    programme's pts, so audio and video of every viewer share one clock.
    """

    def __init__(self, kind: str, broadcaster: Broadcaster, subscription: Subscription) -> None:
        super().__init__()
        self.kind = kind
        self._broadcaster = broadcaster
        self._subscription = subscription

    async def recv(self) -> av.AudioFrame | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.kind == "audio":
            return await self._subscription.next_audio()
        return await self._subscription.next_video()

    def stop(self) -> None:
        super().stop()
        self._broadcaster.unsubscribe(self._subscription)
