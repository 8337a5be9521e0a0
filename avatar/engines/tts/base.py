"""The text-to-speech engine interface.

An engine turns one sentence into audio. Streaming happens a level up (the speaker synthesises
sentence by sentence while the previous one plays), so engines stay small and synchronous; they are
always called on their own :class:`~avatar.engines.worker.ModelWorker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from avatar.media.audio import Pcm


class TTSError(RuntimeError):
    """An engine could not load or could not speak a sentence."""


@dataclass(frozen=True)
class TTSCapabilities:
    """What an engine can do."""

    sample_rate: int  # Hz of the int16 mono audio it returns
    languages: tuple[str, ...]  # ISO codes it speaks, e.g. ("en",)


PhonemeTimes = tuple[tuple[float, str], ...]
"""(start seconds into the audio, IPA phoneme) pairs, ascending."""


@dataclass(frozen=True)
class TimedSpeech:
    """One sentence of audio and, where the engine knows it, when each phoneme sounds."""

    pcm: Pcm  # int16 mono at the engine's sample rate
    phonemes: PhonemeTimes | None = None  # None: the engine gave no timing (the mouth reads the spectrum)


class TTSEngine(Protocol):
    """Speaks one sentence at a time."""

    name: str
    capabilities: TTSCapabilities

    def synthesize(self, text: str) -> Pcm:
        """Audio for one sentence: int16 mono at ``capabilities.sample_rate``. Blocking."""
        ...


@runtime_checkable
class PhonemeTimedEngine(Protocol):
    """An engine that can also say when each phoneme of its audio sounds (for the lips)."""

    def synthesize_timed(self, text: str) -> TimedSpeech:
        """Audio for one sentence with its phoneme timings. Blocking."""
        ...
