"""Make the short speech clips the listen tests use (tests/data/*.wav, 16 kHz mono s16).

The voices are espeak-ng's, deliberately NOT the host's (Piper joe), so the tests show Whisper
recognising a stranger. Run again after changing CLIPS: ``.venv/bin/python scripts/make_speech_clips.py``.
Silence and noise clips come from a fixed seed, so the output is reproducible.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avatar.media.audio import resample  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data"
RATE = 16_000

# name: (espeak-ng voice, words per minute, text)
CLIPS: dict[str, tuple[str, int, str]] = {
    "en_lamp_price": ("en-gb+f4", 135, "How much is the Lumen desk lamp?"),
    "en_bottle_stock": ("en+m1", 150, "Is the Summit bottle in stock?"),
    "en_backpack_discount": ("en-gb+f4", 135, "Is there a discount on the Ridgeline backpack?"),
    "en_buds_battery": ("en-us+klatt2", 135, "How long does the battery of the Aurora Buds last?"),
    "en_coffee_price": ("en-us", 135, "How much is the coffee set?"),
    # "How much is the desk lamp" in Mandarin, read from pinyin with tone digits (DESIGN.md 3)
    "zh_lamp_price": ("cmn-latn-pinyin", 140, "tai2 deng1 duo1 shao3 qian2"),
    # Voice questions for scenes/demo-zh (`avatar bench --listen-only --scene scenes/demo-zh`), tones
    # as said (espeak-ng does no tone sandhi): 空气炸锅多少钱, 大红袍多少钱, 蚕丝被还有货吗
    "zh_fryer_price": ("cmn-latn-pinyin", 140, "kong1 qi4 zha2 guo1 duo1 shao3 qian2"),
    "zh_tea_price": ("cmn-latn-pinyin", 140, "da4 hong2 pao2 duo1 shao3 qian2"),
    "zh_quilt_stock": ("cmn-latn-pinyin", 140, "can2 si1 bei4 hai2 you3 huo4 ma5"),
}


def espeak(voice: str, rate: int, text: str) -> np.ndarray:
    """Speak ``text`` with espeak-ng and return 16 kHz mono int16 samples."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
        with wave.open(str(path)) as wav:
            source_rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(pcm, source_rate, RATE)


def write(name: str, pcm: np.ndarray) -> None:
    """Write 16 kHz mono s16 ``tests/data/<name>.wav``."""
    with wave.open(str(OUT / f"{name}.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.asarray(pcm, dtype=np.int16).tobytes())


def main() -> None:
    """Write every clip, plus silence and noise."""
    OUT.mkdir(parents=True, exist_ok=True)
    pad = np.zeros(RATE // 4, dtype=np.int16)
    for name, (voice, rate, text) in CLIPS.items():
        write(name, np.concatenate([pad, espeak(voice, rate, text), pad]))
    rng = np.random.default_rng(20261123)
    write("silence", np.zeros(2 * RATE, dtype=np.int16))
    # steady hiss and hum, about -30 dBFS: what an open mic in a quiet room sends
    t = np.arange(3 * RATE) / RATE
    noise = rng.normal(0.0, 800.0, t.size) + 400.0 * np.sin(2 * np.pi * 50.0 * t)
    write("noise", np.clip(noise, -32768, 32767).astype(np.int16))


if __name__ == "__main__":
    main()
