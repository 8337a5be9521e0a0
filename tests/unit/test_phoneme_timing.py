"""Phoneme timings from the voice engine to the playhead: Piper's alignments become timed phonemes,
and a voice that reports them has its phonemes carried by the speaker onto the playout, so the
mouth shapes the phoneme being heard.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from avatar.engines.tts.base import PhonemeTimedEngine, TimedSpeech
from avatar.engines.tts.piper_engine import timed_phonemes
from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ, Pcm
from avatar.media.playout import Playout
from avatar.speaker import PAUSE_AFTER_SENTENCE_S
from tests.fakes import FakeTTSEngine, fake_speaker

RATE = 22_050


def test_stress_goes_to_the_vowel_after_and_length_to_the_vowel_before() -> None:
    # Piper's own spelling of "mama": one code point per phoneme id, sentence markers around it.
    pairs = [
        ("^", 1280),
        ("m", 1024),
        ("ˈ", 1536),
        ("ɑ", 1280),
        ("ː", 1024),
        ("m", 1536),
        ("ɐ", 512),
        ("$", 2560),
    ]
    times = timed_phonemes(pairs, RATE)
    assert [p for _, p in times] == [" ", "m", "ɑ", "m", "ɐ", " "]
    starts = [s for s, _ in times]
    assert starts == sorted(starts)
    assert starts[1] == 1280 / RATE
    assert starts[2] == (1280 + 1024) / RATE, "the vowel starts where its stress mark did"
    assert starts[3] == (1280 + 1024 + 1536 + 1280 + 1024) / RATE, "and lasts through its length mark"


def test_punctuation_and_word_gaps_are_one_pause() -> None:
    pairs = [("^", 100), ("a", 100), (",", 100), (" ", 100), ("b", 100), (".", 100), ("$", 100)]
    times = timed_phonemes(pairs, 1000, offset_s=2.0)
    assert [p for _, p in times] == [" ", "a", " ", "b", " "]
    assert [s for s, _ in times] == pytest.approx([2.0, 2.1, 2.2, 2.4, 2.5])


class TimedFakeEngine(FakeTTSEngine):
    """A fake voice that reports phonemes: one per 0.1 s of its tone, cycling through ``phonemes``."""

    def __init__(self, phonemes: tuple[str, ...], **options: float) -> None:
        super().__init__(**options)
        self.phonemes = phonemes

    def synthesize_timed(self, text: str) -> TimedSpeech:
        pcm = self.synthesize(text)
        seconds = pcm.size / self.capabilities.sample_rate
        steps = round(seconds / 0.1)
        return TimedSpeech(pcm, tuple((i * 0.1, self.phonemes[i % len(self.phonemes)]) for i in range(steps)))


def test_the_timed_fake_is_a_phoneme_timed_engine() -> None:
    assert isinstance(TimedFakeEngine(("a",)), PhonemeTimedEngine)
    assert not isinstance(FakeTTSEngine(), PhonemeTimedEngine)


async def heard_phonemes(speaker_engine: FakeTTSEngine, text: str) -> list[tuple[Pcm, str | None]]:
    """Say ``text`` through a speaker on a real playout, pulling 20 ms at a time: (chunk, phoneme) heard."""
    playout = Playout()
    speaker = fake_speaker(playout, speaker_engine)
    heard: list[tuple[Pcm, str | None]] = []
    task = asyncio.create_task(speaker.say(text))
    try:
        for _ in range(2000):  # bounded: 40 s of audio at most
            if task.done():
                break
            chunk = playout.pull()
            heard.append((chunk, playout.now_playing.phoneme))
            await asyncio.sleep(0)
        await asyncio.wait_for(task, 5)
    finally:
        speaker.close()
    return heard


async def test_the_speaker_carries_the_engine_timings_to_the_playhead() -> None:
    engine = TimedFakeEngine(("m", "a"), seconds_per_char=0.05)
    heard = await heard_phonemes(engine, "Hello there.")  # 12 characters: 0.6 s of tone
    sounding = [p for pcm, p in heard if np.abs(pcm).max() > 0]
    assert len(sounding) >= 25
    # 0.1 s per phoneme = 5 chunks of 20 ms each, alternating, in step with the audio.
    assert sounding[:30] == (["m"] * 5 + ["a"] * 5) * 3
    # The pause the speaker adds after the sentence is silent and keeps the last phoneme's label
    # only until the utterance ends.
    pause_chunks = round(PAUSE_AFTER_SENTENCE_S * SAMPLE_RATE_HZ / CHUNK_SAMPLES)
    assert len(heard) >= len(sounding) + pause_chunks - 1


async def test_a_voice_without_timings_leaves_the_phoneme_empty() -> None:
    heard = await heard_phonemes(FakeTTSEngine(seconds_per_char=0.05), "Hello there.")
    assert any(np.abs(pcm).max() > 0 for pcm, _ in heard)
    assert all(p is None for _, p in heard), "the lips then follow the spectrum"
