"""Promotions, Q&A checkpoints, greetings and idle talk, on a driven clock; scene hot reload."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.director import Director
from avatar.brain.promotions import Kind, Promotion, PromotionSchedule
from avatar.brain.reload import SceneReloader
from avatar.brain.scene import Scene, load_scene
from avatar.brain.show import RunOfShow
from avatar.errors import DataError
from avatar.media.clock import ManualClock
from avatar.modes.stage import Stage
from avatar.render.animator import Animator
from tests.fakes import DEMO_SCENE

WALL = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def demo_with(tmp_path: Path, extra_yaml: str = "") -> Path:
    """A copy of the demo scene with ``extra_yaml`` appended to scene.yaml."""
    root = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, root)
    if extra_yaml:
        with (root / "scene.yaml").open("a", encoding="utf-8") as file:
            file.write("\n" + extra_yaml)
    return root


PROMOS = """promotions:
  - {kind: coupon, code: LIVE10, banner: "Code LIVE10 at checkout", at_s: 10, duration_s: 30, every_s: 100}
  - {kind: flash_sale, product: kiln-pourover, at_s: 20, duration_s: 60}
  - {kind: low_stock, product: lumen-lamp, at_s: 5}
  - {kind: low_stock, product: summit-bottle, at_s: 6}
"""


@pytest.fixture
def promo_scene(tmp_path: Path) -> Scene:
    return load_scene(demo_with(tmp_path, PROMOS))


def director_for(scene: Scene, stage: Stage | None = None, **options: float) -> Director:
    director = Director(scene, ComplianceChecker.for_scene(scene), started_at=0.0, stage=stage, **options)
    director.start(0.0)
    return director


def test_promotions_are_read_and_checked(tmp_path: Path, promo_scene: Scene) -> None:
    kinds = [p.kind for p in promo_scene.promotions]
    assert kinds == [Kind.COUPON, Kind.FLASH_SALE, Kind.LOW_STOCK, Kind.LOW_STOCK]
    bad = demo_with(
        tmp_path / "bad", "promotions:\n  - {kind: flash_sale, product: summit-bottle, at_s: 5}\n"
    )
    with pytest.raises(DataError, match=r"promotions\[0\]\.product: 'summit-bottle' has no promo"):
        load_scene(bad)
    typo = demo_with(tmp_path / "typo", "promotions:\n  - {kind: coupon, at_s: 5}\n")
    with pytest.raises(DataError, match=r"promotions\[0\]\.code: a coupon needs a code"):
        load_scene(typo)


def test_schedule_starts_ends_and_repeats_once_each() -> None:
    coupon = Promotion(Kind.COUPON, at_s=10, duration_s=30, every_s=100, code="X")
    schedule = PromotionSchedule((coupon,))
    assert schedule.update(5) == []
    started = schedule.update(10)
    assert [(c.started, c.occurrence) for c in started] == [(True, 0)]
    assert schedule.update(11) == []
    assert [(c.started, c.occurrence) for c in schedule.update(40)] == [(False, 0)]
    assert [(c.started, c.occurrence) for c in schedule.update(110)] == [(True, 1)]
    # A whole run missed (the show was stalled) is not announced late.
    assert [(c.started, c.occurrence) for c in schedule.update(245)] == [(False, 1)]


async def test_promotions_drive_the_stage_and_are_announced_with_catalog_facts(promo_scene: Scene) -> None:
    clock = ManualClock()
    stage = Stage(promo_scene, Animator(), wall_clock=lambda: WALL + timedelta(seconds=clock.now()))
    director = director_for(promo_scene, stage)
    show = RunOfShow(promo_scene)
    catalog = promo_scene.catalog
    said: list[str] = []

    async def tick_to(t: float) -> None:
        await clock.advance(t - clock.now())
        director.tick(clock.now(), stage.wall_clock())
        while (extra := director.next_extra(clock.now(), True, show)) is not None:
            if extra.kind == "promotion":
                said.append(extra.text)

    await tick_to(5)
    lamp = catalog.get("lumen-lamp")
    assert said == [f"Only {lamp.stock} left of the Lumen LED Desk Lamp, be quick!"]
    await tick_to(6)  # the bottle has 340 in stock: "only N left" would be a lie, nothing is said
    assert len(said) == 1
    await tick_to(10)
    assert stage.coupon == "Code LIVE10 at checkout"
    assert said[-1] == "Coupon drop! Use code LIVE10 at checkout while it's on screen."
    await tick_to(20)
    kiln = catalog.get("kiln-pourover")
    assert kiln.promo is not None
    promo_price = catalog.format_price(kiln.promo.price)
    assert said[-1] == (
        f"Flash sale! The {kiln.name('en')} is {promo_price} instead of {catalog.format_price(kiln.price)}"
        " until the countdown ends!"
    )
    frame_kiln = stage._countdown(kiln, stage.wall_clock())
    assert frame_kiln == pytest.approx(60.0)
    await tick_to(50)
    assert stage._countdown(kiln, stage.wall_clock()) == pytest.approx(30.0)
    assert stage.coupon == ""  # the drop ended: back to the theme's banner (none in the demo)
    await tick_to(80)
    assert stage.flash_sale is None
    assert stage._countdown(kiln, stage.wall_clock()) is None


async def test_extra_talk_never_goes_before_a_waiting_question(promo_scene: Scene) -> None:
    director = director_for(promo_scene, idle_after_s=1, idle_every_s=1)
    show = RunOfShow(promo_scene)
    director.tick(5.0)
    director.viewer_joined("Ann", 5.0)
    assert director.next_extra(100.0, False, show) is None  # a comment is waiting: nothing extra
    assert director.next_extra(100.0, True, show) is not None


async def test_idle_talk_waits_for_quiet_chat_and_is_rate_limited(promo_scene: Scene) -> None:
    director = director_for(promo_scene, idle_after_s=30, idle_every_s=60)
    show = RunOfShow(promo_scene)
    assert director.next_extra(10.0, True, show) is None  # the show just started
    director.comment_seen(20.0)
    assert director.next_extra(45.0, True, show) is None  # quiet for 25 s only
    first = director.next_extra(61.0, True, show)
    assert first is not None and first.kind == "idle"
    assert director.next_extra(90.0, True, show) is None  # one idle line a minute at most
    second = director.next_extra(121.0, True, show)
    assert second is not None and second.kind == "idle" and second.text != first.text


async def test_new_viewers_are_greeted_by_name_when_chat_is_quiet_rate_limited(promo_scene: Scene) -> None:
    director = director_for(promo_scene, idle_after_s=1000, greet_every_s=20)
    show = RunOfShow(promo_scene)
    director.comment_seen(8.0)
    director.viewer_joined("Ann", 9.0)
    director.viewer_joined("Bo", 9.5)
    assert director.next_extra(10.0, True, show) is None  # chat busy 2 s ago
    greeting = director.next_extra(14.0, True, show)
    assert greeting is not None and greeting.text == "Welcome, Ann and Bo! Great to have you here."
    director.viewer_joined("Cy", 15.0)
    assert director.next_extra(20.0, True, show) is None  # one greeting per 20 s
    later = director.next_extra(34.0, True, show)
    assert later is not None and later.text == "Welcome, Cy! Great to have you here."
    director.viewer_joined("Dee", 40.0)
    assert director.next_extra(200.0, True, show) is None  # not greeted within a minute: dropped


async def test_a_checkpoint_invites_questions_after_each_segment(promo_scene: Scene) -> None:
    director = director_for(promo_scene, idle_after_s=1e9)
    show = RunOfShow(promo_scene)
    first = promo_scene.segments[0]
    for _ in first.lines["en"]:
        assert director.next_extra(1.0, True, show) is None
        show.next_line()
    checkpoint = director.next_extra(1.0, True, show)
    assert checkpoint is not None and checkpoint.kind == "checkpoint"
    assert checkpoint.text == "Any questions about the Aurora Buds? Ask me now in the chat!"
    assert director.next_extra(1.0, True, show) is None  # once per segment
    assert show.next_line().product_id == promo_scene.segments[1].product_id


# -- hot reload --------------------------------------------------------------------------------


LAMP_PRICE = "price: 39.99\n    stock: 8\n"


def _touch_later(path: Path, text: str) -> None:
    assert text != path.read_text(encoding="utf-8"), "the edit must change the file"
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:  # a coarse filesystem clock: make the change visible
        import os

        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_a_price_edit_is_picked_up_on_the_next_poll(tmp_path: Path) -> None:
    root = demo_with(tmp_path)
    reloader = SceneReloader(load_scene(root), interval_s=2.0, start=0.0)
    products = root / "products.yaml"
    _touch_later(
        products,
        products.read_text(encoding="utf-8").replace(LAMP_PRICE, LAMP_PRICE.replace("39.99", "35.5")),
    )
    assert reloader.poll(1.0) is None  # not time to look yet
    scene = reloader.poll(2.0)
    assert scene is not None
    assert str(scene.catalog.get("lumen-lamp").price) == "35.5"
    assert reloader.poll(4.0) is None  # nothing changed since


def test_a_broken_edit_is_logged_with_file_and_field_and_the_old_scene_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = demo_with(tmp_path)
    reloader = SceneReloader(load_scene(root), interval_s=2.0, start=0.0)
    products = root / "products.yaml"
    _touch_later(
        products, products.read_text(encoding="utf-8").replace(LAMP_PRICE, LAMP_PRICE.replace("39.99", "-3"))
    )
    with caplog.at_level(logging.ERROR, logger="avatar.brain.reload"):
        assert reloader.poll(2.0) is None
    assert reloader.failures == 1 and reloader.last_error is not None
    assert "products.yaml" in reloader.last_error and "price: must not be negative" in reloader.last_error
    assert any("products.yaml" in r.getMessage() for r in caplog.records)


async def test_live_show_reloads_the_catalog_without_restarting(tmp_path: Path) -> None:
    from avatar.config import Settings
    from avatar.media.playout import Playout
    from avatar.modes.live import LiveShow
    from tests.fakes import FakeTTSEngine, fake_speaker

    root = demo_with(tmp_path)
    scene = load_scene(root)
    clock = ManualClock()
    show = LiveShow(
        scene,
        Settings(scene=root),
        clock=clock,
        speaker=fake_speaker(Playout(), FakeTTSEngine(seconds_per_char=0.001)),
    )
    show.director.start(0.0)
    show.reloader = SceneReloader(scene, start=0.0)
    products = root / "products.yaml"
    _touch_later(
        products,
        products.read_text(encoding="utf-8").replace(LAMP_PRICE, LAMP_PRICE.replace("39.99", "35.5")),
    )
    new = show.reloader.poll(2.0)
    assert new is not None
    show.use_scene(new)
    answer = show.answerer.answer("how much is the desk lamp?", "lumen-lamp")
    assert answer.text == "You can get the Lumen LED Desk Lamp for $35.50."
    # The fact lock follows the new catalog: the old price is now a wrong number.
    assert show.answerer.compliance.check("The lamp is $39.99.", "en", "lumen-lamp").blocked
    await show.stop()
