"""espeak-ng, the formant voice that is always there: the fallback when a neural voice fails,
and the Mandarin voice until a neural one lands."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from avatar.engines.tts.base import TTSCapabilities, TTSError
from avatar.media.audio import Pcm

ESPEAK_TIMEOUT_S = 20.0


class EspeakEngine:
    """Runs the ``espeak-ng`` program; one process per sentence keeps it crash-proof."""

    def __init__(self, voice: str = "en-us", *, language: str = "en", speed: float = 1.0) -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise TTSError("espeak-ng is not installed (Debian package espeak-ng)")
        self._binary = binary
        self._voice = voice
        self._words_per_minute = round(175 * speed)
        self.name = f"espeak:{voice}"
        self.capabilities = TTSCapabilities(sample_rate=22_050, languages=(language,))

    def synthesize(self, text: str) -> Pcm:
        try:
            result = subprocess.run(
                [self._binary, "--stdout", "-v", self._voice, "-s", str(self._words_per_minute), text],
                capture_output=True,
                timeout=ESPEAK_TIMEOUT_S,
                check=True,
            )
        except (subprocess.SubprocessError, OSError) as error:
            raise TTSError(f"espeak-ng failed: {error}") from error
        with wave.open(io.BytesIO(result.stdout)) as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise TTSError("espeak-ng returned audio that is not 16-bit mono")
            self.capabilities = TTSCapabilities(wav.getframerate(), self.capabilities.languages)
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()
