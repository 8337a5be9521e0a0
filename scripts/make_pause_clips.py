"""Make the spoken questions with mid-sentence pauses (tests/data/pauses/*.flac, 16 kHz mono s16).

Each clip is a question said in parts with a silence between them ("How much is the" ... "the blue
one?"), read by espeak-ng voices (not the host's) and a few by the host's Piper joe voice. Some
parts look like a whole question on their own (the hard case for endpointing on words), some clips
have music or a second, quieter person under them, and one changes the question at the end.

``clips.json`` records, per clip, the whole text and where each spoken part starts and ends (in
seconds), so a measure can tell a turn ended while the person was still going (a false cut-off).
FLAC keeps the files small; :func:`avatar.engines.asr.read_audio` reads them.

Run: ``PYTHONPATH=. .venv/bin/python scripts/make_pause_clips.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avatar.media.audio import resample  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "pauses"
RATE = 16_000
LEAD_S = 0.3  # silence before the first word
TAIL_S = 1.0  # silence after the last word (the turn must end in it)

# name: (voice, parts, pauses between them in seconds, what plays under it)
# voice: an espeak-ng voice (+variant) or "piper" (the host's joe voice)
CLIPS: dict[str, tuple[str, tuple[str, ...], tuple[float, ...], str | None]] = {
    "blue_one": ("en-gb+f4", ("How much is the", "the blue one?"), (0.5,), None),
    "bottle_stock": ("en+m1", ("Is the Summit bottle", "in stock?"), (0.4,), None),
    "lamp_black": ("en-us", ("How much is the Lumen desk lamp?", "In black?"), (0.3,), None),
    "backpack_discount": ("en-gb+f4", ("Does the", "Ridgeline backpack have a discount?"), (0.6,), None),
    "buds_battery": (
        "en-us+klatt2",
        ("How long does the battery", "of the Aurora Buds last?"),
        (0.35,),
        None,
    ),
    "lamp_colours": ("en+f3", ("What colours does the", "lamp come in?"), (0.45,), None),
    "two_coffee": ("en-us", ("Can I get", "two coffee sets", "with the discount?"), (0.3, 0.3), None),
    "coffee_um": ("en-gb", ("Is the coffee set", "um", "still on sale?"), (0.5, 0.4), None),
    "lamp_and_bottle": ("en+m3", ("How much is the lamp", "and the bottle together?"), (0.25,), None),
    "bottle_sold_out": ("en-us+f2", ("Is the Summit bottle in stock", "or is it sold out?"), (0.35,), None),
    "shipping": ("en-gb-x-rp", ("How much", "is shipping for the backpack?"), (0.5,), None),
    "buds_iphone": ("en+m1", ("Do the Aurora Buds", "work with an iPhone?"), (0.3,), None),
    "price_of": ("en-us+klatt2", ("What is the price of", "the coffee set?"), (0.6,), None),
    "discount_two": ("en-gb+f4", ("Is there a discount", "if I buy two lamps?"), (0.3,), None),
    "changes_at_end": ("en-us", ("How much is the lamp?", "Actually, the bottle?"), (0.3,), None),
    "which_better": ("en+f3", ("Which one is better", "the buds or the lamp?"), (0.4,), None),
    "lamp_dimmable": ("en-gb", ("Is the Lumen lamp", "dimmable?"), (0.7,), None),
    "joe_blue_one": ("piper", ("How much is the", "the blue one?"), (0.4,), None),
    "joe_backpack": ("piper", ("Is the backpack", "waterproof?"), (0.35,), None),
    "joe_buds": ("piper", ("What is the battery life", "on the buds?"), (0.3,), None),
    "music_coffee": ("en-us+f2", ("How much is the coffee set", "in the big box?"), (0.4,), "music"),
    "music_lamp": ("piper", ("Does the lamp have", "a warm light setting?"), (0.45,), "music"),
    "two_people": ("en-gb+f4", ("How much is the lamp", "in white?"), (0.4,), "voice"),
    "short_pause": ("en+m3", ("Is the Ridgeline backpack", "big enough for a laptop?"), (0.2,), None),
}


def espeak(voice: str, text: str, rate: int = 140) -> np.ndarray:
    """``text`` said by espeak-ng: 16 kHz mono float32."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "part.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
        with wave.open(str(path)) as wav:
            source_rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(pcm, source_rate, RATE).astype(np.float32) / 32768.0


class Piper:
    """The host's voice (Piper joe), loaded once."""

    def __init__(self) -> None:
        from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths

        model, config = bundled_joe_paths()
        self.engine = PiperEngine(model, config, phoneme_timing=False)

    def __call__(self, text: str) -> np.ndarray:
        pcm = self.engine.synthesize(text)
        return resample(pcm, self.engine.capabilities.sample_rate, RATE).astype(np.float32) / 32768.0


def trimmed(audio: np.ndarray, floor: float = 0.004) -> np.ndarray:
    """The audio from its first to its last audible sample (TTS pads parts with its own silence)."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio[:0]


def music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A soft synth loop (chords on a beat, about -28 dBFS): the shop's background music."""
    t = np.arange(int(seconds * RATE)) / RATE
    chords = ((220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 329.6))
    out = np.zeros_like(t)
    for index, start in enumerate(np.arange(0.0, seconds, 0.5)):
        notes = chords[index % len(chords)]
        span = (t >= start) & (t < start + 0.5)
        envelope = np.exp(-3.0 * (t[span] - start))
        out[span] += sum(np.sin(2 * np.pi * f * t[span]) for f in notes) * envelope
    out += rng.normal(0.0, 0.02, t.size)
    return (0.04 / max(1e-9, float(np.max(np.abs(out))))) * out * 1.0


def encode_flac(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz mono s16 FLAC."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> None:
    """Write every clip and clips.json."""
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261207)
    piper: Piper | None = None
    manifest: dict[str, dict[str, object]] = {}
    for name, (voice, parts, pauses, bed) in CLIPS.items():
        if voice == "piper":
            piper = piper or Piper()
            said = [trimmed(piper(text)) for text in parts]
        else:
            said = [trimmed(espeak(voice, text)) for text in parts]
        pieces: list[np.ndarray] = [np.zeros(int(LEAD_S * RATE), np.float32)]
        spans: list[tuple[float, float]] = []
        at = LEAD_S
        for index, audio in enumerate(said):
            spans.append((round(at, 3), round(at + audio.size / RATE, 3)))
            pieces.append(audio)
            at += audio.size / RATE
            if index < len(pauses):
                pieces.append(np.zeros(int(pauses[index] * RATE), np.float32))
                at += int(pauses[index] * RATE) / RATE
        pieces.append(np.zeros(int(TAIL_S * RATE), np.float32))
        clip = np.concatenate(pieces)
        clip *= 0.7 / max(1e-9, float(np.max(np.abs(clip))))
        if bed == "music":
            clip = clip + music(clip.size / RATE, rng)
        elif bed == "voice":  # someone else in the room, quieter, while the first part is said
            other = 0.15 * trimmed(espeak("en-us+m3", "I like the green one", rate=160))
            start = int(LEAD_S * RATE)
            end = min(clip.size, start + other.size)
            clip[start:end] += other[: end - start]
        encode_flac(OUT / f"{name}.flac", clip)
        manifest[name] = {
            "text": " ".join(parts),
            "voice": voice,
            "parts": spans,
            "pauses_s": list(pauses),
            "under": bed,
        }
    (OUT / "clips.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
