"""Scripted fakes shared by the unit tests: a voice engine, voices and speakers built on it, a pump.

The fake engine speaks a tone whose length is proportional to the text, so a test can tell from the
audio alone how much of which sentence was played; it can be made slow (to have synthesis in flight
when something happens) or made to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatar.engines.tts.base import TTSCapabilities, TTSError
from avatar.engines.tts.text import normalise_for_speech
from avatar.engines.tts.voices import VoiceSpec
from avatar.media.audio import SAMPLE_RATE_HZ, Pcm
from avatar.media.playout import Playout
from avatar.speaker import PAUSE_AFTER_SENTENCE_S, Speaker, Voice

REPO = Path(__file__).resolve().parents[1]
DEMO_SCENE = REPO / "scenes" / "demo"

TONE_HZ = 220.0
TONE_AMPLITUDE = 8_000


def tone(seconds: float, rate: int = SAMPLE_RATE_HZ, hz: float = TONE_HZ) -> Pcm:
    """A sine of ``seconds`` at ``rate``: audibly not silence."""
    t = np.arange(round(seconds * rate)) / rate
    pcm: Pcm = (TONE_AMPLITUDE * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return pcm


class FakeTTSEngine:
    """A :class:`~avatar.engines.tts.base.TTSEngine` that hums instead of speaking.

    Each character of text gives ``seconds_per_char`` of tone. ``delay_s`` blocks the worker thread
    per sentence like a real model does; ``fail`` makes every call raise, or only calls whose text
    it returns True for.
    """

    def __init__(
        self,
        *,
        seconds_per_char: float = 0.004,
        delay_s: float = 0.0,
        fail: bool | Callable[[str], bool] = False,
        sample_rate: int = SAMPLE_RATE_HZ,
        language: str = "en",
        name: str = "fake",
    ) -> None:
        self.name = name
        self.capabilities = TTSCapabilities(sample_rate=sample_rate, languages=(language,))
        self.seconds_per_char = seconds_per_char
        self.delay_s = delay_s
        self.fail = fail
        self.calls: list[str] = []  # texts asked for, in order (failed calls included)
        self.finished: list[str] = []  # texts whose synthesis returned audio
        self.in_flight = threading.Event()  # set while a call is running on the worker thread
        self._lock = threading.Lock()

    def seconds_for(self, text: str) -> float:
        """Length of the tone for ``text`` (before the speaker's resampling and pause)."""
        return len(text) * self.seconds_per_char

    def synthesize(self, text: str) -> Pcm:
        with self._lock:
            self.calls.append(text)
        self.in_flight.set()
        try:
            if self.delay_s:
                time.sleep(self.delay_s)  # a model blocking its own worker thread, never the loop
            failing = self.fail(text) if callable(self.fail) else self.fail
            if failing:
                raise TTSError(f"{self.name} was told to fail on {text!r}")
            pcm = tone(self.seconds_for(text), self.capabilities.sample_rate)
            with self._lock:
                self.finished.append(text)
            return pcm
        finally:
            self.in_flight.clear()


def fake_voice(engine: FakeTTSEngine, *, name: str = "fake", language: str = "en") -> Voice:
    """A :class:`~avatar.speaker.Voice` around a fake engine (the spec is never loaded)."""
    spec = VoiceSpec(name, "espeak", language, "fake-model", 1.0, REPO / "voices" / f"{name}.yaml")
    return Voice(spec, engine=engine)


def fake_speaker(
    playout: Playout,
    engine: FakeTTSEngine | None = None,
    *,
    fallback: FakeTTSEngine | None = None,
) -> Speaker:
    """A speaker with one English fake voice (and a fake fallback voice when given)."""
    voice = fake_voice(engine or FakeTTSEngine())
    backup = fake_voice(fallback, name="fake-fallback") if fallback is not None else None
    return Speaker(playout, {"en": voice}, fallback=backup)


def sentence_seconds(engine: FakeTTSEngine, text: str, language: str = "en") -> float:
    """Seconds a sentence occupies on the playout: the tone for its spoken form plus the pause."""
    return engine.seconds_for(normalise_for_speech(text, language)) + PAUSE_AFTER_SENTENCE_S


@dataclass(frozen=True)
class PulledChunk:
    """One chunk the pump took from the playout, with what the playhead said about it."""

    pcm: Pcm
    turn_id: int | None
    text: str


@dataclass
class Pump:
    """Drains a playout in the background like the programme does, faster than real time.

    ``interval_s`` of wall time passes between chunks (20 ms of audio each); every chunk is kept so a
    test can check exactly what the audience would have heard.
    """

    playout: Playout
    interval_s: float = 0.002
    chunks: list[PulledChunk] = field(default_factory=list)
    paused: bool = False

    def pull_one(self) -> PulledChunk:
        pcm = self.playout.pull()
        playing = self.playout.now_playing
        chunk = PulledChunk(pcm, playing.turn_id, playing.text)
        self.chunks.append(chunk)
        return chunk

    async def run(self) -> None:
        while True:
            if not self.paused:
                self.pull_one()
            await asyncio.sleep(self.interval_s)

    def heard(self, turn_id: int) -> list[PulledChunk]:
        """Chunks that carried audio of ``turn_id``."""
        return [c for c in self.chunks if c.turn_id == turn_id]


@contextlib.asynccontextmanager
async def pumping(playout: Playout, interval_s: float = 0.002) -> AsyncIterator[Pump]:
    """Run a :class:`Pump` for the duration of the block."""
    pump = Pump(playout, interval_s)
    task = asyncio.create_task(pump.run())
    try:
        yield pump
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    """Yield to the loop until ``predicate()`` is truthy; fail naming ``what`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.001)
