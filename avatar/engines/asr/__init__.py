"""Speech recognition: Whisper engines behind one small interface, and audio file reading.

``load_asr("tiny.en")`` (English, default) or ``load_asr("base")`` (multilingual) use weights bundled
in installed packages, converted once into the cache; ``engine="faster-whisper"`` runs the same
weights on CTranslate2.
"""

from avatar.engines.asr.audio_file import read_audio
from avatar.engines.asr.base import SAMPLE_RATE_HZ, ASREngine, ASRError, Segment, Transcript, Word
from avatar.engines.asr.factory import DEFAULT_MODEL, ENGINES, MULTILINGUAL_MODEL, load_asr
from avatar.engines.asr.options import DecodeOptions

__all__ = [
    "DEFAULT_MODEL",
    "ENGINES",
    "MULTILINGUAL_MODEL",
    "SAMPLE_RATE_HZ",
    "ASREngine",
    "ASRError",
    "DecodeOptions",
    "Segment",
    "Transcript",
    "Word",
    "load_asr",
    "read_audio",
]
