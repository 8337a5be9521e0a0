"""Draw the backdrop of the second demo show with OpenCV: ``scenes/demo2/images/studio.jpg``.

An evening studio, out of focus as a camera would see it behind the host: a warm wall, a
window onto the night, shelves with jars and plants, a pendant lamp. No third-party artwork,
no randomness: re-running gives the same picture.

Usage: ``python scripts/make_demo2_backdrop.py [output_file]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
W, H = 1280, 720
OUT = Path(__file__).resolve().parent.parent / "scenes" / "demo2" / "images" / "studio.jpg"


def backdrop() -> Image:
    ys = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None, None]
    wall_top = np.array([62, 84, 112], np.float32)  # BGR: warm terracotta plaster
    wall_bottom = np.array([34, 44, 62], np.float32)
    img = np.broadcast_to(wall_top + (wall_bottom - wall_top) * ys, (H, W, 3)).copy()
    # A window onto the night, top left, with a few city lights.
    cv2.rectangle(img, (90, 60), (470, 400), (70, 48, 34), -1)
    cv2.rectangle(img, (90, 60), (470, 400), (40, 52, 70), 14)
    cv2.line(img, (280, 60), (280, 400), (40, 52, 70), 10)
    cv2.line(img, (90, 230), (470, 230), (40, 52, 70), 10)
    for i, (x, y) in enumerate(((130, 330), (170, 300), (210, 350), (330, 320), (360, 290), (420, 340))):
        cv2.circle(img, (x, y), 5 + i % 3, (120, 200, 250), -1, cv2.LINE_AA)
    # Shelves across the back with jars, a vase and plants.
    for y in (470, 610):
        cv2.rectangle(img, (0, y), (W, y + 14), (38, 62, 92), -1)
    jars = (
        (60, 470, 40, 70, (90, 140, 190)),
        (120, 470, 34, 90, (70, 110, 160)),
        (560, 470, 46, 60, (120, 160, 200)),
    )
    for x, y, w, h, colour in jars:
        cv2.rectangle(img, (x, y - h), (x + w, y), colour, -1)
        cv2.rectangle(img, (x - 3, y - h - 10), (x + w + 3, y - h), (60, 70, 80), -1)
    for x, y in ((220, 470), (760, 610), (1160, 470)):
        cv2.ellipse(img, (x, y - 30), (34, 30), 0, 180, 360, (60, 110, 70), -1, cv2.LINE_AA)
        for dx in (-40, -15, 15, 40):
            cv2.ellipse(img, (x + dx, y - 70), (22, 46), dx // 2, 0, 360, (70, 140, 80), -1, cv2.LINE_AA)
        cv2.rectangle(img, (x - 26, y - 34), (x + 26, y), (80, 110, 170), -1)
    for x in range(300, 520, 28):  # books
        h = 70 + (x * 7) % 40
        cv2.rectangle(img, (x, 610 - h), (x + 22, 610), (50 + x % 90, 80 + (x * 3) % 80, 120 + x % 60), -1)
    # A pendant lamp and its warm pool of light.
    cv2.line(img, (900, 0), (900, 120), (30, 30, 30), 4)
    cv2.ellipse(img, (900, 150), (70, 40), 0, 180, 360, (40, 60, 80), -1, cv2.LINE_AA)
    glow = np.zeros((H, W), np.float32)
    cv2.circle(glow, (900, 170), 200, 1.0, -1)
    glow = cv2.GaussianBlur(glow, (0, 0), 90)[..., None]
    img += (np.array([150, 210, 255], np.float32) - img) * glow * 0.45
    # Out of focus, like a real set behind a presenter: the eye stays on the host and the card.
    img = cv2.GaussianBlur(img, (0, 0), 9)
    return np.asarray(np.clip(np.rint(img), 0, 255), np.uint8)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), backdrop(), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
