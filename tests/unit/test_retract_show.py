"""A spoken question taken back by its listener (the speaker went on after an early end): it leaves
the queue, or its answer stops at once (fake voices, real loop)."""

from __future__ import annotations

from collections.abc import Callable

from avatar.brain.scene import Scene
from tests.fakes import FakeTTSEngine, wait_until
from tests.unit.test_live_show import Running, make_show, price_of, scene  # noqa: F401

HALF = "How much is the desk lamp?"


async def test_a_waiting_half_question_leaves_the_queue(make_show: Callable[..., Running]) -> None:  # noqa: F811
    show = make_show().show
    show.submit_comment("v1", "ann", HALF)
    show.submit_comment("v2", "bob", HALF + " Really?")
    assert not show.retract_spoken("v2", HALF)  # another viewer's words are not theirs to take back
    assert show.retract_spoken("v1", HALF)
    assert [c.viewer_id for c in show.comments.waiting()] == ["v2"] and show.retracted == 1


async def test_the_answer_to_a_half_question_stops_at_once(
    scene: Scene,  # noqa: F811
    make_show: Callable[..., Running],  # noqa: F811
) -> None:
    running = make_show(engine=FakeTTSEngine(seconds_per_char=0.02, delay_s=0.005))  # long answers
    show = running.show
    await show.start()
    mark = len(running.events)
    show.submit_comment("v1", "ann", HALF)
    lamp = price_of(scene, "lumen-lamp")
    await wait_until(lambda: any(lamp in t for t in running.caption_texts(mark)), 5, "the answer to start")
    turn = running.playing.turn_id
    assert turn is not None
    assert show.retract_spoken("v1", HALF)
    await wait_until(lambda: any(h.turn_id == turn for h in show.history), 1, "the answer to stop")
    answer = next(h for h in show.history if h.turn_id == turn)
    assert answer.interrupted and len(answer.text) < len(answer.full_text)
    assert not show.retract_spoken("v1", HALF)  # nothing left to take back
