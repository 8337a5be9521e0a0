"""Golden frames: the renderer still draws what a person approved, at fixed states.

Each case renders a fixed ``FrameState`` and compares it with ``tests/golden/<case>.png`` under
a perceptual tolerance (structural similarity of the luma, mean colour difference, and the
worst locally averaged difference), so a font's anti-aliasing or a library's rounding may
differ but a closed mouth drawn open, a missing overlay or a shifted card may not.

After an intended change of the look, regenerate and *look at* the pictures:
``.venv/bin/python scripts/make_golden_frames.py`` (then review ``git diff --stat tests/golden``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar.render.compositor import Renderer
from avatar.render.frame import Expression, FrameState, ProductCard
from avatar.render.text import find_font

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "tests" / "golden"
DEMO_IMAGES = REPO / "scenes" / "demo" / "images"
PORTRAIT = REPO / "scenes" / "photo-demo" / "portrait.jpg"

MIN_SSIM = 0.98
"""Structural similarity of the luma; identical pictures score 1."""
MAX_MEAN_DIFF = 2.0
"""Mean absolute difference per channel (0-255) over the picture."""
MAX_LOCAL_DIFF = 40.0
"""Worst absolute difference averaged over 9x9 pixels: a changed feature, not an edge's AA."""

BACKPACK = ProductCard(
    "Ridgeline 30L Backpack", "$89", "$74", "45 left", DEMO_IMAGES / "ridgeline-backpack.png"
)
BUDS_ZH = ProductCard("极光真无线耳机", "$49.99", "$39.99", "仅剩 120 件", DEMO_IMAGES / "aurora-buds.png")
DEMO2_THEME: Mapping[str, str] = {
    "background": "#2a2018",
    "accent": "#ff7a2f",
    "highlight": "#ffd34d",
    "card": "#fff8efee",
    "text": "#2b2118",
    "skin": "#e8b690",
    "hair": "#1c1410",
    "shirt": "#2f8f6b",
    "presenter": "right",
    "hair_style": "bun",
    "glasses": "yes",
}


def base_state(**changes: object) -> FrameState:
    state = FrameState(
        t=1.0, mouth_open=0.0, eyes_closed=0.0, caption="", product=None, title="Mia · Demo Shop Live"
    )
    return replace(state, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    """One golden picture: a renderer, a state, and the part of the frame that is compared."""

    state: FrameState
    crop: str | None = None
    """``"face"`` compares the head only (the photo presenter's face box for a portrait), ``"eyes"``
    both eyes of a portrait; ``None`` the whole frame."""
    theme: Mapping[str, str] = field(default_factory=dict)
    size: tuple[int, int] = (640, 360)
    portrait: Path | None = None
    """A portrait picture: the photo presenter instead of the drawn character."""


CASES: dict[str, Case] = {
    "mouth_closed": Case(base_state(), crop="face"),
    "mouth_open": Case(base_state(mouth_open=0.9), crop="face"),
    "mouth_ee": Case(base_state(mouth_open=0.6, mouth_wide=1.0), crop="face"),
    "mouth_oo": Case(base_state(mouth_open=0.6, mouth_round=1.0), crop="face"),
    "eyes_closed": Case(base_state(eyes_closed=1.0), crop="face"),
    "smile": Case(base_state(expression=Expression(smile=1.0, brows=0.3)), crop="face"),
    "thinking": Case(base_state(expression=Expression(think=1.0, brows=-0.25)), crop="face"),
    "card_and_caption": Case(
        base_state(product=BACKPACK, caption="Our trail season deal takes it from $89 down to $74.")
    ),
    "gesture": Case(base_state(product=BACKPACK, expression=Expression(gesture=1.0, smile=0.5))),
    "flash_sale_coupon_ticker": Case(
        base_state(
            t=4.0,
            product=BACKPACK,
            countdown_s=3 * 3600 + 25 * 60 + 7,
            coupon="Code LIVE10: 10% off",
            ticker=("Ana: is the backpack waterproof?", "李伟: 这个多少钱？", "sam: love it"),
            ticker_since=0.0,
        )
    ),
    "chinese_caption_card": Case(
        base_state(
            product=BUDS_ZH, caption="日常价$49.99，今天首发优惠只要$39.99！主动降噪，通勤路上更安静。"
        )
    ),
    "demo2_theme": Case(
        base_state(
            product=BACKPACK,
            caption="Coffee lovers, this one's for you!",
            mouth_open=0.5,
            countdown_s=600.0,
            coupon="First order: code HELLO5",
        ),
        theme=DEMO2_THEME,
    ),
    "photo_mouth_closed": Case(base_state(), crop="face", portrait=PORTRAIT),
    "photo_mouth_open": Case(base_state(mouth_open=0.9), crop="face", portrait=PORTRAIT),
    "photo_eyes_open": Case(base_state(), crop="eyes", portrait=PORTRAIT),
    "photo_eyes_closed": Case(base_state(eyes_closed=1.0), crop="eyes", portrait=PORTRAIT),
    "photo_scene": Case(
        base_state(
            product=BACKPACK,
            caption="Our trail season deal takes it from $89 down to $74.",
            mouth_open=0.5,
            mouth_wide=0.6,
            coupon="Code LIVE10: 10% off",
        ),
        theme={"background": "#1d2333", "accent": "#ff7a2f"},
        portrait=PORTRAIT,
    ),
    "hd_720p": Case(
        base_state(
            product=BACKPACK,
            caption="Normally $89, now $74.",
            mouth_open=0.4,
            expression=Expression(gesture=1.0),
            ticker=("Ana: hi!",),
            ticker_since=0.5,
        ),
        size=(1280, 720),
    ),
    # The phone programme (9:16): card, flash-sale tag, coupon, three-line caption and ticker over the host.
    "portrait_540x960": Case(
        base_state(
            t=4.0,
            product=BACKPACK,
            caption="Our trail season deal takes the Ridgeline from $89 down to $74, tonight only.",
            mouth_open=0.5,
            countdown_s=25 * 60 + 7,
            coupon="Code LIVE10: 10% off",
            ticker=("Ana: is the backpack waterproof?", "李伟: 这个多少钱？"),
            ticker_since=0.0,
        ),
        size=(540, 960),
    ),
}


_renderers: dict[tuple[tuple[int, int], tuple[tuple[str, str], ...], Path | None], Renderer] = {}


def render_case(case: Case) -> np.ndarray:
    """The picture for ``case`` (cropped as the case says)."""
    key = (case.size, tuple(sorted(case.theme.items())), case.portrait)
    renderer = _renderers.get(key)
    if renderer is None:
        renderer = _renderers[key] = Renderer(*case.size, theme=case.theme, portrait=case.portrait)
    frame = renderer.render(case.state)
    if case.crop == "eyes":
        boxes = renderer.regions(case.state.t)
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes["right_eye"], boxes["left_eye"]
        return np.ascontiguousarray(frame[min(ay0, by0) : max(ay1, by1), min(ax0, bx0) : max(ax1, bx1)])
    if case.crop == "face" and case.portrait is not None:
        x0, y0, x1, y1 = renderer.regions(case.state.t)["face"]
        return np.ascontiguousarray(frame[y0:y1, x0:x1])
    if case.crop == "face":
        x0, y0, x1, y1 = renderer.regions(case.state.t)["mouth"]
        u = renderer.u
        cx = (x0 + x1) // 2
        return np.ascontiguousarray(
            frame[y0 - round(95 * u) : y1 + round(8 * u), cx - round(70 * u) : cx + round(70 * u)]
        )
    return frame


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two BGR pictures' luma (Wang et al. 2004, Gaussian window)."""
    x = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(img, (11, 11), 1.5))

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def differences(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(SSIM, mean difference, worst 9x9-averaged difference) between two pictures of one size."""
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    local = cv2.blur(diff, (9, 9))
    return ssim(a, b), float(diff.mean()), float(local.max())


def looks_the_same(a: np.ndarray, b: np.ndarray) -> bool:
    s, mean, local = differences(a, b)
    return s >= MIN_SSIM and mean <= MAX_MEAN_DIFF and local <= MAX_LOCAL_DIFF


needs_fonts = pytest.mark.skipif(
    find_font() is None, reason="the golden frames were drawn with Noto Sans CJK (fonts-noto-cjk)"
)


@needs_fonts
@pytest.mark.parametrize("name", sorted(CASES))
def test_frame_matches_its_golden_picture(name: str) -> None:
    path = GOLDEN_DIR / f"{name}.png"
    assert path.is_file(), f"{path} is missing: run scripts/make_golden_frames.py and review it"
    golden = cv2.imread(str(path), cv2.IMREAD_COLOR)
    frame = render_case(CASES[name])
    assert golden is not None and golden.shape == frame.shape, (
        None if golden is None else golden.shape,
        frame.shape,
    )
    s, mean, local = differences(frame, golden)
    assert s >= MIN_SSIM and mean <= MAX_MEAN_DIFF and local <= MAX_LOCAL_DIFF, (
        f"{name}: SSIM {s:.4f} (min {MIN_SSIM}), mean diff {mean:.2f} (max {MAX_MEAN_DIFF}), "
        f"local diff {local:.1f} (max {MAX_LOCAL_DIFF}); if the change is intended, regenerate "
        "with scripts/make_golden_frames.py and look at the pictures"
    )


@needs_fonts
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("mouth_closed", "mouth_open"),
        ("mouth_closed", "eyes_closed"),
        ("mouth_closed", "smile"),
        ("mouth_ee", "mouth_oo"),
        ("card_and_caption", "gesture"),
        ("photo_mouth_closed", "photo_mouth_open"),
        ("photo_eyes_open", "photo_eyes_closed"),
    ],
)
def test_the_tolerance_still_tells_states_apart(a: str, b: str) -> None:
    """A tolerance loose enough to pass anything would prove nothing."""
    assert not looks_the_same(render_case(CASES[a]), render_case(CASES[b]))


@needs_fonts
def test_the_tolerance_forgives_a_slightly_different_rasteriser() -> None:
    """A one-pixel-softer picture (another FreeType, another OpenCV) still passes."""
    frame = render_case(CASES["card_and_caption"])
    softer = cv2.GaussianBlur(frame, (3, 3), 0.5)
    assert looks_the_same(frame, softer)
