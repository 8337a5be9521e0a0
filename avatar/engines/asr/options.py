"""Decoding options shared by the Whisper engines, tuned against hallucination on live audio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FULL_WINDOW_S: Final = 30.0
"""Whisper's own encoder window: every clip is padded to 30 s of audio."""
MEL_FRAMES_PER_S: Final = 100
"""Whisper's log-mel frames per second of audio (hop of 160 samples at 16 kHz)."""


@dataclass(frozen=True)
class DecodeOptions:
    """How a Whisper engine decodes; the defaults suit short live utterances."""

    # A segment whose no-speech probability is above this (and whose text is unlikely) is dropped.
    no_speech_threshold: float = 0.6
    # Below this average log-probability a segment counts as unlikely (Whisper's own default).
    logprob_threshold: float = -1.0
    # Each utterance stands alone: conditioning on the previous text spreads one hallucination.
    condition_on_previous_text: bool = False
    # Retry at these temperatures when greedy decoding loops or is unlikely; fewer is faster.
    temperatures: tuple[float, ...] = (0.0, 0.4)
    # Greedy decoding (1) is what keeps tiny.en fast on two cores.
    beam_size: int = 1
    # A segment this repetitive (zlib ratio) after every retry is a decoding loop, not speech.
    compression_ratio_threshold: float = 2.4
    # Audio whose peak stays below this (about -50 dBFS) is silence: the model is not even asked.
    min_peak: float = 0.003
    # Seconds of audio the encoder sees for a clip that fits in them with ``window_margin_s`` to
    # spare (the clip padded with silence), instead of Whisper's 30 s window: the encoder's work
    # grows with its window and dominates a short question's decode. Longer clips get the full
    # window (a 20 s take in a 22 s window lost its last sentence). None: always the full window.
    window_s: float | None = None
    # Silence a clip must leave inside the window (a window tight on the last word loses it).
    window_margin_s: float = 1.0
    # Tokens a decode may write per second of audio (plus a few): speech is under 10 a second in
    # either language, while a decoding loop ("大红袍袍袍…") ran to Whisper's 224 on a 3 s clip, for
    # seconds on two cores, and again at each retry temperature. None: Whisper's own limit.
    tokens_per_s: float | None = 12.0

    def __post_init__(self) -> None:
        if self.window_s is not None and not 1.0 <= self.window_s <= FULL_WINDOW_S:
            raise ValueError(
                f"window_s must be between 1 and {FULL_WINDOW_S:g} s or None, got {self.window_s}"
            )
        if self.window_margin_s < 0.0:
            raise ValueError(f"window_margin_s must not be negative, got {self.window_margin_s}")

    def window_frames(self, samples: int, rate: int = 16_000) -> int | None:
        """Log-mel frames the encoder should see for a clip of ``samples`` (an even count: the
        encoder halves it); None for the full window (``window_s`` None, or a clip too long)."""
        if self.window_s is None or samples / rate + self.window_margin_s > self.window_s:
            return None
        return int(np.ceil(self.window_s * MEL_FRAMES_PER_S / 2)) * 2

    def max_tokens(self, samples: int, rate: int = 16_000) -> int | None:
        """Tokens one decode of a clip of ``samples`` may write (None: Whisper's limit of 224)."""
        if self.tokens_per_s is None:
            return None
        return min(MAX_SAMPLE_TOKENS, int(self.tokens_per_s * samples / rate) + 16)

    def rejects(self, no_speech_prob: float, avg_logprob: float, compression_ratio: float) -> bool:
        """True for a segment that is most likely silence, noise or a decoding loop."""
        if compression_ratio > self.compression_ratio_threshold:
            return True
        # Whisper itself skips a window only when BOTH hold; segments that slip through get checked
        return no_speech_prob > self.no_speech_threshold and avg_logprob < self.logprob_threshold

    def is_quiet(self, audio: npt.NDArray[np.float32]) -> bool:
        """True when ``audio`` is empty or never louder than ``min_peak``."""
        return audio.size == 0 or float(np.max(np.abs(audio))) < self.min_peak


MAX_SAMPLE_TOKENS: Final = 224
"""Whisper's own limit on the tokens of one decode (half its 448-token context)."""
SHORT_WINDOW_S: Final = 10.0
"""The short encoder window measured on tiny.en (word errors 0.14 -> 0.10 on the spoken clips; voice
to first audio 724 ms p50 instead of 1,080 on a quiet 2-core machine). Not the default: Chromium's
microphone through WebRTC to /studio was heard as "Lumen Desk Land" in 4 of 5 browser test runs
with it, in 2 of 15 with a 15 s window, and in none of 8 with the full window; the multilingual
base heard the setup's known clip as "the room in this lump" in it."""
