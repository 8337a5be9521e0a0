"""The ``tts`` section of ``avatar bench``: time to first audio and real-time factor per voice.

Each voice speaks the same bounded set of product sentences through the show's own path
(:meth:`avatar.speaker.Voice.render`: normalisation, synthesis, 48 kHz, loudness). The speaker
queues a piece as soon as it is rendered, and speaks a long first sentence clause first, so "first
audio" of a sentence is the render time of its first piece (the whole sentence when it is short);
the real-time factor is the render time of all its pieces over the seconds of speech they made.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Final

from avatar.engines.tts.text import split_first_clause
from avatar.engines.tts.voices import load_voice, voice_status
from avatar.media.audio import SAMPLE_RATE_HZ
from avatar.speaker import FIRST_PIECE_MAX_CHARS, Voice, pause_after

BENCH_VOICES: Final = ("joe", "joe-coqui", "espeak-en", "mandarin", "mandarin-neural")
SENTENCES: Final = {
    "en": (
        "Meet the Lumen desk lamp, with five brightness levels.",
        "Today it is just $39.99, down from $49.99.",
        "The Aurora Buds cancel noise on a busy commute.",
        "We have twelve left in stock, so do not wait too long.",
        "Tap the cart button below the video to order now.",
        "Shipping is free on every order over $50.",
        # Long first sentences, as answers often start: spoken clause first.
        "The Summit bottle keeps your drinks cold for a full day, and it fits in every cup holder.",
        "Yes, the Aurora Buds work with both iPhone and Android phones, over Bluetooth 5.3.",
    ),
    "zh": (
        "欢迎来到直播间，今天给大家推荐这款台灯。",
        "日常价四十九块九，今天只要三十九块九。",
        "库存只剩十二件，喜欢的朋友抓紧下单。",
        # As answers are written: digits, ¥, 折 and a brand name, read out by the voice's front end.
        "这款Aurora Buds耳机今天打8.5折，到手价¥199。",
        "满300减50，下单后48小时内发货。",
    ),
}
TARGETS: Final = {"first_audio_p50_ms_default_voice": 250, "rtf_p50_default_voice": 0.3}


def _p(values: list[float], digits: int) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), digits), "p95": round(p95, digits), "n": len(ordered)}


def bench_voice(name: str) -> dict[str, Any]:
    """Load time, first-audio time per sentence, real-time factor and a cached replay for one voice."""
    spec = load_voice(name)
    ok, detail = voice_status(spec)
    if not ok:
        return {"skipped": detail}
    voice = Voice(spec)
    try:
        began = time.perf_counter()
        # Loads the model (and converts the Coqui voice if it must); a Mandarin voice also loads the
        # English voice it speaks Latin words with.
        voice.render("Hello.")
        load_s = time.perf_counter() - began
        first_audio_ms: list[float] = []
        rtf: list[float] = []
        for sentence in SENTENCES.get(spec.language, SENTENCES["en"]):
            took = spoken_s = 0.0
            for number, piece in enumerate(split_first_clause(sentence, FIRST_PIECE_MAX_CHARS)):
                began = time.perf_counter()
                pcm = voice.render(piece)
                took += time.perf_counter() - began
                spoken_s += pcm.size / SAMPLE_RATE_HZ - pause_after(piece)
                if number == 0:
                    first_audio_ms.append(took * 1000)
            rtf.append(took / max(spoken_s, 1e-3))
        began = time.perf_counter()
        voice.render(SENTENCES.get(spec.language, SENTENCES["en"])[0])
        cached_ms = (time.perf_counter() - began) * 1000
    finally:
        voice.worker.close()
    return {
        "engine": spec.engine,
        "load_s": round(load_s, 2),
        "first_audio_ms": _p(first_audio_ms, 1),
        "rtf": _p(rtf, 3),
        "cached_line_ms": round(cached_ms, 2),
    }


def bench_tts(voices: tuple[str, ...] = BENCH_VOICES) -> dict[str, Any]:
    """The section: one entry per voice, plus the targets for the default voice."""
    report: dict[str, Any] = {name: bench_voice(name) for name in voices}
    report["targets"] = dict(TARGETS)
    return report
