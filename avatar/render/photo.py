"""The photo presenter: a portrait picture brought to life with the voice.

A scene may give a portrait instead of the drawn character (``avatar: {kind: photo, image: ...}``).
Its face landmarks are found once (``avatar.render.face_landmarks``); from them this module builds,
once, smooth displacement fields over the face: one that drops the lower lip and jaw, one per eye
that slides the upper eyelid down over the eye, and one that spreads or gathers the mouth corners.
A frame is then one ``cv2.remap`` of the small face region with the fields scaled by the mouth
opening, viseme and blink of the moment, a dark mouth interior painted into the gap between the
lips, and one ``cv2.warpAffine`` of the portrait tile for the head's sway, nod and breathing.

It draws through the same two calls as the drawn :class:`~avatar.render.character.Character`
(``draw`` and ``feature_boxes``), so the compositor treats both alike.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from avatar.render.character import BGR, Box
from avatar.render.face_landmarks import (
    CHIN,
    FACE_OVAL,
    FOREHEAD,
    LEFT_BROW_LOWER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_LOWER_INNER,
    LIPS_LOWER_OUTER,
    LIPS_UPPER_INNER,
    LIPS_UPPER_OUTER,
    RIGHT_BROW_LOWER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    Points,
    PortraitError,
    face_landmarks,
    read_portrait,
)
from avatar.render.frame import NEUTRAL, Expression, Image

__all__ = ["PhotoPresenter", "PortraitError", "Presenter", "photo_or_drawn"]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

TILE_H_FRAC: Final[float] = 0.80
"""Height of the portrait tile, fraction of the frame height."""
TILE_TOP_FRAC: Final[float] = 0.11
"""Top of the tile, fraction of the frame height (under the title badge)."""
TILE_ASPECT: Final[float] = 0.82
"""Width / height of the tile: head and shoulders."""
TILE_X_FRAC: Final[float] = 0.27
"""Tile centre, fraction of the frame width from the presenter's edge (the card takes the other side)."""
PORTRAIT_TILE_W_FRAC: Final[float] = 0.68
"""In a 9:16 frame: tile width, fraction of the frame width (centred; the card lies over its foot)."""
PORTRAIT_TILE_TOP_FRAC: Final[float] = 0.075
"""In a 9:16 frame: top of the tile, fraction of the frame height (under the title badge)."""
CROP_ABOVE_FACE: Final[float] = 0.75
"""Picture kept above the forehead landmark, in face heights (hair, hat)."""
CROP_BELOW_CHIN: Final[float] = 1.05
"""Picture kept below the chin, in face heights (neck and shoulders)."""

JAW_DROP_MOUTH_W: Final[float] = 0.34
"""How far the lower lip drops at a fully open mouth, in mouth widths ("ah")."""
CORNER_SPREAD: Final[float] = 0.10
"""How far the mouth corners move out ("ee") or in ("oo"), in mouth widths."""
MOUTH_INSIDE: Final[BGR] = (34, 24, 66)
"""The dark of an open mouth."""
TEETH: Final[BGR] = (196, 208, 222)
SWAY_DEG: Final[float] = 1.3
SWAY_PERIOD_S: Final[float] = 7.3
BREATH_UNITS: Final[float] = 1.4
"""Rise of the head with each breath, in 1/360 of the frame height."""
BREATH_PERIOD_S: Final[float] = 4.1
NOD_DEG: Final[float] = 5.0
"""How far the head tips forward at the bottom of a nod."""
BORDER_UNITS: Final[float] = 3.0
CORNER_UNITS: Final[float] = 14.0


def _contour(points: Points, indices: tuple[int, ...]) -> FloatArray:
    """The landmarks ``indices`` sorted left to right (for interpolation along x)."""
    pts = points[list(indices)]
    return np.asarray(pts[np.argsort(pts[:, 0], kind="stable")], np.float32)


def _along(contour: FloatArray, x: FloatArray) -> FloatArray:
    """The contour's y at each x (flat beyond its ends)."""
    return np.asarray(np.interp(x, contour[:, 0], contour[:, 1]), np.float32)


def _smoothstep(x: FloatArray) -> FloatArray:
    c = np.clip(x, 0.0, 1.0)
    return np.asarray(c * c * (3.0 - 2.0 * c), np.float32)


class PhotoPresenter:
    """Animates a portrait: lips, jaw and eyelids follow the voice; the head sways and breathes."""

    def __init__(
        self, width: int, height: int, image: Path, *, side: str = "left", accent: BGR = (0, 0, 0)
    ) -> None:
        """Place the portrait for a ``width`` x ``height`` frame and build its warp fields.

        Raises :class:`PortraitError` when the picture is missing, unreadable or has no face.
        """
        self.width, self.height = width, height
        portrait = height > width  # a 9:16 phone frame: the tile is centred and as wide as it fits
        self.u = u = min(width, height) / 360.0
        picture = read_portrait(image)
        points = face_landmarks(image)
        # The tile: head and shoulders cut from the picture around the face, scaled to fit.
        if portrait:
            tile_w = round(PORTRAIT_TILE_W_FRAC * width) // 2 * 2
            tile_h = round(tile_w / TILE_ASPECT) // 2 * 2
        else:
            tile_h = round(TILE_H_FRAC * height) // 2 * 2
            tile_w = round(TILE_ASPECT * tile_h) // 2 * 2
        face_top, chin = float(points[FOREHEAD, 1]), float(points[CHIN, 1])
        face_h = chin - face_top
        if face_h < 8:
            raise PortraitError(f"the face in {image} is too small to animate")
        crop_h = min((CROP_ABOVE_FACE + 1.0 + CROP_BELOW_CHIN) * face_h, float(picture.shape[0]))
        crop_w = min(crop_h * TILE_ASPECT, float(picture.shape[1]))
        crop_h = crop_w / TILE_ASPECT
        face_cx = float(points[list(FACE_OVAL), 0].mean())
        x0 = min(max(face_cx - crop_w / 2, 0.0), picture.shape[1] - crop_w)
        y0 = min(max(face_top - CROP_ABOVE_FACE * face_h, 0.0), picture.shape[0] - crop_h)
        scale = tile_h / crop_h
        crop = np.ascontiguousarray(picture[round(y0) : round(y0 + crop_h), round(x0) : round(x0 + crop_w)])
        self._tile: Image = np.asarray(
            cv2.resize(crop, (tile_w, tile_h), interpolation=cv2.INTER_AREA), np.uint8
        )
        self.landmarks: Points = np.asarray((points - (x0, y0)) * scale, np.float32)
        """The face mesh points in tile pixels."""
        self.tile_w, self.tile_h = tile_w, tile_h
        centre = TILE_X_FRAC * width if side == "left" else (1.0 - TILE_X_FRAC) * width
        if portrait:
            centre = width / 2
        self.tile_x = round(centre - tile_w / 2)
        self.tile_y = round((PORTRAIT_TILE_TOP_FRAC if portrait else TILE_TOP_FRAC) * height)
        self._alpha3, self._inv3 = self._tile_mask(round(CORNER_UNITS * u))
        self._border = accent
        self._build_fields()

    # ------------------------------------------------------------------------------ set-up

    def _tile_mask(self, radius: int) -> tuple[Image, Image]:
        """Rounded-corner coverage of the tile (anti-aliased), and its inverse, both 3 channels."""
        ss = 4
        big = np.zeros((self.tile_h * ss, self.tile_w * ss), np.uint8)
        r = radius * ss
        x1, y1 = self.tile_w * ss - 1, self.tile_h * ss - 1
        cv2.rectangle(big, (r, 0), (x1 - r, y1), 255, -1)
        cv2.rectangle(big, (0, r), (x1, y1 - r), 255, -1)
        for cx, cy in ((r, r), (x1 - r, r), (r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(big, (cx, cy), r, 255, -1, cv2.LINE_AA)
        alpha = np.asarray(
            cv2.resize(big, (self.tile_w, self.tile_h), interpolation=cv2.INTER_AREA), np.uint8
        )
        alpha3 = np.ascontiguousarray(np.repeat(alpha[:, :, None], 3, axis=2))
        return alpha3, np.ascontiguousarray(255 - alpha3)

    def _build_fields(self) -> None:
        """The face region and its displacement fields, in tile pixels, built once."""
        p = self.landmarks
        self._upper_inner = _contour(p, LIPS_UPPER_INNER)
        self._lower_inner = _contour(p, LIPS_LOWER_INNER)
        lips = p[list(LIPS_UPPER_OUTER + LIPS_LOWER_OUTER)]
        left, right = float(lips[:, 0].min()), float(lips[:, 0].max())
        self.mouth_w = mouth_w = right - left
        self._mouth_cx = mouth_cx = (left + right) / 2
        self.jaw_drop = JAW_DROP_MOUTH_W * mouth_w
        chin = float(p[CHIN, 1])
        lip_bottom = float(p[list(LIPS_LOWER_OUTER), 1].max())
        eyes = {
            "right_eye": (
                _contour(p, RIGHT_EYE_UPPER),
                _contour(p, RIGHT_EYE_LOWER),
                p[list(RIGHT_BROW_LOWER)],
            ),
            "left_eye": (_contour(p, LEFT_EYE_UPPER), _contour(p, LEFT_EYE_LOWER), p[list(LEFT_BROW_LOWER)]),
        }
        brow_y = min(float(brow[:, 1].min()) for _, _, brow in eyes.values())
        face = p[list(FACE_OVAL)]
        pad = 4.0 * self.u
        neck = chin + 0.35 * (chin - float(p[FOREHEAD, 1]))
        # The region every field lives in: brows to below the chin, across the face.
        rx0 = max(int(face[:, 0].min() - pad), 0)
        rx1 = min(int(math.ceil(face[:, 0].max() + pad)), self.tile_w)
        ry0 = max(int(brow_y - pad), 0)
        ry1 = min(int(math.ceil(neck + self.jaw_drop + pad)), self.tile_h)
        self._roi = (rx0, ry0, rx1, ry1)
        xs = np.arange(rx0, rx1, dtype=np.float32)
        ys = np.arange(ry0, ry1, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        self._grid = (gx, gy)

        # Jaw: everything below the line between the lips moves down with the lower lip; the
        # lips stay joined at the corners (the gap is lens-shaped) and the drop fades out under
        # the chin, where the jaw folds over the neck.
        lip_line = (_along(self._upper_inner, xs) + _along(self._lower_inner, xs)) / 2
        half = mouth_w / 2
        across = np.abs(xs - mouth_cx) / half
        lens = np.sqrt(np.clip(1.0 - across**2, 0.0, 1.0)).astype(np.float32)
        below = gy > lip_line[None, :]
        fade = 1.0 - _smoothstep((gy - chin) / max(neck - chin, 1.0))
        self._jaw_field: FloatArray = np.where(below, lens[None, :] * fade, 0.0).astype(np.float32)

        # Mouth corners: a horizontal stretch about the mouth centre, around the lips only.
        lips_top = float(p[list(LIPS_UPPER_OUTER), 1].min())
        mid_y = (lips_top + lip_bottom) / 2
        reach_y = (lip_bottom - lips_top) * 1.2 + pad
        bump_y = 1.0 - _smoothstep(np.abs(gy - mid_y) / reach_y)
        bump_x = 1.0 - _smoothstep((np.abs(gx - mouth_cx) - half) / (0.6 * half))
        self._corner_field: FloatArray = ((gx - mouth_cx) / half * bump_x * bump_y).astype(np.float32)

        # Eyelids: between the brow and the lower lid, the skin slides down so that at a full
        # blink the upper lid's edge reaches the lower lid.
        self._eye_fields: dict[str, FloatArray] = {}
        self._eye_boxes: dict[str, tuple[float, float, float, float]] = {}
        for name, (upper, lower, brow) in eyes.items():
            ex0, ex1 = float(upper[0, 0]), float(upper[-1, 0])
            top = _along(upper, xs)
            bottom = _along(lower, xs)
            opening = np.clip(bottom - top, 0.0, None)
            # The lid skin that slides down comes from just above the eye (not from the brow, nor
            # from the rim of a pair of glasses between the two).
            lid_top = max(float(upper[:, 1].min()) - 1.2 * float(opening.max()), float(brow[:, 1].max()))
            inside = (xs >= ex0) & (xs <= ex1)
            ramp = np.clip((gy - lid_top) / np.maximum(bottom[None, :] - lid_top, 1.0), 0.0, 1.0)
            field = np.where((gy <= bottom[None, :]) & inside[None, :], ramp * opening[None, :], 0.0)
            self._eye_fields[name] = np.asarray(field, np.float32)
            self._eye_boxes[name] = (ex0, float(upper[:, 1].min()), ex1, float(lower[:, 1].max()))
        self._lips_box = (left, lips_top, right, lip_bottom)
        self._jaw_box = (left, lips_top, right, neck + self.jaw_drop)

    # ------------------------------------------------------------------------------ per frame

    def motion(self, t: float) -> tuple[float, float]:
        """(head tilt in degrees, rise in pixels) at ``t``: a slow sway and the breath."""
        sway = SWAY_DEG * math.sin(2.0 * math.pi * t / SWAY_PERIOD_S)
        breath = BREATH_UNITS * self.u * 0.5 * (1.0 - math.cos(2.0 * math.pi * t / BREATH_PERIOD_S))
        return sway, breath

    def face_tile(
        self, mouth_open: float, eyes_closed: float, mouth_wide: float = 0.0, mouth_round: float = 0.0
    ) -> Image:
        """The portrait tile with the mouth, lips and eyelids posed (no head motion)."""
        tile = self._tile.copy()
        rx0, ry0, rx1, ry1 = self._roi
        gx, gy = self._grid
        # Plain floats: a NumPy float64 scalar would turn the float32 maps into float64 ones.
        drop = float(self.jaw_drop * min(max(mouth_open, 0.0), 1.0))
        blink = float(min(max(eyes_closed, 0.0), 1.0))
        # The corners move most once the lips part.
        parted = 0.4 + 0.6 * min(2.0 * drop / max(self.jaw_drop, 1e-6), 1.0)
        spread = float(CORNER_SPREAD * self.mouth_w * (mouth_wide - mouth_round) * parted)
        if drop < 0.05 and blink < 0.02 and abs(spread) < 0.05:
            return tile
        map_y = gy - drop * self._jaw_field
        if blink >= 0.02:
            for field in self._eye_fields.values():
                map_y = map_y - blink * field
        map_x = gx - spread * self._corner_field if abs(spread) >= 0.05 else gx
        tile[ry0:ry1, rx0:rx1] = cv2.remap(
            self._tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        if drop >= 0.5:
            self._paint_mouth_inside(tile, drop, spread)
        return tile

    def _paint_mouth_inside(self, tile: Image, drop: float, spread: float) -> None:
        """Fill the gap between the still upper lip and the dropped lower lip."""
        half = self.mouth_w / 2
        cx = self._mouth_cx
        shift = 1.0 + spread / max(half, 1.0)  # the corners moved with the stretch
        upper = self._upper_inner.copy()
        lower = self._lower_inner.copy()
        for contour in (upper, lower):
            contour[:, 0] = cx + (contour[:, 0] - cx) * shift
        across = np.abs(lower[:, 0] - cx) / (half * shift)
        lower[:, 1] += drop * np.sqrt(np.clip(1.0 - across**2, 0.0, 1.0))
        gap = np.concatenate([upper, lower[::-1]])
        fix = 16.0  # 4 fractional bits: sub-pixel edges
        cv2.fillPoly(tile, [np.round(gap * fix).astype(np.int32)], MOUTH_INSIDE, cv2.LINE_AA, 4)
        if drop >= 2.0:
            # Upper teeth just under the upper lip, a third of the opening at most.
            teeth_h = min(drop * 0.2, 2.0 * self.u)
            inner = upper[1:-1]
            band = np.concatenate([inner, inner[::-1] + (0.0, teeth_h)])
            cv2.fillPoly(tile, [np.round(band * fix).astype(np.int32)], TEETH, cv2.LINE_AA, 4)

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
        """Draw the portrait into ``frame`` (BGR, in place) at programme time ``t``."""
        tile = self.face_tile(mouth_open, eyes_closed, mouth_wide, mouth_round)
        tilt, rise = self.motion(t)
        nod = min(max(expression.nod, 0.0), 1.0)
        # Pivot at the neck: the head turns on it, and a nod dips the face toward the viewer.
        pivot = (float(self._mouth_cx), float(self.landmarks[CHIN, 1]) + 0.2 * self.mouth_w)
        m = cv2.getRotationMatrix2D(pivot, tilt, 1.0)
        m[1, 2] += nod * NOD_DEG * 0.9 * self.u - rise
        moved = cv2.warpAffine(
            tile, m, (self.tile_w, self.tile_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        x, y = self.tile_x, self.tile_y
        roi = frame[y : y + self.tile_h, x : x + self.tile_w]
        kept = cv2.multiply(roi, self._inv3, scale=1.0 / 255.0)
        shown = cv2.multiply(moved, self._alpha3, scale=1.0 / 255.0)
        cv2.add(kept, shown, dst=roi)
        b = max(1, round(BORDER_UNITS * self.u / 2))
        r = round(CORNER_UNITS * self.u)
        _rounded_outline(
            frame, (x - b, y - b, x + self.tile_w + b - 1, y + self.tile_h + b - 1), r + b, self._border, b
        )

    def feature_boxes(self, t: float) -> dict[str, Box]:
        """Pixel boxes (x0, y0, x1, y1) of the mouth (fully open), the jaw it moves, each eye, the
        face and the whole portrait.

        Boxes hold the feature wherever the sway and breathing take it.
        """
        slack = self.mouth_w * 0.08 + 3.0 * self.u + 2.0
        ox, oy = self.tile_x, self.tile_y

        def box(x0: float, y0: float, x1: float, y1: float) -> Box:
            return (
                max(int(ox + x0 - slack), 0),
                max(int(oy + y0 - slack), 0),
                min(int(math.ceil(ox + x1 + slack)), self.width),
                min(int(math.ceil(oy + y1 + slack)), self.height),
            )

        lx0, ly0, lx1, ly1 = self._lips_box
        spread = CORNER_SPREAD * self.mouth_w
        boxes = {"mouth": box(lx0 - spread, ly0, lx1 + spread, ly1 + self.jaw_drop)}
        jx0, jy0, jx1, jy1 = self._jaw_box
        boxes["jaw"] = box(jx0 - spread, jy0, jx1 + spread, jy1)  # all that an open mouth moves
        for name, (ex0, ey0, ex1, ey1) in self._eye_boxes.items():
            boxes[name] = box(ex0, ey0, ex1, ey1)
        rx0, ry0, rx1, ry1 = self._roi
        boxes["face"] = box(rx0, ry0, rx1, ry1)
        boxes["portrait"] = (ox, oy, ox + self.tile_w, oy + self.tile_h)
        return boxes


def _rounded_outline(
    frame: Image, rect: tuple[int, int, int, int], radius: int, colour: BGR, thickness: int
) -> None:
    """A rounded-rectangle frame line around the portrait."""
    x0, y0, x1, y1 = rect
    r = max(min(radius, (x1 - x0) // 2, (y1 - y0) // 2), 0)
    for a, b in (
        ((x0 + r, y0), (x1 - r, y0)),
        ((x0 + r, y1), (x1 - r, y1)),
        ((x0, y0 + r), (x0, y1 - r)),
        ((x1, y0 + r), (x1, y1 - r)),
    ):
        cv2.line(frame, a, b, colour, thickness, cv2.LINE_AA)
    for (cx, cy), angle in (
        ((x0 + r, y0 + r), 180),
        ((x1 - r, y0 + r), 270),
        ((x1 - r, y1 - r), 0),
        ((x0 + r, y1 - r), 90),
    ):
        cv2.ellipse(frame, (cx, cy), (r, r), angle, 0, 90, colour, thickness, cv2.LINE_AA)


class Presenter(Protocol):
    """Whoever presents the show: the drawn character or a photo presenter."""

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
        """Draw into ``frame`` (BGR, in place) at programme time ``t``."""
        ...

    def feature_boxes(self, t: float) -> dict[str, Box]:
        """Pixel boxes of the mouth and eyes (and more, per presenter) at ``t``."""
        ...


@functools.lru_cache(maxsize=4)
def _photo(width: int, height: int, image: Path, side: str, accent: BGR, stamp: float) -> PhotoPresenter:
    # Renderers of one size share the tile and fields (read-only per frame); ``stamp`` (the
    # picture's modification time) makes an edited picture a new entry.
    return PhotoPresenter(width, height, image, side=side, accent=accent)


def photo_or_drawn(
    image: Path | None, width: int, height: int, side: str, accent: BGR, drawn: Callable[[], Presenter]
) -> Presenter:
    """The photo presenter for ``image``, or ``drawn()`` when there is none or it cannot be used.

    A portrait that is missing, unreadable or shows no face is logged as a warning that says
    why, and the show goes on with the drawn character.
    """
    if image is None:
        return drawn()
    try:
        stamp = image.stat().st_mtime if image.is_file() else 0.0
        return _photo(width, height, image.absolute(), side, accent, stamp)
    except PortraitError as error:
        log.warning("photo avatar: %s; showing the drawn presenter instead", error)
        return drawn()
