"""Fonts and text layers: Chinese and English text, drawn once with PIL and cached as sprites.

OpenCV's Hershey fonts have no CJK glyphs, so every string on screen goes through PIL with a
CJK-capable font (Noto Sans CJK when installed). Finding no such font is not fatal: we warn
once and fall back to PIL's built-in font, which shows Latin text and boxes for Chinese.

Text is rasterised only when a string first appears; the frame loop blends cached sprites.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from avatar.render.frame import LRU, Sprite

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

FONT_DIRS: Final[tuple[Path, ...]] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
"""Where fonts live on Linux (Debian's fonts-noto-cjk), macOS and Windows, searched in order."""

REGULAR_FONT_NAMES: Final[tuple[str, ...]] = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSansSC-Regular.otf",
    "SourceHanSans-Regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
    "msyh.ttc",
    "PingFang.ttc",
)
"""CJK-capable font files, best first. Sans faces read better on video than serif ones."""

BOLD_FONT_NAMES: Final[tuple[str, ...]] = (
    "NotoSansCJK-Bold.ttc",
    "NotoSansCJKsc-Bold.otf",
    "NotoSansSC-Bold.otf",
    "NotoSansSC-Bold.ttf",
    "SourceHanSansSC-Bold.otf",
    "SourceHanSans-Bold.ttc",
    "msyhbd.ttc",
)
"""Bold faces; when none is found the regular face stands in."""

MAX_TTC_FACES: Final[int] = 12
"""How many faces of a .ttc collection to look through for the Simplified Chinese one."""

LINE_HEIGHT_EM: Final[float] = 1.32
"""Line box height in ems: room for CJK ascenders and Latin descenders without wasting space."""
BASELINE_EM: Final[float] = 1.0
"""Baseline offset from the top of the line box, in ems."""
TEXT_PAD_PX: Final[int] = 2
"""Pixels left and right of a text sprite, for glyphs that overhang their advance width."""

TEXT_CACHE_ENTRIES: Final[int] = 128
"""Text sprites kept per renderer; a caption changes a line at a time, so a few sentences' worth."""

WIDTH_CACHE_ENTRIES: Final[int] = 4096
"""Measured words and characters kept for wrapping (a few floats each)."""

ELLIPSIS: Final[str] = "…"

# One CJK character (ideographs, kana, hangul, fullwidth forms, CJK punctuation) is a token of
# its own, since those scripts wrap between any two characters; other text wraps at spaces.
_CJK = (
    r"\u2E80-\u2FFF\u3000-\u30FF\u3100-\u31FF\u3400-\u4DBF\u4E00-\u9FFF"
    r"\uAC00-\uD7AF\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFFEF"
)
_TOKEN_RE: Final[re.Pattern[str]] = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+\s*|\s+")
_NO_LINE_START: Final[frozenset[str]] = frozenset("，。！？、；：）》」』”’…,.!?;:)]}%")
"""Punctuation that must not begin a line (kinsoku): it stays on the line it closes."""

_warned_no_font = False


def _face_index(path: Path) -> int:
    """The Simplified Chinese face of a collection: SC glyph shapes are what our viewers read."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(MAX_TTC_FACES):
        try:
            family, _style = ImageFont.truetype(str(path), 12, index=index).getname()
        except OSError:
            break
        if family is not None and ("SC" in family.split() or "MicroHei" in family):
            return index
    return 0


@functools.cache
def find_font(bold: bool = False) -> tuple[Path, int] | None:
    """The best CJK-capable font file on this machine and its face index, or ``None``."""
    names = (*BOLD_FONT_NAMES, *REGULAR_FONT_NAMES) if bold else REGULAR_FONT_NAMES
    for directory in FONT_DIRS:
        direct = directory / "opentype" / "noto" / names[0]
        if direct.is_file():
            return direct, _face_index(direct)
    found: dict[str, Path] = {}
    for directory in FONT_DIRS:
        for path in _walk_fonts(directory):
            found.setdefault(path.name, path)
    for name in names:
        if name in found:
            return found[name], _face_index(found[name])
    return None


def _walk_fonts(directory: Path) -> Iterable[Path]:
    if not directory.is_dir():
        return ()
    paths: list[Path] = []
    for root, _dirs, files in os.walk(directory):
        paths.extend(Path(root) / f for f in files if f.lower().endswith((".ttc", ".otf", ".ttf")))
    return paths


@functools.lru_cache(maxsize=32)
def load_font(size: int, bold: bool = False) -> Font:
    """A font of ``size`` pixels (em): Noto Sans CJK when found, else PIL's default (warned once)."""
    global _warned_no_font
    located = find_font(bold)
    if located is not None:
        path, index = located
        try:
            return ImageFont.truetype(str(path), size, index=index)
        except OSError as exc:
            log.warning("font %s could not be loaded (%s); using PIL's default font", path, exc)
    elif not _warned_no_font:
        _warned_no_font = True
        log.warning(
            "no CJK font found (looked for %s in %s); Chinese will show as boxes. Install fonts-noto-cjk.",
            REGULAR_FONT_NAMES[0],
            ", ".join(str(d) for d in FONT_DIRS),
        )
    return ImageFont.load_default(size)


def tokens(text: str) -> list[str]:
    """Split ``text`` into wrap units: single CJK characters, and words with their trailing spaces."""
    return _TOKEN_RE.findall(text)


class TextRenderer:
    """Measures, wraps and rasterises strings into cached, colour-ready sprites."""

    def __init__(self, capacity: int = TEXT_CACHE_ENTRIES) -> None:
        """Keep at most ``capacity`` rasterised strings."""
        self._sprites: LRU[tuple[str, int, bool, tuple[int, int, int]], Sprite] = LRU(capacity)
        self._widths: LRU[tuple[str, int, bool], float] = LRU(WIDTH_CACHE_ENTRIES)

    def __len__(self) -> int:
        """Rasterised strings held (bounded by the capacity)."""
        return len(self._sprites)

    @staticmethod
    def line_height(size: int) -> int:
        """Height in pixels of one line of text at ``size``."""
        return math.ceil(size * LINE_HEIGHT_EM)

    @staticmethod
    def width(text: str, size: int, bold: bool = False) -> float:
        """Advance width of ``text`` in pixels."""
        return float(load_font(size, bold).getlength(text))

    def sprite(self, text: str, size: int, colour: tuple[int, int, int], bold: bool = False) -> Sprite:
        """``text`` on one line in ``colour`` (BGR), ``line_height(size)`` tall; cached."""
        key = (text, size, bold, colour)
        cached = self._sprites.get(key)
        if cached is not None:
            return cached
        font = load_font(size, bold)
        w = math.ceil(font.getlength(text)) + 2 * TEXT_PAD_PX
        h = self.line_height(size)
        img = PILImage.new("L", (max(w, 1), h), 0)
        draw = ImageDraw.Draw(img)
        if isinstance(font, ImageFont.FreeTypeFont):
            draw.text((TEXT_PAD_PX, round(size * BASELINE_EM)), text, font=font, fill=255, anchor="ls")
        else:  # PIL's bitmap font only anchors at the top left
            draw.text((TEXT_PAD_PX, 0), text, font=font, fill=255)
        alpha = np.asarray(img, dtype=np.uint8)
        return self._sprites.put(key, Sprite.from_colour(colour, alpha))

    def wrap(self, text: str, size: int, max_width: float, bold: bool = False) -> list[str]:
        """Greedy word wrap to ``max_width`` pixels: at spaces for Latin, between CJK characters.

        A word wider than a whole line is broken between characters rather than overflowing.
        Line widths are sums of cached token widths: a growing caption re-wraps in microseconds.
        """
        lines: list[str] = []
        line, line_w, space_w = "", 0.0, 0.0  # space_w: trailing whitespace width of ``line``
        for token in tokens(" ".join(text.split())):
            word = token.rstrip()
            if not word:  # a space after a CJK character: keep it unless it would start a line
                if line:
                    line, space_w = line + token, space_w + self._token_width(token, size, bold)
                continue
            word_w = self._token_width(word, size, bold)
            trail_w = self._token_width(token[len(word) :], size, bold) if len(word) < len(token) else 0.0
            fits = line_w + space_w + word_w <= max_width or word[0] in _NO_LINE_START
            if (line and fits) or (not line and word_w <= max_width):
                line, line_w, space_w = line + token, line_w + space_w + word_w, trail_w
                continue
            if line:
                lines.append(line.rstrip())
            line = token
            while self.width(line.rstrip(), size, bold) > max_width and len(line.rstrip()) > 1:
                cut = self._fit_prefix(line, size, max_width, bold)
                lines.append(line[:cut])
                line = line[cut:]
            line_w, space_w = self.width(line.rstrip(), size, bold), trail_w
        if line.strip():
            lines.append(line.rstrip())
        return lines

    def _token_width(self, token: str, size: int, bold: bool) -> float:
        key = (token, size, bold)
        w = self._widths.get(key)
        if w is None:
            w = self._widths.put(key, self.width(token, size, bold))
        return w

    def last_lines(
        self, text: str, size: int, max_width: float, max_lines: int, bold: bool = False
    ) -> list[str]:
        """The wrapped text's last ``max_lines`` lines, with an ellipsis where earlier text was cut.

        A caption shows what is being said now, so a long sentence keeps its end, not its start.
        """
        lines = self.wrap(text, size, max_width, bold)
        if len(lines) <= max_lines:
            return lines
        kept = lines[-max_lines:]
        first = ELLIPSIS + kept[0].lstrip()
        while len(first) > 2 and self.width(first, size, bold) > max_width:
            first = ELLIPSIS + first[2:].lstrip()
        kept[0] = first
        return kept

    def _fit_prefix(self, text: str, size: int, max_width: float, bold: bool) -> int:
        """Length of the longest prefix of ``text`` that fits (at least one character)."""
        lo, hi = 1, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid], size, bold) <= max_width:
                lo = mid
            else:
                hi = mid - 1
        return lo
