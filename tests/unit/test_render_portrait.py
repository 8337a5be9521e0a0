"""The portrait (9:16) programme for phone-first platforms: every overlay inside the frame, none over
another or over the face, and each drawn only inside the box the layout gives it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from avatar.render.compositor import Renderer
from avatar.render.frame import Expression, FrameState, ProductCard

Box = tuple[int, int, int, int]
REPO = Path(__file__).resolve().parents[2]
BACKPACK = ProductCard(
    "Ridgeline 30L Backpack with a very long name that goes on and on",
    "$89",
    "$74",
    "45 left",
    REPO / "scenes" / "demo" / "images" / "ridgeline-backpack.png",
)
COUPON = "Code LIVE10: 10% off everything in the shop tonight only"
FULL = FrameState(
    t=2.0,
    mouth_open=0.6,
    eyes_closed=0.0,
    caption="The Ridgeline is thirty litres and waterproof, and tonight it is seventy-four dollars "
    "instead of eighty-nine, with free shipping on every order.",
    product=BACKPACK,
    title="Mia · Demo Shop Live with a title far too long for one badge",
    countdown_s=3 * 3600 + 25 * 60 + 7,
    coupon=COUPON,
    ticker=("Ana: is the backpack waterproof?", "李伟: 这个多少钱？", "sam: love it"),
    ticker_since=0.0,
    expression=Expression(gesture=1.0, smile=0.4),
)
BARE = replace(FULL, caption="", product=None, title="", countdown_s=None, coupon="", ticker=())
OVERLAYS = ("badge", "card", "coupon", "caption", "ticker")
FACE = ("mouth", "left_eye", "right_eye")


@pytest.fixture(scope="module", params=[(540, 960), (720, 1280)], ids=["540x960", "720x1280"])
def renderer(request: pytest.FixtureRequest) -> Renderer:
    width, height = request.param
    return Renderer(width, height)


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def changed(a: np.ndarray, b: np.ndarray) -> Box:
    """Bounding box (x0, y0, x1, y1) of the pixels that differ between two frames."""
    ys, xs = np.nonzero(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 2)
    assert xs.size, "the two frames differ somewhere"
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def union(*boxes: Box) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def test_a_portrait_frame_is_tall_and_converts_to_i420(renderer: Renderer) -> None:
    frame = renderer.render(FULL)
    assert frame.shape == (renderer.height, renderer.width, 3) and renderer.height > renderer.width
    assert renderer.render_i420(FULL).shape == (renderer.height * 3 // 2, renderer.width)


def test_the_layout_keeps_everything_in_the_frame_apart_and_off_the_face(renderer: Renderer) -> None:
    boxes = renderer.regions(FULL.t, BACKPACK, COUPON)
    frame: Box = (0, 0, renderer.width, renderer.height)
    for name in (*OVERLAYS, "countdown", *FACE):
        assert inside(boxes[name], frame), f"{name} {boxes[name]} leaves the frame {frame}"
    # A taller phone (19.5:9) crops a 9:16 picture to fill its screen: 9 % of the width at each side.
    crop = round(0.09 * renderer.width)
    safe: Box = (crop, 0, renderer.width - crop, renderer.height)
    for name in ("badge", "card", "coupon", "countdown", "caption"):
        assert inside(boxes[name], safe), f"{name} {boxes[name]} is cut off on a 19.5:9 phone"
    for a, b in itertools.combinations(OVERLAYS, 2):
        assert not overlaps(boxes[a], boxes[b]), f"{a} {boxes[a]} overlaps {b} {boxes[b]}"
    for other in ("badge", "coupon", "caption", "ticker"):  # it straddles the card's top edge, by design
        assert not overlaps(boxes["countdown"], boxes[other]), f"countdown overlaps {other}"
    for feature, overlay in itertools.product(FACE, (*OVERLAYS, "countdown")):
        assert not overlaps(boxes[feature], boxes[overlay]), f"{overlay} covers the {feature}"
    # Phone-sized: the face is big enough to read lips on a phone, the card big enough to tap.
    mouth, card = boxes["mouth"], boxes["card"]
    assert (mouth[2] - mouth[0]) >= 0.08 * renderer.width
    assert (card[2] - card[0]) >= 0.4 * renderer.width


def test_each_overlay_draws_only_inside_its_box(renderer: Renderer) -> None:
    boxes = renderer.regions(FULL.t, BACKPACK, COUPON)
    bare = renderer.render(BARE)
    shop = renderer.render(replace(BARE, product=BACKPACK, coupon=COUPON, countdown_s=FULL.countdown_s))
    assert inside(changed(shop, bare), union(boxes["card"], boxes["coupon"], boxes["countdown"]))
    # The card lies over the presenter in portrait: drawn after her, so it is whole, not hidden.
    card_box = renderer.regions(FULL.t, BACKPACK)["card"]  # without a coupon the card may be taller
    card = changed(renderer.render(replace(BARE, product=BACKPACK)), bare)
    assert inside(card, card_box)
    assert (card[2] - card[0]) >= 0.95 * (card_box[2] - card_box[0])
    assert (card[3] - card[1]) >= 0.95 * (card_box[3] - card_box[1])
    caption = changed(renderer.render(replace(BARE, caption=FULL.caption)), bare)
    assert inside(caption, boxes["caption"])
    ticker = changed(renderer.render(replace(BARE, ticker=FULL.ticker)), bare)
    assert inside(ticker, boxes["ticker"])
    badge = changed(renderer.render(replace(BARE, title=FULL.title)), bare)
    assert inside(badge, boxes["badge"])


def test_the_face_is_never_covered(renderer: Renderer) -> None:
    boxes = renderer.regions(FULL.t, BACKPACK, COUPON)
    bare, full = renderer.render(BARE), renderer.render(FULL)
    x0, y0, x1, y1 = union(*(boxes[name] for name in FACE))
    assert np.array_equal(full[y0:y1, x0:x1], bare[y0:y1, x0:x1]), "an overlay is drawn over the face"


def test_a_long_caption_keeps_its_last_three_lines_in_portrait(renderer: Renderer) -> None:
    x0, y0, x1, y1 = renderer.regions()["caption"]
    frame = renderer.render(replace(BARE, caption=FULL.caption * 3))
    bare = renderer.render(BARE)
    drawn = changed(frame, bare)
    assert inside(drawn, (x0, y0, x1, y1))
    assert (drawn[3] - drawn[1]) > 0.8 * (y1 - y0), "three lines fill the box"


@pytest.mark.parametrize(("w", "h"), [(360, 641), (720, 1000), (800, 1422), (320, 568), (720, 720)])
def test_sizes_that_are_not_9_16_in_range_are_refused(w: int, h: int) -> None:
    with pytest.raises(ValueError, match=f"{w}x{h}"):
        Renderer(w, h)


def test_a_photo_presenter_in_portrait_keeps_her_face_clear() -> None:
    r = Renderer(540, 960, portrait=REPO / "scenes" / "photo-demo" / "portrait.jpg")
    boxes = r.regions(FULL.t, BACKPACK, COUPON)
    assert "portrait" in boxes, "the photo presenter, not the drawn fallback"
    assert inside(boxes["portrait"], (0, 0, r.width, r.height))
    x0, _, x1, _ = boxes["portrait"]
    assert abs((x0 + x1) / 2 - r.width / 2) <= 2, "centred"
    for overlay in (*OVERLAYS, "countdown"):
        assert not overlaps(boxes["face"], boxes[overlay]), f"{overlay} covers the face"
    fx0, fy0, fx1, fy1 = boxes["face"]
    bare, full = r.render(BARE), r.render(FULL)
    assert np.array_equal(full[fy0:fy1, fx0:fx1], bare[fy0:fy1, fx0:fx1])
