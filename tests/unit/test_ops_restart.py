"""Restart without losing the show: product, script position and waiting questions come back from
SQLite, and the resumed host does not greet again."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar.brain.scene import Scene, load_scene
from avatar.events import Caption, Event
from avatar.ops.store import Store
from tests.driven import driven_show
from tests.fakes import DEMO_SCENE


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


async def test_a_restarted_show_resumes_product_position_and_queue(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "show.sqlite3"
    first = driven_show(scene, store=Store(path))
    show = first.show
    await show.start()
    await first.advance(2.0)
    target = scene.segments[-1].product_id
    show.ops.control.switch_product(target)
    for _ in range(50):  # the fake voice is fast: pause while the new segment is on air
        await first.advance(0.02)
        if show.product_id == target:
            break
    assert show.product_id == target
    show.ops.control.set_paused(True)  # questions wait, so they are still queued at shutdown
    await first.advance(0.5)
    assert show.product_id == target
    for viewer, text in [("a", "is the bottle in stock?"), ("b", "how heavy is the backpack?")]:
        assert show.submit_comment(viewer, viewer, text).value == "accepted"
    waiting = [c.text for c in show.comments.waiting()]
    position = show.ops.snapshot()["position"]
    await show.stop()

    second = driven_show(scene, store=Store(path))
    resumed = second.show
    captions: list[str] = []
    publish = resumed.bus.publish

    def record(event: Event) -> None:
        if isinstance(event, Caption):
            captions.append(event.text)
        publish(event)

    resumed.bus.publish = record  # type: ignore[method-assign]
    await resumed.start()
    try:
        assert resumed.ops.resumed
        assert resumed.product_id == target
        assert [c.text for c in resumed.comments.waiting()] == waiting
        assert list(resumed.run_of_show.position) == position
        assert resumed.ops.control.paused, "a paused show stays paused for the operator to resume"
        resumed.ops.control.set_paused(False)
        await second.advance(3.0)
        greeting = scene.persona.greeting[scene.language]
        assert captions and not any(c in greeting for c in captions), "no second greeting"
    finally:
        await resumed.stop()


async def test_unusable_saved_state_starts_from_the_top(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "show.sqlite3"
    store = Store(path)
    store.save_state("show", {"position": ["x", None], "queue": "nonsense"})
    driven = driven_show(scene, store=store)
    await driven.show.start()
    try:
        assert not driven.show.ops.resumed
        assert driven.show.run_of_show.position == (0, 0) or driven.show.run_of_show.position[0] == 0
        await driven.advance(1.0)
        assert driven.show.programme.stats.frames >= 24
    finally:
        await driven.show.stop()
