"""The renderer as a viewer sees it: a moving mouth, blinking eyes, readable Chinese, a product card."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

import avatar.render.text as text_module
from avatar.brain.scene import load_scene
from avatar.render.compositor import Renderer, format_countdown
from avatar.render.frame import LRU, Expression, FrameState, ProductCard
from avatar.render.text import ELLIPSIS, TextRenderer, find_font

Box = tuple[int, int, int, int]

SHOES = ProductCard("CloudStep Running Shoes", "$49.99", "$39.99", "120 left", None)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(640, 360)


def state(**changes: object) -> FrameState:
    base: dict[str, object] = {
        "t": 1.0,
        "mouth_open": 0.0,
        "eyes_closed": 0.0,
        "caption": "",
        "product": None,
        "title": "Mia's Shop",
    }
    base.update(changes)
    return FrameState(**base)  # type: ignore[arg-type]


def crop(img: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return img[y0:y1, x0:x1]


def luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.int32)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int32) - b.astype(np.int32))))


# ----------------------------------------------------------------------------- frame format


@pytest.mark.parametrize(("w", "h"), [(640, 360), (1280, 720), (854, 480)])
def test_frame_shapes_at_supported_sizes(w: int, h: int) -> None:
    r = Renderer(w, h)
    frame = r.render(state(caption="hello", product=SHOES, mouth_open=0.5))
    assert frame.shape == (h, w, 3) and frame.dtype == np.uint8
    yuv = r.render_i420(state(caption="hello", product=SHOES))
    assert yuv.shape == (h * 3 // 2, w) and yuv.dtype == np.uint8


def test_i420_is_the_bgr_frame_converted(renderer: Renderer) -> None:
    s = state(caption="hi", product=SHOES, mouth_open=0.3)
    expected = cv2.cvtColor(renderer.render(s), cv2.COLOR_BGR2YUV_I420)
    assert np.array_equal(renderer.render_i420(s), expected)


@pytest.mark.parametrize(("w", "h"), [(320, 180), (1920, 1080), (640, 480), (641, 360)])
def test_unsupported_sizes_are_refused(w: int, h: int) -> None:
    with pytest.raises(ValueError):
        Renderer(w, h)


def test_same_state_same_frame_and_frames_are_independent(renderer: Renderer) -> None:
    s = state(caption="same", product=SHOES, mouth_open=0.4, eyes_closed=0.2)
    a = renderer.render(s)
    a_copy = a.copy()
    b = renderer.render(s)
    assert np.array_equal(a, b)
    b[:] = 0  # a caller scribbling on its frame must not reach the next one
    assert np.array_equal(renderer.render(s), a_copy)


# ----------------------------------------------------------------------------- the face


def dark_pixels_in_mouth(r: Renderer, mouth_open: float) -> int:
    frame = r.render(state(mouth_open=mouth_open))
    return int(np.count_nonzero(luma(crop(frame, r.regions(1.0)["mouth"])) < 90))


def test_open_mouth_looks_different_from_closed(renderer: Renderer) -> None:
    box = renderer.regions(1.0)["mouth"]
    closed = crop(renderer.render(state(mouth_open=0.0)), box)
    wide = crop(renderer.render(state(mouth_open=1.0)), box)
    assert mean_abs_diff(closed, wide) > 20
    # Nothing outside the face changes with the mouth.
    full_closed = renderer.render(state(mouth_open=0.0)).astype(np.int32)
    full_wide = renderer.render(state(mouth_open=1.0)).astype(np.int32)
    changed = np.argwhere(np.abs(full_closed - full_wide).sum(axis=2) > 0)
    x0, y0, x1, y1 = box
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1


@pytest.mark.parametrize(("w", "h"), [(640, 360), (1280, 720)])
def test_mouth_darkness_grows_with_opening(w: int, h: int) -> None:
    r = Renderer(w, h)
    dark = [dark_pixels_in_mouth(r, m) for m in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    assert dark[0] == 0, dark  # closed lips: no dark mouth
    assert all(b > a for a, b in zip(dark, dark[1:], strict=False)), dark


def test_closed_eyes_hide_the_eyes(renderer: Renderer) -> None:
    for name in ("left_eye", "right_eye"):
        box = renderer.regions(1.0)[name]
        open_ = crop(renderer.render(state(eyes_closed=0.0)), box)
        shut = crop(renderer.render(state(eyes_closed=1.0)), box)
        assert mean_abs_diff(open_, shut) > 15
        # The whites of the eyes are visible when open and gone when closed.
        assert np.count_nonzero(luma(open_) > 235) > 15
        assert np.count_nonzero(luma(shut) > 235) == 0


def test_idle_motion_is_subtle_but_alive(renderer: Renderer) -> None:
    a = renderer.render(state(t=0.0))
    b = renderer.render(state(t=1.7))
    assert not np.array_equal(a, b)  # breathing and sway
    # ... by a pixel or two: the face boxes barely move.
    ra, rb = renderer.regions(0.0)["mouth"], renderer.regions(1.7)["mouth"]
    assert all(abs(p - q) <= 3 for p, q in zip(ra, rb, strict=True))


def test_nonsense_face_values_are_clamped(renderer: Renderer) -> None:
    wild = renderer.render(state(mouth_open=float("nan"), eyes_closed=7.0))
    assert np.array_equal(wild, renderer.render(state(mouth_open=0.0, eyes_closed=1.0)))
    assert renderer.render(state(t=float("nan"))).shape == (360, 640, 3)


# ----------------------------------------------------------------------------- captions


def caption_crop(r: Renderer, text: str) -> np.ndarray:
    return crop(r.render(state(caption=text)), r.regions()["caption"])


def ink(r: Renderer, text: str) -> np.ndarray:
    """Where the caption's text colour (white by default) is, as a boolean mask."""
    return luma(caption_crop(r, text)) > 200


def test_caption_draws_text_coloured_pixels(renderer: Renderer) -> None:
    assert np.count_nonzero(ink(renderer, "")) == 0
    assert np.count_nonzero(ink(renderer, "Welcome to the show")) > 150


@pytest.mark.skipif(find_font() is None, reason="no CJK font installed (fonts-noto-cjk)")
def test_chinese_caption_shows_glyphs_not_boxes(renderer: Renderer) -> None:
    # Two different characters share the same "missing glyph" box; real glyphs differ.
    # U+0378 is unassigned in Unicode, so no font has it: it shows what a missing glyph looks like.
    ni, hao, missing = ink(renderer, "你"), ink(renderer, "好"), ink(renderer, "\u0378")
    assert ni.shape == hao.shape == missing.shape
    assert np.count_nonzero(ni ^ hao) > 30
    assert np.count_nonzero(ni ^ missing) > 30 and np.count_nonzero(hao ^ missing) > 30
    # And a whole Chinese sentence puts plenty of ink on screen.
    assert np.count_nonzero(ink(renderer, "这款跑鞋非常轻盈透气")) > 400


def test_no_cjk_font_warns_once_and_still_renders(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(text_module, "find_font", lambda bold=False: None)
    monkeypatch.setattr(text_module, "_warned_no_font", False)
    text_module.load_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            r = Renderer(640, 360)
            frame = r.render(
                state(caption="你好 hello", product=ProductCard("鞋", "¥1", None, "仅剩 1 件", None))
            )
            r.render(state(caption="再见"))
        assert frame.shape == (360, 640, 3)
        assert caplog.text.count("no CJK font found") == 1
    finally:
        text_module.load_font.cache_clear()


def test_caption_box_is_semi_transparent() -> None:
    red = Renderer(640, 360, theme={"background": "#ff0000"})
    green = Renderer(640, 360, theme={"background": "#00ff00"})
    text = "a caption over the backdrop"
    box = red.regions()["caption"]
    with_box = crop(red.render(state(caption=text)), box)
    # The box is there (it darkens what is behind it) ...
    assert mean_abs_diff(with_box, crop(red.render(state()), box)) > 10
    # ... and the backdrop still shows through it.
    assert mean_abs_diff(with_box, crop(green.render(state(caption=text)), box)) > 10


def test_long_caption_keeps_the_last_two_lines() -> None:
    text = TextRenderer()
    sentence = " ".join(f"word{i}" for i in range(80)) + " the end"
    lines = text.last_lines(sentence, 18, 300, 2)
    assert len(lines) == 2
    assert lines[0].startswith(ELLIPSIS)
    assert lines[1].endswith("the end")
    assert all(text.width(line, 18) <= 300 for line in lines)


def test_chinese_wraps_between_characters_and_keeps_punctuation_attached() -> None:
    text = TextRenderer()
    lines = text.wrap("这款跑鞋非常轻盈透气，夏天跑步穿特别舒服，今天下单还有优惠哦！", 18, 150)
    assert len(lines) >= 3
    assert "".join(lines) == "这款跑鞋非常轻盈透气，夏天跑步穿特别舒服，今天下单还有优惠哦！"
    assert not any(line[0] in "，。！" for line in lines)


def test_a_word_longer_than_a_line_is_broken_not_overflowing() -> None:
    text = TextRenderer()
    lines = text.wrap("x" * 200, 18, 120)
    assert len(lines) > 1
    assert all(text.width(line, 18) <= 120 for line in lines)


def test_long_caption_renders_at_most_two_lines(renderer: Renderer) -> None:
    long = "这款跑鞋非常轻盈透气，夏天跑步穿特别舒服。" * 20
    cap = caption_crop(renderer, long)
    rows = np.flatnonzero((luma(cap) > 200).any(axis=1))
    line_h = TextRenderer.line_height(18)
    assert rows.max() - rows.min() < 2 * line_h + 2


# ----------------------------------------------------------------------------- product card


def card_crop(r: Renderer, product: ProductCard | None) -> np.ndarray:
    return crop(r.render(state(product=product)), r.regions()["card"])


def test_product_card_shows(renderer: Renderer) -> None:
    assert mean_abs_diff(card_crop(renderer, None), card_crop(renderer, SHOES)) > 20


def test_missing_or_broken_image_shows_a_placeholder(
    renderer: Renderer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    with caplog.at_level(logging.WARNING):
        missing = card_crop(renderer, ProductCard("A", "$1", None, None, tmp_path / "nope.png"))
        bad = card_crop(renderer, ProductCard("A", "$1", None, None, broken))
    assert np.array_equal(missing, bad)
    assert "placeholder" in caplog.text


def test_product_image_is_shown(renderer: Renderer, tmp_path: Path) -> None:
    picture = np.zeros((200, 300, 4), np.uint8)
    cv2.circle(picture, (150, 100), 80, (0, 0, 255, 255), -1)  # a red ball on transparency
    path = tmp_path / "ball.png"
    cv2.imwrite(str(path), picture)
    with_img = card_crop(renderer, ProductCard("Ball", "$5", None, None, path))
    without = card_crop(renderer, ProductCard("Ball", "$5", None, None, None))
    red = (with_img[:, :, 2] > 200) & (with_img[:, :, 1] < 60) & (with_img[:, :, 0] < 60)
    assert np.count_nonzero(red) > 500
    assert mean_abs_diff(with_img, without) > 5


def test_promo_price_changes_the_card(renderer: Renderer) -> None:
    regular = ProductCard("Shoes", "$49.99", None, "120 left", None)
    promo = ProductCard("Shoes", "$49.99", "$39.99", "120 left", None)
    a, b = card_crop(renderer, regular).astype(np.int32), card_crop(renderer, promo).astype(np.int32)
    assert np.count_nonzero(np.abs(a - b).max(axis=2) > 40) > 150


def test_chinese_product_card_renders(renderer: Renderer) -> None:
    card = ProductCard("轻盈透气跑步鞋 男女同款 夏季新款 超长名字" * 3, "¥299", "¥199", "仅剩 12 件", None)
    assert mean_abs_diff(card_crop(renderer, None), card_crop(renderer, card)) > 20


# ----------------------------------------------------------------------------- theme


def test_invalid_theme_colour_falls_back_to_default(
    renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        odd = Renderer(
            640, 360, theme={"accent": "hotpink", "card": "#12345", "skin": "", "bogus": "#000000"}
        )
    assert "accent" in caplog.text and "card" in caplog.text and "bogus" in caplog.text
    s = state(caption="hello", product=SHOES, mouth_open=0.5)
    assert np.array_equal(odd.render(s), renderer.render(s))


def test_theme_colours_are_used() -> None:
    green = Renderer(640, 360, theme={"background": "#00aa00", "text": "#ffff00ff", "card": "#202020c0"})
    frame = green.render(state(caption="hello"))
    corner = frame[100:110, 560:570].reshape(-1, 3).mean(axis=0)
    assert corner[1] > corner[0] + 30 and corner[1] > corner[2] + 30  # green backdrop
    cap = crop(frame, green.regions()["caption"]).astype(np.int32)
    yellow = (cap[:, :, 2] > 200) & (cap[:, :, 1] > 200) & (cap[:, :, 0] < 80)
    assert np.count_nonzero(yellow) > 50


# ----------------------------------------------------------------------------- bounded memory


def test_caches_stay_bounded_over_a_long_show() -> None:
    r = Renderer(640, 360)
    for i in range(300):
        product = ProductCard(f"Item {i % 40}", f"${i % 40}", None, None, None)
        r.render(state(t=i / 25, caption=f"caption number {i}", product=product, title=f"T{i % 12}"))
    info = r.cache_info()
    assert info["captions"] <= 64 and info["cards"] <= 16 and info["bases"] <= 4
    assert info["badges"] <= 8 and info["text"] <= 128


def test_lru_evicts_the_least_recently_used() -> None:
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "a" is now the most recent
    lru.put("c", 3)
    assert lru.get("b") is None and lru.get("a") == 1 and lru.get("c") == 3
    assert len(lru) == 2


def test_text_on_a_light_card_stays_readable() -> None:
    """White text on a white card would vanish: the renderer swaps in dark ink."""
    light = Renderer(640, 360, theme={"text": "#ffffff", "card": "#ffffffee"})
    frame = light.render(state(caption="hello there, welcome to the show"))
    cap = crop(frame, light.regions()["caption"]).astype(np.int32)
    dark_ink = cap.sum(axis=2) < 250
    assert np.count_nonzero(dark_ink) > 50


# ----------------------------------------------------------------------------- expressions


def whites_centre_row(r: Renderer, frame: np.ndarray) -> float:
    """Mean row of the whites of the eyes (luma > 235) around both eyes."""
    lx0, ly0, _, _ = r.regions(1.0)["left_eye"]
    _, _, rx1, ry1 = r.regions(1.0)["right_eye"]
    pad = round(12 * r.u)
    area = luma(frame[ly0 - pad : ry1 + pad, lx0 - pad : rx1 + pad]) > 235
    return float(np.nonzero(area)[0].mean())


def iris_centre(r: Renderer, frame: np.ndarray) -> tuple[float, float]:
    """Mean (row, column) of the brown iris pixels inside the left eye box (not the black lashes)."""
    eye = crop(frame, r.regions(1.0)["left_eye"]).astype(np.int32)
    y = luma(crop(frame, r.regions(1.0)["left_eye"]))
    ys, xs = np.nonzero((eye[:, :, 2] - eye[:, :, 0] > 40) & (y > 40) & (y < 170))
    return float(ys.mean()), float(xs.mean())


def skin_pixels(img: np.ndarray) -> int:
    """Pixels of the default skin tone (#f3c9a8 and its shading)."""
    b, g, r = (img[:, :, i].astype(np.int32) for i in range(3))
    return int(np.count_nonzero((r > 170) & (r - b > 45) & (r - g > 20) & (g - b > 10)))


def test_a_smile_lifts_the_mouth_and_narrows_the_eyes(renderer: Renderer) -> None:
    neutral = renderer.render(state())
    smile = renderer.render(state(expression=Expression(smile=1.0)))
    mouth = renderer.regions(1.0)["mouth"]
    assert mean_abs_diff(crop(neutral, mouth), crop(smile, mouth)) > 3
    eye = renderer.regions(1.0)["left_eye"]
    whites = [np.count_nonzero(luma(crop(f, eye)) > 235) for f in (neutral, smile)]
    assert whites[1] < whites[0], "cheeks push the lower lids up"


def test_a_nod_dips_the_head(renderer: Renderer) -> None:
    up = whites_centre_row(renderer, renderer.render(state()))
    down = whites_centre_row(renderer, renderer.render(state(expression=Expression(nod=1.0))))
    assert 3.0 <= down - up <= 7.0, (up, down)


def test_thinking_looks_up_and_away_from_the_card(renderer: Renderer) -> None:
    ry, rx = iris_centre(renderer, renderer.render(state()))
    ty, tx = iris_centre(renderer, renderer.render(state(expression=Expression(think=1.0))))
    assert ty < ry - 0.5, "eyes up (partly under the lid)"
    assert tx < rx - 1.0, "and away from the card, which is on the right"


def test_raised_brows_move_only_above_the_eyes(renderer: Renderer) -> None:
    a = renderer.render(state()).astype(np.int32)
    b = renderer.render(state(expression=Expression(brows=1.0))).astype(np.int32)
    rows = np.flatnonzero(np.abs(a - b).sum(axis=2).any(axis=1))
    eye_top = renderer.regions(1.0)["left_eye"][1]
    assert rows.size > 0 and rows.max() < eye_top + 2


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_hand_presents_toward_the_card(side: str) -> None:
    r = Renderer(640, 360, theme={"presenter": side})
    hand = r.regions(1.0)["hand"]
    card = r.regions(1.0, SHOES)["card"]
    down = crop(r.render(state(product=SHOES)), hand)
    up = crop(r.render(state(product=SHOES, expression=Expression(gesture=1.0))), hand)
    assert skin_pixels(up) > skin_pixels(down) + 300, "an open hand appears"
    face_x = (r.regions(1.0)["mouth"][0] + r.regions(1.0)["mouth"][2]) / 2
    hand_x = (hand[0] + hand[2]) / 2
    card_x = (card[0] + card[2]) / 2
    assert (hand_x - face_x) * (card_x - face_x) > 0, "on the card's side of the presenter"
    half = crop(r.render(state(product=SHOES, expression=Expression(gesture=0.5))), hand)
    assert skin_pixels(down) < skin_pixels(half), "the hand rises into view"


# ----------------------------------------------------------------------------- overlays


def test_countdown_format() -> None:
    assert format_countdown(0) == "00:00"
    assert format_countdown(65.9) == "01:05"
    assert format_countdown(3 * 3600 + 25 * 60 + 7) == "03:25:07"
    assert format_countdown(-5) == "00:00"
    assert format_countdown(10**9) == "99:59:59"


def test_flash_sale_countdown_shows_and_ticks(renderer: Renderer) -> None:
    box = renderer.regions()["countdown"]
    none = crop(renderer.render(state(product=SHOES)), box)
    tag = crop(renderer.render(state(product=SHOES, countdown_s=3725.0)), box)
    later = crop(renderer.render(state(product=SHOES, countdown_s=3724.0)), box)
    b, g, r = (tag[:, :, i].astype(np.int32) for i in range(3))
    assert np.count_nonzero((r > 220) & (g > 160) & (b < 140)) > 0.4 * tag.shape[0] * tag.shape[1], (
        "a yellow flash-sale tag"
    )
    assert mean_abs_diff(none, tag) > 30
    assert 0 < mean_abs_diff(tag, later) < 10, "only the digits change from one second to the next"


def test_coupon_banner_under_the_card(renderer: Renderer) -> None:
    coupon = "Code LIVE10: 10% off"
    plain = renderer.render(state(product=SHOES))
    with_coupon = renderer.render(state(product=SHOES, coupon=coupon))
    box = renderer.regions(product=SHOES, coupon=coupon)["coupon"]
    ticket = crop(with_coupon, box)
    assert mean_abs_diff(crop(plain, box), ticket) > 40
    assert box[1] > renderer.regions(product=SHOES, coupon=coupon)["card"][3], "under the card"
    assert (
        renderer.regions(product=SHOES, coupon=coupon)["card"][3] < renderer.regions(product=SHOES)["card"][3]
    ), "the card makes room for it"
    dark_ink = luma(ticket) < 90
    assert np.count_nonzero(dark_ink) > 100, "readable text on the ticket"


def test_a_very_long_coupon_still_fits(renderer: Renderer) -> None:
    coupon = "Use code SUPERLONGCOUPONCODE2026 at checkout for ten percent off everything in the shop today"
    box = renderer.regions(product=SHOES, coupon=coupon)["coupon"]
    frame = renderer.render(state(product=SHOES, coupon=coupon))
    assert frame.shape == (360, 640, 3)
    assert box[2] <= 640 and box[3] < renderer.regions()["caption"][1]


COMMENTS = ("Ana: is the backpack waterproof?", "李伟: 这个多少钱？", "sam: love it")


def test_ticker_crawls_recent_comments(renderer: Renderer) -> None:
    box = renderer.regions()["ticker"]
    quiet = crop(renderer.render(state(t=3.0)), box)
    start = crop(renderer.render(state(t=3.0, ticker=COMMENTS, ticker_since=3.0)), box)
    later = crop(renderer.render(state(t=5.0, ticker=COMMENTS, ticker_since=3.0)), box)
    assert mean_abs_diff(quiet, start) > 20, "a band appears"
    ink_start, ink_later = (luma(x) > 200 for x in (start, later))
    cols_start = np.flatnonzero(ink_start[:, 120:].any(axis=0))
    cols_later = np.flatnonzero(ink_later[:, 120:].any(axis=0))
    assert cols_start.size == 0 or cols_start.min() > 400, "new comments enter from the right edge"
    assert cols_later.size > 0 and cols_later.min() < cols_start.min() if cols_start.size else True
    assert cols_later.size > cols_start.size, "and crawl left"


def test_ticker_survives_long_and_many_comments(renderer: Renderer) -> None:
    many = tuple(f"viewer{i}: " + "spam " * 200 for i in range(50))
    frame = renderer.render(state(t=10.0, ticker=many, ticker_since=float("nan")))
    assert frame.shape == (360, 640, 3)


def test_a_chinese_ticker_and_card_render_glyphs(renderer: Renderer) -> None:
    box = renderer.regions()["ticker"]
    a = crop(renderer.render(state(t=9.0, ticker=("王: 你好",), ticker_since=0.0)), box)
    b = crop(renderer.render(state(t=9.0, ticker=("王: 再见",), ticker_since=0.0)), box)
    assert np.count_nonzero((luma(a) > 200) ^ (luma(b) > 200)) > 20


# ----------------------------------------------------------------------------- backdrop and look


def test_background_image_is_used(tmp_path: Path) -> None:
    picture = np.zeros((90, 160, 3), np.uint8)
    picture[:] = (20, 20, 220)  # red
    cv2.imwrite(str(tmp_path / "red.jpg"), picture)
    r = Renderer(640, 360, theme={"background_image": "red.jpg"}, root=tmp_path)
    corner = r.render(state())[150:160, 560:570].reshape(-1, 3).mean(axis=0)
    assert corner[2] > 120 and corner[2] > 2 * corner[1], corner


@pytest.mark.parametrize("content", [None, b"GIF89a not really", b""])
def test_bad_background_image_warns_and_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes | None
) -> None:
    path = tmp_path / "backdrop.png"
    if content is not None:
        path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        r = Renderer(640, 360, theme={"background_image": str(path)})
    assert "background image" in caplog.text and "generated backdrop" in caplog.text
    assert np.array_equal(r.render(state(caption="hi")), Renderer(640, 360).render(state(caption="hi")))


def test_presenter_on_the_right_puts_the_card_on_the_left() -> None:
    r = Renderer(640, 360, theme={"presenter": "right"})
    mouth, card = r.regions(1.0)["mouth"], r.regions(1.0, SHOES)["card"]
    assert mouth[0] > 320 and card[2] < 320
    frame = r.render(state(product=SHOES))
    assert mean_abs_diff(crop(frame, card), crop(r.render(state()), card)) > 20


def test_looks_differ(renderer: Renderer) -> None:
    bun = Renderer(640, 360, theme={"hair_style": "bun", "glasses": "yes"})
    x0, y0, x1, y1 = renderer.regions(1.0)["mouth"]
    head = (x0 - 60, y0 - 130, x1 + 60, y1)
    assert mean_abs_diff(crop(renderer.render(state()), head), crop(bun.render(state()), head)) > 10


def test_bad_look_values_warn_and_use_defaults(renderer: Renderer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        odd = Renderer(640, 360, theme={"presenter": "middle", "hair_style": "mohawk", "glasses": "maybe"})
    for key in ("presenter", "hair_style", "glasses"):
        assert key in caplog.text
    s = state(product=SHOES, caption="hello")
    assert np.array_equal(odd.render(s), renderer.render(s))


def test_overlay_caches_stay_bounded() -> None:
    r = Renderer(640, 360)
    for i in range(200):
        r.render(
            state(
                t=i / 25,
                countdown_s=5000.0 - i,
                coupon=f"code {i % 20}",
                ticker=(f"v{i}: hello {i}",),
                ticker_since=i / 25,
            )
        )
    info = r.cache_info()
    assert info["countdowns"] <= 8 and info["coupons"] <= 8 and info["tickers"] <= 8 and info["bases"] <= 4


# ----------------------------------------------------------------------------- the demo scenes


def test_the_two_demo_themes_load_cleanly_and_look_different(caplog: pytest.LogCaptureFixture) -> None:
    scenes = Path(__file__).resolve().parents[2] / "scenes"
    frames = []
    with caplog.at_level(logging.WARNING):
        for name in ("demo", "demo2"):
            scene = load_scene(scenes / name)
            r = Renderer(640, 360, scene.theme, root=scene.root, language=scene.language)
            frames.append(r.render(state(product=SHOES, caption="hello", coupon="Code LIVE10")))
    assert caplog.text == "", "no unknown keys, bad colours or unreadable pictures in the demo themes"
    assert mean_abs_diff(frames[0], frames[1]) > 40
