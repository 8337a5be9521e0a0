"""Listening latency for ``avatar bench``: end of speech -> final transcript.

The spoken clips in ``tests/data`` go through a real :class:`Listener` (Silero VAD, the show's
recogniser on its worker thread) as 20 ms frames at 48 kHz. Frames are fed as fast as the machine
takes them, so the latency is split honestly into the audio the VAD must hear before it ends the
utterance (silence after the last word, measured in stream time) plus the wall time from that
moment to the final transcript (ASR on its worker thread).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from avatar.brain.catalog import Catalog
from avatar.engines.asr.audio_file import read_audio
from avatar.listen.listener import Listener, SharedASR, show_asr
from avatar.listen.vad import Samples

CLIPS = ("en_lamp_price", "en_bottle_stock", "en_backpack_discount", "en_buds_battery", "en_coffee_price")


class _TimedASR:
    """Wraps the shared recogniser, noting when each utterance reached it (= the VAD cut it)."""

    def __init__(self, asr: SharedASR) -> None:
        self.asr = asr
        self.cut_at: list[float] = []

    async def transcribe(self, audio: Samples) -> str:
        self.cut_at.append(time.perf_counter())
        return await self.asr.transcribe(audio)


async def bench_listen(
    catalog: Catalog, data_dir: Path, *, rounds: int = 2, engine: str = "faster-whisper"
) -> dict[str, Any]:
    """End-of-speech -> final-transcript latency over ``rounds`` passes of the spoken clips."""
    from avatar.bench import percentiles

    shared = show_asr(catalog, engine=engine)
    load_started = time.perf_counter()
    await shared.transcribe(np.zeros(16_000, np.float32))  # loads the model (a quiet clip is not decoded)
    load_ms = (time.perf_counter() - load_started) * 1000
    await shared.transcribe(read_audio(data_dir / f"{CLIPS[0]}.wav"))  # warm-up decode
    endpoint_ms: list[float] = []
    asr_ms: list[float] = []
    total_ms: list[float] = []
    texts: dict[str, str] = {}
    try:
        for _ in range(rounds):
            for clip in CLIPS:
                audio = np.concatenate([read_audio(data_dir / f"{clip}.wav"), np.zeros(16_000, np.float32)])
                timing = await _one_question(shared, audio)
                if timing is None:
                    continue
                endpoint, asr, texts[clip] = timing
                endpoint_ms.append(endpoint)
                asr_ms.append(asr)
                total_ms.append(endpoint + asr)
    finally:
        shared.close()
    return {
        "speech_end_to_final_transcript_ms": percentiles(total_ms),
        "vad_endpoint_ms": percentiles(endpoint_ms),
        "asr_ms": percentiles(asr_ms),
        "asr_load_ms": round(load_ms, 1),
        "asr_engine": engine,
        "transcripts": texts,
    }


async def _one_question(shared: SharedASR, audio: Samples) -> tuple[float, float, str] | None:
    """(VAD endpoint ms, ASR ms, text) for one clip fed as 48 kHz frames; None if nothing was heard."""
    timed = _TimedASR(shared)
    finals: list[tuple[float, str]] = []
    listener = Listener(timed, on_final=lambda text: finals.append((time.perf_counter(), text)))
    fed = 0
    cut_stream_s: float | None = None
    pcm = (np.repeat(audio, 3) * 32767).astype(np.int16)
    for start in range(0, pcm.size, 960):
        listener.feed(pcm[start : start + 960], 48_000)
        fed += 960
        await asyncio.sleep(0)  # lets the listener hand the utterance to ASR at once
        if cut_stream_s is None and timed.cut_at:
            cut_stream_s = fed / 48_000
    await listener.drain()
    await listener.close()
    if not finals or cut_stream_s is None:
        return None
    endpoint_ms = max(0.0, cut_stream_s - _last_speech_s(audio)) * 1000
    return endpoint_ms, (finals[0][0] - timed.cut_at[0]) * 1000, finals[0][1]


def _last_speech_s(audio: Samples, floor: float = 0.01) -> float:
    """Where the clip's last audible sample is (the clips are clean TTS: silence is digital)."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    return float(loud[-1] + 1) / 16_000 if loud.size else 0.0
