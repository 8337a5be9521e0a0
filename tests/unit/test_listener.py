"""The per-stream listener with a fake recogniser and a fake detector."""

from __future__ import annotations

import asyncio

import numpy as np

from avatar.engines.asr.base import ASRError, Transcript
from avatar.listen.listener import Listener, SharedASR
from tests.unit.test_vad import LoudIsSpeech, quiet, tone


class FakeASR:
    """Answers with the utterance length; can be held busy until released."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = asyncio.Event()
        self.release.set()
        self.running = 0

    @property
    def busy(self) -> bool:
        return self.running > 0

    async def transcribe(self, audio: np.ndarray) -> str:
        self.calls.append(audio.size)
        self.running += 1
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return f"{audio.size / 16000:.1f} s"


def to_48k_pcm(samples: np.ndarray) -> np.ndarray:
    return (np.repeat(samples, 3) * 32767).astype(np.int16)


async def test_speech_gives_interim_then_final_through_the_resampler() -> None:
    asr = FakeASR()
    finals: list[str] = []
    interims: list[str] = []
    listener = Listener(asr, on_final=finals.append, on_interim=interims.append, detector=LoudIsSpeech())
    pcm = to_48k_pcm(np.concatenate([quiet(0.5), tone(1.0), quiet(0.6)]))
    for i in range(0, pcm.size, 960):  # 20 ms WebRTC frames
        listener.feed(pcm[i : i + 960], 48_000)
    await listener.drain()
    assert interims == [""]
    assert finals == ["1.4 s"]
    assert listener.dropped == 0
    await listener.close()


async def test_utterances_beyond_the_bound_are_dropped_while_asr_is_busy() -> None:
    asr = FakeASR()
    asr.release.clear()
    finals: list[str] = []
    listener = Listener(asr, on_final=finals.append, detector=LoudIsSpeech(), max_waiting=2)
    burst = np.concatenate([tone(0.5), quiet(0.6)])
    for _ in range(10):  # faster than real time: ten utterances at once
        listener.feed_16k(burst)
        await asyncio.sleep(0)
    # one is being transcribed, two wait, the rest were dropped
    assert len(asr.calls) == 1
    assert listener.dropped == 7
    asr.release.set()
    await listener.drain()
    assert len(finals) == 3 and listener.transcribed == 3
    await listener.close()


async def test_end_of_stream_transcribes_the_open_utterance_and_empty_text_is_not_final() -> None:
    class Silent(FakeASR):
        async def transcribe(self, audio: np.ndarray) -> str:
            await super().transcribe(audio)
            return ""

    finals: list[str] = []
    listener = Listener(Silent(), on_final=finals.append, detector=LoudIsSpeech())
    listener.feed_16k(tone(1.0))
    listener.end()
    await listener.drain()
    assert listener.transcribed == 1 and finals == []
    await listener.close()


async def test_a_failing_recogniser_does_not_stop_the_listener() -> None:
    class Flaky(FakeASR):
        async def transcribe(self, audio: np.ndarray) -> str:
            text = await super().transcribe(audio)
            if len(self.calls) == 1:
                raise RuntimeError("model crashed")
            return text

    finals: list[str] = []
    listener = Listener(Flaky(), on_final=finals.append, detector=LoudIsSpeech())
    for _ in range(2):
        listener.feed_16k(np.concatenate([tone(0.5), quiet(0.6)]))
        await listener.drain()
    assert finals == ["0.9 s"]
    await listener.close()


class EchoEngine:
    name = "echo"

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> Transcript:
        self.prompts.append(prompt)
        return Transcript(f" {audio.size} samples ", "en", (), audio.size / 16000)


async def test_shared_asr_loads_once_lazily_and_passes_the_prompt() -> None:
    loads: list[int] = []
    engine = EchoEngine()

    def load() -> EchoEngine:
        loads.append(1)
        return engine

    asr = SharedASR(load, prompt="Lumen desk lamp.")
    assert loads == [] and asr.state == "idle"
    texts = await asyncio.gather(*(asr.transcribe(np.zeros(n, np.float32)) for n in (100, 200)))
    assert texts == ["100 samples", "200 samples"]
    assert loads == [1] and engine.prompts == ["Lumen desk lamp.", "Lumen desk lamp."]
    assert asr.state == "ready"
    asr.close()


async def test_shared_asr_that_cannot_load_gives_no_text() -> None:
    def load() -> EchoEngine:
        raise ASRError("no weights")

    asr = SharedASR(load)
    assert await asr.transcribe(np.zeros(10, np.float32)) == ""
    assert await asr.transcribe(np.zeros(10, np.float32)) == ""
    assert asr.state == "off"
    asr.close()
