"""What a video frame is made of: the state that drives it, and the layers it is composited from.

``ProductCard`` and ``FrameState`` are the renderer's input: plain frozen values that the show
and the animator build once per frame (off the event loop) and hand to ``Renderer.render``.
They are hashable on purpose: the renderer caches whatever is drawn from a value (a card, a
caption) keyed by the value itself.

``Sprite``, ``blend``, ``stack`` and ``LRU`` are the small building blocks the render modules
share: a pre-multiplied BGR layer with its alpha, a fast in-place blend of one onto a frame,
flattening a few into one, and the bounded cache that keeps a show that runs for days from
growing without limit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""A uint8 image: (h, w, 3) BGR, or (h, w) single channel."""


@dataclass(frozen=True)
class ProductCard:
    """The product on screen, as the viewer should read it on the card at the right."""

    name: str
    """Product name; may be Chinese."""
    price_text: str
    """The regular price, already formatted, e.g. ``"$49.99"``."""
    promo_text: str | None = None
    """The promotional price, e.g. ``"$39.99"``; when set it is shown big and the regular price struck."""
    stock_text: str | None = None
    """A stock line such as ``"120 left"`` or ``"仅剩 12 件"``; ``None`` hides the line."""
    image_path: Path | None = None
    """A product picture (PNG/JPEG); missing or unreadable shows a neutral placeholder."""


@dataclass(frozen=True)
class Expression:
    """What the face and hands are doing beyond talking and blinking; every field 0 is neutral.

    Continuous values (not moods) so that the animator can ease between them: the renderer only
    draws what it is given.
    """

    smile: float = 0.0
    """0 .. 1: mouth corners up, cheeks lifting the lower lids, brows a touch higher."""
    think: float = 0.0
    """0 .. 1: one brow up, eyes up and away from the card, lips pressed to one side."""
    brows: float = 0.0
    """-1 .. 1: both brows down (concern) or up (a friendly greeting)."""
    nod: float = 0.0
    """0 .. 1: how far the head is dipped in a nod."""
    gesture: float = 0.0
    """0 .. 1: how far the hand is raised toward the product card (the eyes follow it)."""


NEUTRAL = Expression()


@dataclass(frozen=True)
class FrameState:
    """Everything one video frame shows. The renderer is a pure function of this value."""

    t: float
    """Programme time in seconds; drives idle motion (breathing, sway, gaze)."""
    mouth_open: float
    """0 closed .. 1 wide open (from ``Animator.step``)."""
    eyes_closed: float
    """0 open .. 1 fully closed (from ``Animator.step``)."""
    caption: str
    """What is being said now; ``""`` shows no caption box. May be Chinese, may be long."""
    product: ProductCard | None
    """The product card on the right, or ``None`` for no card."""
    title: str
    """Host or show name in the top-left badge."""
    mouth_wide: float = 0.0
    """0 relaxed .. 1 spread lips ("ee"); see ``avatar.render.lipsync``."""
    mouth_round: float = 0.0
    """0 relaxed .. 1 rounded lips ("oo")."""
    expression: Expression = NEUTRAL
    """Smile, thinking look, nod, gesture toward the card."""
    countdown_s: float | None = None
    """Seconds left in the flash sale of the product on screen; ``None`` hides the countdown."""
    coupon: str = ""
    """Coupon banner text under the card (e.g. ``"Code LIVE10: 10% off"``); ``""`` hides it."""
    ticker: tuple[str, ...] = ()
    """Recent viewer comments, oldest first, as they crawl along the bottom; ``()`` hides the ticker."""
    ticker_since: float = 0.0
    """Programme time when ``ticker`` last changed: the crawl starts again from the right edge."""


class Sprite:
    """A layer ready to blend: colour pre-multiplied by alpha, and ``255 - alpha`` in 3 channels.

    Keeping both forms precomputed makes a blend two saturating uint8 OpenCV calls
    (``dst * inv / 255 + premul``) with no float math and no allocation beyond one temporary.
    """

    __slots__ = ("alpha", "inv_alpha3", "premul")

    def __init__(self, premul: Image, alpha: Image) -> None:
        """Wrap a pre-multiplied (h, w, 3) colour layer and its (h, w) alpha."""
        if premul.shape[:2] != alpha.shape[:2]:
            raise ValueError(f"sprite colour {premul.shape} and alpha {alpha.shape} differ in size")
        self.premul: Image = np.ascontiguousarray(premul)
        self.alpha: Image = np.ascontiguousarray(alpha)
        inv = 255 - self.alpha
        self.inv_alpha3: Image = np.ascontiguousarray(np.repeat(inv[:, :, None], 3, axis=2))

    @classmethod
    def from_colour(cls, colour: tuple[int, int, int], alpha: Image) -> Sprite:
        """A flat-coloured layer shaped by ``alpha`` (text, boxes, masks)."""
        a = alpha.astype(np.uint16)
        premul = np.empty((*alpha.shape, 3), np.uint8)
        for ch in range(3):
            # +127 rounds to nearest so pure-colour pixels keep their exact value.
            premul[:, :, ch] = ((a * colour[ch] + 127) // 255).astype(np.uint8)
        return cls(premul, alpha)

    @classmethod
    def from_bgra(cls, bgra: Image) -> Sprite:
        """A layer from a pre-multiplied BGRA image."""
        return cls(bgra[:, :, :3], bgra[:, :, 3])

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.alpha.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.alpha.shape[0])


def blend(dst: Image, sprite: Sprite, x: int, y: int) -> None:
    """Blend ``sprite`` onto the BGR image ``dst`` in place with its top-left at (x, y).

    Only the sprite's bounding box is touched, and it is clipped to ``dst``: a layer may hang
    off any edge of the frame.
    """
    h, w = dst.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + sprite.width, w), min(y + sprite.height, h)
    if x0 >= x1 or y0 >= y1:
        return
    sx0, sy0 = x0 - x, y0 - y
    sx1, sy1 = sx0 + (x1 - x0), sy0 + (y1 - y0)
    roi = dst[y0:y1, x0:x1]
    kept = cv2.multiply(roi, sprite.inv_alpha3[sy0:sy1, sx0:sx1], scale=1.0 / 255.0)
    cv2.add(kept, sprite.premul[sy0:sy1, sx0:sx1], dst=roi)


def stack(w: int, h: int, layers: list[tuple[Sprite, int, int]]) -> Sprite:
    """Flatten sprites (bottom first, each at its (x, y)) into one ``w`` x ``h`` sprite.

    Pre-multiplied "over" in uint8 with OpenCV: fast enough to build a caption layer whenever
    the caption changes (a few times a second) without a float pass over the box.
    """
    premul = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    for sprite, x, y in layers:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + sprite.width, w), min(y + sprite.height, h)
        if x0 >= x1 or y0 >= y1:
            continue
        src = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
        roi, aroi = premul[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
        cv2.add(sprite.premul[src], cv2.multiply(roi, sprite.inv_alpha3[src], scale=1.0 / 255.0), dst=roi)
        inv = sprite.inv_alpha3[src][:, :, 0]
        cv2.add(sprite.alpha[src], cv2.multiply(aroi, inv, scale=1.0 / 255.0), dst=aroi)
    return Sprite(premul, alpha)


K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A least-recently-used map with a fixed number of entries (not thread-safe)."""

    def __init__(self, capacity: int) -> None:
        """Keep at most ``capacity`` entries; the oldest-used one is dropped first."""
        if capacity < 1:
            raise ValueError("LRU capacity must be at least 1")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value for ``key`` (marking it recently used), or ``None``."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key``, evicting the least recently used entry if full."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
