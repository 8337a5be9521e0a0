"""The presenter: a friendly head-and-shoulders host, drawn with OpenCV.

Drawing is split by how often things change:

* the body (shirt, neck), the head (hair, face shading, nose, cheeks), the fringe in front of it,
  glasses and the presenting hand (a few poses) are painted once, supersampled for smooth edges
  and soft shading, then cut into sprites at every quarter-pixel offset, so breathing, sway and
  nods move smoothly without redrawing anything;
* the eyes (lids, gaze), brows and mouth change every frame and are drawn directly into their
  small boxes of the frame with anti-aliased, sub-pixel OpenCV primitives, between the head and
  the fringe so that hair still falls over a raised brow.

The look (``Look``: hair style, glasses, which side of the frame she stands on) and the colours
(``Palette``) come from the scene's theme.

All geometry is written in *units*: pixels at 360p. ``u = height / 360`` scales it in a 16:9
frame. In a 9:16 (portrait, phone) frame she stands in the middle, a little larger (``u = width /
360 * PORTRAIT_ZOOM``), her shirt reaching the bottom of the frame; the card and captions are laid
over her there, as live-shopping apps do, and the presenting hand is not drawn (it would rise from
under the card).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from avatar.render.frame import NEUTRAL, Expression, Image, Sprite, blend

BGR = tuple[int, int, int]
Box = tuple[int, int, int, int]
"""x0, y0, x1, y1 in pixels (x1, y1 exclusive)."""
FloatArray = npt.NDArray[np.float32]

SS: Final[int] = 4
"""Supersampling factor of the cached layers; also the number of sub-pixel phases (1/4 px)."""
SHIFT: Final[int] = 4
"""Fractional bits for OpenCV's fixed-point coordinates in per-frame drawing (1/16 px)."""
FIX: Final[float] = float(1 << SHIFT)

# Where the character stands, as fractions of the frame.
HEAD_X_FRAC: Final[float] = 0.30
"""Head centre, fraction of frame width from the presenter's edge (the card takes the other side)."""
HEAD_Y_FRAC: Final[float] = 0.385
"""Head centre, fraction of frame height from the top (leaves room for the title badge)."""
PORTRAIT_ZOOM: Final[float] = 1.3
"""In a 9:16 frame: units are 1/360 of the width, times this (the host fills a phone screen)."""
PORTRAIT_HEAD_Y_FRAC: Final[float] = 0.29
"""In a 9:16 frame: head centre, fraction of the frame height (face clear of the card below)."""

# Idle motion, from programme time.
BREATH_PERIOD_S: Final[float] = 4.2
"""One breath: a relaxed speaker takes about 14 a minute."""
BREATH_UNITS: Final[float] = 1.2
"""Shoulder rise at the top of a breath, units (px at 360p)."""
HEAD_BREATH_SHARE: Final[float] = 0.7
"""The head rides on the shoulders but moves a little less."""
SWAY_PERIOD_S: Final[float] = 7.3
"""Slow side-to-side sway; not a multiple of the breath period, so motion never looks looped."""
SWAY_UNITS: Final[float] = 1.3
"""Sway amplitude, units."""
SWAY2_PERIOD_S: Final[float] = 3.1
SWAY2_UNITS: Final[float] = 0.5
GAZE_SEGMENT_S: Final[float] = 2.7
"""The eyes settle on a new point this often (seconds)."""
GAZE_MOVE_S: Final[float] = 0.12
"""A saccade: how long the iris takes to move to the new point."""

# Face geometry, units relative to the head centre (x right, y down).
FACE_HALF_W: Final[float] = 44.0
FACE_TOP: Final[float] = 50.0
FACE_CHIN: Final[float] = 58.0
EYE_DX: Final[float] = 19.0
EYE_Y: Final[float] = 5.0
EYE_HALF_W: Final[float] = 10.0
EYE_UP: Final[float] = 11.5
EYE_LOW: Final[float] = 8.5
IRIS_R: Final[float] = 7.6
LID_REST: Final[float] = 0.12
"""Even fully open, the upper lid covers a little of the iris: a relaxed, friendly look."""
MOUTH_Y: Final[float] = 37.0
MOUTH_HALF_W: Final[float] = 11.0
MOUTH_SMILE: Final[float] = 2.6
"""How far the mouth corners sit above its centre, units."""
MOUTH_DEPTH: Final[float] = 15.0
"""Opening of the mouth at mouth_open = 1, units."""

BROW_Y: Final[float] = EYE_Y - 22.5
"""Brow height at rest, units (its middle)."""
BROW_RAISE: Final[float] = 3.0
"""How far ``Expression.brows = 1`` lifts both brows, units."""

# Expressions, units.
NOD_UNITS: Final[float] = 5.0
"""Head dip at the bottom of a nod."""
GESTURE_LEAN_UNITS: Final[float] = 2.0
"""The head leans this far toward the card while the hand presents it."""
THINK_LEAN_UNITS: Final[float] = 1.5
"""... and this far away from it while thinking."""
GAZE_AT_CARD: Final[tuple[float, float]] = (2.6, 0.6)
"""Iris offset (x toward the card, y down) when looking at the card, units."""
GAZE_THINKING: Final[tuple[float, float]] = (-2.2, -2.6)
"""Iris offset (x toward the card, y down) for the thinking look: up and away."""

# The presenting hand: a forearm rising from below the frame, palm open toward the card.
ARM_ELBOW: Final[tuple[float, float]] = (40.0, 234.0)
"""Elbow (below the frame) when the hand is fully raised, units from the head centre, card side."""
ARM_DROP_UNITS: Final[float] = 150.0
"""How far below that the elbow sits when the hand is down (out of the frame)."""
ARM_ANGLE_DEG: Final[tuple[float, float]] = (24.0, 46.0)
"""Forearm tilt toward the card from vertical: hand down, hand raised."""
ARM_POSES: Final[int] = 8
"""Pre-painted forearm angles; the pose nearest the gesture is drawn."""
FOREARM_UNITS: Final[float] = 150.0
"""Elbow to wrist."""
HAND_SCALE: Final[float] = 1.3
"""The hand is drawn in its own units (wrist to fingertip about 50) and scaled by this."""

# Sprite extents, units relative to the head centre.
HEAD_BOX: Final[tuple[float, float, float, float]] = (-66.0, -80.0, 66.0, 74.0)
"""left, top, right, bottom of the head sprite: hair reaches past the face."""
BUN_HEAD_BOX: Final[tuple[float, float, float, float]] = (-66.0, -102.0, 66.0, 74.0)
"""The same with a bun on top."""
BODY_BOX: Final[tuple[float, float, float, float]] = (-122.0, 12.0, 122.0, 240.0)
"""left, top, right, bottom of the body sprite: runs past the frame bottom so breathing shows no gap."""


@dataclass(frozen=True)
class Palette:
    """The character's colours (BGR)."""

    skin: BGR
    hair: BGR
    shirt: BGR
    accent: BGR


HAIR_STYLES: Final[tuple[str, ...]] = ("bob", "bun")
"""``bob``: a jaw-length bob with a swept fringe. ``bun``: hair up in a bun, ears and earrings showing."""
SIDES: Final[tuple[str, ...]] = ("left", "right")


@dataclass(frozen=True)
class Look:
    """What the character looks like beyond colours, and where she stands."""

    hair_style: str = "bob"
    """One of ``HAIR_STYLES``."""
    glasses: bool = False
    """Round glasses, drawn over the eyes."""
    side: str = "left"
    """Which side of the frame she stands on (``SIDES``); the product card takes the other."""

    def __post_init__(self) -> None:
        if self.hair_style not in HAIR_STYLES:
            raise ValueError(f"hair style {self.hair_style!r}: expected one of {', '.join(HAIR_STYLES)}")
        if self.side not in SIDES:
            raise ValueError(f"side {self.side!r}: expected one of {', '.join(SIDES)}")


def mix(a: BGR, b: BGR, k: float) -> BGR:
    """``a`` moved a fraction ``k`` of the way to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * k),
        round(a[1] + (b[1] - a[1]) * k),
        round(a[2] + (b[2] - a[2]) * k),
    )


def shade(c: BGR, k: float) -> BGR:
    """``c`` darkened (k < 1) or lightened toward white (k > 1)."""
    if k <= 1.0:
        return mix((0, 0, 0), c, k)
    return mix(c, (255, 255, 255), k - 1.0)


def spline(points: Sequence[tuple[float, float]], closed: bool = False, steps: int = 10) -> FloatArray:
    """A Catmull-Rom curve through ``points``: organic outlines from a few control points."""
    p = np.asarray(points, dtype=np.float32)
    n = len(p)
    if n < 3:
        return p
    if closed:
        ext = np.vstack([p[-1:], p, p[:2]])
    else:
        ext = np.vstack([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    segments = n if closed else n - 1
    s = np.linspace(0.0, 1.0, steps, endpoint=False, dtype=np.float32)[:, None]
    out: list[FloatArray] = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * s
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * s**3
            )
        )
    if not closed:
        out.append(p[-1:])
    return np.vstack(out).astype(np.float32)


def mirror(half: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A symmetric outline from its right half (listed top to bottom)."""
    # Points on the axis appear once: a repeated point would kink the spline there.
    return [*half, *[(-x, y) for x, y in reversed(half) if x != 0.0]]


def face_outline() -> FloatArray:
    """The face: round forehead, full cheeks, a soft narrower chin."""
    phi = np.linspace(0.0, 2.0 * math.pi, 96, endpoint=False)
    sin, cos = np.sin(phi), np.cos(phi)
    y = np.where(sin > 0, sin * FACE_CHIN, sin * FACE_TOP)
    taper = np.where(y > 0, 1.0 - 0.2 * (y / FACE_CHIN) ** 2, 1.0)
    x = cos * FACE_HALF_W * taper
    return np.stack([x, y], axis=1).astype(np.float32)


class _Canvas:
    """A supersampled pre-multiplied float layer, painted in units.

    Every operation touches only the bounding box of what it paints (plus its blur margin),
    which keeps building the 720p sprites to a fraction of a second.
    """

    def __init__(self, box: tuple[float, float, float, float], u: float, ss: int = SS) -> None:
        left, top, right, bottom = box
        self.u = u
        self.ss = ss
        self.scale = u * ss
        # Sprite size in output pixels; the canvas adds one output pixel of margin on the
        # top-left so each sub-pixel phase is a plain crop (see ``sprites``).
        self.out_w = math.ceil((right - left) * u)
        self.out_h = math.ceil((bottom - top) * u)
        self.origin_out = (math.ceil(-left * u), math.ceil(-top * u))
        h, w = (self.out_h + 1) * ss, (self.out_w + 1) * ss
        self.ox = (self.origin_out[0] + 1) * ss
        self.oy = (self.origin_out[1] + 1) * ss
        self.col: FloatArray = np.zeros((h, w, 3), np.float32)
        self.alpha: FloatArray = np.zeros((h, w), np.float32)

    def px(self, pts: npt.ArrayLike) -> FloatArray:
        """Units to canvas pixels."""
        p = np.asarray(pts, dtype=np.float32).reshape(-1, 2)
        return (p * self.scale + np.array([self.ox, self.oy], np.float32)).astype(np.float32)

    def _mask(
        self, polys: Sequence[npt.ArrayLike], blur: float, stroke: float = 0.0, closed: bool = True
    ) -> tuple[FloatArray, tuple[slice, slice]] | None:
        pts = [self.px(p) for p in polys]
        allp = np.vstack(pts)
        sigma = blur * self.scale
        margin = int(3 * sigma + stroke * self.scale + 4)
        h, w = self.alpha.shape
        x0 = max(int(allp[:, 0].min()) - margin, 0)
        y0 = max(int(allp[:, 1].min()) - margin, 0)
        x1 = min(int(allp[:, 0].max()) + margin + 1, w)
        y1 = min(int(allp[:, 1].max()) + margin + 1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        fixed = [np.round((p - np.array([x0, y0], np.float32)) * FIX).astype(np.int32) for p in pts]
        if stroke > 0:
            cv2.polylines(m, fixed, closed, 255, max(1, round(stroke * self.scale)), cv2.LINE_AA, SHIFT)
        else:
            cv2.fillPoly(m, fixed, 255, cv2.LINE_AA, SHIFT)
        mf = m.astype(np.float32) * (1.0 / 255.0)
        if sigma > 0:
            mf = np.asarray(cv2.GaussianBlur(mf, (0, 0), sigma), np.float32)
        return mf, (slice(y0, y1), slice(x0, x1))

    def fill(
        self,
        polys: Sequence[npt.ArrayLike],
        colour: BGR,
        opacity: float = 1.0,
        blur: float = 0.0,
        clip: FloatArray | None = None,
        stroke: float = 0.0,
        closed: bool = True,
    ) -> None:
        """Paint ``colour`` over the shape (or along it, with ``stroke`` width in units).

        ``blur`` (units) softens the edge; ``clip`` (a full-canvas 0..1 mask) keeps the paint
        inside another shape and leaves coverage alone, for shading and make-up.
        """
        got = self._mask(polys, blur, stroke, closed)
        if got is None:
            return
        m, sl = got
        m *= opacity
        if clip is not None:
            m *= clip[sl]
            a = self.alpha[sl]
            c = self.col[sl]
            # Tint toward the colour at the existing coverage: alpha does not change.
            c += (np.asarray(colour, np.float32)[None, None, :] * a[..., None] - c) * m[..., None]
            return
        c = self.col[sl]
        c += (np.asarray(colour, np.float32)[None, None, :] - c) * m[..., None]
        a = self.alpha[sl]
        a += (1.0 - a) * m

    def coverage(self, polys: Sequence[npt.ArrayLike], blur: float = 0.0) -> FloatArray:
        """A full-canvas 0..1 mask of a shape, for clipping later paint."""
        full = np.zeros(self.alpha.shape, np.float32)
        got = self._mask(polys, blur)
        if got is not None:
            m, sl = got
            full[sl] = m
        return full

    def shade_edges(self, shape: FloatArray, colour: BGR, width: float, strength: float) -> None:
        """Darken toward ``colour`` near the outline of ``shape``: a cheap sense of roundness."""
        inside = (shape > 0.5).astype(np.uint8)
        x, y, w, h = cv2.boundingRect(inside)
        if w == 0 or h == 0:
            return
        # One pixel of margin so the outline's outside neighbours (zeros) are in the crop.
        sl = (slice(max(y - 1, 0), y + h + 1), slice(max(x - 1, 0), x + w + 1))
        dist = cv2.distanceTransform(inside[sl], cv2.DIST_L2, 5)
        k = np.clip(1.0 - dist / (width * self.scale), 0.0, 1.0) ** 2 * (strength * shape[sl])
        col = self.col[sl]
        col += (np.asarray(colour, np.float32)[None, None, :] * self.alpha[sl][..., None] - col) * k[
            ..., None
        ]

    def sprites(self, phases_x: int, phases_y: int) -> dict[tuple[int, int], Sprite]:
        """The layer at every sub-pixel offset (qx/SS, qy/SS) px, downsampled with box filtering."""
        premul = np.dstack([self.col, self.alpha[..., None] * 255.0])
        out: dict[tuple[int, int], Sprite] = {}
        ss = self.ss
        hh, ww = self.out_h * ss, self.out_w * ss
        for qy in range(phases_y):
            for qx in range(phases_x):
                # Starting the crop q canvas pixels earlier moves the content q/SS px right/down.
                crop = premul[ss - qy : ss - qy + hh, ss - qx : ss - qx + ww]
                small = cv2.resize(crop, (self.out_w, self.out_h), interpolation=cv2.INTER_AREA)
                small = np.clip(np.rint(small), 0, 255).astype(np.uint8)
                a = np.asarray(small[:, :, 3], np.uint8)
                bgr = np.asarray(np.minimum(small[:, :, :3], a[..., None]), np.uint8)
                out[(qx, qy)] = Sprite(bgr, a)
        return out


def _box(x0: float, y0: float, x1: float, y1: float) -> Box:
    return math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)


def _quantise(v: float) -> tuple[int, int]:
    """Split a pixel position into its integer part and a quarter-pixel phase (0..SS-1)."""
    q = math.floor(v * SS + 0.5)
    return q // SS, q % SS


def _fixed(pts: FloatArray) -> npt.NDArray[np.int32]:
    return np.round(pts * FIX).astype(np.int32).reshape(-1, 1, 2)


class Character:
    """Draws the presenter into a frame: cached body, head, fringe, glasses and hand sprites, plus
    live eyes, brows and mouth."""

    def __init__(self, width: int, height: int, palette: Palette, look: Look | None = None) -> None:
        """Build the cached layers for a ``width`` x ``height`` frame (takes a moment at 720p)."""
        self.width = width
        self.height = height
        self.portrait = height > width
        """A 9:16 frame: centred, larger, no presenting hand (see the module notes)."""
        self.palette = palette
        self.look = look or Look()
        self.toward = 1.0 if self.look.side == "left" else -1.0
        """+1 when the card is to her right on screen (she stands left), -1 otherwise."""
        if self.portrait:
            self.u = width / 360.0 * PORTRAIT_ZOOM
            self.anchor = (width / 2.0, height * PORTRAIT_HEAD_Y_FRAC)
            # The shirt runs past the frame bottom, whatever the frame's height.
            self._body_bottom = max(BODY_BOX[3], (height - self.anchor[1]) / self.u + 12.0)
        else:
            self.u = height / 360.0
            x_frac = HEAD_X_FRAC if self.look.side == "left" else 1.0 - HEAD_X_FRAC
            self.anchor = (width * x_frac, height * HEAD_Y_FRAC)
            self._body_bottom = BODY_BOX[3]
        self._lip = mix(shade(palette.skin, 0.62), (60, 60, 190), 0.25)
        self._lash = shade(mix(palette.hair, (30, 25, 25), 0.6), 0.55)
        self._brow = shade(palette.hair, 0.85)
        self._mouth_in = (52, 38, 110)
        self._tongue = (118, 112, 226)
        self._teeth = (246, 248, 250)
        self._eye_white = (252, 250, 250)
        self._lid_shadow = mix((252, 250, 250), shade(palette.skin, 0.8), 0.45)
        self._iris = (42, 74, 122)
        self._iris_dark = (22, 38, 64)
        self._iris_light = (92, 148, 196)
        self._pupil = (22, 18, 20)
        self._skin_dark = shade(palette.skin, 0.78)
        self._brow_shapes = [(sx, _brow_outline(sx)) for sx in (-1.0, 1.0)]
        body = self._paint_body()
        self._body, self._body_origin = body.sprites(1, SS), body.origin_out
        head_box = BUN_HEAD_BOX if self.look.hair_style == "bun" else HEAD_BOX
        back, front = _Canvas(head_box, self.u), _Canvas(head_box, self.u)
        self._paint_head(back, front)
        self._head, self._head_origin = _trimmed(back.sprites(SS, SS), back.origin_out)
        self._front, self._front_origin = _trimmed(front.sprites(SS, SS), front.origin_out)
        self._glasses: dict[tuple[int, int], Sprite] | None = None
        self._glasses_origin = (0, 0)
        if self.look.glasses:
            glasses = self._paint_glasses()
            self._glasses, self._glasses_origin = _trimmed(glasses.sprites(SS, SS), glasses.origin_out)
        self._arm = [] if self.portrait else [self._paint_arm(i / (ARM_POSES - 1)) for i in range(ARM_POSES)]

    # ----------------------------------------------------------------------------- per frame

    def motion(self, t: float) -> tuple[float, float, float]:
        """(head dx, head dy, body dy) in pixels at programme time ``t``: breath and sway."""
        breath = math.sin(2.0 * math.pi * t / BREATH_PERIOD_S)
        body_dy = -BREATH_UNITS * self.u * breath
        sway = SWAY_UNITS * math.sin(2.0 * math.pi * t / SWAY_PERIOD_S) + SWAY2_UNITS * math.sin(
            2.0 * math.pi * t / SWAY2_PERIOD_S + 1.3
        )
        return sway * self.u, body_dy * HEAD_BREATH_SHARE, body_dy

    def head_position(self, t: float, expression: Expression = NEUTRAL) -> tuple[float, float]:
        """Where the head centre is drawn at ``t`` (pixels, quantised to the sprite phases)."""
        dx, dy, _ = self.motion(t)
        lean = GESTURE_LEAN_UNITS * _unit(expression.gesture) - THINK_LEAN_UNITS * _unit(expression.think)
        dx += self.toward * lean * self.u
        dy += NOD_UNITS * _unit(expression.nod) * self.u
        ix, qx = _quantise(self.anchor[0] + dx)
        iy, qy = _quantise(self.anchor[1] + dy)
        return ix + qx / SS, iy + qy / SS

    def feature_boxes(self, t: float) -> dict[str, Box]:
        """Pixel boxes (x0, y0, x1, y1) of the mouth, each eye and the hand at ``t``.

        The face boxes hold the features of a neutral face (no nod, lean, smile or viseme) at
        their largest: the mouth fully open, the eyes wide. The hand box holds the raised
        forearm and hand (overshoot included).
        """
        cx, cy = self.head_position(t)
        u = self.u
        pad = 3.0 * u + 2.0
        boxes: dict[str, Box] = {
            "mouth": _box(
                cx - MOUTH_HALF_W * u - pad,
                cy + (MOUTH_Y - MOUTH_SMILE) * u - pad,
                cx + MOUTH_HALF_W * u + pad,
                cy + (MOUTH_Y + MOUTH_DEPTH + 3.0) * u + pad,
            )
        }
        for name, side in (("left_eye", -1.0), ("right_eye", 1.0)):
            ex, ey = cx + side * EYE_DX * u, cy + EYE_Y * u
            boxes[name] = _box(
                ex - EYE_HALF_W * u - pad,
                ey - EYE_UP * u - pad,
                ex + EYE_HALF_W * u + pad,
                ey + EYE_LOW * u + pad,
            )
        if not self._arm:
            return boxes
        _, _, body_dy = self.motion(t)
        placed = [self._arm_at(g, body_dy) for g in (1.0, 1.1)]  # raised, and at the overshoot
        boxes["hand"] = (
            min(x for _, x, _ in placed),
            min(y for _, _, y in placed),
            max(x + sprite.width for sprite, x, _ in placed),
            min(max(y + sprite.height for sprite, _, y in placed), self.height),
        )
        return boxes

    def _arm_at(self, gesture: float, body_dy: float) -> tuple[Sprite, int, int]:
        """The forearm pose for ``gesture`` (0..1.1) and where its sprite goes (top-left, pixels)."""
        sprite, (ox, oy) = self._arm[min(round(gesture * (ARM_POSES - 1)), ARM_POSES - 1)]
        ex = self.anchor[0] + self.toward * ARM_ELBOW[0] * self.u
        ey = self.anchor[1] + body_dy + (ARM_ELBOW[1] + (1.0 - gesture) * ARM_DROP_UNITS) * self.u
        return sprite, round(ex) - ox, round(ey) - oy

    def draw(
        self,
        frame: Image,
        t: float,
        mouth_open: float,
        eyes_closed: float,
        mouth_wide: float = 0.0,
        mouth_round: float = 0.0,
        expression: Expression = NEUTRAL,
    ) -> None:
        """Draw the presenter into ``frame`` (BGR, in place) at programme time ``t``."""
        u = self.u
        _, _, body_dy = self.motion(t)
        by, bq = _quantise(self.anchor[1] + body_dy)
        bx = round(self.anchor[0])
        blend(frame, self._body[(0, bq)], bx - self._body_origin[0], by - self._body_origin[1])
        cx, cy = self.head_position(t, expression)
        hx, hqx = _quantise(cx)
        hy, hqy = _quantise(cy)
        phase = (hqx, hqy)
        blend(frame, self._head[phase], hx - self._head_origin[0], hy - self._head_origin[1])
        think, smile, gesture = _unit(expression.think), _unit(expression.smile), _unit(expression.gesture)
        # Eyes: idle glances, but they go to the card while presenting it, and up and away
        # while thinking.
        idle = self._gaze(t) * (1.0 - max(think, gesture))
        gaze_x = idle + self.toward * (GAZE_AT_CARD[0] * gesture + GAZE_THINKING[0] * think)
        gaze_y = GAZE_AT_CARD[1] * gesture + GAZE_THINKING[1] * think
        closed = _unit(eyes_closed)
        for side in (-1.0, 1.0):
            self._draw_eye(frame, cx + side * EYE_DX * u, cy + EYE_Y * u, side, closed, gaze_x, gaze_y, smile)
        self._draw_brows(frame, cx, cy, min(max(expression.brows, -1.0), 1.0), think)
        self._draw_mouth(
            frame,
            cx,
            cy + MOUTH_Y * u,
            _unit(mouth_open),
            _unit(mouth_wide),
            _unit(mouth_round),
            smile,
            think,
        )
        blend(frame, self._front[phase], hx - self._front_origin[0], hy - self._front_origin[1])
        if self._glasses is not None:
            blend(frame, self._glasses[phase], hx - self._glasses_origin[0], hy - self._glasses_origin[1])
        g = min(max(expression.gesture, 0.0), 1.1) if math.isfinite(expression.gesture) else 0.0
        if g > 0.02 and self._arm:
            blend(frame, *self._arm_at(g, body_dy))

    def _gaze(self, t: float) -> float:
        """Horizontal iris offset in units: mostly at the camera, now and then a glance aside."""

        def target(seg: int) -> float:
            r = math.sin(seg * 12.9898 + 78.233) * 43758.5453
            r -= math.floor(r)
            if r < 0.6:
                return 0.0  # most of the time: eye contact with the viewer
            return (r - 0.8) * 7.5  # -1.5 .. +1.5 units

        seg = math.floor(t / GAZE_SEGMENT_S)
        into = t - seg * GAZE_SEGMENT_S
        now, before = target(seg), target(seg - 1)
        k = min(into / GAZE_MOVE_S, 1.0)
        return before + (now - before) * k * k * (3 - 2 * k)

    def _draw_eye(
        self,
        frame: Image,
        ex: float,
        ey: float,
        side: float,
        closed: float,
        gaze_x: float,
        gaze_y: float,
        smile: float,
    ) -> None:
        u = self.u
        a, up, low = EYE_HALF_W * u, EYE_UP * u, EYE_LOW * u
        xs = np.linspace(-a, a, 19, dtype=np.float32)
        s = np.sqrt(np.clip(1.0 - (xs / a) ** 2, 0.0, 1.0))
        # The outer corner sits a touch higher: a friendlier, smiling eye shape.
        tilt = -0.9 * u * (xs * side / a)
        upper = -up * s**0.85 + tilt
        # A real smile lifts the cheeks, and the cheeks lift the lower lids.
        lower = low * s * (1.0 - 0.35 * smile) + tilt * 0.5
        k = LID_REST + (1.0 - LID_REST) * closed + 0.08 * smile * (1.0 - closed)
        lid = upper + (lower - upper) * k
        pad = 3.0 * u + 2.0
        x0, y0 = math.floor(ex - a - pad), math.floor(ey - up - pad)
        x1, y1 = math.ceil(ex + a + pad), math.ceil(ey + low + pad)
        roi = frame[y0:y1, x0:x1]
        ox, oy = ex - x0, ey - y0
        lid_pts = np.stack([xs + ox, lid + oy], axis=1)
        low_pts = np.stack([xs[::-1] + ox, lower[::-1] + oy], axis=1)
        if k < 0.995:
            colour = np.empty_like(roi)
            colour[:] = self._eye_white
            ix, iy = ox + gaze_x * u, oy + (1.2 + gaze_y) * u
            r = IRIS_R * u
            self._circle(colour, ix, iy, r, self._iris_dark)
            self._circle(colour, ix, iy, r * 0.84, self._iris)
            cv2.ellipse(
                colour,
                (round(ix * FIX), round((iy + r * 0.38) * FIX)),
                (round(r * 0.58 * FIX), round(r * 0.36 * FIX)),
                0,
                0,
                360,
                self._iris_light,
                -1,
                cv2.LINE_AA,
                SHIFT,
            )
            self._circle(colour, ix, iy, r * 0.44, self._pupil)
            self._circle(colour, ix + r * 0.36, iy - r * 0.38, r * 0.3, (255, 255, 255))
            self._circle(colour, ix - r * 0.34, iy + r * 0.36, r * 0.13, (255, 255, 255))
            # The lid casts a soft shadow on the top of the eyeball.
            cv2.polylines(
                colour,
                [_fixed(lid_pts + [0, 1.2 * u])],
                False,
                self._lid_shadow,
                max(1, round(2.2 * u)),
                cv2.LINE_AA,
                SHIFT,
            )
            mask = np.zeros(roi.shape[:2], np.uint8)
            cv2.fillPoly(mask, [_fixed(np.vstack([lid_pts, low_pts]))], 255, cv2.LINE_AA, SHIFT)
            _mask_blend(roi, colour, mask)
        # Lower lash line: faint, on the outer half only.
        outer = xs * side > 0
        cv2.polylines(
            roi,
            [_fixed(np.stack([xs[outer] + ox, lower[outer] + oy + 0.6 * u], axis=1))],
            False,
            self._skin_dark,
            max(1, round(0.9 * u)),
            cv2.LINE_AA,
            SHIFT,
        )
        # Upper lash line follows the lid, thicker at the outer corner, with a small flick.
        lash_w = max(1, round(2.0 * u))
        cv2.polylines(roi, [_fixed(lid_pts)], False, self._lash, lash_w, cv2.LINE_AA, SHIFT)
        end = lid_pts[-1] if side > 0 else lid_pts[0]
        flick = np.array([end, end + [side * 2.6 * u, -1.6 * u]], np.float32)
        cv2.polylines(roi, [_fixed(flick)], False, self._lash, lash_w, cv2.LINE_AA, SHIFT)

    def _draw_brows(self, frame: Image, cx: float, cy: float, brows: float, think: float) -> None:
        """Both brows, raised by ``brows``; thinking arches one and knits the other.

        The arched one is always the brow on screen right: the swept fringe covers the left one.
        """
        u = self.u
        for sx, outline in self._brow_shapes:
            # 0 at the outer end of this brow, 1 at the inner end (by the nose).
            inner = np.clip((EYE_DX - outline[:, 0] * sx) / 20.0 + 0.5, 0.0, 1.0)
            lift = BROW_RAISE * brows * np.ones_like(inner)
            if sx > 0:  # the brow on screen right arches up
                lift += 3.4 * think * (1.0 - 0.5 * inner)
            else:  # the other one knits down toward the nose
                lift -= 1.6 * think * inner
            pts = np.stack([cx + outline[:, 0] * u, cy + (outline[:, 1] - lift) * u], axis=1)
            cv2.fillPoly(frame, [_fixed(pts)], self._brow, cv2.LINE_AA, SHIFT)

    def _draw_mouth(
        self,
        frame: Image,
        mx: float,
        my: float,
        m: float,
        wide: float,
        rnd: float,
        smile: float,
        think: float,
    ) -> None:
        u = self.u
        # An open "ah" pulls the corners in a little; "ee" spreads them, "oo" gathers them.
        w = MOUTH_HALF_W * u * (1.0 - 0.12 * m + 0.22 * wide - 0.38 * rnd + 0.12 * smile - 0.12 * think)
        corner = MOUTH_SMILE * u * (1.0 + 1.1 * smile - 0.6 * rnd - 0.5 * think)
        # Slightly faster than linear at the start: quiet syllables still part the lips visibly.
        depth = MOUTH_DEPTH * u * m**0.8 * (1.0 - 0.25 * wide)
        # A smile with closed lips still parts them a little and shows the upper teeth.
        depth = max(depth, 3.0 * u * smile * (1.0 - think))
        # Thinking pulls the lips to the side away from the card, one corner up.
        mx -= self.toward * 2.4 * u * think
        xs = np.linspace(-w, w, 17, dtype=np.float32)
        r2 = np.minimum((xs / w) ** 2, 1.0)  # float32 rounding can push the ends past 1 (NaN in the power)
        skew = think * 1.8 * u * (xs / w) * self.toward
        top = -corner * r2 - (0.18 + 0.3 * rnd) * depth * (1.0 - r2) + skew
        bottom = -corner * r2 + depth * (1.0 - r2) ** (0.75 - 0.3 * rnd) + skew
        pad = 3.0 * u + 2.0
        x0, x1 = math.floor(mx - w - pad), math.ceil(mx + w + pad)
        y0 = math.floor(my + float(top.min()) - pad)
        y1 = math.ceil(my + float(bottom.max()) + 3.0 * u + pad)
        roi = frame[y0:y1, x0:x1]
        ox, oy = mx - x0, my - y0
        top_pts = np.stack([xs + ox, top + oy], axis=1)
        bottom_pts = np.stack([xs + ox, bottom + oy], axis=1)
        if depth > 0.15:
            colour = np.empty_like(roi)
            colour[:] = self._mouth_in
            # Teeth and tongue take a share of the opening; a small opening stays mostly dark so
            # quiet syllables still read as speech, unless the lips are spread or smiling.
            teeth_h = min(depth * (0.3 + 0.35 * max(wide, smile)), 3.4 * u)
            teeth = np.vstack([top_pts, (top_pts + [0, teeth_h])[::-1]])
            cv2.fillPoly(colour, [_fixed(teeth)], self._teeth, cv2.LINE_AA, SHIFT)
            cv2.ellipse(
                colour,
                (round(ox * FIX), round((oy + depth * 1.02) * FIX)),
                # The tongue shows only once the mouth is well open.
                (round(w * 0.62 * FIX), round(depth * 0.4 * min(max((m - 0.25) / 0.5, 0.0), 1.0) * FIX)),
                0,
                0,
                360,
                self._tongue,
                -1,
                cv2.LINE_AA,
                SHIFT,
            )
            mask = np.zeros(roi.shape[:2], np.uint8)
            cv2.fillPoly(mask, [_fixed(np.vstack([top_pts, bottom_pts[::-1]]))], 255, cv2.LINE_AA, SHIFT)
            _mask_blend(roi, colour, mask)
            lower_lip = bottom_pts[3:-3]
        else:
            lower_lip = top_pts[3:-3]
        line_w = max(1, round(1.4 * u))
        cv2.polylines(roi, [_fixed(top_pts)], False, self._lip, line_w, cv2.LINE_AA, SHIFT)
        if depth > 0.15:
            cv2.polylines(
                roi, [_fixed(bottom_pts)], False, self._lip, max(1, round(1.1 * u)), cv2.LINE_AA, SHIFT
            )
        # A hint of lower lip: a short soft arc under the opening.
        lip = lower_lip[::2] + [0, 2.6 * u]
        lip[:, 1] += 0.9 * u * (1.0 - ((lip[:, 0] - ox) / (0.6 * w)) ** 2)
        cv2.polylines(
            roi,
            [_fixed(lip)],
            False,
            shade(self.palette.skin, 0.86),
            max(1, round(1.2 * u)),
            cv2.LINE_AA,
            SHIFT,
        )

    @staticmethod
    def _circle(img: Image, x: float, y: float, r: float, colour: BGR) -> None:
        cv2.circle(
            img, (round(x * FIX), round(y * FIX)), max(1, round(r * FIX)), colour, -1, cv2.LINE_AA, SHIFT
        )

    # ----------------------------------------------------------------------------- cached layers

    def _paint_body(self) -> _Canvas:
        p = self.palette
        bottom = self._body_bottom
        c = _Canvas((*BODY_BOX[:3], bottom), self.u)
        neck_half = [(15.5, 18.0), (16.0, 50.0), (17.5, 70.0), (22.0, 82.0), (30.0, 92.0)]
        neck = spline([*mirror(neck_half)[:5], (0.0, 118.0), *mirror(neck_half)[5:]], closed=True, steps=6)
        c.fill([neck], shade(p.skin, 0.93))
        neck_cov = c.coverage([neck])
        # The chin shades the throat; the collarbones catch a little light.
        c.fill([face_outline() + [0.0, 8.0]], shade(p.skin, 0.68), opacity=0.85, blur=3.0, clip=neck_cov)
        c.shade_edges(neck_cov, shade(p.skin, 0.75), width=5.0, strength=0.6)
        shirt_half = [
            (0.0, 110.0),
            (12.0, 97.0),
            (20.0, 82.0),
            (42.0, 87.0),
            (70.0, 93.0),
            (92.0, 103.0),
            (105.0, 120.0),
            (111.0, 150.0),
            (115.0, 240.0),
        ]
        if bottom > 240.0:
            shirt_half.append((116.0, bottom))
        outline = spline([*shirt_half, (0.0, bottom + 10.0)], steps=12)
        shirt = np.vstack([outline, outline[::-1][1:] * [-1.0, 1.0]])
        c.fill([shirt], p.shirt)
        body = c.coverage([shirt])
        c.shade_edges(body, shade(p.shirt, 0.6), width=16.0, strength=0.6)
        for sx in (-1.0, 1.0):
            # Where the arm meets the chest, and light on top of the shoulder.
            seam = [(sx * 86.0, 108.0), (sx * 88.0, 150.0), (sx * 89.0, 240.0)]
            if bottom > 240.0:
                seam.append((sx * 89.5, bottom))
            c.fill(
                [spline(seam)],
                shade(p.shirt, 0.72),
                opacity=0.4,
                blur=1.6,
                stroke=1.6,
                closed=False,
                clip=body,
            )
            top = [(sx * 30.0, 90.0), (sx * 58.0, 95.0), (sx * 84.0, 104.0)]
            c.fill(
                [spline(top)], shade(p.shirt, 1.3), opacity=0.4, blur=4.0, stroke=5.0, closed=False, clip=body
            )
        # Collar band along the neckline, with its shadow on the shirt.
        collar = spline([(-20.0, 82.0), (-12.0, 97.0), (0.0, 110.0), (12.0, 97.0), (20.0, 82.0)], steps=8)
        c.fill([collar + [0.0, 2.0]], shade(p.shirt, 0.6), opacity=0.6, blur=1.5, stroke=4.0, closed=False)
        c.fill([collar], shade(p.shirt, 1.22), stroke=3.2, closed=False)
        # A clip-on microphone at the collar: this is a presenter.
        mic = _ellipse(-25.0, 100.0, 2.6, 3.6, 16)
        c.fill([mic + [0.8, 1.4]], shade(p.shirt, 0.4), opacity=0.5, blur=1.0)
        c.fill([mic], (46, 42, 42))
        c.fill([_ellipse(-25.8, 98.6, 0.9, 1.3, 12)], (150, 150, 156), opacity=0.8)
        return c

    def _paint_head(self, c: _Canvas, front: _Canvas) -> None:
        """The head (back hair, ears, face and its shading) on ``c``; the fringe on ``front``."""
        p = self.palette
        bun = self.look.hair_style == "bun"
        hair_dark = shade(p.hair, 0.7)
        if bun:
            # Hair pulled back: a cap over the skull and a round bun on top, tied with a band.
            cap = [(0.0, -68.0), (34.0, -61.0), (50.0, -40.0), (53.0, -14.0), (49.0, 4.0), (40.0, 6.0)]
            cap_poly = spline(mirror(cap), closed=True, steps=10)
            bun_poly = _ellipse(4.0, -80.0, 20.0, 17.0, 48)
            c.fill([bun_poly], hair_dark)
            c.shade_edges(c.coverage([bun_poly]), shade(p.hair, 0.45), width=9.0, strength=0.7)
            c.fill(
                [spline([(-11.0, -86.0), (2.0, -93.0), (17.0, -87.0)])],
                shade(p.hair, 1.5),
                opacity=0.5,
                blur=1.6,
                stroke=2.4,
                closed=False,
            )
            c.fill([cap_poly], hair_dark)
            c.shade_edges(c.coverage([cap_poly]), shade(p.hair, 0.45), width=10.0, strength=0.6)
            c.fill(
                [spline([(-14.0, -66.0), (4.0, -70.5), (22.0, -66.0)])],
                p.accent,
                stroke=3.2,
                closed=False,
            )
            for sx in (-1.0, 1.0):
                ear = _ellipse(sx * 44.5, 7.0, 6.5, 10.5, 32)
                c.fill([ear], shade(p.skin, 0.95))
                ear_cov = c.coverage([ear])
                c.shade_edges(ear_cov, shade(p.skin, 0.72), width=3.0, strength=0.8)
                c.fill(
                    [spline([(sx * 44.0, 0.0), (sx * 47.0, 6.0), (sx * 45.0, 13.0)])],
                    shade(p.skin, 0.7),
                    opacity=0.5,
                    blur=0.6,
                    stroke=1.2,
                    closed=False,
                    clip=ear_cov,
                )
                # Small drop earrings in the accent colour.
                c.fill([_ellipse(sx * 45.5, 21.5, 2.6, 2.6, 16)], shade(p.accent, 0.8))
                c.fill([_ellipse(sx * 45.0, 27.0, 3.2, 4.2, 20)], p.accent)
                c.fill([_ellipse(sx * 44.2, 25.6, 1.0, 1.3, 10)], (255, 255, 255), opacity=0.7)
        else:
            # Back of the bob: frames the face and ends at the jaw, curling in.
            back = [
                (0.0, -71.0),
                (36.0, -63.0),
                (57.0, -36.0),
                (62.0, 10.0),
                (60.0, 48.0),
                (52.0, 64.0),
                (40.0, 62.0),
                (22.0, 44.0),
            ]
            back_poly = spline(mirror(back), closed=True, steps=10)
            c.fill([back_poly], hair_dark)
            hair_back = c.coverage([back_poly])
            c.shade_edges(hair_back, shade(p.hair, 0.45), width=10.0, strength=0.6)
        # Face, with skin shading.
        face = face_outline()
        c.fill([face + [0.0, 1.2]], shade(p.hair, 0.5), opacity=0.5, blur=2.0)  # face shadow on the hair
        c.fill([face], p.skin)
        face_cov = c.coverage([face])
        c.shade_edges(face_cov, shade(p.skin, 0.8), width=14.0, strength=0.8)
        c.fill([_ellipse(0.0, -16.0, 26.0, 18.0)], shade(p.skin, 1.12), opacity=0.45, blur=9.0, clip=face_cov)
        for sx in (-1.0, 1.0):
            c.fill(
                [_ellipse(sx * 28.0, 27.0, 9.0, 5.5)],
                mix(p.skin, (120, 110, 245), 0.5),
                opacity=0.5,
                blur=3.5,
                clip=face_cov,
            )
            # Lid crease and the socket's soft shadow above each eye. (The brows are drawn per
            # frame, so that they can move.)
            cx = sx * EYE_DX
            crease = [(cx - 8.0, EYE_Y - 12.0), (cx, EYE_Y - 15.0), (cx + 8.0, EYE_Y - 12.5)]
            c.fill(
                [spline(crease)],
                shade(p.skin, 0.72),
                opacity=0.35,
                blur=0.6,
                stroke=1.0,
                closed=False,
                clip=face_cov,
            )
        # Nose: a shadow on one side and a tiny highlight, no outline.
        nose = [(1.5, 16.0), (3.2, 23.0), (0.5, 25.5), (-2.2, 25.0)]
        c.fill(
            [spline(nose)],
            shade(p.skin, 0.66),
            opacity=0.55,
            blur=0.7,
            stroke=1.3,
            closed=False,
            clip=face_cov,
        )
        c.fill([_ellipse(-1.0, 20.0, 1.3, 2.4)], shade(p.skin, 1.15), opacity=0.6, blur=0.8, clip=face_cov)
        if bun:
            # A side-parted fringe combed back toward the bun: more forehead shows.
            fringe = [
                (-48.0, 4.0),
                (-50.0, -24.0),
                (-40.0, -50.0),
                (-16.0, -64.0),
                (12.0, -66.0),
                (36.0, -56.0),
                (49.0, -34.0),
                (49.0, -6.0),
                (45.0, -22.0),
                (36.0, -38.0),
                (18.0, -46.0),
                (-2.0, -45.0),
                (-22.0, -38.0),
                (-36.0, -26.0),
                (-44.0, -10.0),
            ]
            strands: tuple[list[tuple[float, float]], ...] = (
                [(-40.0, -20.0), (-30.0, -44.0), (-6.0, -60.0)],
                [(-26.0, -40.0), (-8.0, -55.0), (14.0, -62.0)],
                [(40.0, -26.0), (30.0, -48.0), (12.0, -60.0)],
            )
            shine = [(-30.0, -48.0), (-12.0, -58.0), (10.0, -60.0)]
        else:
            # Fringe swept to one side.
            fringe = [
                (-50.0, 10.0),
                (-53.0, -22.0),
                (-42.0, -50.0),
                (-16.0, -65.0),
                (14.0, -65.0),
                (40.0, -52.0),
                (53.0, -26.0),
                (50.0, 4.0),
                (44.0, -10.0),
                (34.0, -26.0),
                (18.0, -34.0),
                (4.0, -33.0),
                (-12.0, -26.0),
                (-28.0, -15.0),
                (-40.0, -3.0),
                (-45.0, 4.0),
            ]
            strands = (
                [(20.0, -60.0), (2.0, -46.0), (-22.0, -30.0)],
                [(24.0, -58.0), (10.0, -44.0), (-8.0, -32.0)],
                [(28.0, -57.0), (38.0, -42.0), (45.0, -20.0)],
                [(14.0, -60.0), (-12.0, -52.0), (-38.0, -22.0)],
            )
            shine = [(-34.0, -42.0), (-18.0, -52.0), (2.0, -55.0), (22.0, -51.0)]
        fringe_poly = spline(fringe, closed=True, steps=8)
        # The fringe's shadow falls on the forehead (under the brows); the fringe itself goes on
        # its own layer, in front of the brows.
        c.fill([fringe_poly + [1.0, 4.0]], shade(p.skin, 0.62), opacity=0.6, blur=3.0, clip=face_cov)
        front.fill([fringe_poly], p.hair)
        hair_front = front.coverage([fringe_poly])
        front.shade_edges(hair_front, shade(p.hair, 0.6), width=8.0, strength=0.6)
        for strand in strands:
            front.fill(
                [spline(strand)],
                shade(p.hair, 0.62),
                opacity=0.7,
                blur=0.5,
                stroke=1.1,
                closed=False,
                clip=hair_front,
            )
        front.fill(
            [spline(shine)],
            shade(p.hair, 1.6),
            opacity=0.55,
            blur=2.2,
            stroke=3.5,
            closed=False,
            clip=hair_front,
        )

    def _paint_glasses(self) -> _Canvas:
        """Round glasses: thin rims, a bridge, the temples, and a glint on each lens."""
        box = (-50.0, EYE_Y - 18.0, 50.0, EYE_Y + 16.0)
        c = _Canvas(box, self.u)
        rim = shade(mix(self.palette.accent, (40, 34, 34), 0.6), 0.8)
        for sx in (-1.0, 1.0):
            lens = _ellipse(sx * EYE_DX, EYE_Y + 0.5, 14.0, 12.0, 48)
            c.fill([lens], (255, 250, 245), opacity=0.08)
            glint = spline([(sx * EYE_DX - 8.0, EYE_Y - 5.0), (sx * EYE_DX - 4.0, EYE_Y - 8.5)])
            c.fill([glint], (255, 255, 255), opacity=0.45, blur=0.5, stroke=1.3, closed=False)
            c.fill([lens + [0.0, 0.8]], shade(self.palette.skin, 0.6), opacity=0.35, blur=0.8, stroke=1.0)
            c.fill([lens], rim, stroke=1.7)
            temple = [(sx * (EYE_DX + 13.5), EYE_Y - 3.0), (sx * 46.0, EYE_Y - 5.0)]
            c.fill([np.asarray(temple, np.float32)], rim, stroke=1.6, closed=False)
        bridge = spline([(-5.5, EYE_Y - 1.0), (0.0, EYE_Y - 4.0), (5.5, EYE_Y - 1.0)], steps=6)
        c.fill([bridge], rim, stroke=1.6, closed=False)
        return c

    def _paint_arm(self, raised: float) -> tuple[Sprite, tuple[int, int]]:
        """The presenting forearm and open hand at ``raised`` (0 down .. 1 up), origin at the elbow.

        Drawn as the presenter's hand on the card side: palm to the viewer, fingers pointing up
        toward the card, thumb toward her body.
        """
        p = self.palette
        angle = ARM_ANGLE_DEG[0] + (ARM_ANGLE_DEG[1] - ARM_ANGLE_DEG[0]) * raised
        flip = self.toward < 0
        length = FOREARM_UNITS

        def place(pts: npt.ArrayLike) -> FloatArray:
            return _rotate(pts, angle, flip)

        def on_hand(pts: npt.ArrayLike) -> FloatArray:
            """Hand-local units (wrist at the origin, fingers toward -y) to forearm units."""
            return np.asarray(pts, np.float32).reshape(-1, 2) * HAND_SCALE + np.array(
                [0.0, -length], np.float32
            )

        sleeve = [(-17.0, 30.0), (17.0, 30.0), (12.5, -length + 6.0), (-12.0, -length + 6.0)]
        cuff = [
            (-12.8, -length + 17.0),
            (13.0, -length + 17.0),
            (12.2, -length + 4.0),
            (-11.8, -length + 4.0),
        ]
        wrist = on_hand(_capsule((0.0, 6.0), (0.0, -10.0), 7.4))
        palm = on_hand(_ellipse(0.5, -19.0, 11.0, 12.0, 40))
        tips = [(-7.0, -47.0), (-2.0, -51.0), (3.2, -48.5), (8.0, -42.5)]
        bases = [(-6.2, -26.0), (-1.8, -27.0), (2.8, -26.5), (7.0, -24.0)]
        fingers = [on_hand(_capsule(b, t, 3.0)) for b, t in zip(bases, tips, strict=True)]
        thumb = on_hand(_capsule((-7.0, -11.0), (-16.5, -27.0), 3.4))
        shapes: list[npt.ArrayLike] = [sleeve, cuff, wrist, palm, *fingers, thumb]
        placed = [place(s) for s in shapes]
        allp = np.vstack(placed)
        margin = 6.0
        box = (
            float(allp[:, 0].min()) - margin,
            float(allp[:, 1].min()) - margin,
            float(allp[:, 0].max()) + margin,
            min(float(allp[:, 1].max()) + margin, 40.0),
        )
        c = _Canvas(box, self.u, ss=3)
        sleeve_p, cuff_p, wrist_p, palm_p, *rest = placed
        finger_p, thumb_p = rest[:-1], rest[-1]
        # The arm is in front of a shirt of the same colour: its shadow on the body keeps it apart.
        c.fill([sleeve_p + place([(3.0, 0.0)])], shade(p.shirt, 0.35), opacity=0.45, blur=3.0)
        c.fill([sleeve_p], shade(p.shirt, 1.06))
        c.shade_edges(c.coverage([sleeve_p]), shade(p.shirt, 0.55), width=7.0, strength=0.75)
        hand = [wrist_p, palm_p, *finger_p, thumb_p]
        # The hand's soft shadow on the cuff, then the hand.
        c.fill([wrist_p + [0.0, 2.0]], shade(p.shirt, 0.5), opacity=0.5, blur=1.5)
        for shape in hand:
            c.fill([shape], p.skin)
        hand_cov = c.coverage(hand)
        c.shade_edges(hand_cov, shade(p.skin, 0.74), width=3.2, strength=0.7)
        for b, t in zip(bases[1:], tips[1:], strict=True):
            # Where two fingers meet: a faint line from the knuckles half way up.
            gap = on_hand([(b[0] - 2.4, b[1] - 1.0), ((b[0] + t[0]) / 2 - 2.6, (b[1] + t[1]) / 2)])
            c.fill([place(gap)], shade(p.skin, 0.7), opacity=0.55, blur=0.3, stroke=0.8, closed=False)
        crease = on_hand(spline([(-6.0, -14.0), (1.0, -18.0), (8.0, -15.0)]))
        c.fill([place(crease)], shade(p.skin, 0.78), opacity=0.4, blur=0.5, stroke=0.9, closed=False)
        c.fill([cuff_p], shade(p.shirt, 1.2))
        c.shade_edges(c.coverage([cuff_p]), shade(p.shirt, 0.8), width=2.5, strength=0.6)
        sprite = c.sprites(1, 1)[(0, 0)]
        return sprite, c.origin_out


def _brow_outline(sx: float) -> FloatArray:
    """One brow (``sx`` -1 left, +1 right on screen), tapered and softly arched, in units."""
    cx = sx * EYE_DX
    inner, outer = cx - sx * 9.5, cx + sx * 10.5
    top = [(inner, EYE_Y - 22.0), (cx, EYE_Y - 26.5), (outer, EYE_Y - 23.5)]
    bottom = [(outer + sx * 0.8, EYE_Y - 21.8), (cx, EYE_Y - 23.4), (inner, EYE_Y - 18.6)]
    return spline([*top, *bottom], closed=True, steps=6)


def _unit(v: float) -> float:
    """Clamp to 0..1; NaN reads as 0."""
    return min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> FloatArray:
    phi = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(phi), cy + ry * np.sin(phi)], axis=1).astype(np.float32)


def _mask_blend(roi: Image, colour: Image, mask: Image) -> None:
    """roi = roi * (1 - mask) + colour * mask, in place, uint8 throughout."""
    m3 = cv2.merge([mask, mask, mask])
    kept = cv2.multiply(roi, 255 - m3, scale=1.0 / 255.0)
    cv2.add(kept, cv2.multiply(colour, m3, scale=1.0 / 255.0), dst=roi)


def _trimmed(
    sprites: dict[tuple[int, int], Sprite], origin: tuple[int, int]
) -> tuple[dict[tuple[int, int], Sprite], tuple[int, int]]:
    """Crop every phase of a layer to where any of them has paint, so blends skip empty pixels."""
    union = np.zeros_like(next(iter(sprites.values())).alpha)
    for sprite in sprites.values():
        np.maximum(union, sprite.alpha, out=union)
    x, y, w, h = cv2.boundingRect((union > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return sprites, origin
    cropped = {
        key: Sprite(sp.premul[y : y + h, x : x + w], sp.alpha[y : y + h, x : x + w])
        for key, sp in sprites.items()
    }
    return cropped, (origin[0] - x, origin[1] - y)


def _capsule(p0: tuple[float, float], p1: tuple[float, float], r: float, n: int = 10) -> FloatArray:
    """A stadium (a line with round ends) of radius ``r`` from ``p0`` to ``p1``: fingers, thumbs."""
    a = np.asarray(p0, np.float32)
    b = np.asarray(p1, np.float32)
    d = b - a
    ang = math.atan2(float(d[1]), float(d[0]))
    arc0 = np.linspace(ang + math.pi / 2, ang + 3 * math.pi / 2, n)
    arc1 = np.linspace(ang - math.pi / 2, ang + math.pi / 2, n)
    pts = [
        a + r * np.stack([np.cos(arc0), np.sin(arc0)], 1),
        b + r * np.stack([np.cos(arc1), np.sin(arc1)], 1),
    ]
    return np.vstack(pts).astype(np.float32)


def _rotate(pts: npt.ArrayLike, deg: float, mirror_x: bool) -> FloatArray:
    """Rotate (x right, y down) points clockwise by ``deg`` about the origin, then mirror if asked."""
    p = np.asarray(pts, np.float32).reshape(-1, 2)
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    out = np.stack([p[:, 0] * c - p[:, 1] * s, p[:, 0] * s + p[:, 1] * c], axis=1)
    if mirror_x:
        out[:, 0] = -out[:, 0]
    return out.astype(np.float32)
