"""``avatar voices`` and ``avatar say``: list the configured voices, speak a line into a WAV file.

``say`` goes through the same path as the show (normalisation, sentence split, the voice's worker
rules, loudness, 48 kHz), so what it writes is what viewers would hear. A voice that cannot load
or speak falls back to the espeak-ng voice with a warning, as the show does.
"""

from __future__ import annotations

import logging
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.engines.tts.text import normalise_for_speech, split_sentences
from avatar.engines.tts.voices import load_voice, voice_names, voice_status, voices_dir
from avatar.media.audio import SAMPLE_RATE_HZ, Pcm
from avatar.speaker import Voice

log = logging.getLogger(__name__)

FALLBACK_VOICE = "espeak-en"
FALLBACK_BY_LANGUAGE = {"zh": "mandarin"}  # espeak-ng voices: always there
MAX_SAY_CHARS = 20_000  # a line for the CLI; the show's lines are far shorter


def voices_report(directory: Path | None = None) -> list[str]:
    """One line per voice file: name, engine, language, and whether it can speak here (and why not)."""
    directory = directory or voices_dir()
    lines: list[str] = []
    for name in voice_names(directory):
        try:
            spec = load_voice(name, directory)
        except ValueError as error:
            lines.append(f"{name:<16} INVALID  {error}")
            continue
        ok, detail = voice_status(spec)
        state = "ok" if ok else "MISSING"
        lines.append(f"{name:<16} {state:<8} {spec.engine:<7} {spec.language:<3} {detail}")
    return lines


@dataclass(frozen=True)
class SayResult:
    """What ``say`` wrote."""

    path: Path
    seconds: float
    voice: str  # the voice that spoke (the fallback's name when the asked-for voice failed)
    sentences: int


def write_wav(path: Path, pcm: Pcm, rate: int = SAMPLE_RATE_HZ) -> None:
    """Mono 16-bit WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())


def say(text: str, voice_name: str, out: Path, *, directory: Path | None = None) -> SayResult:
    """Speak ``text`` with a voice into ``out`` (48 kHz mono WAV).

    Raises ValueError (DataError for voice files) for text with nothing speakable or an unknown
    voice; a voice that fails to load or speak is replaced by the espeak-ng voice.
    """
    if len(text) > MAX_SAY_CHARS:
        raise ValueError(f"text is {len(text)} characters; say takes at most {MAX_SAY_CHARS}")
    spec = load_voice(voice_name, directory)
    sentences = [s for s in split_sentences(text) if normalise_for_speech(s, spec.language)]
    if not sentences:
        raise ValueError("nothing to say: the text is empty or has no speakable words")
    voice = Voice(spec)
    used = spec.name
    try:
        try:
            pieces = [voice.render(sentence) for sentence in sentences]
        except Exception as error:  # a broken voice must not lose the line: fall back, as the show does
            backup = FALLBACK_BY_LANGUAGE.get(spec.language, FALLBACK_VOICE)
            if spec.name == backup:
                raise
            log.warning("voice %s failed (%s); speaking with %s", spec.name, error, backup)
            fallback = Voice(load_voice(backup, directory))
            try:
                pieces = [fallback.render(sentence) for sentence in sentences]
            finally:
                fallback.worker.close()
            used = backup
    finally:
        voice.worker.close()
    pcm = np.concatenate(pieces)
    write_wav(out, pcm)
    return SayResult(out, pcm.size / SAMPLE_RATE_HZ, used, len(sentences))
