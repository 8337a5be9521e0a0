"""Draw the demo-zh show's product pictures with OpenCV: ``scenes/demo-zh/images/<id>.png``.

Same approach and helpers as ``scripts/make_demo_images.py`` (simple deterministic icons, drawn at
twice the size and scaled down), so the Chinese demo ships no third-party artwork either.

Usage: ``python scripts/make_demo_zh_images.py [output_folder]``
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo_images import AA, Image, S, hex_bgr, poly, rounded_rect, shadow, write_images  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "scenes" / "demo-zh" / "images"


def cushion(img: Image) -> None:
    """玉润水光气垫: an open jade-green compact with a mirror lid and a puff."""
    jade, deep, mirror = hex_bgr("#5fae8f"), hex_bgr("#3f8569"), hex_bgr("#dfeef2")
    shadow(img, (S // 2, 430), (170, 22))
    cv2.ellipse(img, (256, 190), (150, 110), 0, 0, 360, deep, -1, AA)  # lid
    cv2.ellipse(img, (256, 190), (128, 92), 0, 0, 360, mirror, -1, AA)
    cv2.line(img, (200, 140), (250, 110), (255, 255, 255), 8, AA)  # mirror glint
    cv2.ellipse(img, (256, 360), (160, 70), 0, 0, 360, deep, -1, AA)  # base
    cv2.ellipse(img, (256, 350), (150, 62), 0, 0, 360, jade, -1, AA)
    cv2.ellipse(img, (256, 350), (110, 42), 0, 0, 360, hex_bgr("#f0d2b6"), -1, AA)  # powder pan
    cv2.ellipse(img, (350, 330), (54, 30), 0, 0, 360, hex_bgr("#fafafa"), -1, AA)  # puff


def pastry(img: Image) -> None:
    """桂花酥糕点礼盒: a red gift box with three round golden pastries in front."""
    red, deep, gold = hex_bgr("#c8323a"), hex_bgr("#8e1f26"), hex_bgr("#e9b35a")
    shadow(img, (S // 2, 440), (190, 22))
    rounded_rect(img, 100, 110, 412, 330, 20, deep)
    rounded_rect(img, 106, 116, 406, 324, 16, red)
    cv2.rectangle(img, (236, 116), (276, 324), hex_bgr("#f2c14e"), -1, AA)  # ribbon
    cv2.circle(img, (256, 214), 36, hex_bgr("#f2c14e"), 10, AA)
    for cx in (150, 256, 362):
        cv2.ellipse(img, (cx, 392), (62, 40), 0, 0, 360, hex_bgr("#b77d32"), -1, AA)
        cv2.ellipse(img, (cx, 384), (58, 34), 0, 0, 360, gold, -1, AA)
        cv2.circle(img, (cx, 380), 8, hex_bgr("#f7d774"), -1, AA)  # osmanthus dot


def air_fryer(img: Image) -> None:
    """暖橙可视空气炸锅: a cream-white fryer with a window, an orange dial and a basket handle."""
    body, line, glass = hex_bgr("#f6efe4"), hex_bgr("#cbbba4"), hex_bgr("#4b3a33")
    shadow(img, (S // 2, 456), (150, 20))
    rounded_rect(img, 120, 70, 392, 450, 60, line)
    rounded_rect(img, 126, 76, 386, 444, 56, body)
    cv2.circle(img, (256, 150), 36, hex_bgr("#f08a3c"), -1, AA)  # dial
    cv2.line(img, (256, 150), (256, 122), (255, 255, 255), 6, AA)
    rounded_rect(img, 160, 220, 352, 370, 30, glass)  # window
    cv2.ellipse(img, (256, 330), (70, 20), 0, 0, 360, hex_bgr("#e0a34a"), -1, AA)  # fries glow
    rounded_rect(img, 216, 392, 296, 424, 12, line)  # handle


def quilt(img: Image) -> None:
    """云眠桑蚕丝冬被: a folded off-white quilt stack with quilting lines."""
    white, line, band = hex_bgr("#f7f1e6"), hex_bgr("#d2c6b2"), hex_bgr("#c9a86a")
    shadow(img, (S // 2, 440), (190, 22))
    for top in (300, 200, 100):
        rounded_rect(img, 90, top, 422, top + 110, 40, line)
        rounded_rect(img, 94, top + 4, 418, top + 104, 36, white)
        for x in range(150, 400, 64):
            cv2.line(img, (x, top + 20), (x, top + 90), line, 3, AA)
    cv2.rectangle(img, (236, 100), (276, 410), band, -1, AA)  # paper band


def tea(img: Image) -> None:
    """武夷大红袍礼盒: two dark-red tea tins with gold lids on a gift box."""
    box, deep, tin, gold = hex_bgr("#4a2a22"), hex_bgr("#2e1915"), hex_bgr("#9e2b25"), hex_bgr("#d9a441")
    shadow(img, (S // 2, 452), (190, 20))
    rounded_rect(img, 80, 330, 432, 450, 16, deep)
    rounded_rect(img, 84, 334, 428, 446, 14, box)
    for cx in (176, 336):
        rounded_rect(img, cx - 66, 130, cx + 66, 350, 18, hex_bgr("#6e1d19"))
        rounded_rect(img, cx - 62, 134, cx + 62, 346, 16, tin)
        rounded_rect(img, cx - 70, 110, cx + 70, 160, 14, gold)
        cv2.circle(img, (cx, 250), 34, gold, 4, AA)
    poly(img, [(240, 360), (272, 360), (256, 400)], gold)


def apples(img: Image) -> None:
    """烟台红富士苹果礼盒: three red apples in front of a kraft gift box."""
    kraft, deep, red = hex_bgr("#d8b98c"), hex_bgr("#a88559"), hex_bgr("#d2362f")
    shadow(img, (S // 2, 452), (190, 20))
    rounded_rect(img, 96, 110, 416, 300, 18, deep)
    rounded_rect(img, 100, 114, 412, 296, 16, kraft)
    rounded_rect(img, 206, 150, 306, 176, 10, deep)  # handle slot
    for cx, cy in ((160, 380), (256, 360), (352, 380)):
        cv2.circle(img, (cx - 22, cy), 52, red, -1, AA)
        cv2.circle(img, (cx + 22, cy), 52, red, -1, AA)
        cv2.line(img, (cx, cy - 50), (cx + 6, cy - 78), hex_bgr("#5a3b22"), 7, AA)
        cv2.ellipse(img, (cx + 26, cy - 70), (20, 9), -25, 0, 360, hex_bgr("#5aa04a"), -1, AA)
        cv2.ellipse(img, (cx - 30, cy - 18), (12, 20), 20, 0, 360, hex_bgr("#f07a6e"), -1, AA)


PRODUCTS: dict[str, tuple[str, str, Callable[[Image], None]]] = {
    "jade-cushion": ("#e3f4ec", "#c4e6d6", cushion),
    "osmanthus-pastry": ("#fff1d6", "#f9dca0", pastry),
    "mini-air-fryer": ("#ffe6d2", "#fbc9a3", air_fryer),
    "silk-quilt": ("#e8ecf8", "#cfd7ee", quilt),
    "dahongpao-tea": ("#f6e3d3", "#e8c3a4", tea),
    "fuji-apple-box": ("#fde3e3", "#f6c2c2", apples),
}


def main(argv: Sequence[str]) -> int:
    """Write every product image; prints each path and size."""
    write_images(PRODUCTS, Path(argv[0]) if argv else OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
