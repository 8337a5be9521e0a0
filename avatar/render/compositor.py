"""The scene compositor: background, presenter, product card, title badge and captions.

``Renderer.render`` is called once per video frame from the rendering worker thread (never on
the event loop). It is built for a steady 25 fps on two cores: everything that does not change
from frame to frame is drawn once and cached (background, card, badge, caption layers, the
character's sprites), and a frame is one copy of the cached base plus a few small blends and
the live eyes and mouth.

A Renderer is not thread-safe: give each rendering thread its own.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from avatar.render.character import BGR, Box, Character, Palette, mix, shade
from avatar.render.frame import LRU, FrameState, Image, ProductCard, Sprite, blend, stack
from avatar.render.text import ELLIPSIS, TextRenderer, load_font

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

DEFAULT_THEME: Final[Mapping[str, str]] = {
    "background": "#232a56",
    "accent": "#ff4f7b",
    "text": "#ffffff",
    "card": "#141832e8",
    "skin": "#f3c9a8",
    "hair": "#4a2f27",
    "shirt": "#3d6fd6",
}
"""Theme colours, "#rrggbb" or "#rrggbbaa" (alpha is used by the card; elsewhere ignored)."""

MIN_HEIGHT: Final[int] = 360
MAX_HEIGHT: Final[int] = 720
ASPECT: Final[float] = 16.0 / 9.0
ASPECT_TOLERANCE: Final[float] = 0.01
"""854x480 is 16:9 to within a pixel; anything further off is a configuration mistake."""

LIVE_RED: Final[BGR] = (70, 52, 232)
"""Broadcast "on air" red, whatever the theme: viewers know what it means."""
CAPTION_BOX_ALPHA: Final[float] = 0.74
"""Opacity of the caption box: the shirt shows through, the words stay readable."""
CAPTION_MAX_LINES: Final[int] = 2
CAPTION_WIDTH_FRAC: Final[float] = 0.86
"""Widest caption box, fraction of the frame width."""

BASE_CACHE_ENTRIES: Final[int] = 4
"""Full background frames (one per product + title shown recently): ~2.7 MB each at 720p."""
CARD_CACHE_ENTRIES: Final[int] = 16
"""Product card layers: a show cycles through a catalog, so keep the recent ones."""
CAPTION_CACHE_ENTRIES: Final[int] = 64
"""Caption layers; a caption grows word by word, so recent prefixes are worth keeping."""
BADGE_CACHE_ENTRIES: Final[int] = 8

MAX_IMAGE_BYTES: Final[int] = 32 * 1024 * 1024
"""Product pictures larger than this are refused (placeholder shown) rather than decoded."""

_HEX_RE: Final[re.Pattern[str]] = re.compile(r"#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?")


MIN_CONTRAST: Final[float] = 3.0
"""WCAG contrast ratio for large text; below it, text over the card is recoloured."""
DARK_TEXT: Final[BGR] = (40, 30, 29)
LIGHT_TEXT: Final[BGR] = (255, 255, 255)


def _luminance(colour: BGR) -> float:
    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    b, g, r = colour
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: BGR, b: BGR) -> float:
    """WCAG contrast ratio between two colours (1 = none, 21 = black on white)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(text: BGR, background: BGR) -> BGR:
    """``text`` if it reads well on ``background``, else dark or light text, whichever reads better."""
    if contrast(text, background) >= MIN_CONTRAST:
        return text
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda candidate: contrast(candidate, background))


def parse_colour(value: object) -> tuple[BGR, float] | None:
    """``"#rrggbb"`` or ``"#rrggbbaa"`` to (BGR, alpha 0..1); ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    m = _HEX_RE.fullmatch(value.strip())
    if m is None:
        return None
    rgb = m.group(1)
    alpha = int(m.group(2), 16) / 255.0 if m.group(2) else 1.0
    return (int(rgb[4:6], 16), int(rgb[2:4], 16), int(rgb[0:2], 16)), alpha


def resolve_theme(theme: Mapping[str, str] | None) -> dict[str, tuple[BGR, float]]:
    """The theme with defaults filled in; a bad colour is logged and replaced by its default."""
    out: dict[str, tuple[BGR, float]] = {}
    given = dict(theme or {})
    for key in sorted(set(given) - set(DEFAULT_THEME)):
        log.warning("theme: unknown key %r ignored (known: %s)", key, ", ".join(DEFAULT_THEME))
    for key, default in DEFAULT_THEME.items():
        parsed = parse_colour(given.get(key, default))
        if parsed is None:
            log.warning("theme: %s: %r is not a #rrggbb colour; using %s", key, given[key], default)
            parsed = parse_colour(default)
        assert parsed is not None  # the defaults are valid
        out[key] = parsed
    return out


@functools.lru_cache(maxsize=4)
def _character(width: int, height: int, palette: Palette) -> Character:
    # Building the sprites takes a noticeable moment at 720p and the result is read-only, so
    # renderers of the same size and look (tests, a restarted track) share one.
    return Character(width, height, palette)


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

    def __init__(self, width: int = 640, height: int = 360, theme: Mapping[str, str] | None = None) -> None:
        """A renderer for ``width`` x ``height`` frames (16:9, 640x360 up to 1280x720).

        ``theme`` overrides colours by key (background, accent, text, card, skin, hair, shirt);
        an invalid colour is logged and its default used instead.
        """
        if not (MIN_HEIGHT <= height <= MAX_HEIGHT) or width % 2 or height % 2:
            raise ValueError(
                f"frame size {width}x{height}: both must be even, height in {MIN_HEIGHT}..{MAX_HEIGHT}"
            )
        if abs(width / height - ASPECT) > ASPECT * ASPECT_TOLERANCE:
            raise ValueError(f"frame size {width}x{height} is not 16:9")
        self.width = width
        self.height = height
        self.u = height / 360.0
        colours = resolve_theme(theme)
        self._bg = colours["background"][0]
        self._accent = colours["accent"][0]
        self._card_c, self._card_alpha = colours["card"]
        # Text sits on card-coloured boxes (badge, card, captions): a theme with a light card and
        # white text would be unreadable, so the text colour is swapped for one that contrasts.
        self._text_c = readable_on(colours["text"][0], self._card_c)
        self._muted = mix(self._text_c, self._card_c, 0.42)
        self._text = TextRenderer()
        self._character = _character(
            width,
            height,
            Palette(
                skin=colours["skin"][0],
                hair=colours["hair"][0],
                shirt=colours["shirt"][0],
                accent=self._accent,
            ),
        )
        self._background = self._paint_background()
        self._bases: LRU[tuple[ProductCard | None, str], Image] = LRU(BASE_CACHE_ENTRIES)
        self._cards: LRU[ProductCard, Sprite] = LRU(CARD_CACHE_ENTRIES)
        self._captions: LRU[str, tuple[Sprite, int, int]] = LRU(CAPTION_CACHE_ENTRIES)
        self._badges: LRU[str, Sprite] = LRU(BADGE_CACHE_ENTRIES)
        self._boxes: LRU[tuple[int, int], Sprite] = LRU(CAPTION_CACHE_ENTRIES)
        # Layout, in pixels.
        self._margin = round(12 * self.u)
        self._caption_size = round(18 * self.u)
        self._caption_pad = (round(14 * self.u), round(7 * self.u))
        self._caption_h = (
            CAPTION_MAX_LINES * TextRenderer.line_height(self._caption_size) + 2 * self._caption_pad[1]
        )
        self._caption_bottom = height - round(10 * self.u)
        self._card_w = round(0.34 * width)
        self._card_x = width - round(0.035 * width) - self._card_w
        self._card_y = round(0.1 * height)
        self._card_max_h = self._caption_bottom - self._caption_h - round(8 * self.u) - self._card_y
        # Open the fonts now rather than inside the first frame that needs them.
        for size, bold in (
            (self._caption_size, False),
            (round(13 * self.u), True),
            (round(15 * self.u), True),
        ):
            load_font(size, bold)

    # ----------------------------------------------------------------------------- frames

    def render(self, state: FrameState) -> Image:
        """The frame for ``state``: BGR uint8, shape (height, width, 3), a new array each call."""
        frame = self._base(state.product, state.title).copy()
        t = state.t if math.isfinite(state.t) else 0.0
        self._character.draw(frame, t, _unit(state.mouth_open), _unit(state.eyes_closed))
        if state.caption.strip():
            sprite, x, y = self._caption(state.caption)
            blend(frame, sprite, x, y)
        return frame

    def render_i420(self, state: FrameState) -> Image:
        """The frame as planar YUV 4:2:0, shape (height * 3 // 2, width), for ``av.VideoFrame``."""
        return np.asarray(cv2.cvtColor(self.render(state), cv2.COLOR_BGR2YUV_I420), np.uint8)

    def prepare(self, product: ProductCard | None, title: str) -> None:
        """Build the layers for ``product`` and ``title`` now, before the frame that shows them.

        A new card takes a few to ~20 ms to lay out (more the first time a font size is
        used); the show can call this as soon as it knows what comes next, so the switch frame
        costs no more than any other.
        """
        self._base(product, title)

    def regions(self, t: float = 0.0) -> dict[str, Box]:
        """Where things are on screen at ``t``: mouth, left_eye, right_eye, card, caption, badge.

        Pixel boxes (x0, y0, x1, y1), each the largest that thing can be. For tests and tools
        that need to look at one part of a frame.
        """
        boxes = self._character.feature_boxes(t)
        boxes["card"] = (
            self._card_x,
            self._card_y,
            self._card_x + self._card_w,
            self._card_y + self._card_max_h,
        )
        cap_w = round(CAPTION_WIDTH_FRAC * self.width)
        boxes["caption"] = (
            (self.width - cap_w) // 2,
            self._caption_bottom - self._caption_h,
            (self.width + cap_w) // 2,
            self._caption_bottom,
        )
        boxes["badge"] = (self._margin, self._margin, self.width // 2, self._margin + round(26 * self.u))
        return boxes

    def cache_info(self) -> dict[str, int]:
        """Entries held by each cache (all bounded): for health checks on long-running shows."""
        return {
            "bases": len(self._bases),
            "cards": len(self._cards),
            "captions": len(self._captions),
            "caption_boxes": len(self._boxes),
            "badges": len(self._badges),
            "text": len(self._text),
        }

    def _base(self, product: ProductCard | None, title: str) -> Image:
        key = (product, title)
        base = self._bases.get(key)
        if base is None:
            base = self._background.copy()
            blend(base, self._badge(title), self._margin, self._margin)
            if product is not None:
                blend(base, self._card(product), self._card_x, self._card_y)
            base.flags.writeable = False  # shared by every frame: copy, never draw on it
            self._bases.put(key, base)
        return base

    # ----------------------------------------------------------------------------- static layers

    def _paint_background(self) -> Image:
        w, h, u = self.width, self.height, self.u
        ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        top = np.asarray(shade(self._bg, 1.16), np.float32)
        bottom = np.asarray(shade(self._bg, 0.62), np.float32)
        img = np.broadcast_to(top + (bottom - top) * ys, (h, w, 3)).copy()
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        # A soft key light behind the presenter separates her from the backdrop.
        glow_c = np.asarray(mix(shade(self._bg, 1.6), self._accent, 0.06), np.float32)
        d2 = ((xx - 0.3 * w) / (0.45 * h)) ** 2 + ((yy - 0.42 * h) / (0.55 * h)) ** 2
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
            cv2.circle(lights, (round(fx * w), round(fy * h)), round(fr * u), k, -1, cv2.LINE_AA)
        lights = np.asarray(cv2.GaussianBlur(lights, (0, 0), 5 * u), np.float32)[..., None]
        img += (np.asarray(mix(self._accent, shade(self._bg, 1.8), 0.45), np.float32) - img) * lights * 0.3
        # Vignette: the eye goes to the middle of the frame.
        v = ((xx - w / 2) / (0.75 * w)) ** 2 + ((yy - h / 2) / (0.75 * h)) ** 2
        img *= (1.0 - 0.35 * np.clip(v, 0.0, 1.0))[..., None]
        out: Image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        out.flags.writeable = False
        return out

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
        shown = _fit_line(self._text, title.strip(), title_size, 0.45 * self.width, bold=True)
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

    def _card(self, product: ProductCard) -> Sprite:
        cached = self._cards.get(product)
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
        tile_h = int(min(0.62 * inner, max(0.3 * inner, self._card_max_h - fixed_h)))
        h = min(fixed_h + tile_h, max(self._card_max_h, fixed_h))
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
        return self._cards.put(product, layer.to_sprite())

    def _tile(self, path: Path | None, w: int, h: int) -> Image:
        """The product picture fitted into a light tile, or a placeholder when it cannot be read."""
        tile = np.empty((h, w, 3), np.uint8)
        tile[:] = (246, 243, 244)
        picture = _load_picture(path) if path is not None else None
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
        max_w = CAPTION_WIDTH_FRAC * self.width - 2 * pad_x
        lines = self._text.last_lines(caption, size, max_w, CAPTION_MAX_LINES)
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


def _load_picture(path: Path) -> tuple[Image, Image] | None:
    """(BGR, alpha) of a picture, or ``None`` (logged) when it is missing or not an image."""
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            log.warning(
                "product image %s is larger than %d bytes; showing a placeholder", path, MAX_IMAGE_BYTES
            )
            return None
        data = np.fromfile(str(path), dtype=np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except (OSError, ValueError, cv2.error) as exc:
        log.warning("product image %s could not be read (%s); showing a placeholder", path, exc)
        return None
    if img is None or img.size == 0:
        log.warning("product image %s is not a readable image; showing a placeholder", path)
        return None
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3]), np.ascontiguousarray(img[:, :, 3])
    return np.ascontiguousarray(img[:, :, :3]), np.full(img.shape[:2], 255, np.uint8)
