"""faster-whisper (CTranslate2) behind the ASR interface: the optional faster engine.

It reads the bundled CTranslate2 weights directly, so it recognises exactly what the converted
openai-whisper checkpoint does, usually in less time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from avatar.engines.asr.base import SAMPLE_RATE_HZ, Audio, Segment, Transcript, Word, in_simplified
from avatar.engines.asr.options import DecodeOptions
from avatar.engines.asr.whisper_engine import _join, _keep_speech
from avatar.engines.simplified import zh_prompt


def _windowed_model(model: str, **kwargs: Any) -> Any:
    """A faster-whisper model whose encoder, with ``frames`` set, encodes only the first ``frames``
    log-mel frames of the (30 s) window it is given: CTranslate2 takes a shorter window as it is,
    faster-whisper always pads to 30 s (whisper.cpp's ``audio_ctx``)."""
    from faster_whisper import WhisperModel

    class WindowedModel(WhisperModel):  # type: ignore[misc]
        frames: int | None = None  # None: the window as given

        def encode(self, features: np.ndarray[Any, Any]) -> Any:
            if self.frames is not None and features.shape[-1] > self.frames:
                features = np.ascontiguousarray(features[..., : self.frames])
            return super().encode(features)

    return WindowedModel(model, **kwargs)


class FasterWhisperEngine:
    """Transcribes with faster-whisper on the CPU; one call at a time."""

    def __init__(
        self,
        model: str | Path,
        *,
        options: DecodeOptions | None = None,
        name: str | None = None,
        compute_type: str = "default",
        cpu_threads: int = 0,
    ) -> None:
        self.name = name or str(model)
        self.options = options or DecodeOptions()
        self.model = _windowed_model(
            str(model),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads or min(4, os.cpu_count() or 1),
            local_files_only=Path(str(model)).exists(),
        )
        self.multilingual: bool = bool(self.model.model.is_multilingual)

    def language_probabilities(self, audio: Audio) -> dict[str, float]:
        """How likely each language is for the first 30 s of ``audio`` (Whisper's own detector)."""
        if not self.multilingual:
            return {"en": 1.0}
        _, _, ranked = self.model.detect_language(np.ascontiguousarray(audio, dtype=np.float32))
        return {str(code): float(p) for code, p in ranked}

    def transcribe(
        self,
        audio: Audio,
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio; silence phrases and unlikely segments are dropped."""
        seconds = audio.size / SAMPLE_RATE_HZ
        if not self.multilingual:
            language = "en"
        o = self.options
        if o.is_quiet(audio):
            return Transcript("", language or "en", (), seconds)
        self.model.frames = o.window_frames(audio.size)
        try:
            return self._transcribe(audio, language, prompt, word_timestamps)
        finally:
            self.model.frames = None

    def _transcribe(
        self, audio: Audio, language: str | None, prompt: str | None, word_timestamps: bool
    ) -> Transcript:
        seconds = audio.size / SAMPLE_RATE_HZ
        o = self.options
        pieces, info = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language,
            # Mandarin: a Simplified prompt, or Whisper writes Traditional characters.
            initial_prompt=zh_prompt(prompt) if language == "zh" else prompt or None,
            word_timestamps=word_timestamps,
            condition_on_previous_text=o.condition_on_previous_text,
            no_speech_threshold=o.no_speech_threshold,
            log_prob_threshold=o.logprob_threshold,
            temperature=list(o.temperatures),
            beam_size=o.beam_size,
            compression_ratio_threshold=o.compression_ratio_threshold,
            max_new_tokens=o.max_tokens(audio.size),
            vad_filter=False,  # the listener's VAD has already cut the utterance
        )
        segments = _keep_speech(
            [
                Segment(
                    float(s.start),
                    float(s.end),
                    s.text.strip(),
                    tuple(Word(float(w.start), float(w.end), w.word.strip()) for w in s.words or ()),
                )
                for s in pieces  # a lazy generator: decoding happens here, on the caller's thread
                if not o.rejects(s.no_speech_prob, s.avg_logprob, s.compression_ratio)
            ]
        )
        detected = str(info.language or language or "en")
        return in_simplified(Transcript(_join(segments, detected), detected, tuple(segments), seconds))
