"""Decoding options shared by the Whisper engines, tuned against hallucination on live audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


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

    def rejects(self, no_speech_prob: float, avg_logprob: float, compression_ratio: float) -> bool:
        """True for a segment that is most likely silence, noise or a decoding loop."""
        if compression_ratio > self.compression_ratio_threshold:
            return True
        # Whisper itself skips a window only when BOTH hold; segments that slip through get checked
        return no_speech_prob > self.no_speech_threshold and avg_logprob < self.logprob_threshold

    def is_quiet(self, audio: npt.NDArray[np.float32]) -> bool:
        """True when ``audio`` is empty or never louder than ``min_peak``."""
        return audio.size == 0 or float(np.max(np.abs(audio))) < self.min_peak
