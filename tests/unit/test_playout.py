"""The playout is the master clock: what it reports as played is what the audience heard."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from avatar.media.playout import Playout


def tone(seconds: float, amplitude: int = 8000) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


async def test_silence_when_empty_and_pts_advance() -> None:
    playout = Playout()
    first = playout.pull()
    second = playout.pull()
    assert first.shape == (CHUNK_SAMPLES,) and not first.any() and not second.any()
    assert playout.now_playing.samples_played == 2 * CHUNK_SAMPLES
    assert playout.now_playing.turn_id is None


async def test_future_resolves_only_when_fully_played() -> None:
    playout = Playout()
    future = playout.enqueue(tone(0.1), turn_id=1, text="hello")
    for _ in range(4):
        playout.pull()
    await asyncio.sleep(0)
    assert not future.done(), "0.08 s of a 0.1 s utterance played: not done yet"
    playout.pull()
    report = await asyncio.wait_for(future, 1)
    assert report.completed and report.seconds == pytest.approx(0.1) and report.text == "hello"


async def test_audio_is_played_back_exactly() -> None:
    playout = Playout()
    pcm = tone(0.05)
    playout.enqueue(pcm, turn_id=1)
    out = np.concatenate([playout.pull() for _ in range(3)])
    assert np.array_equal(out[: pcm.size], pcm)
    assert not out[pcm.size :].any()


async def test_clear_reports_position_played_and_drops_the_rest() -> None:
    started: list[tuple[int, str]] = []
    playout = Playout(on_start=lambda turn, text: started.append((turn, text)))
    first = playout.enqueue(tone(1.0), turn_id=3, text="first sentence")
    second = playout.enqueue(tone(1.0), turn_id=3, text="second sentence")
    for _ in range(10):  # 0.2 s
        playout.pull()
    assert playout.now_playing.text == "first sentence"
    assert playout.now_playing.seconds_into == pytest.approx(0.2)
    reports = playout.clear(before_turn=4)
    assert [r.seconds for r in reports] == [pytest.approx(0.2), 0.0]
    assert not any(r.completed for r in reports)
    assert (await first).seconds == pytest.approx(0.2) and (await second).seconds == 0.0
    assert playout.buffered_seconds == 0.0
    # The cut fades out within one chunk, then silence.
    faded = playout.pull()
    assert np.abs(faded[:240]).max() > 0 and not faded[240:].any()
    assert not playout.pull().any()
    assert started == [(3, "first sentence")]


async def test_stale_turn_is_refused_after_clear() -> None:
    playout = Playout()
    playout.clear(before_turn=5)
    stale = playout.enqueue(tone(0.5), turn_id=4, text="old")
    assert stale.done() and not stale.result().completed
    assert playout.buffered_seconds == 0.0
    fresh = playout.enqueue(tone(0.5), turn_id=5, text="new")
    assert not fresh.done() and playout.buffered_seconds == pytest.approx(0.5)


async def test_level_follows_loudness() -> None:
    playout = Playout()
    playout.enqueue(tone(0.04, amplitude=12000), turn_id=1)
    playout.pull()
    loud = playout.now_playing.level
    playout.pull()
    playout.pull()
    assert loud > 0.5 and playout.now_playing.level == 0.0
