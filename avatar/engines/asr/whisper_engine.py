"""openai-whisper behind the ASR interface (the default engine)."""

from __future__ import annotations

import base64
import gzip
import logging
from pathlib import Path
from typing import Any

import numpy as np

from avatar.engines.asr.base import SAMPLE_RATE_HZ, Audio, Segment, Transcript, Word, in_simplified
from avatar.engines.asr.hallucination import is_hallucination
from avatar.engines.asr.options import DecodeOptions
from avatar.engines.simplified import zh_prompt

log = logging.getLogger(__name__)


def _windowed_encoder(model: Any) -> Any:
    """``model``'s audio encoder, able to take a window shorter than 30 s (whisper.cpp's
    ``audio_ctx``): with ``frames`` set it encodes only the first ``frames`` log-mel frames of what
    it is given, with the matching part of its positional embedding. Same class of module, same
    weights (the checkpoint's names are unchanged)."""
    import torch
    import torch.nn.functional as F
    from whisper.model import AudioEncoder

    class WindowedEncoder(AudioEncoder):  # type: ignore[misc]
        frames: int | None = None  # None: whatever it is given (Whisper's 30 s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            frames = self.frames
            if frames is None or x.shape[-1] <= frames:
                return super().forward(x)  # type: ignore[no-any-return]
            # AudioEncoder.forward, less its check that the input is the full 30 s.
            x = F.gelu(self.conv1(x[..., :frames]))
            x = F.gelu(self.conv2(x)).permute(0, 2, 1)
            x = (x + self.positional_embedding[: x.shape[1]]).to(x.dtype)
            for block in self.blocks:
                x = block(x)
            return self.ln_post(x)  # type: ignore[no-any-return]

    dims = model.dims
    encoder = WindowedEncoder(
        dims.n_mels, dims.n_audio_ctx, dims.n_audio_state, dims.n_audio_head, dims.n_audio_layer
    )
    encoder.load_state_dict(model.encoder.state_dict())
    return encoder.to(next(model.encoder.parameters()).device).eval()


class WhisperEngine:
    """Transcribes with an openai-whisper model on the CPU; one call at a time."""

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        alignment_heads: list[list[int]] | None = None,
        options: DecodeOptions | None = None,
        name: str | None = None,
        download_root: Path | None = None,
    ) -> None:
        import whisper

        self.name = name or str(checkpoint)
        self.options = options or DecodeOptions()
        self._whisper = whisper
        self.model = whisper.load_model(str(checkpoint), device="cpu", download_root=download_root)
        # Every way to the encoder (decoding, language detection, word timing) goes through this one:
        # a short clip is encoded in a short window (see DecodeOptions.window_s).
        self._encoder = _windowed_encoder(self.model)
        self.model.encoder = self._encoder
        if alignment_heads:
            self._set_alignment_heads(alignment_heads)
        self.multilingual: bool = bool(self.model.is_multilingual)

    def _set_alignment_heads(self, heads: list[list[int]]) -> None:
        # word timestamps read these cross-attention heads; a checkpoint loaded from a path otherwise
        # falls back to "the last half of the layers", which is far less precise
        dims = self.model.dims
        mask = np.zeros((dims.n_text_layer, dims.n_text_head), dtype=bool)
        for layer, head in heads:
            mask[layer, head] = True
        self.model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))

    def language_probabilities(self, audio: Audio) -> dict[str, float]:
        """How likely each language is for the first 30 s of ``audio`` (Whisper's own detector)."""
        if not self.multilingual:
            return {"en": 1.0}
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(np.ascontiguousarray(audio, dtype=np.float32)), n_mels=self.model.dims.n_mels
        )
        _, probabilities = self.model.detect_language(mel)
        return {str(code): float(p) for code, p in dict(probabilities).items()}

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
        self._encoder.frames = o.window_frames(audio.size)
        try:
            result = self._decode(audio, language, prompt, word_timestamps)
        finally:
            self._encoder.frames = None
        segments = _keep_speech(
            [
                Segment(
                    float(s["start"]),
                    float(s["end"]),
                    str(s["text"]).strip(),
                    tuple(
                        Word(float(w["start"]), float(w["end"]), str(w["word"]).strip())
                        for w in s.get("words", ())
                    ),
                )
                for s in result["segments"]
                if not o.rejects(s["no_speech_prob"], s["avg_logprob"], s["compression_ratio"])
            ]
        )
        detected = str(result.get("language") or language or "en")
        return in_simplified(Transcript(_join(segments, detected), detected, tuple(segments), seconds))

    def _decode(
        self, audio: Audio, language: str | None, prompt: str | None, word_timestamps: bool
    ) -> dict[str, Any]:
        o = self.options
        result: dict[str, Any] = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language,
            # Mandarin: a Simplified prompt, or Whisper writes Traditional characters.
            initial_prompt=zh_prompt(prompt) if language == "zh" else prompt or None,
            word_timestamps=word_timestamps,
            condition_on_previous_text=o.condition_on_previous_text,
            no_speech_threshold=o.no_speech_threshold,
            logprob_threshold=o.logprob_threshold,
            temperature=o.temperatures,
            compression_ratio_threshold=o.compression_ratio_threshold,
            beam_size=o.beam_size if o.beam_size > 1 else None,
            sample_len=o.max_tokens(audio.size),
            fp16=False,
            verbose=None,
        )
        return result


def _keep_speech(segments: list[Segment]) -> list[Segment]:
    kept = [s for s in segments if not is_hallucination(s.text)]
    if len(kept) == 1 and is_hallucination(kept[0].text, alone=True):
        return []
    return kept


def _join(segments: list[Segment], language: str) -> str:
    separator = "" if language in {"zh", "ja", "yue"} else " "
    return separator.join(s.text for s in segments).strip()
