"""The presenter: a friendly head-and-shoulders host, drawn with OpenCV.

Drawing is split by how often things change:

* the body (shirt, neck) and the head (hair, face shading, brows, nose, cheeks) are painted
  once, supersampled 4x for smooth edges and soft shading, then cut into sprites at every
  quarter-pixel offset, so breathing and sway move smoothly without redrawing anything;
* the eyes (lids, gaze) and the mouth change every frame and are drawn directly into their
  small boxes of the frame with anti-aliased, sub-pixel OpenCV primitives.

All geometry is written in *units*: pixels at 360p. ``u = height / 360`` scales it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from avatar.render.frame import Image, Sprite, blend

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
"""Head centre, fraction of frame width from the left (the card takes the right side)."""
HEAD_Y_FRAC: Final[float] = 0.385
"""Head centre, fraction of frame height from the top (leaves room for the title badge)."""

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

# Sprite extents, units relative to the head centre.
HEAD_BOX: Final[tuple[float, float, float, float]] = (-66.0, -80.0, 66.0, 74.0)
"""left, top, right, bottom of the head sprite: hair reaches past the face."""
BODY_BOX: Final[tuple[float, float, float, float]] = (-122.0, 12.0, 122.0, 240.0)
"""left, top, right, bottom of the body sprite: runs past the frame bottom so breathing shows no gap."""


@dataclass(frozen=True)
class Palette:
    """The character's colours (BGR)."""

    skin: BGR
    hair: BGR
    shirt: BGR
    accent: BGR


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

    def __init__(self, box: tuple[float, float, float, float], u: float) -> None:
        left, top, right, bottom = box
        self.u = u
        self.scale = u * SS
        # Sprite size in output pixels; the canvas adds one output pixel of margin on the
        # top-left so each sub-pixel phase is a plain crop (see ``sprites``).
        self.out_w = math.ceil((right - left) * u)
        self.out_h = math.ceil((bottom - top) * u)
        self.origin_out = (math.ceil(-left * u), math.ceil(-top * u))
        h, w = (self.out_h + 1) * SS, (self.out_w + 1) * SS
        self.ox = (self.origin_out[0] + 1) * SS
        self.oy = (self.origin_out[1] + 1) * SS
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
        hh, ww = self.out_h * SS, self.out_w * SS
        for qy in range(phases_y):
            for qx in range(phases_x):
                # Starting the crop q canvas pixels earlier moves the content q/SS px right/down.
                crop = premul[SS - qy : SS - qy + hh, SS - qx : SS - qx + ww]
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
    """Draws the presenter into a frame: cached body and head sprites plus live eyes and mouth."""

    def __init__(self, width: int, height: int, palette: Palette) -> None:
        """Build the cached layers for a ``width`` x ``height`` frame (takes a moment at 720p)."""
        self.width = width
        self.height = height
        self.u = height / 360.0
        self.palette = palette
        self.anchor = (width * HEAD_X_FRAC, height * HEAD_Y_FRAC)
        self._lip = mix(shade(palette.skin, 0.62), (60, 60, 190), 0.25)
        self._lash = shade(mix(palette.hair, (30, 25, 25), 0.6), 0.55)
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
        body = self._paint_body()
        head = self._paint_head()
        self._body_origin = body.origin_out
        self._head_origin = head.origin_out
        self._body = body.sprites(1, SS)
        self._head = head.sprites(SS, SS)

    # ----------------------------------------------------------------------------- per frame

    def motion(self, t: float) -> tuple[float, float, float]:
        """(head dx, head dy, body dy) in pixels at programme time ``t``: breath and sway."""
        breath = math.sin(2.0 * math.pi * t / BREATH_PERIOD_S)
        body_dy = -BREATH_UNITS * self.u * breath
        sway = SWAY_UNITS * math.sin(2.0 * math.pi * t / SWAY_PERIOD_S) + SWAY2_UNITS * math.sin(
            2.0 * math.pi * t / SWAY2_PERIOD_S + 1.3
        )
        return sway * self.u, body_dy * HEAD_BREATH_SHARE, body_dy

    def head_position(self, t: float) -> tuple[float, float]:
        """Where the head centre is drawn at ``t`` (pixels, quantised to the sprite phases)."""
        dx, dy, _ = self.motion(t)
        ix, qx = _quantise(self.anchor[0] + dx)
        iy, qy = _quantise(self.anchor[1] + dy)
        return ix + qx / SS, iy + qy / SS

    def feature_boxes(self, t: float) -> dict[str, Box]:
        """Pixel boxes (x0, y0, x1, y1) of the mouth and each eye at ``t``, at their largest."""
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
        return boxes

    def draw(self, frame: Image, t: float, mouth_open: float, eyes_closed: float) -> None:
        """Draw the presenter into ``frame`` (BGR, in place) at programme time ``t``."""
        dx, dy, body_dy = self.motion(t)
        by, bq = _quantise(self.anchor[1] + body_dy)
        bx = round(self.anchor[0])
        blend(frame, self._body[(0, bq)], bx - self._body_origin[0], by - self._body_origin[1])
        hx, hqx = _quantise(self.anchor[0] + dx)
        hy, hqy = _quantise(self.anchor[1] + dy)
        blend(frame, self._head[(hqx, hqy)], hx - self._head_origin[0], hy - self._head_origin[1])
        cx, cy = hx + hqx / SS, hy + hqy / SS
        gaze = self._gaze(t)
        closed = min(max(eyes_closed, 0.0), 1.0)
        for side in (-1.0, 1.0):
            self._draw_eye(frame, cx + side * EYE_DX * self.u, cy + EYE_Y * self.u, side, closed, gaze)
        self._draw_mouth(frame, cx, cy + MOUTH_Y * self.u, min(max(mouth_open, 0.0), 1.0))

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

    def _draw_eye(self, frame: Image, ex: float, ey: float, side: float, closed: float, gaze: float) -> None:
        u = self.u
        a, up, low = EYE_HALF_W * u, EYE_UP * u, EYE_LOW * u
        xs = np.linspace(-a, a, 19, dtype=np.float32)
        s = np.sqrt(np.clip(1.0 - (xs / a) ** 2, 0.0, 1.0))
        # The outer corner sits a touch higher: a friendlier, smiling eye shape.
        tilt = -0.9 * u * (xs * side / a)
        upper = -up * s**0.85 + tilt
        lower = low * s + tilt * 0.5
        k = LID_REST + (1.0 - LID_REST) * closed
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
            ix, iy = ox + gaze * u, oy + 1.2 * u
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

    def _draw_mouth(self, frame: Image, mx: float, my: float, m: float) -> None:
        u = self.u
        w = MOUTH_HALF_W * u * (1.0 - 0.12 * m)  # an open "ah" pulls the corners in a little
        # Slightly faster than linear at the start: quiet syllables still part the lips visibly.
        depth = MOUTH_DEPTH * u * m**0.8
        xs = np.linspace(-w, w, 17, dtype=np.float32)
        r2 = np.minimum((xs / w) ** 2, 1.0)  # float32 rounding can push the ends past 1 (NaN in the power)
        top = -MOUTH_SMILE * u * r2 - 0.18 * depth * (1.0 - r2)
        bottom = -MOUTH_SMILE * u * r2 + depth * (1.0 - r2) ** 0.75
        pad = 3.0 * u + 2.0
        x0, y0 = math.floor(mx - w - pad), math.floor(my - MOUTH_SMILE * u - 0.2 * depth - pad)
        x1, y1 = math.ceil(mx + w + pad), math.ceil(my + depth + 3.0 * u + pad)
        roi = frame[y0:y1, x0:x1]
        ox, oy = mx - x0, my - y0
        top_pts = np.stack([xs + ox, top + oy], axis=1)
        bottom_pts = np.stack([xs + ox, bottom + oy], axis=1)
        if depth > 0.15:
            colour = np.empty_like(roi)
            colour[:] = self._mouth_in
            # Teeth and tongue take a share of the opening; a small opening stays mostly dark so
            # quiet syllables still read as speech.
            teeth_h = min(depth * 0.3, 3.4 * u)
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
        c = _Canvas(BODY_BOX, self.u)
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
        outline = spline([*shirt_half, (0.0, 250.0)], steps=12)
        shirt = np.vstack([outline, outline[::-1][1:] * [-1.0, 1.0]])
        c.fill([shirt], p.shirt)
        body = c.coverage([shirt])
        c.shade_edges(body, shade(p.shirt, 0.6), width=16.0, strength=0.6)
        for sx in (-1.0, 1.0):
            # Where the arm meets the chest, and light on top of the shoulder.
            seam = [(sx * 86.0, 108.0), (sx * 88.0, 150.0), (sx * 89.0, 240.0)]
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

    def _paint_head(self) -> _Canvas:
        p = self.palette
        c = _Canvas(HEAD_BOX, self.u)
        hair_dark = shade(p.hair, 0.7)
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
            # Lid crease and the socket's soft shadow above each eye.
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
            # Eyebrows: tapered, softly arched, a little lifted: an open, friendly expression.
            inner, outer = cx - sx * 9.5, cx + sx * 10.5
            brow_top = [(inner, EYE_Y - 22.0), (cx, EYE_Y - 26.5), (outer, EYE_Y - 23.5)]
            brow_bot = [(outer + sx * 0.8, EYE_Y - 21.8), (cx, EYE_Y - 23.4), (inner, EYE_Y - 18.6)]
            c.fill([spline([*brow_top, *brow_bot], closed=True, steps=6)], shade(p.hair, 0.85))
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
        # Fringe swept to one side, with its shadow on the forehead.
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
        fringe_poly = spline(fringe, closed=True, steps=8)
        c.fill([fringe_poly + [1.0, 4.0]], shade(p.skin, 0.62), opacity=0.6, blur=3.0, clip=face_cov)
        c.fill([fringe_poly], p.hair)
        hair_front = c.coverage([fringe_poly])
        c.shade_edges(hair_front, shade(p.hair, 0.6), width=8.0, strength=0.6)
        # Strands and the shine band across the crown.
        for strand in (
            [(20.0, -60.0), (2.0, -46.0), (-22.0, -30.0)],
            [(24.0, -58.0), (10.0, -44.0), (-8.0, -32.0)],
            [(28.0, -57.0), (38.0, -42.0), (45.0, -20.0)],
            [(14.0, -60.0), (-12.0, -52.0), (-38.0, -22.0)],
        ):
            c.fill(
                [spline(strand)],
                shade(p.hair, 0.62),
                opacity=0.7,
                blur=0.5,
                stroke=1.1,
                closed=False,
                clip=hair_front,
            )
        shine = [(-34.0, -42.0), (-18.0, -52.0), (2.0, -55.0), (22.0, -51.0)]
        c.fill(
            [spline(shine)],
            shade(p.hair, 1.6),
            opacity=0.55,
            blur=2.2,
            stroke=3.5,
            closed=False,
            clip=hair_front,
        )
        return c


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> FloatArray:
    phi = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(phi), cy + ry * np.sin(phi)], axis=1).astype(np.float32)


def _mask_blend(roi: Image, colour: Image, mask: Image) -> None:
    """roi = roi * (1 - mask) + colour * mask, in place, uint8 throughout."""
    m3 = cv2.merge([mask, mask, mask])
    kept = cv2.multiply(roi, 255 - m3, scale=1.0 / 255.0)
    cv2.add(kept, cv2.multiply(colour, m3, scale=1.0 / 255.0), dst=roi)
