"""The animator as a viewer sees it: lips that follow the voice, eyes that blink like a person's."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.render.animator import Animator, Face, Mood
from avatar.render.frame import Expression

FPS = 25
FRAME_S = 1.0 / FPS


def run(levels: list[float] | np.ndarray, seed: int = 7, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Drive an animator frame by frame; returns (mouth, eyes) per frame."""
    anim = Animator(fps=FPS, seed=seed)
    out = [anim.step(t0 + i * FRAME_S, float(level)) for i, level in enumerate(levels)]
    mouth, eyes = zip(*out, strict=True)
    return np.array(mouth), np.array(eyes)


def blink_onsets(eyes: np.ndarray) -> int:
    closed = eyes >= 0.5
    return int(np.count_nonzero(closed[1:] & ~closed[:-1]) + int(closed[0]))


def test_silence_and_room_noise_keep_the_mouth_shut() -> None:
    mouth, _ = run([0.0] * 100)
    assert mouth.max() == 0.0
    rng = np.random.default_rng(3)
    mouth, _ = run(rng.uniform(0.0, 0.04, 200))
    assert mouth.max() == 0.0


def test_mouth_opens_on_the_first_loud_frame() -> None:
    levels = [0.0] * 10 + [0.8] * 5
    mouth, _ = run(levels)
    assert mouth[9] == 0.0
    assert mouth[10] >= 0.75  # the very frame the sound starts
    assert mouth[10] <= 1.0


def test_mouth_closes_within_three_frames_of_silence() -> None:
    levels = [1.0] * 10 + [0.0] * 6
    mouth, _ = run(levels)
    assert mouth[9] == pytest.approx(1.0)
    assert mouth[10] < mouth[9]  # it starts closing at once ...
    assert mouth[10] > 0.0  # ... but not in a single snap
    assert mouth[12] < 0.05  # and is shut by the third quiet frame


def test_mouth_stays_in_range_for_wild_input() -> None:
    anim = Animator()
    for i, level in enumerate([5.0, -3.0, float("nan"), float("inf"), 0.5]):
        m, e = anim.step(i * FRAME_S, level)
        assert 0.0 <= m <= 1.0
        assert 0.0 <= e <= 1.0


def test_mouth_follows_a_speech_like_envelope() -> None:
    rng = np.random.default_rng(11)
    # Syllable-rate loudness: random values smoothed over ~3 frames, like RMS of speech.
    raw = rng.uniform(0.0, 1.0, 500)
    levels = np.convolve(raw, np.ones(3) / 3, mode="same")
    mouth, _ = run(levels)
    r = float(np.corrcoef(levels, mouth)[0, 1])
    assert r >= 0.8, r


@pytest.mark.parametrize("seed", range(12))
def test_blinks_like_a_person_in_ten_seconds(seed: int) -> None:
    _, eyes = run([0.0] * (10 * FPS), seed=seed)
    n = blink_onsets(eyes)
    assert 1 <= n <= 5, n
    # Every blink really closes the eyes in at least one frame, and is over quickly.
    closed_runs = np.diff(np.flatnonzero(np.diff(np.r_[0, eyes > 0.01, 0])))[::2]
    assert (closed_runs <= 5).all(), closed_runs  # <= 200 ms at 25 fps
    assert np.count_nonzero(eyes >= 0.99) >= n


def test_eyes_open_between_blinks() -> None:
    _, eyes = run([0.0] * (30 * FPS))
    assert np.mean(eyes == 0.0) > 0.9


def test_same_seed_same_face_different_seed_different_blinks() -> None:
    rng = np.random.default_rng(5)
    levels = rng.uniform(0.0, 1.0, 400)
    m1, e1 = run(levels, seed=42)
    m2, e2 = run(levels, seed=42)
    assert np.array_equal(m1, m2) and np.array_equal(e1, e2)
    _, e3 = run(levels, seed=43)
    assert not np.array_equal(e1, e3)


def test_does_not_depend_on_the_starting_time() -> None:
    levels = [0.0, 0.5, 0.9, 0.2, 0.0] * 40
    m1, e1 = run(levels, t0=0.0)
    m2, e2 = run(levels, t0=3600.0)
    assert np.allclose(m1, m2)
    assert np.allclose(e1, e2)


def test_a_jump_in_time_is_survived() -> None:
    anim = Animator()
    for i in range(50):
        anim.step(i * FRAME_S, 0.5)
    m, e = anim.step(0.0, 0.0)  # a new show restarts programme time
    assert 0.0 <= m <= 1.0 and e == 0.0
    _, eyes = zip(*(anim.step(i * FRAME_S, 0.0) for i in range(1, 10 * FPS)), strict=True)
    assert 1 <= blink_onsets(np.array(eyes)) <= 5


def test_a_broken_clock_reading_does_not_stop_blinking() -> None:
    anim = Animator()
    anim.step(0.0, 0.0)
    assert anim.step(float("nan"), 0.5) == (0.0, 0.0)
    _, eyes = zip(*(anim.step(i * FRAME_S, 0.0) for i in range(1, 10 * FPS)), strict=True)
    assert 1 <= blink_onsets(np.array(eyes)) <= 5


def test_bad_fps_is_refused() -> None:
    with pytest.raises(ValueError):
        Animator(fps=0)


# ----------------------------------------------------------------------------- shapes and moods


def faces(
    steps: int,
    *,
    mood: Mood = Mood.NEUTRAL,
    level: float = 0.0,
    t0: float = 0.0,
    anim: Animator | None = None,
    **kw: object,
) -> list[Face]:
    """Drive an animator ``steps`` frames with fixed inputs."""
    anim = anim or Animator(fps=FPS)
    return [anim.face(t0 + i * FRAME_S, level, mood=mood, **kw) for i in range(steps)]  # type: ignore[arg-type]


EE = (0.62, 0.02, 0.16, 0.2, 0.0)  # band shares of an "ee" (see test_lipsync)
OO = (0.87, 0.02, 0.08, 0.03, 0.0)


def test_lips_take_the_shape_of_the_vowel() -> None:
    ee = faces(4, level=0.7, bands=EE)[-1]
    oo = faces(4, level=0.7, bands=OO)[-1]
    assert ee.mouth_wide > 0.7 and ee.mouth_round < 0.1
    assert oo.mouth_round > 0.7 and oo.mouth_wide < 0.1
    assert 0.0 < oo.mouth_open <= 1.0 and 0.0 < ee.mouth_open <= 1.0


def test_lips_relax_when_the_voice_stops() -> None:
    anim = Animator(fps=FPS)
    faces(5, level=0.7, bands=EE, anim=anim)
    quiet = faces(5, level=0.0, t0=5 * FRAME_S, anim=anim)[-1]
    assert quiet.mouth_open == 0.0 and quiet.mouth_wide == 0.0 and quiet.mouth_round == 0.0


def test_a_phoneme_wins_over_the_spectrum() -> None:
    anim = Animator(fps=FPS)
    faces(5, level=0.8, phoneme="a", anim=anim)
    m = faces(4, level=0.8, phoneme="m", bands=EE, t0=5 * FRAME_S, anim=anim)
    assert m[-1].mouth_open < 0.02, "lips pressed for an 'm', however loud"
    oo = faces(4, level=0.8, phoneme="uː", bands=EE, t0=9 * FRAME_S, anim=anim)[-1]
    assert oo.mouth_round > 0.7 and oo.mouth_wide < 0.2


def test_a_promotion_brings_a_smile_that_lingers_a_little() -> None:
    anim = Animator(fps=FPS)
    assert faces(1, anim=anim)[0].expression.smile == 0.0
    smiling = faces(10, mood=Mood.SMILE, t0=FRAME_S, anim=anim)
    assert smiling[0].expression.smile < 1.0, "eases in, not a snap"
    assert smiling[-1].expression.smile == 1.0 and smiling[-1].expression.brows > 0.0
    after = faces(20, t0=11 * FRAME_S, anim=anim)
    assert after[0].expression.smile > 0.5 and after[-1].expression.smile == 0.0


def test_thinking_while_the_answer_is_prepared() -> None:
    anim = Animator(fps=FPS)
    thinking = faces(10, mood=Mood.THINKING, anim=anim)
    assert thinking[-1].expression.think == 1.0 and thinking[-1].expression.brows < 0.0
    assert thinking[-1].expression.smile == 0.0
    done = faces(12, t0=10 * FRAME_S, anim=anim)
    assert done[-1].expression.think == 0.0


def test_a_greeting_nods_once_and_raises_the_brows() -> None:
    greeting = faces(40, mood=Mood.GREETING, t0=1.0)
    nods = np.array([f.expression.nod for f in greeting])
    assert nods.max() > 0.9 and nods[0] < nods.max(), "the head dips..."
    assert np.all(nods[25:] == 0.0), "...and comes back up within a second, even while the greeting goes on"
    assert max(f.expression.brows for f in greeting[:20]) > 0.9
    assert greeting[-1].expression.smile == 1.0


def test_the_hand_presents_each_new_product() -> None:
    anim = Animator(fps=FPS)
    first = faces(90, focus="buds", anim=anim)
    g = np.array([f.expression.gesture for f in first])
    assert g[0] < 0.5 and g[:15].max() >= 1.0, "raised within 0.6 s of the product appearing"
    assert np.all(g[20:50] == 1.0), "held while she talks about it"
    assert np.all(g[75:] == 0.0), "and lowered again"
    same = faces(90, focus="buds", t0=90 * FRAME_S, anim=anim)
    assert all(f.expression.gesture == 0.0 for f in same), "the same product: no new gesture"
    nothing = faces(10, focus=None, t0=180 * FRAME_S, anim=anim)
    assert all(f.expression.gesture == 0.0 for f in nothing)
    nxt = faces(10, focus="lamp", t0=190 * FRAME_S, anim=anim)
    assert nxt[-1].expression.gesture >= 1.0


def test_a_time_jump_drops_a_gesture_in_flight() -> None:
    anim = Animator(fps=FPS)
    faces(5, focus="buds", anim=anim)
    after = anim.face(100.0, 0.0, focus="buds")
    assert after.expression.gesture == 0.0


def test_expressions_are_deterministic() -> None:
    moods = [Mood.NEUTRAL, Mood.GREETING, Mood.SMILE, Mood.THINKING] * 30
    runs = []
    for _ in range(2):
        anim = Animator(fps=FPS, seed=3)
        runs.append([anim.face(i * FRAME_S, (i % 7) / 7, mood=m, focus=i // 40) for i, m in enumerate(moods)])
    assert runs[0] == runs[1]


def test_a_broken_clock_reading_gives_a_calm_face() -> None:
    anim = Animator()
    faces(5, mood=Mood.GREETING, focus="x", anim=anim)
    face = anim.face(float("nan"), 0.5, mood=Mood.GREETING)
    assert face.expression == Expression() and face.eyes_closed == 0.0
