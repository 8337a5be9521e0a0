"""Scripted transcripts for rehearsal tests: the shape of ``avatar.engines.asr.Transcript``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class FakeWord:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class FakeSegment:
    start: float
    end: float
    text: str
    words: tuple[FakeWord, ...] = ()


@dataclass(frozen=True)
class FakeTranscript:
    text: str
    language: str
    segments: tuple[FakeSegment, ...]
    seconds: float


def spoken(*lines: tuple[float, str], language: str = "en", word_s: float = 0.35) -> FakeTranscript:
    """A transcript of ``(start second, sentence)`` lines, each word ``word_s`` long (about 170 wpm)."""
    segments = []
    for start, text in lines:
        words = tuple(
            FakeWord(start + i * word_s, start + (i + 1) * word_s - 0.02, w)
            for i, w in enumerate(text.split())
        )
        segments.append(FakeSegment(start, words[-1].end if words else start, text, words))
    end = segments[-1].end if segments else 0.0
    return FakeTranscript(" ".join(t for _, t in lines), language, tuple(segments), end)


class ScriptedASR:
    """Returns the transcripts it was given, one per call, and records what it was asked."""

    def __init__(self, *transcripts: FakeTranscript) -> None:
        self.transcripts = list(transcripts)
        self.calls: list[dict[str, object]] = []

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> FakeTranscript:
        self.calls.append({"seconds": audio.size / 16_000, "language": language, "prompt": prompt,
                           "word_timestamps": word_timestamps})  # fmt: skip
        if not self.transcripts:
            return FakeTranscript("", language or "en", (), audio.size / 16_000)
        return self.transcripts.pop(0)


def tone(seconds: float, level: float = 0.3, hz: float = 220.0) -> npt.NDArray[np.float32]:
    """A steady tone standing in for speech energy (16 kHz)."""
    t = np.arange(int(seconds * 16_000), dtype=np.float32) / 16_000
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def quiet(seconds: float) -> npt.NDArray[np.float32]:
    """Digital silence (16 kHz)."""
    return np.zeros(int(seconds * 16_000), np.float32)
