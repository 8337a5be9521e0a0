"""The programme pump: the always-on loop that turns the playout into a paced audio/video stream.

Every 20 ms tick it pulls one chunk of audio from the playout (the master clock) and, when a video
frame is due, asks the renderer for a picture of that same instant, off the event loop. Ticks are
scheduled against an absolute timeline (``start + n * 20 ms``), never by accumulating sleeps, and
pts come from sample and frame counts, so the stream neither drifts nor plays too fast.

It runs whether or not anyone watches: viewers attach to the broadcaster it feeds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import av
import numpy as np
import numpy.typing as npt

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from avatar.media.broadcaster import AUDIO_TIME_BASE, VIDEO_TIME_BASE, Broadcaster
from avatar.media.clock import Clock
from avatar.media.playout import NowPlaying, Playout

log = logging.getLogger(__name__)

VIDEO_CLOCK_HZ: Final = 90_000
# Further behind than this, the pump stops trying to catch up and restarts its timeline: bursts of
# catch-up audio would only overflow the viewers' buffers.
MAX_LAG_S: Final = 0.5

RenderFn = Callable[[float, NowPlaying], npt.NDArray[np.uint8]]
"""Renders the picture for programme time t (seconds) and playhead; returns an I420 image."""


@dataclass
class PumpStats:
    """Counters an operator or the bench reads."""

    ticks: int = 0
    frames: int = 0  # video frames published
    dropped_frames: int = 0  # due while the previous render was still running
    resyncs: int = 0  # times the pump fell more than MAX_LAG_S behind
    render_ms_total: float = 0.0


class Programme:
    """Drives playout, renderer and broadcaster on one clock."""

    def __init__(
        self,
        playout: Playout,
        render: RenderFn,
        broadcaster: Broadcaster,
        clock: Clock,
        *,
        fps: int = 25,
        render_executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.playout = playout
        self.broadcaster = broadcaster
        self.clock = clock
        self.fps = fps
        self.stats = PumpStats()
        self._render = render
        self._executor = render_executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="render"
        )
        self._render_task: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        # Kept across runs: a pump restarted by the supervisor continues the video timeline
        # (pts never go backwards for viewers already watching).
        self._frame_index = 0
        self._next_frame_at = 0.0
        self.muted = False  # emergency mute: silence goes out, the playout still advances
        self.on_render: Callable[[float], None] | None = None  # render seconds, for metrics

    @property
    def seconds(self) -> float:
        """Programme time: seconds of audio produced so far."""
        return self.playout.now_playing.samples_played / SAMPLE_RATE_HZ

    async def run(self) -> None:
        """Produce the programme until cancelled."""
        tick_s = CHUNK_SAMPLES / SAMPLE_RATE_HZ
        frame_s = 1.0 / self.fps
        start = self.clock.now()
        self._started_at = start
        tick = 0  # ticks since `start` (reset on resync)
        try:
            while True:
                deadline = start + tick * tick_s
                await self.clock.sleep_until(deadline)
                if self.clock.now() - deadline > MAX_LAG_S:
                    self.stats.resyncs += 1
                    log.warning("programme fell %.2f s behind; resyncing", self.clock.now() - deadline)
                    start, tick = self.clock.now(), 0
                pts = self.playout.now_playing.samples_played
                pcm = self.playout.pull()
                if self.muted:
                    pcm = np.zeros_like(pcm)
                self.broadcaster.publish_audio(_audio_frame(pcm, pts))
                self.stats.ticks += 1
                tick += 1
                programme_t = (pts + CHUNK_SAMPLES) / SAMPLE_RATE_HZ
                if programme_t >= self._next_frame_at:
                    self._start_render(self._frame_index, self._next_frame_at)
                    self._frame_index += 1
                    self._next_frame_at = self._frame_index * frame_s
        finally:
            if self._render_task is not None:
                self._render_task.cancel()

    @property
    def rendering(self) -> bool:
        """A frame is being rendered right now."""
        return self._render_task is not None and not self._render_task.done()

    def restart_renderer(self, reason: str = "restarted") -> None:
        """Abandon a hung render thread and render on a fresh one (the supervisor calls this)."""
        log.error("renderer %s; rendering on a fresh thread", reason)
        if self._render_task is not None:
            self._render_task.cancel()
            self._render_task = None
        old = self._executor
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Release the render thread (after :meth:`run` was cancelled)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start_render(self, index: int, t: float) -> None:
        if self._render_task is not None and not self._render_task.done():
            self.stats.dropped_frames += 1
            return
        self._render_task = asyncio.create_task(self._render_frame(index, t, self.playout.now_playing))

    async def _render_frame(self, index: int, t: float, playing: NowPlaying) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            image = await loop.run_in_executor(self._executor, self._render, t, playing)
        except Exception:  # a bad frame must not stop the stream; the last picture stays up
            log.exception("render failed at t=%.2f", t)
            return
        elapsed = loop.time() - began
        self.stats.render_ms_total += elapsed * 1000.0
        if self.on_render is not None:
            self.on_render(elapsed)
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = round(index * VIDEO_CLOCK_HZ / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self.broadcaster.publish_video(frame)
        self.stats.frames += 1


def _audio_frame(pcm: npt.NDArray[np.int16], pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE_HZ
    frame.pts = pts
    frame.time_base = AUDIO_TIME_BASE
    return frame
