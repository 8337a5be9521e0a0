"""Listening latency for ``avatar bench``: end of speech -> final transcript -> first answer audio.

The spoken clips in ``tests/data`` go through a real :class:`Listener` (Silero VAD with the studio
co-host's end-of-turn pause, the show's recogniser on its worker thread) as 20 ms frames at 48 kHz.
Each final transcript then takes the show's real answer path: the catalog answer (on a worker, as
the show's brain runs) and the scene's voice synthesising the answer's first sentence (its render
cache off, so every round pays for the synthesis), which is the moment the first answer audio can
go on air.

Frames are fed as fast as the machine takes them, so the latency is split honestly into the audio
the VAD must hear before it ends the utterance (silence after the last word, measured in stream
time) plus the wall time from that moment to the final transcript and to the first answer audio.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatar.brain.brain import Brain
from avatar.brain.scene import Scene
from avatar.engines.asr.audio_file import read_audio
from avatar.engines.asr.factory import DEFAULT_ENGINE, DEFAULT_MODEL
from avatar.engines.tts.text import split_sentences
from avatar.engines.tts.voices import load_voice
from avatar.engines.worker import ModelWorker
from avatar.listen.listener import Listener, SharedASR, show_asr
from avatar.listen.vad import COHOST_VAD, Samples, VADConfig
from avatar.speaker import Voice

CLIPS = ("en_lamp_price", "en_bottle_stock", "en_backpack_discount", "en_buds_battery", "en_coffee_price")


class _TimedASR:
    """Wraps the shared recogniser, noting when each utterance reached it (= the VAD cut it)."""

    def __init__(self, asr: SharedASR) -> None:
        self.asr = asr
        self.cut_at: list[float] = []

    @property
    def busy(self) -> bool:
        return self.asr.busy

    async def transcribe(self, audio: Samples) -> str:
        self.cut_at.append(time.perf_counter())
        return await self.asr.transcribe(audio)


@dataclass(frozen=True)
class _Timing:
    endpoint_ms: float  # stream time from the last word to the VAD's cut
    asr_ms: float  # cut -> final transcript (wall)
    answer_ms: float | None  # final transcript -> first answer audio synthesised (wall)
    text: str


class _AnswerPath:
    """The show's answer to a transcript up to its first audio: catalog answer, first sentence voiced."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.answers = Brain(scene)
        self.brain = ModelWorker("bench-brain")
        self.voice = Voice(load_voice(scene.voice), cache=False)
        self.on_screen = scene.segments[0].product_id

    async def warm_up(self) -> None:
        await self.voice.worker.run(self.voice.render_timed, "Hello there.")
        await self.brain.run(self.answers.respond, "hello", self.on_screen)

    async def first_audio(self, question: str) -> int:
        answer = await self.brain.run(self.answers.respond, question, self.on_screen)
        first = (split_sentences(answer.text) or [answer.text])[0]
        speech = await self.voice.worker.run(self.voice.render_timed, first)
        return int(speech.pcm.size)

    def close(self) -> None:
        self.brain.close()
        self.voice.worker.close()


async def bench_listen(
    scene: Scene,
    data_dir: Path,
    *,
    rounds: int = 2,
    model: str = DEFAULT_MODEL,
    engine: str = DEFAULT_ENGINE,
    vad: VADConfig = COHOST_VAD,
    answers: bool = True,
) -> dict[str, Any]:
    """End-of-speech latencies over ``rounds`` passes of the spoken clips (``answers``: also time the
    answer path to its first audio)."""
    from avatar.bench import percentiles

    shared = show_asr(scene.catalog, model=model, engine=engine)
    path = _AnswerPath(scene) if answers else None
    load_started = time.perf_counter()
    await shared.warm_up()  # loads the model, as `avatar live` does at startup
    load_ms = (time.perf_counter() - load_started) * 1000
    await shared.transcribe(read_audio(data_dir / f"{CLIPS[0]}.wav"))  # warm-up decode
    if path is not None:
        await path.warm_up()
    endpoint_ms: list[float] = []
    asr_ms: list[float] = []
    total_ms: list[float] = []
    answer_ms: list[float] = []
    first_audio_ms: list[float] = []
    texts: dict[str, str] = {}
    try:
        for _ in range(rounds):
            for clip in CLIPS:
                audio = np.concatenate([read_audio(data_dir / f"{clip}.wav"), np.zeros(16_000, np.float32)])
                timing = await _one_question(shared, audio, vad, path)
                if timing is None:
                    continue
                texts[clip] = timing.text
                endpoint_ms.append(timing.endpoint_ms)
                asr_ms.append(timing.asr_ms)
                total_ms.append(timing.endpoint_ms + timing.asr_ms)
                if timing.answer_ms is not None:
                    answer_ms.append(timing.answer_ms)
                    first_audio_ms.append(timing.endpoint_ms + timing.asr_ms + timing.answer_ms)
    finally:
        shared.close()
        if path is not None:
            path.close()
    report: dict[str, Any] = {
        "speech_end_to_final_transcript_ms": percentiles(total_ms),
        "vad_endpoint_ms": percentiles(endpoint_ms),
        "vad_min_silence_s": vad.min_silence_s,
        "asr_ms": percentiles(asr_ms),
        "asr_load_ms": round(load_ms, 1),
        "asr_model": model,
        "asr_engine": engine,
        "transcripts": texts,
    }
    if path is not None:
        report["speech_end_to_first_answer_audio_ms"] = percentiles(first_audio_ms)
        report["answer_first_audio_ms"] = percentiles(answer_ms)  # catalog answer + first sentence's TTS
        report["voice"] = scene.voice
        report["target_first_answer_audio_p50_ms"] = 1500
    return report


async def _one_question(
    shared: SharedASR, audio: Samples, vad: VADConfig, path: _AnswerPath | None
) -> _Timing | None:
    """The timings of one clip fed as 48 kHz frames; None if nothing was heard."""
    timed = _TimedASR(shared)
    finals: list[tuple[float, str]] = []
    # No interims: the clip is fed faster than real time, so they would only measure contention.
    listener = Listener(
        timed,
        on_final=lambda text: finals.append((time.perf_counter(), text)),
        vad=vad,
        interim_every_s=None,
    )
    fed = 0
    cut_stream_s: float | None = None
    pcm = (np.repeat(audio, 3) * 32767).astype(np.int16)
    for start in range(0, pcm.size, 960):
        listener.feed(pcm[start : start + 960], 48_000)
        fed += 960
        await asyncio.sleep(0)  # lets the listener hand the utterance to ASR at once
        if cut_stream_s is None and timed.cut_at:
            cut_stream_s = fed / 48_000
            break  # the rest is silence: the clock that matters now is the recogniser's
    await listener.drain()
    await listener.close()
    if not finals or cut_stream_s is None:
        return None
    final_at, text = finals[0]
    answer_ms = None
    if path is not None:
        await path.first_audio(text)
        answer_ms = (time.perf_counter() - final_at) * 1000
    endpoint_ms = max(0.0, cut_stream_s - _last_speech_s(audio)) * 1000
    return _Timing(endpoint_ms, (final_at - timed.cut_at[0]) * 1000, answer_ms, text)


def _last_speech_s(audio: Samples, floor: float = 0.01) -> float:
    """Where the clip's last audible sample is (the clips are clean TTS: silence is digital)."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    return float(loud[-1] + 1) / 16_000 if loud.size else 0.0
