"""Turns what the audience hears into what the face does: lips, blinks, expressions, gestures.

The animator is driven by the audio master clock: each video frame asks it for the face at
programme time ``t`` with the loudness (and spectrum, or phoneme) of the audio playing at ``t``,
and the show's current ``Mood``. It never reads a wall clock, so a test can replay any sequence of
inputs and get the same faces back.

* The mouth opens with loudness (instant attack, slewed release) and takes its shape from the
  phoneme playing or, failing that, from the spectrum (``avatar.render.lipsync``).
* Blinks are seeded-random, two to six seconds apart.
* Moods ease in and out: a smile for a promotion, a thinking look while an answer is prepared,
  a nod (and raised brows) for a greeting. A change of ``focus`` (the product on the card)
  plays a gesture toward the card.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from avatar.render.frame import Expression
from avatar.render.lipsync import NEUTRAL as NEUTRAL_SHAPE
from avatar.render.lipsync import MouthShape, shape_for_phoneme, shape_from_bands

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

SHAPE_TAU_S: Final[float] = 0.04
"""Time constant of the lips' shape (spread, rounded): fast enough to show each vowel, slow enough
not to flicker between two readings of the same one."""

SMILE_IN_S: Final[float] = 0.25
"""Seconds for a smile to spread fully."""
SMILE_OUT_S: Final[float] = 0.6
"""Seconds for it to fade: smiles linger."""
THINK_IN_S: Final[float] = 0.3
THINK_OUT_S: Final[float] = 0.35
NOD_DOWN_UP_S: Final[tuple[float, float]] = (0.45, 0.35)
"""A greeting nod: one full dip, then a smaller second one (seconds each)."""
NOD_SECOND_DEPTH: Final[float] = 0.45
BROW_GREETING_S: Final[float] = 1.2
"""How long the brows stay raised after a greeting starts."""
GESTURE_RISE_S: Final[float] = 0.45
GESTURE_HOLD_S: Final[float] = 1.8
GESTURE_FALL_S: Final[float] = 0.5
GESTURE_TOTAL_S: Final[float] = GESTURE_RISE_S + GESTURE_HOLD_S + GESTURE_FALL_S


class Mood(StrEnum):
    """What the show is doing, as far as the face is concerned."""

    NEUTRAL = "neutral"
    SMILE = "smile"
    """A promotion is being announced."""
    THINKING = "thinking"
    """A viewer asked; the answer is not audible yet."""
    GREETING = "greeting"
    """Saying hello: a nod, raised brows and a smile."""


@dataclass(frozen=True)
class Face:
    """The face for one frame: what ``FrameState`` needs from the animator."""

    mouth_open: float
    mouth_wide: float
    mouth_round: float
    eyes_closed: float
    expression: Expression


class Animator:
    """Maps (time, audio, mood) to a ``Face``, one call per video frame.

    Deterministic: the same ``seed`` and the same sequence of inputs give the same output.
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
        self._shape = NEUTRAL_SHAPE
        self._smile = 0.0
        self._think = 0.0
        self._mood = Mood.NEUTRAL
        self._greeting_t: float | None = None
        self._focus: Hashable | None = None
        self._gesture_t: float | None = None
        self._jumped = True
        self._face = Face(0.0, 0.0, 0.0, 0.0, Expression())

    def step(self, t: float, level: float) -> tuple[float, float]:
        """Advance to programme time ``t`` (seconds) with loudness ``level`` (0..1).

        Returns ``(mouth_open, eyes_closed)``, both in 0..1. The mouth reaches a louder level
        within this very frame (attack is instant, as lips lead the sound we hear) and closes
        within ``MOUTH_RELEASE_S`` when it goes quiet.
        """
        face = self.face(t, level)
        return face.mouth_open, face.eyes_closed

    def face(
        self,
        t: float,
        level: float,
        *,
        bands: Sequence[float] = (),
        phoneme: str | None = None,
        mood: Mood = Mood.NEUTRAL,
        focus: Hashable | None = None,
    ) -> Face:
        """Advance to programme time ``t`` and return the face to draw.

        ``level``: loudness of the audio playing (0..1). ``bands``: its spectrum as
        ``band_shares``; ``phoneme``: the phoneme playing, when the voice engine reports timings
        (it wins over the spectrum). ``mood``: what the show is doing. ``focus``: what the host is
        presenting (the product id); when it changes, she gestures toward the card.
        """
        if not math.isfinite(level):
            level = 0.0
        if not math.isfinite(t):
            # A broken clock reading must not poison the schedules for the rest of the show.
            return Face(self._face.mouth_open, self._face.mouth_wide, self._face.mouth_round, 0.0, NO_MOTION)
        dt = self._advance(t)
        self._mouth = self._step_mouth(dt, level)
        self._step_shape(dt, phoneme, bands)
        expression = self._step_expression(t, dt, mood, focus)
        shape = self._shape
        self._face = Face(
            mouth_open=min(max(self._mouth * shape.open_scale, 0.0), 1.0),
            mouth_wide=min(max(shape.wide, 0.0), 1.0) if self._mouth > 0.0 else 0.0,
            mouth_round=min(max(shape.round, 0.0), 1.0) if self._mouth > 0.0 else 0.0,
            eyes_closed=self._step_blink(t),
            expression=expression,
        )
        return self._face

    def _advance(self, t: float) -> float:
        """Seconds since the previous step; the first step and any jump count as one frame."""
        last, self._last_t = self._last_t, t
        self._jumped = last is None
        if last is None:
            return self._frame_s
        dt = t - last
        if dt < 0.0 or dt > MAX_STEP_S:
            # Time went backwards or leapt (a new show, a seek): re-plan blinks and drop any nod
            # or gesture in flight, from here.
            self._next_blink_t = None
            self._blink_start_t = None
            self._greeting_t = None
            self._gesture_t = None
            self._jumped = True
            return self._frame_s
        return dt

    def _step_shape(self, dt: float, phoneme: str | None, bands: Sequence[float]) -> None:
        target = shape_for_phoneme(phoneme) or shape_from_bands(bands)
        if self._mouth <= 0.0 and phoneme is None:
            target = NEUTRAL_SHAPE  # lips at rest between words
        k = 1.0 - math.exp(-dt / SHAPE_TAU_S)
        self._shape = MouthShape(*(a + (b - a) * k for a, b in zip(self._shape, target, strict=True)))

    def _step_expression(self, t: float, dt: float, mood: Mood, focus: Hashable | None) -> Expression:
        if mood is Mood.GREETING and (self._mood is not Mood.GREETING or self._jumped):
            self._greeting_t = t
        self._mood = mood
        if focus is not None and focus != self._focus:
            self._gesture_t = t
        if focus is not None:
            self._focus = focus
        smile_target = 1.0 if mood in (Mood.SMILE, Mood.GREETING) else 0.0
        think_target = 1.0 if mood is Mood.THINKING else 0.0
        if self._jumped:
            self._smile, self._think = smile_target, think_target
        else:
            self._smile = _slew(self._smile, smile_target, dt, SMILE_IN_S, SMILE_OUT_S)
            self._think = _slew(self._think, think_target, dt, THINK_IN_S, THINK_OUT_S)
        nod = brows = 0.0
        if self._greeting_t is not None:
            e = t - self._greeting_t
            down, second = NOD_DOWN_UP_S
            if 0.0 <= e < down:
                nod = math.sin(math.pi * e / down)
            elif down <= e < down + second:
                nod = NOD_SECOND_DEPTH * math.sin(math.pi * (e - down) / second)
            if 0.0 <= e < BROW_GREETING_S:
                brows = math.sin(math.pi * min(e / 0.25, 1.0) / 2) * (1.0 - _ease((e - 0.8) / 0.4))
            elif e >= BROW_GREETING_S and mood is not Mood.GREETING:
                self._greeting_t = None
        brows = max(brows, 0.3 * self._smile) - 0.25 * self._think
        gesture = 0.0
        if self._gesture_t is not None:
            e = t - self._gesture_t
            if e < 0.0 or e >= GESTURE_TOTAL_S:
                self._gesture_t = None
            elif e < GESTURE_RISE_S:
                gesture = _ease_out_back(e / GESTURE_RISE_S)
            elif e < GESTURE_RISE_S + GESTURE_HOLD_S:
                gesture = 1.0
            else:
                gesture = 1.0 - _ease((e - GESTURE_RISE_S - GESTURE_HOLD_S) / GESTURE_FALL_S)
        return Expression(
            smile=self._smile,
            think=self._think,
            brows=min(max(brows, -1.0), 1.0),
            nod=nod,
            gesture=min(max(gesture, 0.0), 1.1),
        )

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


NO_MOTION: Final[Expression] = Expression()


def _slew(value: float, target: float, dt: float, rise_s: float, fall_s: float) -> float:
    """Move ``value`` toward ``target`` at full range per ``rise_s`` (up) or ``fall_s`` (down)."""
    if target > value:
        return min(target, value + dt / rise_s)
    return max(target, value - dt / fall_s)


def _ease_out_back(x: float) -> float:
    """Overshoots a little and settles: a hand raised with some life in it."""
    x = min(max(x, 0.0), 1.0) - 1.0
    c = 1.4
    return 1.0 + (c + 1.0) * x**3 + c * x**2


def _ease(x: float) -> float:
    """Smoothstep, so lids accelerate and settle instead of moving at constant speed."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)
