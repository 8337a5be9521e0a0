"""The animator as a viewer sees it: lips that follow the voice, eyes that blink like a person's."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.render.animator import Animator

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
