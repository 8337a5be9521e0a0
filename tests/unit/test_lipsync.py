"""Lip sync as a viewer sees it: the mouth opens with the voice, on time, in the shape of the sound.

The end-to-end checks drive the real chain: synthetic speech is queued on the ``Playout`` (the
master clock) and pulled 20 ms at a time as the programme pump does; at each 25 fps frame the
animator reads the playhead and the renderer draws the face; mouth openness is measured from
the pixels of the mouth region.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ, VISEME_BANDS_HZ, band_shares
from avatar.media.playout import NowPlaying, Playout
from avatar.render.animator import Animator
from avatar.render.compositor import Renderer
from avatar.render.frame import FrameState
from avatar.render.lipsync import (
    NEUTRAL,
    SHAPES,
    Viseme,
    shape_for_phoneme,
    shape_from_bands,
    viseme_for_phoneme,
)

FPS = 25
FRAME_S = 1.0 / FPS
CHUNKS_PER_FRAME = round(FRAME_S * SAMPLE_RATE_HZ / CHUNK_SAMPLES)


def vowel(seconds: float, formants: tuple[float, float], f0: float = 130.0, seed: int = 0) -> np.ndarray:
    """A steady voiced vowel: harmonics of ``f0`` shaped by two formant resonances, as float -1..1."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    rng = np.random.default_rng(seed)
    out = np.zeros_like(t)
    for k in range(1, int(5000 / f0)):
        f = k * f0
        gain = sum(1.0 / (1.0 + ((f - fc) / (0.12 * fc)) ** 2) for fc in formants) / k
        out += gain * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out / np.max(np.abs(out))


def syllable_envelope(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Loudness over time like running speech: 3-6 syllables a second with short pauses.

    Returns (times in s at 1 kHz, envelope 0..1).
    """
    rng = np.random.default_rng(seed)
    step = 0.001
    times = np.arange(0.0, seconds, step)
    env = np.zeros_like(times)
    t = 0.1
    while t < seconds - 0.3:
        length = rng.uniform(0.12, 0.28)
        peak = rng.uniform(0.35, 1.0)
        inside = (times >= t) & (times < t + length)
        env[inside] = peak * np.sin(np.pi * (times[inside] - t) / length) ** 0.7
        t += length + (rng.uniform(0.15, 0.4) if rng.random() < 0.25 else rng.uniform(0.0, 0.04))
    return times, env


def speech(
    seconds: float, seed: int, formants: tuple[float, float] = (750.0, 1200.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int16 pcm, envelope times, envelope) of an "ah"-like voice following a syllable envelope."""
    times, env = syllable_envelope(seconds, seed)
    carrier = vowel(seconds, formants, seed=seed)
    gain = np.interp(np.arange(carrier.size) / SAMPLE_RATE_HZ, times, env)
    pcm = (carrier * gain * 9000).astype(np.int16)
    return pcm, times, env


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(640, 360)


def mouth_openness(renderer: Renderer, frame: np.ndarray) -> int:
    """Dark pixels (the inside of the mouth) in the mouth region."""
    x0, y0, x1, y1 = renderer.regions(0.0)["mouth"]
    gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return int(np.count_nonzero(gray < 90))


def play_and_watch(
    pcm: np.ndarray, renderer: Renderer, phonemes: list[tuple[float, str]] | None = None
) -> tuple[np.ndarray, list[NowPlaying]]:
    """Play ``pcm`` through a Playout frame by frame: mouth openness and the playhead at each frame."""
    playout = Playout()
    playout.enqueue(pcm, turn_id=1, text="la la la", phonemes=phonemes)
    animator = Animator(fps=FPS)
    openness: list[int] = []
    heads: list[NowPlaying] = []
    frames = pcm.size // (CHUNKS_PER_FRAME * CHUNK_SAMPLES)
    # A still head: pick t so that breathing and sway do not move the mouth box between frames.
    for _ in range(frames):
        for _ in range(CHUNKS_PER_FRAME):
            playout.pull()
        playing = playout.now_playing
        t = playing.samples_played / SAMPLE_RATE_HZ
        face = animator.face(t, playing.level, bands=playing.bands, phoneme=playing.phoneme)
        state = FrameState(
            t=0.0,
            mouth_open=face.mouth_open,
            eyes_closed=0.0,
            caption="",
            product=None,
            title="",
            mouth_wide=face.mouth_wide,
            mouth_round=face.mouth_round,
        )
        openness.append(mouth_openness(renderer, renderer.render(state)))
        heads.append(playing)
    return np.array(openness, dtype=np.float64), heads


# ----------------------------------------------------------------------------- spectrum


@pytest.mark.parametrize("band", range(len(VISEME_BANDS_HZ) - 1))
def test_band_shares_find_a_tone_in_its_band(band: int) -> None:
    lo, hi = VISEME_BANDS_HZ[band], VISEME_BANDS_HZ[band + 1]
    t = np.arange(CHUNK_SAMPLES) / SAMPLE_RATE_HZ
    pcm = (8000 * np.sin(2 * np.pi * np.sqrt(lo * hi) * t)).astype(np.int16)
    shares = band_shares(pcm)
    assert sum(shares) == pytest.approx(1.0)
    assert shares[band] > 0.95, shares


def test_silence_has_no_spectrum() -> None:
    assert band_shares(np.zeros(CHUNK_SAMPLES, np.int16)) == (0.0,) * 5
    assert band_shares(np.zeros(0, np.int16)) == (0.0,) * 5


# Band shares of loud 20 ms chunks of the bundled Piper voice (median over each vowel of
# "ah", "see", "two" and the hiss of "sss"): what the thresholds in lipsync were read from.
PIPER_AH = (0.04, 0.84, 0.08, 0.04, 0.0)
PIPER_EE = (0.62, 0.02, 0.16, 0.2, 0.0)
PIPER_OO = (0.87, 0.02, 0.08, 0.03, 0.0)
PIPER_S = (0.0, 0.0, 0.02, 0.22, 0.76)


def test_vowels_take_their_shape_from_the_spectrum() -> None:
    ah, ee, oo = shape_from_bands(PIPER_AH), shape_from_bands(PIPER_EE), shape_from_bands(PIPER_OO)
    assert ah.open_scale > 0.85 and ah.wide < 0.3 and ah.round == 0.0, ah
    assert ee.wide > 0.8 and ee.round == 0.0, ee
    assert oo.round > 0.8 and oo.wide < 0.2, oo
    s = shape_from_bands(PIPER_S)
    assert s.wide > 0.8 and s.open_scale < 0.5, s


def test_hiss_is_a_sibilant_not_an_open_mouth() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1, CHUNK_SAMPLES)
    hiss = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(CHUNK_SAMPLES, 1 / SAMPLE_RATE_HZ) > 4000))
    shape = shape_from_bands(band_shares((hiss / np.abs(hiss).max() * 6000).astype(np.int16)))
    assert shape.wide > 0.8 and shape.open_scale < 0.5, shape


def test_no_spectrum_means_no_shape() -> None:
    assert shape_from_bands(()) == NEUTRAL
    assert shape_from_bands((0.2, 0.8)) == NEUTRAL


# ----------------------------------------------------------------------------- phonemes


@pytest.mark.parametrize(
    ("phoneme", "viseme"),
    [
        ("a", Viseme.AA),
        ("ˈæ", Viseme.AA),
        ("iː", Viseme.EE),
        ("uː", Viseme.OO),
        ("w", Viseme.OO),
        ("s", Viseme.SS),
        ("ð", Viseme.SS),
        ("ʃ", Viseme.CH),
        ("tʃ", Viseme.CH),
        ("dʒ", Viseme.CH),
        ("f", Viseme.FV),
        ("v", Viseme.FV),
        ("m", Viseme.MBP),
        ("b", Viseme.MBP),
        ("p", Viseme.MBP),
        ("t", Viseme.REST),
        ("k", Viseme.REST),
        ("aɪ", Viseme.AA),
        ("", Viseme.REST),
        ("ˈ", Viseme.REST),
    ],
)
def test_phonemes_map_to_visemes(phoneme: str, viseme: Viseme) -> None:
    assert viseme_for_phoneme(phoneme) is viseme


def test_every_viseme_has_a_shape() -> None:
    assert set(SHAPES) == set(Viseme)
    assert SHAPES[Viseme.MBP].open_scale == 0.0  # lips together
    assert shape_for_phoneme(None) is None and shape_for_phoneme("") is None


async def test_playout_reports_the_phoneme_being_heard() -> None:
    playout = Playout()
    tone = (6000 * np.sin(2 * np.pi * 200 * np.arange(int(0.3 * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ)).astype(
        np.int16
    )
    # Given out of order on purpose: the playout sorts them.
    playout.enqueue(tone, turn_id=1, phonemes=[(0.1, "m"), (0.0, "h"), (0.2, "iː")])
    heard: list[str | None] = []
    for _ in range(15):
        playout.pull()
        heard.append(playout.now_playing.phoneme)
    assert heard[:5] == ["h"] * 5 and heard[5:10] == ["m"] * 5 and heard[10:] == ["iː"] * 5
    playout.pull()
    assert playout.now_playing.phoneme is None, "silence after the utterance: no phoneme"
    assert playout.now_playing.bands == (), "and no spectrum"


async def test_playout_reports_the_spectrum_of_what_plays() -> None:
    playout = Playout()
    hum = 6000 * np.sin(2 * np.pi * 200 * np.arange(int(0.1 * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ)
    playout.enqueue(hum.astype(np.int16), turn_id=1)
    playout.pull()
    bands = playout.now_playing.bands
    assert len(bands) == 5 and sum(bands) == pytest.approx(1.0)
    assert bands[0] > 0.9, "a 200 Hz hum is all in the lowest band"


# ----------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_mouth_follows_the_voice_on_time(renderer: Renderer, seed: int) -> None:
    pcm, times, env = speech(8.0, seed)
    openness, heads = play_and_watch(pcm, renderer)
    frame_t = np.array([h.samples_played / SAMPLE_RATE_HZ for h in heads])

    def r_at(lag_s: float) -> float:
        """Correlation of the mouth with the envelope ``lag_s`` earlier (the mouth lagging by it)."""
        reference = np.interp(frame_t - lag_s, times, env)
        return float(np.corrcoef(openness, reference)[0, 1])

    lags = np.arange(-0.08, 0.0801, 0.002)
    rs = np.array([r_at(lag) for lag in lags])
    best = float(lags[int(np.argmax(rs))])
    assert r_at(0.0) >= 0.8, f"mouth vs voice envelope r={r_at(0.0):.3f}"
    assert abs(best) < FRAME_S, f"the mouth lags the voice by {best * 1000:.0f} ms"


async def test_quiet_between_words_closes_the_mouth(renderer: Renderer) -> None:
    pcm, _, _ = speech(4.0, 5)
    pcm[: int(0.5 * SAMPLE_RATE_HZ)] = 0  # half a second of silence first
    openness, _ = play_and_watch(pcm, renderer)
    assert openness[: int(0.5 * FPS)].max() == 0
    assert openness.max() > 20, "and it opens once the voice starts"


async def test_a_bilabial_closes_the_lips_even_while_loud(renderer: Renderer) -> None:
    loud = (vowel(1.2, (750.0, 1200.0)) * 9000).astype(np.int16)
    phonemes = [(0.0, "a"), (0.4, "m"), (0.8, "a")]
    openness, _ = play_and_watch(loud, renderer, phonemes)
    open_a = openness[5:9].mean()  # well into the first "a"
    during_m = openness[16:20].mean()  # well into the "m"
    assert open_a > 30 and during_m < 0.2 * open_a, (open_a, during_m)
    assert openness[26:29].mean() > 0.8 * open_a, "the mouth opens again for the next vowel"


@pytest.mark.slow
def test_the_real_voice_spreads_and_rounds_the_lips() -> None:
    """On the bundled Piper voice, "see" spreads the lips and "two" rounds them."""
    from avatar.engines.tts.piper_engine import PiperEngine, bundled_joe_paths
    from avatar.media.audio import loudness, resample

    engine = PiperEngine(*bundled_joe_paths())

    def shapes(word: str) -> list[tuple[float, float]]:
        pcm = resample(engine.synthesize(word), engine.capabilities.sample_rate)
        chunks = [pcm[i : i + CHUNK_SAMPLES] for i in range(0, pcm.size - CHUNK_SAMPLES, CHUNK_SAMPLES)]
        loud = [c for c in chunks if loudness(c) > 0.5]  # the vowel, not the consonant
        return [(s.wide, s.round) for s in (shape_from_bands(band_shares(c)) for c in loud)]

    see, two = shapes("see"), shapes("two")
    assert np.median([w for w, _ in see]) > 0.5 and np.median([r for _, r in see]) < 0.2, see
    assert np.median([r for _, r in two]) > 0.5 and np.median([w for w, _ in two]) < 0.2, two
