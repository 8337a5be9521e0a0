"""What every speech recogniser returns and takes: 16 kHz mono float audio in, a typed transcript out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ: Final = 16_000
"""Whisper's input rate; every ASR engine takes mono float32 at this rate."""

Audio = npt.NDArray[np.float32]


class ASRError(RuntimeError):
    """A speech model could not be found, converted or loaded."""


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds from the clip start."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Segment:
    """A stretch of speech the model decoded in one go."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """What was said in a clip: the text, its language and segments, and the clip length."""

    text: str
    language: str
    segments: tuple[Segment, ...]
    seconds: float  # length of the audio given, not the time it took

    def as_json(self) -> dict[str, object]:
        """The JSON shape ``avatar transcribe`` prints."""
        return {
            "text": self.text,
            "language": self.language,
            "segments": [
                {
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                    **(
                        {"words": [{"start": w.start, "end": w.end, "text": w.text} for w in s.words]}
                        if s.words
                        else {}
                    ),
                }
                for s in self.segments
            ],
            "seconds": round(self.seconds, 3),
        }


def in_simplified(transcript: Transcript) -> Transcript:
    """A Mandarin transcript with any Traditional characters made Simplified (OpenCC); others as they are.

    The safety net behind the Simplified prompt: the catalog, the compliance lists and the answers are
    Simplified, and "藍牙耳機" must match "蓝牙耳机".
    """
    if transcript.language not in {"zh", "yue"}:
        return transcript
    from avatar.engines.simplified import to_simplified

    segments = tuple(
        replace(
            s,
            text=to_simplified(s.text),
            words=tuple(replace(w, text=to_simplified(w.text)) for w in s.words),
        )
        for s in transcript.segments
    )
    return replace(transcript, text=to_simplified(transcript.text), segments=segments)


class ASREngine(Protocol):
    """A speech recogniser. Not thread-safe: call it from one worker thread."""

    name: str

    def transcribe(
        self,
        audio: Audio,
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio in [-1, 1]; ``language`` None detects it."""
        ...
