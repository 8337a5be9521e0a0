"""``avatar transcribe FILE``: one audio file in, the transcript as JSON out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avatar.engines.asr.audio_file import read_audio
from avatar.engines.asr.factory import DEFAULT_MODEL, MULTILINGUAL_MODEL, load_asr


def model_for(language: str | None, model: str | None) -> str:
    """The model to use: the one asked for, else tiny.en for English and multilingual base otherwise."""
    if model:
        return model
    return DEFAULT_MODEL if language in {None, "en"} else MULTILINGUAL_MODEL


def transcribe_file(
    path: Path,
    *,
    language: str | None = None,
    model: str | None = None,
    engine: str = "whisper",
    prompt: str | None = None,
) -> dict[str, Any]:
    """Read ``path`` (any format PyAV decodes) and transcribe it; ValueError for a bad file,
    ASRError for a model that cannot be loaded."""
    audio = read_audio(path)  # first: a bad file is reported before a model is loaded
    asr = load_asr(model_for(language, model), engine=engine)
    return asr.transcribe(audio, language=language, prompt=prompt).as_json()
