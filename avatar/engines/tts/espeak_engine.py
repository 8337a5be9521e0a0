"""espeak-ng, the formant voice that is always there: the fallback when a neural voice fails,
and the Mandarin voice until a neural one lands.

Mandarin: no pinyin package is installed (``pypinyin`` is not among coqui-tts's dependencies here,
and Piper's Chinese phonemizer downloads its g2pW model), so espeak-ng's own ``cmn`` dictionary turns
characters into tone-numbered pinyin. The voice to use is ``cmn-latn-pinyin``: plain ``cmn`` reads
Latin text as English, and that includes its own tone digits ("ni3" comes out as "ni three"). With
``cmn-latn-pinyin`` Latin words would be read as pinyin instead, so runs of Latin letters (product
names such as "Aurora Buds") are marked up with SSML and spoken by the English voice.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from xml.sax.saxutils import escape

import numpy as np

from avatar.engines.tts.base import TTSCapabilities, TTSError
from avatar.media.audio import Pcm

ESPEAK_TIMEOUT_S = 20.0
ESPEAK_DEFAULT_PITCH = 50  # espeak-ng's -p scale is 0-99
ESPEAK_PITCH_PER_SEMITONE = 4.0  # -p moves the base pitch by roughly a quarter semitone per step
MANDARIN_VOICES = frozenset({"cmn", "cmn-latn-pinyin", "zh", "zh-cmn"})
LATIN_VOICE = "en-us"
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'\-]*(?:\s+[A-Za-z][A-Za-z'\-]*)*")


def mandarin_ssml(text: str, voice: str) -> str | None:
    """SSML that speaks Latin runs in English and the rest with the Mandarin ``voice``; None if no Latin."""
    if not _LATIN_RUN.search(text):
        return None
    parts: list[str] = []
    position = 0
    for match in _LATIN_RUN.finditer(text):
        if match.start() > position:
            parts.append(f'<voice name="{voice}">{escape(text[position : match.start()])}</voice>')
        parts.append(f'<voice name="{LATIN_VOICE}">{escape(match.group())}</voice>')
        position = match.end()
    if position < len(text):
        parts.append(f'<voice name="{voice}">{escape(text[position:])}</voice>')
    return "<speak>" + "".join(parts) + "</speak>"


class EspeakEngine:
    """Runs the ``espeak-ng`` program; one process per sentence keeps it crash-proof."""

    def __init__(
        self, voice: str = "en-us", *, language: str = "en", speed: float = 1.0, pitch: float = 0.0
    ) -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise TTSError("espeak-ng is not installed (Debian package espeak-ng)")
        self._binary = binary
        self._voice = voice
        self._words_per_minute = round(175 * speed)
        self._pitch = int(np.clip(ESPEAK_DEFAULT_PITCH + ESPEAK_PITCH_PER_SEMITONE * pitch, 0, 99))
        self.name = f"espeak:{voice}"
        self.capabilities = TTSCapabilities(sample_rate=22_050, languages=(language,))

    def synthesize(self, text: str) -> Pcm:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        command = [self._binary, "--stdout", "-v", self._voice, "-s", str(self._words_per_minute)]
        command += ["-p", str(self._pitch)]
        ssml = mandarin_ssml(text, self._voice) if self._voice.lower() in MANDARIN_VOICES else None
        command += ["-m", ssml] if ssml else ["--", text]
        try:
            result = subprocess.run(command, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=True)
        except (subprocess.SubprocessError, OSError) as error:
            raise TTSError(f"espeak-ng failed: {error}") from error
        with wave.open(io.BytesIO(result.stdout)) as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise TTSError("espeak-ng returned audio that is not 16-bit mono")
            self.capabilities = TTSCapabilities(wav.getframerate(), self.capabilities.languages)
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()
