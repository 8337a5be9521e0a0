"""Pick and load a speech recogniser by model name or path and engine name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from avatar.engines.asr.base import ASREngine, ASRError
from avatar.engines.asr.bundled import BUNDLED
from avatar.engines.asr.options import DecodeOptions
from avatar.paths import cache_dir

ENGINES: Final = ("whisper", "faster-whisper")
ENGINE_ALIASES: Final = {"whisper": "whisper", "openai-whisper": "whisper", "faster": "faster-whisper"}
"""Short names the CLI and config accept for :data:`ENGINES`."""
DEFAULT_MODEL: Final = "tiny.en"
DEFAULT_ENGINE: Final = "whisper"
MULTILINGUAL_MODEL: Final = "base"
HUB_MODELS: Final = (
    *("tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en"),
    *("large", "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo"),
)
"""Whisper model names both engines can fetch from a hub (needs internet the first time)."""


def check_asr_choice(model: str, engine: str) -> tuple[str, str]:
    """``(model, engine)`` with the engine's alias resolved; ValueError naming what is wrong.

    Checked when a show starts, so a typo stops ``avatar live`` at once instead of switching speech
    recognition off on the first question. Nothing is loaded here.
    """
    resolved = ENGINE_ALIASES.get(engine, engine)
    if resolved not in ENGINES:
        choices = ", ".join(sorted({*ENGINES, *ENGINE_ALIASES}))
        raise ValueError(f"asr_engine: unknown ASR engine {engine!r} (choose from {choices})")
    if model in BUNDLED or model in HUB_MODELS:
        return model, resolved
    path = Path(model).expanduser()
    if path.exists():
        if resolved == "faster-whisper" and not (path / "model.bin").is_file():
            raise ValueError(f"asr_model: {model}: faster-whisper needs a CTranslate2 folder with model.bin")
        return model, resolved
    if os.sep in model or model.endswith(".pt"):
        raise ValueError(f"asr_model: {model}: no such Whisper model file or folder")
    names = ", ".join([*BUNDLED, *(n for n in HUB_MODELS if n not in BUNDLED)])
    raise ValueError(f"asr_model: unknown Whisper model {model!r} (a path, or one of {names})")


def load_asr(
    model: str = DEFAULT_MODEL, *, engine: str = DEFAULT_ENGINE, options: DecodeOptions | None = None
) -> ASREngine:
    """Load a recogniser: a bundled name (``tiny.en``, ``base``), a local path, or a hub name.

    For the ``whisper`` engine a path is an openai-whisper ``.pt`` or a CTranslate2 folder (converted
    into the cache); for ``faster-whisper`` a CTranslate2 folder. A hub name (``small``) needs
    internet the first time. Raises ASRError with what is wrong.
    """
    engine = ENGINE_ALIASES.get(engine, engine)
    if engine not in ENGINES:
        raise ASRError(f"unknown ASR engine {engine!r} (choose from {', '.join(ENGINES)})")
    try:
        if engine == "faster-whisper":
            return _faster(model, options)
        return _whisper(model, options)
    except ASRError:
        raise
    except (OSError, RuntimeError, ValueError) as error:
        raise ASRError(f"could not load Whisper model {model!r} with {engine}: {error}") from error


def _whisper(model: str, options: DecodeOptions | None) -> ASREngine:
    from avatar.engines.asr.convert import convert_folder, ensure_checkpoint
    from avatar.engines.asr.whisper_engine import WhisperEngine

    if model in BUNDLED:
        checkpoint, manifest = ensure_checkpoint(model)
        return WhisperEngine(
            checkpoint, alignment_heads=manifest.get("alignment_heads"), options=options, name=model
        )
    path = Path(model).expanduser()
    if path.is_dir():
        checkpoint, heads = convert_folder(path)
        return WhisperEngine(checkpoint, alignment_heads=heads, options=options, name=str(path))
    if path.is_file():
        return WhisperEngine(path, options=options, name=str(path))
    if os.sep in model or model.endswith(".pt"):
        raise ASRError(f"{model}: no such Whisper model file or folder")
    # a hub name: openai-whisper downloads it once into the cache (needs internet the first time)
    return WhisperEngine(model, options=options, name=model, download_root=cache_dir("whisper", "hub"))


def _faster(model: str, options: DecodeOptions | None) -> ASREngine:
    from avatar.engines.asr.faster_engine import FasterWhisperEngine

    if model in BUNDLED:
        return FasterWhisperEngine(BUNDLED[model].ct2_dir(), options=options, name=model)
    path = Path(model).expanduser()
    if path.exists() and not (path / "model.bin").is_file():
        raise ASRError(f"{model}: faster-whisper needs a CTranslate2 folder with model.bin")
    return FasterWhisperEngine(path if path.exists() else model, options=options, name=model)
