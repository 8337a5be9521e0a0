"""Draw the demo show's product pictures with OpenCV: ``scenes/demo/images/<id>.png``.

The demo must run offline and ship no third-party artwork, so its product cards are simple
icons drawn here. Drawing is deterministic (no randomness), so re-running the script gives the
same pictures. Each is drawn at twice the size and scaled down, which smooths the edges.

Usage: ``python scripts/make_demo_images.py [output_folder]``
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
BGR = tuple[int, int, int]

SIZE = 256  # final pixels per side
SCALE = 2  # supersampling factor: draw at SIZE * SCALE, then shrink
S = SIZE * SCALE
AA = cv2.LINE_AA
OUT = Path(__file__).resolve().parent.parent / "scenes" / "demo" / "images"


def hex_bgr(code: str) -> BGR:
    """``"#rrggbb"`` -> OpenCV's (b, g, r)."""
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)


def rounded_rect(img: Image, x0: int, y0: int, x1: int, y1: int, r: int, color: BGR) -> None:
    """A filled rectangle with rounded corners of radius ``r``."""
    cv2.rectangle(img, (x0 + r, y0), (x1 - r, y1), color, -1, AA)
    cv2.rectangle(img, (x0, y0 + r), (x1, y1 - r), color, -1, AA)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(img, (cx, cy), r, color, -1, AA)


def poly(img: Image, points: Sequence[tuple[int, int]], color: BGR) -> None:
    """A filled polygon."""
    cv2.fillPoly(img, [np.array(points, np.int32)], color, AA)


def shadow(img: Image, center: tuple[int, int], axes: tuple[int, int], strength: float = 0.25) -> None:
    """A soft contact shadow under the object, so it sits on the card instead of floating."""
    layer = np.zeros(img.shape[:2], np.float32)
    cv2.ellipse(layer, center, axes, 0, 0, 360, 1.0, -1, AA)
    layer = cv2.GaussianBlur(layer, (0, 0), S / 40)[..., None] * strength
    img[:] = (img.astype(np.float32) * (1 - layer)).astype(np.uint8)


def background(top: str, bottom: str) -> tuple[Image, NDArray[np.uint8]]:
    """A vertical two-colour gradient and the rounded-card alpha mask."""
    t = np.linspace(0.0, 1.0, S, dtype=np.float32)[:, None, None]
    a = np.array(hex_bgr(top), np.float32)[None, None, :]
    b = np.array(hex_bgr(bottom), np.float32)[None, None, :]
    img = np.ascontiguousarray(np.broadcast_to(a * (1 - t) + b * t, (S, S, 3)).round().astype(np.uint8))
    mask = np.zeros((S, S), np.uint8)
    margin, radius = S // 32, S // 7
    rounded_rect(mask, margin, margin, S - 1 - margin, S - 1 - margin, radius, (255, 255, 255))
    return img, mask


def earbuds(img: Image) -> None:
    """Aurora Buds: an open pearl-white charging case with two buds beside it."""
    white, grey, dark = hex_bgr("#fbfbfd"), hex_bgr("#c9ccd8"), hex_bgr("#5a5f73")
    shadow(img, (S // 2, 392), (170, 26))
    # Case: a pill with a lid seam and a status light.
    rounded_rect(img, 136, 230, 376, 390, 70, grey)
    rounded_rect(img, 142, 234, 370, 384, 66, white)
    cv2.line(img, (146, 290), (366, 290), grey, 4, AA)
    cv2.circle(img, (256, 336), 7, hex_bgr("#7ee0a1"), -1, AA)
    # Two buds: round head, short stem, dark speaker mesh.
    for cx, flip in ((150, -1), (362, 1)):
        stem = [(cx - 16, 150), (cx + 16, 150), (cx + 12 + 10 * flip, 236), (cx - 12 + 10 * flip, 236)]
        poly(img, stem, grey)
        poly(img, [(x + (2 if x < cx else -2), y) for x, y in stem], white)
        cv2.circle(img, (cx, 130), 52, grey, -1, AA)
        cv2.circle(img, (cx, 130), 48, white, -1, AA)
        cv2.ellipse(img, (cx - 18 * flip, 124), (16, 22), 0, 0, 360, dark, -1, AA)


def bottle(img: Image) -> None:
    """Summit Steel Bottle: a red insulated bottle with a mountain mark."""
    red, deep, cap = hex_bgr("#e24a3b"), hex_bgr("#b8352b"), hex_bgr("#3b3f4c")
    shadow(img, (S // 2, 448), (96, 18))
    rounded_rect(img, 176, 150, 336, 450, 48, deep)
    rounded_rect(img, 180, 150, 332, 446, 46, red)
    poly(img, [(206, 150), (306, 150), (290, 112), (222, 112)], red)  # shoulder
    rounded_rect(img, 214, 62, 298, 118, 16, cap)
    cv2.ellipse(img, (256, 62), (30, 20), 0, 180, 360, cap, 12, AA)  # carry loop
    cv2.line(img, (208, 190), (208, 410), hex_bgr("#f27a6e"), 12, AA)  # highlight
    poly(img, [(220, 330), (252, 272), (276, 312), (290, 294), (316, 330)], hex_bgr("#ffffff"))


def backpack(img: Image) -> None:
    """Ridgeline 30L Backpack: a forest-green pack with a front pocket and top loop."""
    green, deep, light = hex_bgr("#2f7d4f"), hex_bgr("#225c3a"), hex_bgr("#3f9a64")
    shadow(img, (S // 2, 452), (140, 20))
    cv2.ellipse(img, (256, 104), (42, 36), 0, 180, 360, deep, 14, AA)  # handle loop
    cv2.line(img, (170, 150), (150, 420), deep, 22, AA)  # shoulder straps behind
    cv2.line(img, (342, 150), (362, 420), deep, 22, AA)
    rounded_rect(img, 150, 100, 362, 452, 72, green)
    rounded_rect(img, 150, 100, 362, 230, 72, light)  # lid
    cv2.line(img, (164, 228), (348, 228), deep, 5, AA)
    rounded_rect(img, 186, 290, 326, 420, 30, deep)  # front pocket
    cv2.line(img, (200, 318), (312, 318), hex_bgr("#f2c14e"), 6, AA)  # zip
    cv2.circle(img, (312, 318), 8, hex_bgr("#f2c14e"), -1, AA)
    rounded_rect(img, 236, 190, 276, 262, 10, hex_bgr("#1c1f26"))  # buckle strap
    rounded_rect(img, 230, 236, 282, 256, 6, hex_bgr("#d9dce4"))


def lamp(img: Image) -> None:
    """Lumen LED Desk Lamp: a matte-black arm lamp casting a warm cone of light."""
    black, edge, warm = hex_bgr("#262a33"), hex_bgr("#454b59"), hex_bgr("#ffe39a")
    # Light cone: strongest at the lamp head, fading towards the desk.
    cone = np.zeros(img.shape[:2], np.float32)
    cv2.fillPoly(cone, [np.array([(316, 186), (384, 186), (468, 440), (232, 440)], np.int32)], 1.0, AA)
    fade = np.clip(np.linspace(1.4, -0.2, S, dtype=np.float32), 0.0, 1.0)[:, None]
    cone = cv2.GaussianBlur(cone * fade, (0, 0), 3.0)[..., None] * 0.7
    img[:] = (img * (1 - cone) + np.array(warm, np.float32) * cone).astype(np.uint8)
    shadow(img, (176, 438), (112, 16))
    cv2.ellipse(img, (176, 424), (100, 26), 0, 0, 360, black, -1, AA)  # base
    cv2.ellipse(img, (176, 416), (100, 24), 0, 180, 360, edge, 4, AA)
    cv2.line(img, (176, 416), (150, 250), black, 20, AA)  # lower arm
    cv2.line(img, (150, 250), (330, 150), black, 20, AA)  # upper arm
    cv2.circle(img, (150, 250), 18, edge, -1, AA)  # joint
    poly(img, [(300, 120), (380, 120), (404, 190), (296, 190)], black)  # head
    cv2.line(img, (310, 186), (390, 186), warm, 8, AA)  # LED strip
    rounded_rect(img, 224, 402, 252, 414, 4, hex_bgr("#7ab8ff"))  # USB-C port


def pourover(img: Image) -> None:
    """Kiln Pour-Over Coffee Set: a cream dripper on a server, with a cup beside it."""
    cream, line, coffee = hex_bgr("#f4ead8"), hex_bgr("#c9b79a"), hex_bgr("#6f4a32")
    shadow(img, (236, 446), (170, 18))
    # Server: a rounded jug with coffee inside and a spout.
    rounded_rect(img, 120, 250, 320, 446, 44, line)
    rounded_rect(img, 126, 254, 314, 440, 40, cream)
    rounded_rect(img, 140, 330, 300, 426, 28, coffee)
    poly(img, [(120, 262), (96, 240), (132, 252)], line)
    # Dripper: a cone on a flat ring, with a pour of coffee dripping below.
    poly(img, [(118, 120), (322, 120), (262, 236), (178, 236)], line)
    poly(img, [(126, 126), (314, 126), (258, 230), (182, 230)], cream)
    rounded_rect(img, 150, 232, 290, 252, 8, line)
    cv2.ellipse(img, (220, 128), (92, 10), 0, 0, 360, coffee, -1, AA)
    # Cup: small, with a handle.
    cv2.ellipse(img, (420, 348), (28, 30), 0, -90, 90, line, 12, AA)
    rounded_rect(img, 334, 310, 430, 440, 26, line)
    rounded_rect(img, 340, 314, 424, 434, 22, cream)
    cv2.ellipse(img, (382, 322), (40, 8), 0, 0, 360, coffee, -1, AA)


PRODUCTS: dict[str, tuple[str, str, Callable[[Image], None]]] = {
    "aurora-buds": ("#e7e4ff", "#c8c2f5", earbuds),
    "summit-bottle": ("#ffeadf", "#ffd0bd", bottle),
    "ridgeline-backpack": ("#fff4cf", "#f7e09a", backpack),
    "lumen-lamp": ("#dceafe", "#b8d2f7", lamp),
    "kiln-pourover": ("#fde3e7", "#f6c4cc", pourover),
}


def render(top: str, bottom: str, draw: Callable[[Image], None]) -> Image:
    """One product card: gradient background, icon, transparent rounded corners (BGRA)."""
    img, mask = background(top, bottom)
    draw(img)
    small = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(mask, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    # Outside the card the colour is white: readers that drop alpha see a white corner, not black.
    small[alpha == 0] = 255
    return np.dstack([small, alpha])


def main(argv: Sequence[str]) -> int:
    """Write every product image; prints each path and size."""
    write_images(PRODUCTS, Path(argv[0]) if argv else OUT)
    return 0


def write_images(products: dict[str, tuple[str, str, Callable[[Image], None]]], out: Path) -> None:
    """Draw each product's card into ``out/<id>.png``; prints each path and size."""
    out.mkdir(parents=True, exist_ok=True)
    for product_id, (top, bottom, draw) in products.items():
        path = out / f"{product_id}.png"
        ok, data = cv2.imencode(".png", render(top, bottom, draw), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {product_id}")
        path.write_bytes(data.tobytes())
        print(f"{path} {len(data) // 1024} KB")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
