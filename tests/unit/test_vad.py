"""The streaming VAD segmenter on synthetic audio with a loudness-based fake detector."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.listen.vad import WINDOW_SAMPLES, VADConfig, VADSegmenter

RATE = 16_000


class LoudIsSpeech:
    """A fake detector: a window is speech when it is loud."""

    def __init__(self) -> None:
        self.windows = 0
        self.resets = 0

    def __call__(self, window: np.ndarray) -> float:
        assert window.shape == (WINDOW_SAMPLES,)
        self.windows += 1
        return 1.0 if float(np.max(np.abs(window))) > 0.1 else 0.0

    def reset(self) -> None:
        self.resets += 1


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def feed_in_chunks(segmenter: VADSegmenter, audio: np.ndarray, chunk: int = 320) -> list:
    out = []
    for i in range(0, audio.size, chunk):
        out += segmenter.feed(audio[i : i + chunk])
    return out


def test_one_utterance_after_enough_silence() -> None:
    segmenter = VADSegmenter(LoudIsSpeech())
    utterances = feed_in_chunks(segmenter, np.concatenate([quiet(1.0), tone(1.0), quiet(0.6)]))
    assert len(utterances) == 1
    u = utterances[0]
    # starts at the speech minus the 0.2 s pad, ends at the speech plus the pad
    assert u.start == pytest.approx(0.8, abs=0.05)
    assert u.end == pytest.approx(2.2, abs=0.05)
    assert u.seconds == pytest.approx(1.4, abs=0.05)
    assert float(np.max(np.abs(u.audio))) > 0.4
    assert not segmenter.speaking


def test_short_pause_keeps_one_utterance_and_silence_ends_it() -> None:
    segmenter = VADSegmenter(LoudIsSpeech())
    audio = np.concatenate([tone(0.5), quiet(0.2), tone(0.5)])
    assert feed_in_chunks(segmenter, audio) == []
    assert segmenter.speaking  # not enough silence yet
    utterances = feed_in_chunks(segmenter, quiet(0.5))
    assert len(utterances) == 1
    assert utterances[0].seconds == pytest.approx(1.2 + 0.2, abs=0.05)


def test_silence_and_clicks_make_no_utterance() -> None:
    segmenter = VADSegmenter(LoudIsSpeech())
    click = np.concatenate([quiet(1.0), tone(0.05), quiet(1.0)])
    assert feed_in_chunks(segmenter, np.concatenate([quiet(2.0), click])) == []
    assert segmenter.flush() is None


def test_long_speech_is_cut_at_the_maximum() -> None:
    segmenter = VADSegmenter(LoudIsSpeech(), VADConfig(max_utterance_s=2.0))
    utterances = feed_in_chunks(segmenter, np.concatenate([tone(5.0), quiet(0.6)]), chunk=4000)
    assert len(utterances) == 3
    assert all(u.seconds <= 2.0 + 1e-6 for u in utterances)
    assert sum(u.seconds for u in utterances) == pytest.approx(5.2, abs=0.1)


def test_flush_returns_the_open_utterance_and_resets() -> None:
    detector = LoudIsSpeech()
    segmenter = VADSegmenter(detector)
    assert feed_in_chunks(segmenter, tone(1.0)) == []
    utterance = segmenter.flush()
    assert utterance is not None and utterance.seconds == pytest.approx(1.0, abs=0.05)
    assert detector.resets == 1 and not segmenter.speaking


def test_any_chunk_size_gives_the_same_windows() -> None:
    audio = np.concatenate([quiet(0.5), tone(0.7), quiet(0.6)])
    results = []
    for chunk in (1, 100, 512, 960, 7000):
        detector = LoudIsSpeech()
        segmenter = VADSegmenter(detector)
        results.append([(u.start, u.end) for u in feed_in_chunks(segmenter, audio, chunk)])
        assert detector.windows == audio.size // WINDOW_SAMPLES
    assert all(r == results[0] for r in results) and len(results[0]) == 1


def test_bad_samples_are_rejected_without_losing_state() -> None:
    segmenter = VADSegmenter(LoudIsSpeech())
    feed_in_chunks(segmenter, tone(0.5))
    with pytest.raises(ValueError, match="NaN"):
        segmenter.feed(np.array([np.nan] * 600, dtype=np.float32))
    assert segmenter.speaking
    assert len(feed_in_chunks(segmenter, quiet(0.6))) == 1
