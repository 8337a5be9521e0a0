"""The stage: what the host's face and the overlays do as the show goes on (frame states, no pixels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avatar.brain.catalog import Product
from avatar.brain.scene import Scene, load_scene
from avatar.media.playout import NowPlaying
from avatar.modes.stage import FLASH_SALE_WINDOW_S, TICKER_COMMENTS, Stage, flash_sale_seconds, is_promo_line
from avatar.render.animator import Animator
from avatar.render.frame import FrameState

DEMO = Path(__file__).resolve().parents[2] / "scenes" / "demo"
FRAME_S = 0.04


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO)


def backpack(scene: Scene) -> Product:
    return scene.catalog.get("ridgeline-backpack")


def lamp(scene: Scene) -> Product:
    return scene.catalog.get("lumen-lamp")


def ends(product: Product) -> datetime:
    assert product.promo is not None and product.promo.ends_at is not None
    return product.promo.ends_at


def silent() -> NowPlaying:
    return NowPlaying(turn_id=None, text="", seconds_into=0.0, level=0.0, samples_played=0)


def saying(text: str, turn: int = 5, level: float = 0.5) -> NowPlaying:
    return NowPlaying(turn_id=turn, text=text, seconds_into=0.3, level=level, samples_played=0)


def run(
    stage: Stage, playing: NowPlaying, product: Product, frames: int, t0: float = 0.0
) -> list[FrameState]:
    return [stage.frame(t0 + i * FRAME_S, playing, product, None) for i in range(frames)]


def test_caption_is_what_is_heard_held_briefly(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    p = lamp(scene)
    assert stage.frame(1.0, saying("Meet the desk lamp."), p, None).caption == "Meet the desk lamp."
    assert stage.frame(1.5, silent(), p, None).caption == "Meet the desk lamp."
    assert stage.frame(3.0, silent(), p, None).caption == ""


def test_a_caption_cut_part_way_shows_only_the_words_heard(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    p = lamp(scene)
    line = "Normally fifty-nine dollars, but today thirty-nine."
    assert stage.frame(1.0, saying(line, turn=7), p, None).caption == line
    stage.cut = (7, line, "Normally fifty-nine dollars, but")
    assert stage.frame(1.1, silent(), p, None).caption == "Normally fifty-nine dollars, but…"
    # The same sentence said again in a later turn and finished is held whole.
    assert stage.frame(2.0, saying(line, turn=9), p, None).caption == line
    assert stage.frame(2.1, silent(), p, None).caption == line
    # Cut before a word was heard: no caption is held.
    stage.cut = (9, line, "")
    assert stage.frame(2.2, silent(), p, None).caption == ""


def test_thinking_until_the_answer_is_heard(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    p = lamp(scene)
    run(stage, silent(), p, 60)
    stage.thinking = True
    states = run(stage, silent(), p, 15, t0=60 * FRAME_S)
    assert states[-1].expression.think == 1.0
    stage.thinking = False
    states = run(stage, saying("It is $39.99."), p, 15, t0=75 * FRAME_S)
    assert states[-1].expression.think == 0.0 and states[-1].mouth_open > 0


def test_the_greeting_gets_a_nod(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    stage.greeting_turn = 1
    states = run(stage, saying(scene.persona.greeting["en"], turn=1), lamp(scene), 30)
    assert max(s.expression.nod for s in states) > 0.9
    other = Stage(scene, Animator())
    other.greeting_turn = 1
    assert max(s.expression.nod for s in run(other, saying("Next up", turn=2), lamp(scene), 30)) == 0.0


def test_a_promotion_line_brings_a_smile_and_a_gesture(scene: Scene) -> None:
    product = backpack(scene)
    stage = Stage(scene, Animator(), wall_clock=lambda: ends(product) - timedelta(days=30))
    run(stage, silent(), product, 100)  # the gesture for the product coming on screen is over
    price = scene.catalog.format_price(product.promo.price) if product.promo else ""
    states = run(stage, saying(f"Down to {price} today!", turn=9), product, 25, t0=4.0)
    assert states[-1].expression.smile == 1.0
    assert max(s.expression.gesture for s in states) >= 1.0, "she points at the card with the price"
    plain = run(stage, saying("It holds thirty litres.", turn=10), product, 25, t0=5.0)
    assert plain[-1].expression.smile == 0.0


def test_promo_lines_are_recognised_by_price_or_label(scene: Scene) -> None:
    product = backpack(scene)
    before_end = ends(product) - timedelta(hours=1)
    assert is_promo_line("Our Trail Season Deal is on!", product, scene, before_end)
    assert is_promo_line("Now $74 instead of $89.", product, scene, before_end)
    assert not is_promo_line("Normally $89.", product, scene, before_end)
    assert not is_promo_line("Now $74!", product, scene, ends(product) + timedelta(seconds=1)), (
        "the promo is over"
    )
    assert not is_promo_line("Now $74!", lamp(scene), scene, before_end), "the lamp has no promo"


def test_flash_sale_countdown_near_the_end_of_a_promotion(scene: Scene) -> None:
    product = backpack(scene)
    end = ends(product)
    assert flash_sale_seconds(product, end - timedelta(hours=3)) == pytest.approx(3 * 3600)
    assert flash_sale_seconds(product, end - timedelta(seconds=FLASH_SALE_WINDOW_S + 60)) is None, (
        "too far off"
    )
    assert flash_sale_seconds(product, end + timedelta(seconds=1)) is None, "over"
    assert flash_sale_seconds(lamp(scene), end) is None
    now = [end - timedelta(minutes=10)]
    stage = Stage(scene, Animator(), wall_clock=lambda: now[0])
    assert stage.frame(1.0, silent(), product, None).countdown_s == pytest.approx(600)
    now[0] += timedelta(seconds=1)
    assert stage.frame(1.04, silent(), product, None).countdown_s == pytest.approx(599)


def test_ticker_keeps_the_last_few_comments(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    p = lamp(scene)
    assert stage.frame(1.0, silent(), p, None).ticker == ()
    stage.comment("Ana", "is it   dimmable?")
    first = stage.frame(2.0, silent(), p, None)
    assert first.ticker == ("Ana: is it dimmable?",) and first.ticker_since == 2.0
    assert stage.frame(2.5, silent(), p, None).ticker_since == 2.0, "unchanged ticker: the crawl goes on"
    for i in range(10):
        stage.comment(f"v{i}", "x" * 500)
    last = stage.frame(3.0, silent(), p, None)
    assert len(last.ticker) == TICKER_COMMENTS and last.ticker[-1].startswith("v9: ")
    assert all(len(item) < 130 for item in last.ticker) and last.ticker_since == 3.0


def test_coupon_and_title_come_from_the_scene(scene: Scene) -> None:
    themed = Scene(**{**scene.__dict__, "theme": {**scene.theme, "coupon": "  Code   LIVE10 "}})
    state = Stage(themed, Animator()).frame(1.0, silent(), None, None)
    assert state.coupon == "Code LIVE10"
    assert state.title == f"{scene.persona.name} · {scene.name}"
    assert state.countdown_s is None and state.product is None


def test_wall_clock_is_read_in_utc_by_default(scene: Scene) -> None:
    stage = Stage(scene, Animator())
    assert stage.wall_clock().tzinfo is UTC
