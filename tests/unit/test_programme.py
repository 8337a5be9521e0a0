"""The programme pump on a driven clock: paced on an absolute timeline, pts from sample counts."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator

import numpy as np
import pytest

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from avatar.media.broadcaster import Broadcaster
from avatar.media.clock import ManualClock
from avatar.media.playout import NowPlaying, Playout
from avatar.media.programme import Programme

W, H = 64, 36


class Inline(concurrent.futures.Executor):
    """Runs renders synchronously so a driven clock sees them finish within the same tick."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


def render(t: float, playing: NowPlaying) -> np.ndarray:
    image = np.zeros((H * 3 // 2, W), dtype=np.uint8)
    image[:] = min(255, int(playing.level * 255))
    return image


@pytest.fixture
async def running() -> AsyncIterator[tuple[ManualClock, Programme, Broadcaster]]:
    clock = ManualClock()
    broadcaster = Broadcaster()
    programme = Programme(Playout(), render, broadcaster, clock, fps=25, render_executor=Inline())
    task = asyncio.create_task(programme.run())
    await asyncio.sleep(0)
    yield clock, programme, broadcaster
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_runs_with_zero_viewers_at_real_time_pace(
    running: tuple[ManualClock, Programme, Broadcaster],
) -> None:
    clock, programme, broadcaster = running
    assert broadcaster.viewers == 0
    await clock.advance(1.0)
    # One tick at t=0 plus one every 20 ms: 51 chunks in [0, 1.0], never more.
    assert programme.stats.ticks == 51
    assert programme.seconds == pytest.approx(51 * CHUNK_SAMPLES / SAMPLE_RATE_HZ)
    assert programme.stats.frames == 26  # 25 fps
    assert programme.stats.dropped_frames == 0


async def test_no_time_passes_no_audio(running: tuple[ManualClock, Programme, Broadcaster]) -> None:
    clock, programme, _ = running
    await clock.advance(0.0)
    ticks = programme.stats.ticks
    for _ in range(20):
        await asyncio.sleep(0)
    assert programme.stats.ticks == ticks, "the pump must wait for the clock, not spin"


async def test_viewer_gets_monotonic_pts_on_one_clock(
    running: tuple[ManualClock, Programme, Broadcaster],
) -> None:
    clock, _, broadcaster = running
    await clock.advance(0.3)  # the show is already running when the viewer joins
    subscription = broadcaster.subscribe()
    await clock.advance(0.41)
    audio = [await subscription.next_audio() for _ in range(20)]
    pts = [f.pts for f in audio]
    assert all(b - a == CHUNK_SAMPLES for a, b in zip(pts, pts[1:], strict=False))
    assert pts[0] > 0, "a late joiner continues the running timeline"
    assert all(f.sample_rate == SAMPLE_RATE_HZ and f.samples == CHUNK_SAMPLES for f in audio)
    video = await subscription.next_video()
    audio_seconds = float(audio[-1].pts * audio[-1].time_base)
    video_seconds = float(video.pts * video.time_base)
    assert abs(audio_seconds - video_seconds) < 0.06, "audio and video stamped from the same clock"
    assert (video.width, video.height) == (W, H)


async def test_slow_viewer_is_bounded_and_does_not_stall_the_show(
    running: tuple[ManualClock, Programme, Broadcaster],
) -> None:
    clock, programme, broadcaster = running
    stuck = broadcaster.subscribe()  # never reads
    await clock.advance(5.0)
    assert programme.stats.ticks == 251
    assert stuck.dropped_audio > 0
    assert len([await stuck.next_audio() for _ in range(25)]) == 25
    broadcaster.unsubscribe(stuck)
    assert broadcaster.viewers == 0


async def test_mouth_frame_tracks_the_audio_being_played(
    running: tuple[ManualClock, Programme, Broadcaster],
) -> None:
    clock, programme, broadcaster = running
    subscription = broadcaster.subscribe()
    await clock.advance(0.1)
    loud = (12000 * np.sin(np.arange(SAMPLE_RATE_HZ // 5) / 3.0)).astype(np.int16)  # 0.2 s
    programme.playout.enqueue(loud, turn_id=1, text="hi")
    await clock.advance(0.1)
    frame = await subscription.next_video()
    assert frame.to_ndarray()[0, 0] > 100, "the frame drawn while speech plays sees its loudness"
    await clock.advance(0.4)
    frame = await subscription.next_video()
    assert frame.to_ndarray()[0, 0] == 0, "silence again: mouth closed"
