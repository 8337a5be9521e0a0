"""The live show with fake voices on the real loop clock: what viewers see and hear as chat arrives.

The fake voice hums a few milliseconds per character, so a whole exchange (script, question,
answer, back to the script) takes well under two seconds while every part of the real show runs:
programme pump, playout, speaker, run of show, answerer, renderer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.scene import Scene, load_scene
from avatar.brain.script import script_lines
from avatar.brain.triage import RATE_BURST, Verdict
from avatar.config import Settings
from avatar.engines.tts.text import split_sentences
from avatar.events import Caption, ChatPosted, Event, Notice, ProductShown
from avatar.media.playout import NowPlaying, Playout
from avatar.modes.live import LiveShow
from avatar.modes.stage import cut_caption
from avatar.render.frame import FrameState
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@dataclass
class Running:
    """A started show, the fake engine behind its voice, and every event it published."""

    show: LiveShow
    engine: FakeTTSEngine
    events: list[Event] = field(default_factory=list)

    def captions(self) -> list[Caption]:
        return [e for e in self.events if isinstance(e, Caption)]

    def caption_texts(self, after: int = 0) -> list[str]:
        """Captions published after the first ``after`` events."""
        return [e.text for e in self.events[after:] if isinstance(e, Caption)]

    @property
    def playing(self) -> NowPlaying:
        return self.show.playout.now_playing


@pytest.fixture
async def make_show(scene: Scene) -> AsyncIterator[Callable[..., Running]]:
    """Builds shows on fake voices; every show built is stopped after the test."""
    shows: list[LiveShow] = []

    def build(settings: Settings | None = None, engine: FakeTTSEngine | None = None) -> Running:
        engine = engine or FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005)
        show = LiveShow(
            scene, settings or Settings(scene=DEMO_SCENE), speaker=fake_speaker(Playout(), engine)
        )
        shows.append(show)
        running = Running(show, engine)
        publish = show.bus.publish

        def record(event: Event) -> None:
            # Noted as it is published (a subscriber queue would lag a loop turn behind the playhead).
            running.events.append(event)
            publish(event)

        show.bus.publish = record  # type: ignore[method-assign]
        return running

    yield build
    for show in shows:
        await show.stop()


def first_line_sentences(scene: Scene) -> list[str]:
    return split_sentences(script_lines(scene, scene.segments[0], scene.language)[0])


def price_of(scene: Scene, product_id: str) -> str:
    catalog = scene.catalog
    return catalog.format_price(catalog.get(product_id).current_price())


async def test_greeting_then_the_script_in_order(scene: Scene, make_show: Callable[..., Running]) -> None:
    running = make_show()
    await running.show.start()
    lines = script_lines(scene, scene.segments[0], scene.language)
    expected = [
        *split_sentences(scene.persona.greeting[scene.language]),
        *split_sentences(lines[0]),
        *split_sentences(lines[1]),
    ]
    await wait_until(lambda: len(running.captions()) >= len(expected), 1.5, "greeting and two lines")
    assert running.caption_texts()[: len(expected)] == expected


async def test_a_question_interrupts_the_script_and_the_answer_has_the_catalog_price(
    scene: Scene, make_show: Callable[..., Running]
) -> None:
    running = make_show()
    show = running.show
    await show.start()
    sentences = first_line_sentences(scene)
    assert len(sentences) >= 2
    await wait_until(
        lambda: running.playing.text == sentences[1] and running.playing.seconds_into >= 0.03,
        1.5,
        "the second sentence of the first scripted line",
    )
    scripted_turn = running.playing.turn_id
    mark = len(running.events)
    question = "How much is the desk lamp?"
    asked_into = running.playing.seconds_into
    last_into = [asked_into]

    def script_stopped() -> bool:
        if running.playing.turn_id == scripted_turn:
            last_into.append(running.playing.seconds_into)
            return False
        return True

    assert show.submit_comment("v1", "Ann", question) is Verdict.ACCEPTED
    await wait_until(script_stopped, 0.5, "the scripted line to stop")
    # Measured in the line's own audio, not wall-clock time: a few 20 ms chunks, not the rest of a
    # sentence that lasts seconds (a loaded machine delays both alike).
    assert max(last_into) - asked_into < 0.5, "the host stops talking within a few chunks"

    answer = Answerer(scene).answer(question, scene.segments[0].product_id)
    answer_sentences = split_sentences(answer.text)
    await wait_until(
        lambda: any(h.turn_id == scripted_turn for h in show.history), 1, "the cut line's record"
    )
    heard = next(h.text for h in show.history if h.turn_id == scripted_turn)
    assert sentences[1] not in heard, "the second sentence was cut part-way"
    # The cut sentence's caption is cut back to the words heard; then the answer; then the script.
    expected = [cut_caption(heard.removeprefix(sentences[0]).strip()), *answer_sentences, sentences[1]]
    await wait_until(lambda: len(running.caption_texts(mark)) >= len(expected), 1.5, "answer then script")
    captions = running.caption_texts(mark)
    assert captions[: len(expected)] == expected, "the answer, then the script from the cut sentence"
    lamp_price = price_of(scene, "lumen-lamp")
    assert lamp_price in " ".join(answer_sentences)
    answer_turns = {e.turn_id for e in running.events[mark:] if isinstance(e, Caption)} - {scripted_turn}
    assert scripted_turn is not None and min(answer_turns) > scripted_turn
    assert ChatPosted("v1", "Ann", question) in running.events[mark:]
    shown = [e.product_id for e in running.events[mark:] if isinstance(e, ProductShown)]
    assert shown[:2] == ["lumen-lamp", scene.segments[0].product_id], "lamp card, then back"
    timing = show.answer_timings[-1]
    assert 0 <= timing.first_audio_at - timing.received_at < 0.3


async def test_comments_are_answered_in_the_order_they_came(
    scene: Scene, make_show: Callable[..., Running]
) -> None:
    running = make_show()
    show = running.show
    await show.start()
    sentences = first_line_sentences(scene)
    await wait_until(lambda: running.playing.text in sentences, 1.5, "the first scripted line")
    scripted_turn = running.playing.turn_id
    mark = len(running.events)
    questions = [
        ("v1", "How much is the desk lamp?"),
        ("v2", "What does the water bottle cost?"),
        ("v3", "How much is the backpack?"),
    ]
    for viewer, question in questions:
        assert show.submit_comment(viewer, viewer, question) is Verdict.ACCEPTED
    answerer = Answerer(scene)
    expected: list[str] = []
    for _, question in questions:
        expected += split_sentences(answerer.answer(question, scene.segments[0].product_id).text)

    def answer_captions() -> list[str]:  # not the cut scripted line's
        return [
            e.text for e in running.events[mark:] if isinstance(e, Caption) and e.turn_id != scripted_turn
        ]

    await wait_until(lambda: len(answer_captions()) >= len(expected), 1.8, "three answers")
    captions = answer_captions()
    assert captions[: len(expected)] == expected, "answers in arrival order, none cut by the next"
    spoken = " ".join(captions[: len(expected)])
    positions = [
        spoken.index(price_of(scene, p)) for p in ("lumen-lamp", "summit-bottle", "ridgeline-backpack")
    ]
    assert positions == sorted(positions)


async def test_rate_limited_viewer_gets_a_notice_only_for_them(make_show: Callable[..., Running]) -> None:
    running = make_show()
    show = running.show
    await show.start()
    verdicts = [show.submit_comment("flooder", "F", f"is it in stock {i}?") for i in range(RATE_BURST + 1)]
    assert verdicts == [Verdict.ACCEPTED] * RATE_BURST + [Verdict.RATE_LIMITED]
    assert show.submit_comment("calm", "C", "is the bottle in stock?") is Verdict.ACCEPTED
    assert show.submit_comment("calm", "C", "   ") is Verdict.EMPTY
    await asyncio.sleep(0.01)
    notices = [e for e in running.events if isinstance(e, Notice)]
    assert [n.viewer_id for n in notices] == ["flooder", "calm"]
    assert "too fast" in notices[0].text
    posted = [e for e in running.events if isinstance(e, ChatPosted)]
    assert [p.viewer_id for p in posted] == ["flooder"] * RATE_BURST + ["calm"], (
        "refused comments aren't shown"
    )


async def test_health_reports_uptime_viewers_product_and_queue(
    scene: Scene, make_show: Callable[..., Running]
) -> None:
    running = make_show()
    show = running.show
    await show.start()
    # The greeting is never interrupted, so comments sent now wait in the queue.
    await wait_until(lambda: running.captions(), 1.0, "the greeting")
    show.submit_comment("v1", "Ann", "how much is the lamp?")
    show.submit_comment("v2", "Bo", "is the bottle in stock?")
    health = show.health()
    assert health["status"] == "ok"
    assert health["queue_depth"] == 2
    assert health["viewers"] == 0
    assert health["current_product"] == scene.segments[0].product_id
    assert isinstance(health["uptime_s"], float) and 0 <= health["uptime_s"] < 5
    subscription = show.broadcaster.subscribe()
    assert show.health()["viewers"] == 1
    show.broadcaster.unsubscribe(subscription)
    await wait_until(lambda: show.health()["queue_depth"] == 0, 1.5, "the comments to be taken up")
    assert show.health()["viewers"] == 0
    assert show.health()["programme_s"] > 0 and show.health()["frames"] > 0


@pytest.mark.parametrize(("width", "height"), [(800, 450), (540, 960)], ids=["landscape", "portrait"])
async def test_render_gives_an_i420_frame_of_the_configured_size(
    scene: Scene, make_show: Callable[..., Running], width: int, height: int
) -> None:
    running = make_show(Settings(scene=DEMO_SCENE, width=width, height=height))
    show = running.show
    seen: list[FrameState] = []
    real = show.renderer.render_i420

    def spy(state: FrameState) -> np.ndarray:
        seen.append(state)
        return real(state)

    show.renderer.render_i420 = spy  # type: ignore[method-assign]
    talking = NowPlaying(turn_id=7, text="Meet the desk lamp.", seconds_into=0.2, level=0.6, samples_played=0)
    silent = NowPlaying(turn_id=None, text="", seconds_into=0.0, level=0.0, samples_played=0)
    frame = show.render(10.0, talking)
    assert frame.shape == (height * 3 // 2, width) and frame.dtype == np.uint8
    show.render(10.5, silent)
    show.render(13.0, silent)
    assert [s.caption for s in seen] == ["Meet the desk lamp.", "Meet the desk lamp.", ""], (
        "the caption is the playing text, held briefly after the voice stops, then cleared"
    )
    assert seen[0].mouth_open > 0, "a loud chunk opens the mouth"
    product = scene.catalog.get(scene.segments[0].product_id)
    assert seen[0].product is not None
    assert seen[0].product.price_text == scene.catalog.format_price(product.price)

    # Same instant with and without a caption: the pictures differ only in the caption strip.
    without = show.render(100.0, silent)
    with_caption = show.render(100.0, NowPlaying(8, "Meet the desk lamp.", 0.1, 0.0, 0))
    changed_rows = np.flatnonzero((without[:height] != with_caption[:height]).any(axis=1))
    assert changed_rows.size > 0, "the caption is drawn"
    assert changed_rows.min() > height // 2, "low on the picture, where captions go"


async def test_on_air_captions_follow_the_playing_sentence(
    scene: Scene, make_show: Callable[..., Running]
) -> None:
    running = make_show()
    show = running.show
    seen: list[tuple[float, str]] = []
    real = show.renderer.render_i420

    def spy(state: FrameState) -> np.ndarray:
        seen.append((state.t, state.caption))
        return real(state)

    show.renderer.render_i420 = spy  # type: ignore[method-assign]
    await show.start()
    greeting = split_sentences(scene.persona.greeting[scene.language])
    first = first_line_sentences(scene)
    await wait_until(lambda: running.playing.text == first[-1], 1.5, "the first line's last sentence")
    captions = [c for _, c in seen if c]
    assert captions, "frames carried captions"
    assert set(captions) <= {*greeting, *first}, "a frame shows only what was playing"
    order = list(dict.fromkeys(captions))
    assert order == [s for s in [*greeting, *first] if s in order], "captions change in speaking order"
