"""The scene compositor: backdrop, presenter, product card, flash-sale tag, coupon, captions, ticker.

``Renderer.render`` is called once per video frame from the rendering worker thread (never on
the event loop). It is built for a steady 25 fps on one core: everything that does not change
from frame to frame is drawn once and cached (backdrop, card, coupon, badge, caption and ticker
layers, the character's sprites), and a frame is one copy of the cached base plus a few small
blends and the live eyes, brows and mouth.

Layout, in units of 1/360 of the frame height, presenter on the left (``presenter: right`` in the
theme mirrors it)::

    [LIVE | title]                       [FLASH SALE 01:23:45]
                                  +-----------------------+
          (presenter)             |  product card         |
                                  +-----------------------+
                                  [ COUPON | code ...     ]
         [           caption, at most two lines           ]
    [CHAT] viewer: comment  •  viewer: comment  ...  (crawls)

In a 9:16 (portrait, phone) frame the units are 1/360 of the frame *width* and the presenter stands
in the middle, filling the screen as on a live-shopping app; the card, with its flash-sale tag and
coupon, is laid over her lower half on the card side, and the caption takes up to three lines::

    [LIVE | title]
              (presenter's face)
                       [FLASH SALE 01:23]
                      +-----------------+
        (presenter)   |  product card   |
                      +-----------------+
                      [ COUPON | code   ]
      [   caption, at most three lines    ]
    [CHAT] viewer: comment  •  ...  (crawls)

A Renderer is not thread-safe: give each rendering thread its own.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from avatar.render.character import BGR, Box, Character, Look, Palette, mix, shade
from avatar.render.frame import LRU, FrameState, Image, ProductCard, Sprite, blend, stack
from avatar.render.photo import Presenter, photo_or_drawn
from avatar.render.text import ELLIPSIS, TextRenderer, load_font
from avatar.render.theme import (
    DARK_TEXT,
    DEFAULT_THEME,
    contrast,
    load_theme,
    parse_colour,
    readable_on,
    resolve_theme,
)

__all__ = [
    "DEFAULT_THEME",
    "Renderer",
    "contrast",
    "parse_colour",
    "readable_on",
    "resolve_theme",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

MIN_HEIGHT: Final[int] = 360
MAX_HEIGHT: Final[int] = 720
ASPECT: Final[float] = 16.0 / 9.0
ASPECT_TOLERANCE: Final[float] = 0.01
"""854x480 is 16:9 to within a pixel; anything further off is a configuration mistake."""
PORTRAIT_CAPTION_LINES: Final[int] = 3
"""A phone frame is narrow: a caption gets a third line before its start scrolls away."""
PORTRAIT_CAPTION_WIDTH_FRAC: Final[float] = 0.8
PORTRAIT_CAPTION_SIZE: Final[int] = 17
"""Caption type size in a 9:16 frame, units (about 4.7 % of the width: readable on a phone)."""
PORTRAIT_SAFE_X_FRAC: Final[float] = 0.09
"""A 9:16 programme on a taller phone (19.5:9) is cropped to fill it: about 9 % of the width goes at
each side, so badge, card, caption and the CHAT label keep that far in."""
PORTRAIT_CARD_WIDTH_FRAC: Final[float] = 0.46
PORTRAIT_CARD_TOP_FRAC: Final[float] = 0.47
"""Top of the card in a 9:16 frame, fraction of the height: below the presenter's chin."""

LIVE_RED: Final[BGR] = (70, 52, 232)
"""Broadcast "on air" red, whatever the theme: viewers know what it means."""
CAPTION_BOX_ALPHA: Final[float] = 0.74
"""Opacity of the caption box: the shirt shows through, the words stay readable."""
CAPTION_MAX_LINES: Final[int] = 2
CAPTION_WIDTH_FRAC: Final[float] = 0.86
"""Widest caption box, fraction of the frame width."""
TICKER_BAND_ALPHA: Final[float] = 0.86
TICKER_SPEED_UNITS: Final[float] = 55.0
"""Crawl speed, units per second: a comment of ten words crosses the frame in about ten seconds."""
TICKER_MAX_ITEMS: Final[int] = 8
TICKER_ITEM_CHARS: Final[int] = 90
"""A comment longer than this is cut with an ellipsis: the ticker is a glance, not a transcript."""
COUNTDOWN_MAX_S: Final[float] = 100 * 3600 - 1
"""The tag shows at most 99:59:59."""

BASE_CACHE_ENTRIES: Final[int] = 4
"""Full background frames (one per product + title shown recently): ~2.7 MB each at 720p."""
CARD_CACHE_ENTRIES: Final[int] = 16
"""Product card layers: a show cycles through a catalog, so keep the recent ones."""
CAPTION_CACHE_ENTRIES: Final[int] = 64
"""Caption layers; a caption grows word by word, so recent prefixes are worth keeping."""
BADGE_CACHE_ENTRIES: Final[int] = 8
SMALL_CACHE_ENTRIES: Final[int] = 8
"""Coupon tickets, countdown tags (one per second shown, so only the last few matter), tickers."""

MAX_IMAGE_BYTES: Final[int] = 32 * 1024 * 1024
"""Pictures larger than this are refused (placeholder or generated backdrop shown) rather than decoded."""

LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {"flash": "FLASH SALE", "chat": "CHAT", "coupon": "COUPON"},
    "zh": {"flash": "限时秒杀", "chat": "评论", "coupon": "优惠券"},
}
"""Words the overlays print, in the show's language."""


@functools.lru_cache(maxsize=4)
def _character(width: int, height: int, palette: Palette, look: Look) -> Character:
    # Building the sprites takes a noticeable moment at 720p and the result is read-only, so
    # renderers of the same size and look (tests, a restarted track) share one.
    return Character(width, height, palette, look)


@functools.lru_cache(maxsize=64)
def rounded_rect_alpha(w: int, h: int, r: float) -> Image:
    """An anti-aliased rounded rectangle mask (w x h, corner radius r px), drawn supersampled."""
    ss = 4
    big = np.zeros((h * ss, w * ss), np.uint8)
    rr = max(0, min(round(r * ss), (min(w, h) * ss) // 2))
    x1, y1 = w * ss - 1, h * ss - 1
    cv2.rectangle(big, (rr, 0), (x1 - rr, y1), 255, -1)
    cv2.rectangle(big, (0, rr), (x1, y1 - rr), 255, -1)
    for cx, cy in ((rr, rr), (x1 - rr, rr), (rr, y1 - rr), (x1 - rr, y1 - rr)):
        cv2.circle(big, (cx, cy), rr, 255, -1, cv2.LINE_AA)
    small = np.asarray(cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA), np.uint8)
    small.flags.writeable = False
    return small


class _Layer:
    """A pre-multiplied BGRA float canvas for building the rarely-changing layers (card, badge)."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.px: FloatArray = np.zeros((h, w, 4), np.float32)

    def fill(self, alpha: Image | FloatArray, colour: BGR, opacity: float, x: int = 0, y: int = 0) -> None:
        """Paint a flat colour through a uint8 mask placed at (x, y)."""
        a = alpha.astype(np.float32) * (opacity / 255.0)
        src = np.empty((*a.shape, 4), np.float32)
        src[..., :3] = a[..., None] * np.asarray(colour, np.float32)
        src[..., 3] = a * 255.0
        self._over(src, x, y)

    def sprite(self, s: Sprite, x: int, y: int) -> None:
        """Composite a sprite at (x, y)."""
        src = np.dstack([s.premul, s.alpha]).astype(np.float32)
        self._over(src, x, y)

    def image(self, bgr: Image, x: int, y: int) -> None:
        """Place an opaque BGR image at (x, y)."""
        src = np.dstack([bgr.astype(np.float32), np.full(bgr.shape[:2], 255.0, np.float32)])
        self._over(src, x, y)

    def _over(self, src: FloatArray, x: int, y: int) -> None:
        h, w = src.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.w), min(y + h, self.h)
        if x0 >= x1 or y0 >= y1:
            return
        s = src[y0 - y : y1 - y, x0 - x : x1 - x]
        d = self.px[y0:y1, x0:x1]
        d *= 1.0 - s[..., 3:4] / 255.0
        d += s

    def to_sprite(self) -> Sprite:
        """Freeze into a sprite for per-frame blending."""
        px = np.clip(np.rint(self.px), 0, 255).astype(np.uint8)
        a = px[..., 3]
        return Sprite(np.minimum(px[..., :3], a[..., None]), a)


class Renderer:
    """Draws frames of the show: a pure function of ``FrameState``, with bounded caches."""

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        theme: Mapping[str, str] | None = None,
        *,
        root: Path | None = None,
        language: str = "en",
        portrait: Path | None = None,
    ) -> None:
        """A renderer for ``width`` x ``height`` frames: 16:9 from 640x360 up to 1280x720, or 9:16
        (portrait, for phones) from 360x640 up to 720x1280.

        ``theme`` is the scene's ``theme:`` section (see ``avatar.render.theme``): colours, look,
        backdrop picture (relative to ``root``, the scene folder). A bad value is logged and its
        default used. ``language`` picks the words on the overlays ("FLASH SALE" / "限时秒杀").
        ``portrait``: a picture of a face to animate instead of the drawn character (see
        ``avatar.render.photo``); one that cannot be used is logged and the character drawn.
        """
        tall = height > width
        short = width if tall else height
        if not (MIN_HEIGHT <= short <= MAX_HEIGHT) or width % 2 or height % 2:
            raise ValueError(
                f"frame size {width}x{height}: both must be even, "
                f"the short side in {MIN_HEIGHT}..{MAX_HEIGHT}"
            )
        long_over_short = max(width, height) / short
        if abs(long_over_short - ASPECT) > ASPECT * ASPECT_TOLERANCE:
            raise ValueError(f"frame size {width}x{height} is neither 16:9 nor 9:16")
        self.width = width
        self.height = height
        self.portrait = tall
        """A 9:16 frame: the card and captions lie over the presenter (see the module notes)."""
        self.u = u = short / 360.0
        self.theme = load_theme(theme, root)
        colours = self.theme.colours
        self._bg = colours["background"][0]
        self._accent = colours["accent"][0]
        self._highlight = colours["highlight"][0]
        self._card_c, self._card_alpha = colours["card"]
        # Text sits on card-coloured boxes (badge, card, captions): a theme with a light card and
        # white text would be unreadable, so the text colour is swapped for one that contrasts.
        self._text_c = readable_on(colours["text"][0], self._card_c)
        self._muted = mix(self._text_c, self._card_c, 0.42)
        self._on_highlight = readable_on(DARK_TEXT, self._highlight)
        self._on_accent = readable_on((255, 255, 255), self._accent)
        self._labels = LABELS.get(language, LABELS["en"])
        self._text = TextRenderer()
        look = self.theme.look
        palette = Palette(
            skin=colours["skin"][0], hair=colours["hair"][0], shirt=colours["shirt"][0], accent=self._accent
        )
        self._character: Presenter = photo_or_drawn(
            portrait, width, height, look.side, self._accent, lambda: _character(width, height, palette, look)
        )
        self._presenter_left = look.side == "left"
        # Layout, in pixels.
        self._margin = round(12 * u)
        self._safe_x = round(PORTRAIT_SAFE_X_FRAC * width) if tall else 0
        """Pixels at each side that a phone may crop off (portrait only)."""
        self._badge_x = self._margin + self._safe_x
        self._caption_lines = PORTRAIT_CAPTION_LINES if tall else CAPTION_MAX_LINES
        self._caption_w_frac = PORTRAIT_CAPTION_WIDTH_FRAC if tall else CAPTION_WIDTH_FRAC
        self._caption_size = round((PORTRAIT_CAPTION_SIZE if tall else 18) * u)
        self._caption_pad = (round(14 * u), round(7 * u))
        self._caption_h = (
            self._caption_lines * TextRenderer.line_height(self._caption_size) + 2 * self._caption_pad[1]
        )
        self._ticker_h = round(24 * u)
        self._ticker_size = round(13 * u)
        self._caption_bottom = height - self._ticker_h - round(6 * u)
        self._card_w = round((PORTRAIT_CARD_WIDTH_FRAC if tall else 0.34) * width)
        edge = round(0.035 * width) + self._safe_x
        self._card_x = width - edge - self._card_w if self._presenter_left else edge
        self._countdown_h = round(22 * u)
        self._countdown_size = round(12 * u)
        # The badge is always top left (a bun on the right would not leave it room top right), so
        # with the card on the left, the card starts under the badge and its flash-sale tag.
        badge_bottom = self._margin + round(26 * u)
        if tall:
            self._card_y = round(PORTRAIT_CARD_TOP_FRAC * height)
        else:
            self._card_y = (
                round(0.1 * height)
                if self._presenter_left
                else badge_bottom + self._countdown_h // 2 + round(6 * u)
            )
        self._coupon_h = round(30 * u)
        self._coupon_gap = round(6 * u)
        self._card_max_h = self._caption_bottom - self._caption_h - round(8 * u) - self._card_y
        # Open the fonts now rather than inside the first frame that needs them.
        for size, bold in (
            (self._caption_size, False),
            (round(13 * u), True),
            (round(15 * u), True),
            (self._countdown_size, True),
            (self._ticker_size, False),
            (self._ticker_size, True),
        ):
            load_font(size, bold)
        self._countdown_w = self._countdown_width()
        picture = self._load_background()
        self._background = picture if picture is not None else self._paint_background()
        self._ticker_band, self._ticker_text_x = self._paint_ticker_band()
        self._bases: LRU[tuple[ProductCard | None, str, str], Image] = LRU(BASE_CACHE_ENTRIES)
        self._cards: LRU[tuple[ProductCard, int], Sprite] = LRU(CARD_CACHE_ENTRIES)
        self._captions: LRU[str, tuple[Sprite, int, int]] = LRU(CAPTION_CACHE_ENTRIES)
        self._badges: LRU[str, Sprite] = LRU(BADGE_CACHE_ENTRIES)
        self._boxes: LRU[tuple[int, int], Sprite] = LRU(CAPTION_CACHE_ENTRIES)
        self._coupons: LRU[str, Sprite] = LRU(SMALL_CACHE_ENTRIES)
        self._countdowns: LRU[str, Sprite] = LRU(SMALL_CACHE_ENTRIES)
        self._tickers: LRU[tuple[str, ...], Sprite] = LRU(SMALL_CACHE_ENTRIES)

    # ----------------------------------------------------------------------------- frames

    def render(self, state: FrameState) -> Image:
        """The frame for ``state``: BGR uint8, shape (height, width, 3), a new array each call."""
        frame = self._base(state.product, state.title, state.coupon).copy()
        t = state.t if math.isfinite(state.t) else 0.0
        self._character.draw(
            frame,
            t,
            _unit(state.mouth_open),
            _unit(state.eyes_closed),
            _unit(state.mouth_wide),
            _unit(state.mouth_round),
            state.expression,
        )
        if self.portrait:  # the card lies over the presenter: drawn after her, every frame
            self._draw_card(frame, state.product, " ".join(state.coupon.split()))
        if state.countdown_s is not None and math.isfinite(state.countdown_s):
            x, y, _, _ = self._countdown_box()
            blend(frame, self._countdown(format_countdown(state.countdown_s)), x, y)
        if state.caption.strip():
            sprite, x, y = self._caption(state.caption)
            blend(frame, sprite, x, y)
        if state.ticker:
            since = state.ticker_since if math.isfinite(state.ticker_since) else t
            self._draw_ticker(frame, state.ticker, max(t - since, 0.0))
        return frame

    def render_i420(self, state: FrameState) -> Image:
        """The frame as planar YUV 4:2:0, shape (height * 3 // 2, width), for ``av.VideoFrame``."""
        return np.asarray(cv2.cvtColor(self.render(state), cv2.COLOR_BGR2YUV_I420), np.uint8)

    def prepare(self, product: ProductCard | None, title: str, coupon: str = "") -> None:
        """Build the layers for ``product``, ``title`` and ``coupon`` now, before the frame that shows them.

        A new card takes a few to ~20 ms to lay out (more the first time a font size is
        used); the show can call this as soon as it knows what comes next, so the switch frame
        costs no more than any other.
        """
        self._base(product, title, coupon)
        if self.portrait:  # the card is not in the base there: build its layers too
            coupon = " ".join(coupon.split())
            if product is not None:
                self._card(product, self._card_limit(coupon))
            if coupon:
                self._coupon(coupon)

    def regions(self, t: float = 0.0, product: ProductCard | None = None, coupon: str = "") -> dict[str, Box]:
        """Where things are on screen at ``t``: mouth, left_eye, right_eye, hand, card, coupon,
        countdown, caption, ticker, badge.

        Pixel boxes (x0, y0, x1, y1), each the largest that thing can be; the card and coupon
        boxes are exact for ``product`` and ``coupon`` when given (the tallest card otherwise).
        For tests and tools that need to look at one part of a frame.
        """
        boxes = self._character.feature_boxes(t)

        def card_height(coupon: str) -> int:
            limit = self._card_limit(coupon)
            return self._card(product, limit).height if product is not None else limit

        card_h = card_height(coupon)
        boxes["card"] = (self._card_x, self._card_y, self._card_x + self._card_w, self._card_y + card_h)
        # Where the coupon goes (under the card as drawn with one), whether or not ``coupon`` is set.
        coupon_y = self._card_y + card_height(coupon.strip() or "coupon") + self._coupon_gap
        boxes["coupon"] = (self._card_x, coupon_y, self._card_x + self._card_w, coupon_y + self._coupon_h)
        boxes["countdown"] = self._countdown_box()
        cap_w = round(self._caption_w_frac * self.width)
        boxes["caption"] = (
            (self.width - cap_w) // 2,
            self._caption_bottom - self._caption_h,
            (self.width + cap_w) // 2,
            self._caption_bottom,
        )
        boxes["ticker"] = (0, self.height - self._ticker_h, self.width, self.height)
        badge_x1 = self._badge_x + self._badge_max_width() if self.portrait else self.width // 2
        boxes["badge"] = (
            self._badge_x,
            self._margin,
            min(badge_x1, self.width),
            self._margin + round(26 * self.u),
        )
        return boxes

    def cache_info(self) -> dict[str, int]:
        """Entries held by each cache (all bounded): for health checks on long-running shows."""
        return {
            "bases": len(self._bases),
            "cards": len(self._cards),
            "captions": len(self._captions),
            "caption_boxes": len(self._boxes),
            "badges": len(self._badges),
            "coupons": len(self._coupons),
            "countdowns": len(self._countdowns),
            "tickers": len(self._tickers),
            "text": len(self._text),
        }

    def _base(self, product: ProductCard | None, title: str, coupon: str) -> Image:
        coupon = " ".join(coupon.split())
        key = (product, title, coupon)
        base = self._bases.get(key)
        if base is None:
            base = self._background.copy()
            blend(base, self._badge(title), self._badge_x, self._margin)
            if not self.portrait:
                self._draw_card(base, product, coupon)
            base.flags.writeable = False  # shared by every frame: copy, never draw on it
            self._bases.put(key, base)
        return base

    def _draw_card(self, frame: Image, product: ProductCard | None, coupon: str) -> None:
        """The product card and the coupon ticket under it (``coupon`` already whitespace-folded)."""
        card_bottom = self._card_y + self._card_limit(coupon)
        if product is not None:
            card = self._card(product, self._card_limit(coupon))
            blend(frame, card, self._card_x, self._card_y)
            card_bottom = self._card_y + card.height
        if coupon:
            blend(frame, self._coupon(coupon), self._card_x, card_bottom + self._coupon_gap)

    def _card_limit(self, coupon: str) -> int:
        """Tallest the card may be: a coupon ticket under it takes some of the column."""
        if not coupon.strip():
            return self._card_max_h
        return self._card_max_h - self._coupon_h - self._coupon_gap

    # ----------------------------------------------------------------------------- overlays

    def _countdown_width(self) -> int:
        """Width of the flash-sale tag, fixed (room for the widest digits) so it never jitters."""
        u, size = self.u, self._countdown_size
        digit = max(self._text.width(d, size, True) for d in "0123456789")
        digits_w = math.ceil(6 * digit + 2 * self._text.width(":", size, True)) + 4
        label_w = math.ceil(self._text.width(self._labels["flash"], size, True))
        return round(10 * u) + round(15 * u) + label_w + round(8 * u) + digits_w + round(10 * u)

    def _countdown_box(self) -> Box:
        """The flash-sale tag: straddling the top edge of the card, at its far end."""
        x1 = self._card_x + self._card_w - round(10 * self.u)
        y0 = self._card_y - self._countdown_h // 2
        return (x1 - self._countdown_w, y0, x1, y0 + self._countdown_h)

    def _countdown(self, text: str) -> Sprite:
        """The flash-sale tag: a bolt, "FLASH SALE" and the time left, on the highlight colour."""
        cached = self._countdowns.get(text)
        if cached is not None:
            return cached
        u, h, w, size = self.u, self._countdown_h, self._countdown_w, self._countdown_size
        layer = _Layer(w, h)
        layer.fill(rounded_rect_alpha(w, h, h / 2), self._highlight, 1.0)
        bolt = np.zeros((h, round(12 * u)), np.uint8)
        pts = np.array(
            [(7.0, 2.5), (2.0, 11.5), (5.6, 11.5), (4.2, 19.5), (10.0, 9.0), (6.4, 9.0), (8.4, 2.5)]
        )
        cv2.fillPoly(bolt, [np.round(pts * u * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        x = round(9 * u)
        layer.fill(bolt, self._on_highlight, 1.0, x, 0)
        x += round(15 * u)
        label = self._text.sprite(self._labels["flash"], size, self._on_highlight, bold=True)
        layer.sprite(label, x - 2, (h - label.height) // 2)
        digits = self._text.sprite(text, size, self._on_highlight, bold=True)
        # Right-aligned in a fixed slot: the tag keeps its size as the digits change.
        layer.sprite(digits, w - round(10 * u) - digits.width + 2, (h - digits.height) // 2)
        return self._countdowns.put(text, layer.to_sprite())

    def _coupon(self, text: str) -> Sprite:
        """A coupon ticket as wide as the card: a stub with "COUPON", a perforation, the offer."""
        cached = self._coupons.get(text)
        if cached is not None:
            return cached
        u, w, h = self.u, self._card_w, self._coupon_h
        label_size, text_size = round(10 * u), round(13 * u)
        label = self._text.sprite(self._labels["coupon"], label_size, self._on_highlight, bold=True)
        stub_w = label.width + round(14 * u)
        alpha = rounded_rect_alpha(w, h, 6 * u).copy()
        notch = round(4.5 * u)
        for cy in (0, h - 1):  # the two half-moon notches that make it a ticket
            cv2.circle(alpha, (stub_w, cy), notch, 0, -1, cv2.LINE_AA)
        layer = _Layer(w, h)
        layer.fill(alpha, self._highlight, 1.0)
        layer.sprite(label, (stub_w - label.width) // 2, (h - label.height) // 2)
        dash = np.zeros((h, max(1, round(1.2 * u))), np.uint8)
        step = max(2, round(4 * u))
        for y in range(notch + step // 2, h - notch - step // 2, step):
            dash[y : y + step // 2] = 255
        layer.fill(dash, self._on_highlight, 0.55, stub_w, 0)
        inner = w - stub_w - round(20 * u)
        # A longer offer gets a smaller type before it gets cut.
        while text_size > round(10 * u) and self._text.width(text, text_size, True) > inner:
            text_size -= 1
        shown = _fit_line(self._text, text, text_size, inner, bold=True)
        offer = self._text.sprite(shown, text_size, self._on_highlight, bold=True)
        layer.sprite(offer, stub_w + round(10 * u) - 2, (h - offer.height) // 2)
        return self._coupons.put(text, layer.to_sprite())

    def _paint_ticker_band(self) -> tuple[Sprite, int]:
        """The ticker's band (drawn over the presenter, so not part of the base) and where text starts."""
        u, w, h = self.u, self.width, self._ticker_h
        layer = _Layer(w, h)
        layer.fill(np.full((h, w), 255, np.uint8), self._card_c, TICKER_BAND_ALPHA)
        layer.fill(np.full((max(1, round(1.5 * u)), w), 255, np.uint8), self._accent, 0.9)
        label = self._text.sprite(self._labels["chat"], round(11 * u), self._on_accent, bold=True)
        pill_w, pill_h = label.width + round(14 * u), h - round(8 * u)
        x, y = self._margin + self._safe_x, (h - pill_h) // 2 + round(0.75 * u)
        layer.fill(rounded_rect_alpha(pill_w, pill_h, pill_h / 2), self._accent, 1.0, x, y)
        layer.sprite(label, x + (pill_w - label.width) // 2, y + (pill_h - label.height) // 2)
        return layer.to_sprite(), x + pill_w + round(8 * u)

    def _ticker(self, items: tuple[str, ...]) -> Sprite:
        """All recent comments on one line: names in the accent colour, a dot between comments."""
        cached = self._tickers.get(items)
        if cached is not None:
            return cached
        size = self._ticker_size
        name_c = readable_on(mix(self._accent, (255, 255, 255), 0.25), self._card_c)
        gap = round(22 * self.u)
        parts: list[tuple[Sprite, int]] = []
        x = 0
        for index, item in enumerate(items[-TICKER_MAX_ITEMS:]):
            item = " ".join(item.split())
            if len(item) > TICKER_ITEM_CHARS:
                item = item[: TICKER_ITEM_CHARS - 1].rstrip() + ELLIPSIS
            name, sep, said = item.partition(": ")
            if index:
                dot = self._text.sprite("•", size, self._muted)
                parts.append((dot, x + (gap - dot.width) // 2))
                x += gap
            if sep:
                name_s = self._text.sprite(name + ":", size, name_c, bold=True)
                parts.append((name_s, x))
                x += name_s.width + round(3 * self.u)
            said_s = self._text.sprite(said if sep else item, size, self._text_c)
            parts.append((said_s, x))
            x += said_s.width
        h = TextRenderer.line_height(size)
        return self._tickers.put(items, stack(max(x, 1), h, [(s, px, 0) for s, px in parts]))

    def _draw_ticker(self, frame: Image, items: tuple[str, ...], elapsed: float) -> None:
        y0 = self.height - self._ticker_h
        blend(frame, self._ticker_band, 0, y0)
        line = self._ticker(items)
        # The line enters at the right edge and leaves at the CHAT label, then comes round again.
        start = self._ticker_text_x
        lane = frame[y0 : self.height, start : self.width]
        span = lane.shape[1] + line.width + round(40 * self.u)
        travelled = (elapsed * TICKER_SPEED_UNITS * self.u) % span
        x = lane.shape[1] - round(travelled)
        blend(lane, line, x, (self._ticker_h - line.height) // 2 + round(0.75 * self.u))

    # ----------------------------------------------------------------------------- static layers

    def _load_background(self) -> Image | None:
        """The theme's backdrop picture, scaled to cover the frame; ``None`` (logged) when unusable."""
        path = self.theme.background_image
        if path is None:
            return None
        picture = _load_picture(path, "background image", "a generated backdrop")
        if picture is None:
            return None
        bgr, alpha = picture
        ph, pw = bgr.shape[:2]
        scale = max(self.width / pw, self.height / ph)
        nw, nh = max(self.width, round(pw * scale)), max(self.height, round(ph * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        x0, y0 = (nw - self.width) // 2, (nh - self.height) // 2
        crop = (slice(y0, y0 + self.height), slice(x0, x0 + self.width))
        bgr = np.asarray(cv2.resize(bgr, (nw, nh), interpolation=interp), np.uint8)[crop]
        a = np.asarray(cv2.resize(alpha, (nw, nh), interpolation=interp), np.float32)[crop][..., None] / 255.0
        # A transparent picture lies over the generated backdrop.
        img = bgr.astype(np.float32) * a + self._paint_background().astype(np.float32) * (1.0 - a)
        # A gentle vignette keeps the eye on the presenter and the card whatever the picture.
        yy, xx = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        v = ((xx - self.width / 2) / (0.8 * self.width)) ** 2 + (
            (yy - self.height / 2) / (0.8 * self.height)
        ) ** 2
        img *= (1.0 - 0.3 * np.clip(v, 0.0, 1.0))[..., None]
        out: Image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        out.flags.writeable = False
        return out

    def _paint_background(self) -> Image:
        w, h, u = self.width, self.height, self.u
        ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        top = np.asarray(shade(self._bg, 1.16), np.float32)
        bottom = np.asarray(shade(self._bg, 0.62), np.float32)
        img = np.broadcast_to(top + (bottom - top) * ys, (h, w, 3)).copy()
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        # A soft key light behind the presenter separates her from the backdrop.
        glow_c = np.asarray(mix(shade(self._bg, 1.6), self._accent, 0.06), np.float32)
        glow_x = 0.5 * w if self.portrait else 0.3 * w if self._presenter_left else 0.7 * w
        d2 = ((xx - glow_x) / (0.45 * h)) ** 2 + ((yy - 0.42 * h) / (0.55 * h)) ** 2
        g = np.exp(-d2)[..., None] * 0.5
        img += (glow_c - img) * g
        # Out-of-focus studio lights (fixed positions: the set does not change between shows).
        lights = np.zeros((h, w), np.float32)
        for fx, fy, fr, k in (
            (0.56, 0.12, 34, 0.5),
            (0.9, 0.9, 46, 0.35),
            (0.06, 0.8, 40, 0.35),
            (0.5, 0.72, 18, 0.45),
            (0.72, 0.05, 22, 0.4),
            (0.98, 0.34, 28, 0.3),
        ):
            if not self._presenter_left:
                fx = 1.0 - fx
            cv2.circle(lights, (round(fx * w), round(fy * h)), round(fr * u), k, -1, cv2.LINE_AA)
        lights = np.asarray(cv2.GaussianBlur(lights, (0, 0), 5 * u), np.float32)[..., None]
        img += (np.asarray(mix(self._accent, shade(self._bg, 1.8), 0.45), np.float32) - img) * lights * 0.3
        # Vignette: the eye goes to the middle of the frame.
        v = ((xx - w / 2) / (0.75 * w)) ** 2 + ((yy - h / 2) / (0.75 * h)) ** 2
        img *= (1.0 - 0.35 * np.clip(v, 0.0, 1.0))[..., None]
        out: Image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        out.flags.writeable = False
        return out

    def _badge_room(self) -> float:
        """Widest a title may be in the badge, pixels (a phone frame has the top right free, up to
        the part a phone may crop)."""
        if not self.portrait:
            return 0.45 * self.width
        u = self.u
        live_w = self._badge_live_width()
        return self.width - self._safe_x - self._badge_x - live_w - 2 * round(9 * u) + round(8 * u) - 4

    def _badge_live_width(self) -> int:
        """Width of the badge's LIVE pill."""
        u = self.u
        pad, dot_r = round(9 * u), 3.6 * u
        live = self._text.sprite("LIVE", round(12 * u), (255, 255, 255), bold=True)
        return pad + round(2 * dot_r + 5 * u) + live.width + pad

    def _badge_max_width(self) -> int:
        """Width of the badge with the widest title it can hold."""
        pad = round(9 * self.u)
        return self._badge_live_width() + math.ceil(self._badge_room()) + 2 * pad - round(8 * self.u) + 2

    def _badge(self, title: str) -> Sprite:
        cached = self._badges.get(title)
        if cached is not None:
            return cached
        u = self.u
        h = round(26 * u)
        live_size, title_size = round(12 * u), round(13 * u)
        pad = round(9 * u)
        dot_r = 3.6 * u
        live = self._text.sprite("LIVE", live_size, (255, 255, 255), bold=True)
        live_w = pad + round(2 * dot_r + 5 * u) + live.width + pad
        shown = _fit_line(self._text, title.strip(), title_size, self._badge_room(), bold=True)
        title_s = self._text.sprite(shown, title_size, self._text_c, bold=True) if shown else None
        total = live_w + (title_s.width + 2 * pad - round(8 * u) if title_s else 0)
        layer = _Layer(total, h)
        if title_s is not None:
            # The title pill tucks under the LIVE pill's right end.
            layer.fill(
                rounded_rect_alpha(total - live_w + h // 2, h, h / 2),
                self._card_c,
                self._card_alpha,
                live_w - h // 2,
            )
            layer.sprite(title_s, live_w + pad - round(6 * u), (h - title_s.height) // 2)
        layer.fill(rounded_rect_alpha(live_w, h, h / 2), LIVE_RED, 1.0)
        dot = np.zeros((h, live_w), np.uint8)
        cv2.circle(
            dot, (round((pad + dot_r) * 16), round(h / 2 * 16)), round(dot_r * 16), 255, -1, cv2.LINE_AA, 4
        )
        layer.fill(dot, (255, 255, 255), 1.0)
        layer.sprite(live, pad + round(2 * dot_r + 5 * u), (h - live.height) // 2)
        return self._badges.put(title, layer.to_sprite())

    def _card(self, product: ProductCard, max_h: int) -> Sprite:
        cached = self._cards.get((product, max_h))
        if cached is not None:
            return cached
        u = self.u
        w = self._card_w
        pad = round(11 * u)
        inner = w - 2 * pad
        gap = round(7 * u)
        name_size, big_size, small_size, stock_size = (
            round(15 * u),
            round(26 * u),
            round(14 * u),
            round(13 * u),
        )
        name_lines = _first_lines(self._text, product.name.strip() or " ", name_size, inner, 2, bold=True)
        big_text = product.promo_text or product.price_text
        small_text = product.price_text if product.promo_text else None
        big = self._text.sprite(
            _fit_line(self._text, big_text, big_size, inner, True), big_size, self._accent, bold=True
        )
        small = (
            self._text.sprite(
                _fit_line(self._text, small_text, small_size, inner, False), small_size, self._muted
            )
            if small_text
            else None
        )
        small_beside = small is not None and big.width + gap + small.width <= inner
        stock_line = (
            _fit_line(self._text, product.stock_text.strip(), stock_size, inner - round(12 * u), False)
            if product.stock_text
            else ""
        )
        stock = (
            self._text.sprite(stock_line, stock_size, mix(self._text_c, self._card_c, 0.18))
            if stock_line
            else None
        )
        text_h = len(name_lines) * TextRenderer.line_height(name_size) + big.height
        if small is not None and not small_beside:
            text_h += small.height
        if stock is not None:
            text_h += stock.height
        fixed_h = 2 * pad + gap + text_h
        tile_h = int(min(0.62 * inner, max(0.3 * inner, max_h - fixed_h)))
        h = min(fixed_h + tile_h, max(max_h, fixed_h))
        layer = _Layer(w, h)
        layer.fill(rounded_rect_alpha(w, h, 12 * u), self._card_c, self._card_alpha)
        # An accent rule across the top ties the card to the brand colour.
        layer.fill(
            rounded_rect_alpha(round(28 * u), max(2, round(3 * u)), 1.5 * u),
            self._accent,
            1.0,
            pad,
            round(4 * u),
        )
        y = pad
        tile = self._tile(product.image_path, inner, tile_h)
        corners = rounded_rect_alpha(inner, tile_h, 8 * u)
        premul = (tile.astype(np.uint16) * corners[..., None] // 255).astype(np.uint8)
        layer.sprite(Sprite(premul, corners), pad, y)
        y += tile_h + gap
        for line in name_lines:
            s = self._text.sprite(line, name_size, self._text_c, bold=True)
            layer.sprite(s, pad - 2, y)
            y += s.height
        layer.sprite(big, pad - 2, y)
        if small is not None:
            sx = pad - 2 + big.width + gap if small_beside else pad - 2
            # Align baselines when side by side (both sprites put the baseline at 1 em).
            sy = y + round(big_size * 1.0) - round(small_size * 1.0) if small_beside else y + big.height
            layer.sprite(small, sx, sy)
            strike_y = sy + round(small_size * 0.68)
            layer.fill(
                np.full((max(1, round(1.3 * u)), max(1, small.width - 4)), 255, np.uint8),
                self._muted,
                1.0,
                sx + 2,
                strike_y,
            )
            y = sy + small.height if not small_beside else y + big.height
        else:
            y += big.height
        if stock is not None:
            dot = np.zeros((stock.height, round(12 * u)), np.uint8)
            r = 3.2 * u
            cv2.circle(
                dot,
                (round((2 + r) * 16), round(stock_size * 0.66 * 16)),
                round(r * 16),
                255,
                -1,
                cv2.LINE_AA,
                4,
            )
            layer.fill(dot, mix(self._accent, (60, 200, 255), 0.5), 1.0, pad, y)
            layer.sprite(stock, pad + round(12 * u) - 2, y)
        return self._cards.put((product, max_h), layer.to_sprite())

    def _tile(self, path: Path | None, w: int, h: int) -> Image:
        """The product picture fitted into a light tile, or a placeholder when it cannot be read."""
        tile = np.empty((h, w, 3), np.uint8)
        tile[:] = (246, 243, 244)
        picture = _load_picture(path, "product image", "a placeholder") if path is not None else None
        if picture is None:
            return self._placeholder(tile)
        margin = round(6 * self.u)
        pic_bgr, pic_a = picture
        ph, pw = pic_bgr.shape[:2]
        scale = min((w - 2 * margin) / pw, (h - 2 * margin) / ph)
        nw, nh = max(1, round(pw * scale)), max(1, round(ph * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        pic_bgr = np.asarray(cv2.resize(pic_bgr, (nw, nh), interpolation=interp), np.uint8)
        pic_a = np.asarray(cv2.resize(pic_a, (nw, nh), interpolation=interp), np.uint8)
        x, y = (w - nw) // 2, (h - nh) // 2
        roi = tile[y : y + nh, x : x + nw]
        a = pic_a[..., None].astype(np.float32) / 255.0
        roi[:] = np.rint(roi * (1.0 - a) + pic_bgr * a).astype(np.uint8)
        return tile

    def _placeholder(self, tile: Image) -> Image:
        """A neutral shopping-bag icon: the card still reads as a product card."""
        h, w = tile.shape[:2]
        tile[:] = (226, 222, 224)
        s = min(w, h) * 0.36
        cx, cy = w / 2, h / 2 + s * 0.1
        grey = (176, 170, 172)
        body = np.array(
            [
                (cx - s * 0.5, cy - s * 0.3),
                (cx + s * 0.5, cy - s * 0.3),
                (cx + s * 0.58, cy + s * 0.55),
                (cx - s * 0.58, cy + s * 0.55),
            ]
        )
        cv2.fillPoly(tile, [np.round(body * 16).astype(np.int32)], grey, cv2.LINE_AA, 4)
        cv2.ellipse(
            tile,
            (round(cx * 16), round((cy - s * 0.3) * 16)),
            (round(s * 0.25 * 16), round(s * 0.3 * 16)),
            0,
            180,
            360,
            grey,
            max(1, round(s * 0.09)),
            cv2.LINE_AA,
            4,
        )
        return tile

    def _caption_box(self, w: int, h: int) -> Sprite:
        key = (w, h)
        box = self._boxes.get(key)
        if box is None:
            alpha = (
                rounded_rect_alpha(w, h, 10 * self.u).astype(np.uint16)
                * round(CAPTION_BOX_ALPHA * 255)
                // 255
            )
            box = self._boxes.put(key, Sprite.from_colour(self._card_c, alpha.astype(np.uint8)))
        return box

    def _caption(self, caption: str) -> tuple[Sprite, int, int]:
        cached = self._captions.get(caption)
        if cached is not None:
            return cached
        size = self._caption_size
        pad_x, pad_y = self._caption_pad
        max_w = self._caption_w_frac * self.width - 2 * pad_x
        lines = self._text.last_lines(caption, size, max_w, self._caption_lines)
        sprites = [self._text.sprite(line, size, self._text_c) for line in lines] or [
            self._text.sprite(" ", size, self._text_c)
        ]
        box_w = max(s.width for s in sprites) + 2 * pad_x
        box_h = sum(s.height for s in sprites) + 2 * pad_y
        layers = [(self._caption_box(box_w, box_h), 0, 0)]
        y = pad_y
        for s in sprites:
            layers.append((s, (box_w - s.width) // 2, y))
            y += s.height
        layer = stack(box_w, box_h, layers)
        x = (self.width - box_w) // 2
        return self._captions.put(caption, (layer, x, self._caption_bottom - box_h))


def format_countdown(seconds: float) -> str:
    """``"01:23:45"`` (or ``"04:05"`` under an hour) for a flash-sale countdown; never negative."""
    s = int(min(max(seconds, 0.0), COUNTDOWN_MAX_S))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def _unit(v: float) -> float:
    """Clamp to 0..1; NaN (a bad envelope sample) reads as 0 rather than poisoning the frame."""
    return min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0


def _fit_line(text: TextRenderer, line: str, size: int, max_w: float, bold: bool) -> str:
    """``line`` as is when it fits in ``max_w`` pixels, else cut short with an ellipsis."""
    if text.width(line, size, bold) <= max_w:
        return line
    return _ellipsised(text, line, size, max_w, bold)


def _ellipsised(text: TextRenderer, line: str, size: int, max_w: float, bold: bool) -> str:
    """``line`` shortened as needed so that it and a trailing ellipsis fit in ``max_w``."""
    while line and text.width(line + ELLIPSIS, size, bold) > max_w:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def _first_lines(text: TextRenderer, s: str, size: int, max_w: float, n: int, bold: bool) -> list[str]:
    """Wrapped ``s``, its first ``n`` lines; an ellipsis ends the last when more was cut.

    A product name is read from its start (unlike a caption, which keeps its end).
    """
    lines = text.wrap(s, size, max_w, bold) or [""]
    if len(lines) <= n:
        return lines
    kept = lines[:n]
    kept[-1] = _ellipsised(text, kept[-1], size, max_w, bold)
    return kept


def _load_picture(path: Path, what: str, instead: str) -> tuple[Image, Image] | None:
    """(BGR, alpha) of a picture, or ``None`` when it is missing or not an image.

    The warning names ``what`` the picture is for and what is shown ``instead``.
    """
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            log.warning("%s %s is larger than %d bytes; showing %s", what, path, MAX_IMAGE_BYTES, instead)
            return None
        data = np.fromfile(str(path), dtype=np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except (OSError, ValueError, cv2.error) as exc:
        log.warning("%s %s could not be read (%s); showing %s", what, path, exc, instead)
        return None
    if img is None or img.size == 0:
        log.warning("%s %s is not a readable image (PNG, JPEG, WebP ...); showing %s", what, path, instead)
        return None
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3]), np.ascontiguousarray(img[:, :, 3])
    return np.ascontiguousarray(img[:, :, :3]), np.full(img.shape[:2], 255, np.uint8)
