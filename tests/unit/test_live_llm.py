"""The live show with a scripted LLM: viewers hear the model's wording only when it is catalog-true."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.meaning import MeaningCheck
from avatar.brain.phrasing import Phraser
from avatar.brain.scene import Scene, load_scene
from avatar.config import Settings
from avatar.engines.tts.text import split_sentences
from avatar.events import Caption, Event
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until
from tests.fakes_llm import FakeLLM, WordEmbedder


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture(autouse=True)
def scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Scripts written by the fake model must not land in the real cache.
    monkeypatch.setenv("AVATAR_CACHE", str(tmp_path))


@pytest.fixture
async def make_show(scene: Scene) -> AsyncIterator[Callable[[FakeLLM], tuple[LiveShow, list[str]]]]:
    shows: list[LiveShow] = []

    def build(engine: FakeLLM) -> tuple[LiveShow, list[str]]:
        answerer = Answerer(scene)
        # Bag-of-words meaning check: loads at once (the real embeddings are tested elsewhere).
        meaning = MeaningCheck(scene.catalog, WordEmbedder(), threshold=0.6, extra_names=("Mia",))
        phraser = Phraser(engine, answerer.compliance, persona="Mia", meaning=meaning)
        show = LiveShow(
            scene,
            Settings(scene=DEMO_SCENE),
            speaker=fake_speaker(Playout(), FakeTTSEngine(seconds_per_char=0.002, delay_s=0.002)),
            phraser=phraser,
        )
        shows.append(show)
        captions: list[str] = []
        publish = show.bus.publish

        def record(event: Event) -> None:
            if isinstance(event, Caption):
                captions.append(event.text)
            publish(event)

        show.bus.publish = record  # type: ignore[method-assign]
        return show, captions

    yield build
    for show in shows:
        await show.stop()


async def ask(show: LiveShow, captions: list[str], question: str) -> list[str]:
    # Generous limits: these check what is heard, not how fast (the first answer of a fresh
    # process loads jieba and the name tables; a loaded machine took over 1.5 s for it).
    await wait_until(lambda: show.phraser.ready, 10.0, "the model to load")
    await wait_until(lambda: len(captions) >= 1, 10.0, "the greeting")
    show.submit_comment("v1", "Ann", question)
    await wait_until(lambda: show.last_phrased is not None, 10.0, "the answer")
    phrased = show.last_phrased
    assert phrased is not None
    expected = split_sentences(phrased.answer.text)
    await wait_until(lambda: all(s in captions for s in expected), 10.0, "the answer to be heard")
    return expected


async def test_a_faithful_wording_is_what_viewers_hear(
    make_show: Callable[[FakeLLM], tuple[LiveShow, list[str]]],
) -> None:
    show, captions = make_show(FakeLLM("Sure! The Lumen LED Desk Lamp is yours for $39.99."))
    await show.start()
    heard = await ask(show, captions, "How much is the desk lamp?")
    assert heard == split_sentences("Sure! The Lumen LED Desk Lamp is yours for $39.99.")
    assert show.last_phrased is not None and show.last_phrased.by == "llm"


async def test_an_invented_price_is_never_heard(
    make_show: Callable[[FakeLLM], tuple[LiveShow, list[str]]],
) -> None:
    show, captions = make_show(FakeLLM("The Lumen LED Desk Lamp is only $9.99 today!"))
    await show.start()
    heard = await ask(show, captions, "How much is the desk lamp?")
    assert heard == ["You can get the Lumen LED Desk Lamp for $39.99."]
    assert not any("9.99 today" in c for c in captions)
    assert show.last_phrased is not None and show.last_phrased.fallback is not None
    assert show.last_phrased.fallback.startswith("fact lock: number not in the answer: 9.99")


async def test_a_served_model_answer_is_spoken_sentence_by_sentence_as_checked(
    make_show: Callable[[FakeLLM], tuple[LiveShow, list[str]]],
) -> None:
    # A two-sentence plan; the model's second sentence adds a promise and is replaced by the plan's.
    reply = "Free shipping in 1 to 2 business days! Returns are free for a whole year, no questions."
    show, captions = make_show(FakeLLM(reply))
    await show.start()
    heard = await ask(show, captions, "what about shipping?")
    phrased = show.last_phrased
    assert phrased is not None and phrased.by == "llm" and show.phraser.whole_answers
    assert heard[0] == "Free shipping in 1 to 2 business days!"
    assert "a whole year" not in " ".join(captions)
    assert phrased.fallback is not None
