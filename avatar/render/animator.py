"""Turns what the audience hears into what the face does: lip flap from loudness, and blinks.

The animator is driven by the audio master clock: each video frame asks it for the face at
programme time ``t`` with the loudness of the audio playing at ``t``. It never reads a wall
clock, so a test can replay any sequence of (t, level) and get the same faces back.
"""

from __future__ import annotations

import math
import random
from typing import Final

MOUTH_DEAD_ZONE: Final[float] = 0.06
"""Loudness (0..1) below which lips stay shut, so room tone and breaths do not flap the mouth."""
MOUTH_RELEASE_S: Final[float] = 0.07
"""Seconds for the mouth to fall from wide open to shut once the voice stops (a slew limit)."""

BLINK_MIN_GAP_S: Final[float] = 2.0
"""Shortest time between the starts of two blinks."""
BLINK_MAX_GAP_S: Final[float] = 6.0
"""Longest time between the starts of two blinks."""
BLINK_CLOSE_S: Final[float] = 0.05
"""Seconds for the lids to come down."""
BLINK_HOLD_S: Final[float] = 0.04
"""Seconds fully shut: one 25 fps frame period, so every blink shows at least one closed frame."""
BLINK_OPEN_S: Final[float] = 0.07
"""Seconds for the lids to lift again (opening is slower than closing in real blinks)."""
BLINK_TOTAL_S: Final[float] = BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S

MAX_STEP_S: Final[float] = 1.0
"""A gap in t longer than this (a pause, a seek) is treated as a fresh start, not one huge step."""


class Animator:
    """Maps (time, loudness) to (mouth_open, eyes_closed), one call per video frame.

    Deterministic: the same ``seed`` and the same sequence of ``t``/``level`` give the same output.
    Not thread-safe; one animator per video track.
    """

    def __init__(self, fps: int = 25, seed: int = 7) -> None:
        """``fps`` sets the step assumed for the first frame; ``seed`` fixes the blink timing."""
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self._frame_s = 1.0 / fps
        self._rng = random.Random(seed)
        self._last_t: float | None = None
        self._mouth = 0.0
        self._next_blink_t: float | None = None
        self._blink_start_t: float | None = None

    def step(self, t: float, level: float) -> tuple[float, float]:
        """Advance to programme time ``t`` (seconds) with loudness ``level`` (0..1).

        Returns ``(mouth_open, eyes_closed)``, both in 0..1. The mouth reaches a louder level
        within this very frame (attack is instant, as lips lead the sound we hear) and closes
        within ``MOUTH_RELEASE_S`` when it goes quiet.
        """
        if not math.isfinite(level):
            level = 0.0
        if not math.isfinite(t):
            # A broken clock reading must not poison the blink schedule for the rest of the show.
            return self._mouth, 0.0
        dt = self._advance(t)
        self._mouth = self._step_mouth(dt, level)
        return self._mouth, self._step_blink(t)

    def _advance(self, t: float) -> float:
        """Seconds since the previous step; the first step and any jump count as one frame."""
        last, self._last_t = self._last_t, t
        if last is None:
            return self._frame_s
        dt = t - last
        if dt < 0.0 or dt > MAX_STEP_S:
            # Time went backwards or leapt (a new show, a seek): re-plan blinks from here.
            self._next_blink_t = None
            self._blink_start_t = None
            return self._frame_s
        return dt

    def _step_mouth(self, dt: float, level: float) -> float:
        # Rescale so the dead zone maps to 0 and full scale to 1: above the noise floor the
        # mouth tracks the level almost one to one.
        target = min(max((level - MOUTH_DEAD_ZONE) / (1.0 - MOUTH_DEAD_ZONE), 0.0), 1.0)
        if target >= self._mouth:
            return target
        return max(target, self._mouth - dt / MOUTH_RELEASE_S)

    def _step_blink(self, t: float) -> float:
        if self._next_blink_t is None:
            self._next_blink_t = t + self._gap()
        if self._blink_start_t is None and t >= self._next_blink_t:
            # Anchor to the scheduled time, not this frame, so the hold window (one frame long)
            # always contains a frame and the lids really close.
            self._blink_start_t = self._next_blink_t
            self._next_blink_t = self._blink_start_t + self._gap()
        if self._blink_start_t is None:
            return 0.0
        e = t - self._blink_start_t
        if e >= BLINK_TOTAL_S or e < 0.0:
            self._blink_start_t = None
            if t >= self._next_blink_t:
                return self._step_blink(t)
            return 0.0
        if e < BLINK_CLOSE_S:
            return _ease(e / BLINK_CLOSE_S)
        if e < BLINK_CLOSE_S + BLINK_HOLD_S:
            return 1.0
        return _ease(1.0 - (e - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S)

    def _gap(self) -> float:
        return self._rng.uniform(BLINK_MIN_GAP_S, BLINK_MAX_GAP_S)


def _ease(x: float) -> float:
    """Smoothstep, so lids accelerate and settle instead of moving at constant speed."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)
