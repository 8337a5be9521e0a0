"""Coqui TTS (the ``coqui-tts`` package, ``import TTS``) voices.

Three ways to name a model:

- a Coqui model name (``tts_models/en/ljspeech/vits``): Coqui's own model manager fetches it, so
  this needs internet the first time (the files land in Coqui's user cache);
- a local checkpoint + config (``model.pth`` + ``config.json``) of any Coqui model;
- a local VITS checkpoint made from a Piper voice by :mod:`avatar.engines.tts.piper_to_coqui`
  (``piper_frontend.json`` beside it): Piper's phonemizer makes the phoneme ids and they go straight
  into ``Vits.inference``, because Coqui's own phonemizer would number the phonemes differently.

Coqui models are not safe to call from two threads at once: one engine instance per model, used
from its voice's worker thread (the lock makes a stray second caller wait instead of corrupting).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avatar.engines.tts.base import TTSCapabilities, TTSError
from avatar.media.audio import Pcm

log = logging.getLogger(__name__)

FRONTEND_FILE = "piper_frontend.json"
# Longest phoneme-id sequence given to VITS at once: the speaker cuts sentences at 220 characters,
# which is about 450 ids; anything longer is cut into pieces (attention cost grows with the square).
MAX_IDS_PER_PIECE = 600


def float_to_pcm(audio: npt.ArrayLike) -> Pcm:
    """Float audio in [-1, 1] as int16, clipped."""
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    pcm: Pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    return pcm


class CoquiEngine:
    """One Coqui TTS model; ``synthesize`` speaks one sentence (blocking)."""

    def __init__(
        self,
        *,
        model_name: str | None = None,
        checkpoint: Path | None = None,
        config: Path | None = None,
        language: str = "en",
        speed: float = 1.0,
        speaker: str | None = None,
        coqui_language: str | None = None,
    ) -> None:
        if (model_name is None) == (checkpoint is None):
            raise TTSError("a Coqui voice needs either a model name or a local checkpoint")
        os.environ.setdefault("COQUI_TOS_AGREED", "0")  # never prompt on a terminal from a worker thread
        self._lock = threading.Lock()
        self._speaker = speaker
        self._coqui_language = coqui_language
        self._speed = max(0.25, speed)
        self._frontend: Any = None
        self._model: Any = None
        self._api: Any = None
        try:
            if checkpoint is not None:
                config = config or checkpoint.with_name("config.json")
                for path, what in ((checkpoint, "checkpoint"), (config, "config")):
                    if not path.is_file():
                        raise TTSError(f"coqui {what} not found: {path}")
                self.name = f"coqui:{checkpoint.parent.name}"
                frontend = checkpoint.with_name(FRONTEND_FILE)
                if frontend.is_file():
                    sample_rate = self._load_vits_with_piper_frontend(checkpoint, config, frontend)
                else:
                    sample_rate = self._load_api(model_path=str(checkpoint), config_path=str(config))
            else:
                assert model_name is not None
                self.name = f"coqui:{model_name}"
                sample_rate = self._load_api(model_name=model_name)
        except TTSError:
            raise
        except Exception as error:  # Coqui raises anything from KeyError to HTTP errors
            raise TTSError(f"could not load Coqui model {model_name or checkpoint}: {error}") from error
        self.capabilities = TTSCapabilities(sample_rate=sample_rate, languages=(language,))

    def _load_vits_with_piper_frontend(self, checkpoint: Path, config_path: Path, frontend: Path) -> int:
        from piper import PiperVoice
        from piper.config import PiperConfig
        from TTS.tts.configs.vits_config import VitsConfig
        from TTS.tts.models.vits import Vits

        meta = json.loads(frontend.read_text(encoding="utf-8"))
        config = VitsConfig()
        config.load_json(str(config_path))
        model = Vits(config)
        model.load_checkpoint(config, str(checkpoint), eval=True)
        self._base_length_scale = float(model.length_scale)
        model.length_scale = self._base_length_scale / self._speed
        self._model = model
        # Only Piper's text side is used: no ONNX session is opened.
        self._frontend = PiperVoice(session=None, config=PiperConfig.from_dict(meta["piper_config"]))
        return int(config.audio.sample_rate)

    def _load_api(self, **where: str) -> int:
        # Coqui's text stack (pysbd, gruut, ...) emits Syntax/Deprecation/Future warnings on import
        # and load: library noise, not ours to act on, and fatal where warnings are errors (tests).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning, FutureWarning, UserWarning))
            from TTS.api import TTS

            api = TTS(progress_bar=False, **where)
        model = api.synthesizer.tts_model if api.synthesizer is not None else None
        if model is not None and hasattr(model, "length_scale"):
            model.length_scale = float(model.length_scale) / self._speed
        self._api = api
        return int(api.synthesizer.output_sample_rate)

    def synthesize(self, text: str) -> Pcm:
        """Audio for one sentence: int16 mono at ``capabilities.sample_rate``."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        with self._lock:
            try:
                if self._frontend is not None:
                    return self._synthesize_ids(text)
                wav = self._api.tts(
                    text, speaker=self._speaker, language=self._coqui_language, split_sentences=False
                )
            except TTSError:
                raise
            except Exception as error:
                raise TTSError(f"{self.name} could not speak {text[:40]!r}: {error}") from error
        return float_to_pcm(wav)

    def phoneme_ids(self, text: str) -> list[int]:
        """Piper phoneme ids of ``text`` (only for voices converted from Piper)."""
        if self._frontend is None:
            raise TTSError(f"{self.name} has no Piper frontend")
        ids: list[int] = []
        for sentence in self._frontend.phonemize(text):
            ids.extend(self._frontend.phonemes_to_ids(sentence))
        return ids

    def _synthesize_ids(self, text: str) -> Pcm:
        import torch

        ids = self.phoneme_ids(text)
        if not ids:
            return np.zeros(0, dtype=np.int16)
        pieces: list[Pcm] = []
        with torch.inference_mode():
            for start in range(0, len(ids), MAX_IDS_PER_PIECE):
                batch = torch.tensor([ids[start : start + MAX_IDS_PER_PIECE]], dtype=torch.long)
                out = self._model.inference(batch)["model_outputs"]
                pieces.append(float_to_pcm(out.squeeze().cpu().numpy()))
        return np.concatenate(pieces)
