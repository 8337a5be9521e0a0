"""Regenerate the golden frames in tests/golden/ from the cases in tests/unit/test_render_golden.py.

Run after an intended change of the look, then open the pictures and check them before you
commit: a golden frame is only as good as the person who approved it.

    .venv/bin/python scripts/make_golden_frames.py [CASE ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.unit.test_render_golden import CASES, GOLDEN_DIR, differences, render_case  # noqa: E402


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(sorted(CASES))}", file=sys.stderr)
        return 2
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in names or sorted(CASES):
        path = GOLDEN_DIR / f"{name}.png"
        frame = render_case(CASES[name])
        note = "new"
        if path.is_file():
            old = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if old is not None and old.shape == frame.shape:
                ssim, mean, local = differences(frame, old)
                note = f"SSIM {ssim:.4f}, mean diff {mean:.2f}, local diff {local:.1f} vs the old one"
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path.relative_to(REPO)}  {frame.shape[1]}x{frame.shape[0]}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
