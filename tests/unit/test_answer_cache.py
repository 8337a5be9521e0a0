"""Answers ready before they are asked: the answer cache's bounds and invalidation, the preparer's
yielding to live work, and a live show that answers from the cache and never says a stale price.

Fake voices only (tests/fakes.py): the real voice is in tests/engines/test_answer_cache_voice.py.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avatar.answer_cache import AnswerCache, PreparedLine
from avatar.brain.answerer import Answer
from avatar.brain.brain import Brain
from avatar.brain.catalog import Product, Promo
from avatar.brain.scene import Scene, load_scene
from avatar.config import Settings
from avatar.engines.tts.base import TimedSpeech
from avatar.engines.tts.text import normalise_for_speech, split_sentences
from avatar.media.audio import Pcm
from avatar.media.playout import Played, Playout
from avatar.modes.live import LiveShow
from avatar.modes.prepare import AnswerPreparer, Subject, common_questions
from avatar.speaker import Speaker, line_pieces
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, pumping, wait_until


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


def line(text: str, nbytes: int, voice: str = "v") -> PreparedLine:
    return PreparedLine(voice, text, ((text, TimedSpeech(np.zeros(nbytes // 2, dtype=np.int16))),))


# -- the cache -------------------------------------------------------------------------------------


def test_the_cache_is_bounded_by_entries_and_by_bytes_least_recently_used_out_first() -> None:
    cache = AnswerCache(max_entries=3, max_bytes=1_000)
    for name in "abc":
        assert cache.put(line(name, 200), cache.generation)
    assert cache.get("v", "a") is not None  # "a" used: "b" is now the oldest
    assert cache.put(line("d", 200), cache.generation)
    assert [entry.text for entry in cache] == ["c", "a", "d"] and cache.evictions == 1
    assert cache.put(line("e", 700), cache.generation)  # 200 * 3 + 700 > 1000: two more go
    assert [entry.text for entry in cache] == ["d", "e"] and cache.nbytes == 900
    assert not cache.put(line("huge", 2_000), cache.generation), "a line over the whole cap is refused"
    assert cache.nbytes == 900 and len(cache) == 2
    assert cache.get("other-voice", "d") is None, "keyed by voice as well as by text"


def test_invalidation_empties_the_cache_and_refuses_work_begun_before_it() -> None:
    cache = AnswerCache()
    begun = cache.generation
    assert cache.put(line("The lamp is $39.99.", 100), begun)
    cache.invalidate("price changed")
    assert len(cache) == 0 and cache.nbytes == 0 and cache.get("v", "The lamp is $39.99.") is None
    # A synthesis that was in flight during the change finishes afterwards: it is not kept.
    assert not cache.put(line("The lamp is $39.99.", 100), begun)
    assert cache.put(line("The lamp is $35.50.", 100), cache.generation)


# -- the preparer on a speaker -----------------------------------------------------------------------


class Prepared:
    """A speaker on a fake voice, a brain on the demo scene, and a preparer between them."""

    def __init__(self, scene: Scene, product_id: str = "lumen-lamp") -> None:
        self.engine = FakeTTSEngine(seconds_per_char=0.001)
        self.playout = Playout()
        self.speaker: Speaker = fake_speaker(self.playout, self.engine)
        self.cache = AnswerCache()
        self.speaker.answers = self.cache
        self.brain = Brain(scene)
        self.scene = scene
        self.product_id = product_id
        self.busy = False
        self.preparer = AnswerPreparer(
            self.cache,
            self.speaker,
            ask=self.ask,
            subject=lambda: Subject(self.scene.catalog.get(self.product_id), "en"),
            catalog=lambda: self.scene.catalog,
            busy=lambda: self.busy,
            sleep=lambda seconds: asyncio.sleep(0.001),
        )

    async def ask(self, question: str, product_id: str) -> Answer:
        return self.brain.respond(question, product_id)

    def product(self) -> Product:
        return self.scene.catalog.get(self.product_id)


@pytest.fixture
async def prepared(scene: Scene) -> AsyncIterator[Callable[..., Prepared]]:
    made: list[Prepared] = []

    def build(product_id: str = "lumen-lamp") -> Prepared:
        made.append(Prepared(scene, product_id))
        return made[-1]

    yield build
    for each in made:
        each.speaker.close()


async def test_the_common_answers_are_prepared_and_a_matching_question_skips_synthesis(
    prepared: Callable[..., Prepared],
) -> None:
    p = prepared()
    added = await p.preparer.prepare()
    answers = {p.brain.respond(q, p.product_id).text for q in common_questions(p.product(), "en")}
    assert added == len(answers) >= 4, "price, promo, stock, shipping and the top FAQ (some coincide)"
    assert {entry.text for entry in p.cache} == answers
    pieces = [normalise_for_speech(piece) for text in answers for piece in line_pieces(text)]
    assert sorted(p.engine.finished) == sorted(pieces), "each piece synthesised once, as say() cuts it"
    assert p.preparer.ready(p.product_id) and await p.preparer.prepare() == 0, "done once per data"
    # A viewer's wording differs; the brain's answer is the same words: played from the cache.
    answer = p.brain.respond("what does it cost?", p.product_id, viewer="ann", at=1.0)
    assert answer.text in answers
    calls = len(p.engine.calls)
    async with pumping(p.playout):
        result = await p.speaker.say(answer.text)
    assert result.prepared and p.cache.hits == 1
    assert len(p.engine.calls) == calls, "no synthesis for a prepared answer"
    assert all(report.completed for report in result.played)
    # Any other line is synthesised as before.
    async with pumping(p.playout):
        other = await p.speaker.say("Something nobody asked about.")
    assert not other.prepared and p.engine.calls[-1] == "Something nobody asked about."


async def test_a_prepared_answer_does_not_wait_for_the_synthesis_of_the_line_it_cut(
    prepared: Callable[..., Prepared],
) -> None:
    p = prepared()
    await p.preparer.prepare()
    answer = p.brain.respond("how much is it?", p.product_id)
    p.engine.delay_s = 0.6  # a slow voice: the script's next sentence is still being made
    on_air: list[bool] = []  # per piece queued: was that synthesis still running?
    enqueue = p.playout.enqueue

    def record(pcm: Pcm, **kwargs: Any) -> asyncio.Future[Played]:
        on_air.append(p.engine.in_flight.is_set())
        return enqueue(pcm, **kwargs)

    p.playout.enqueue = record  # type: ignore[method-assign]
    async with pumping(p.playout):
        script = asyncio.create_task(p.speaker.say("A scripted line that nobody will hear."))
        await wait_until(p.engine.in_flight.is_set, 2.0, "the scripted line's synthesis")
        p.speaker.interrupt()  # a viewer's comment
        cut = await asyncio.wait_for(script, 0.5)
        assert cut.interrupted and cut.played == ()
        result = await p.speaker.say(answer.text)
    assert result.prepared and on_air and all(on_air), "on air while the cut line was still synthesised"


async def test_preparation_waits_while_live_work_has_the_voice(prepared: Callable[..., Prepared]) -> None:
    p = prepared()
    p.busy = True  # a viewer is waiting or an answer is spoken
    task = asyncio.create_task(p.preparer.prepare())
    await asyncio.sleep(0.05)
    assert not task.done() and p.engine.calls == [], "nothing synthesised while live work runs"
    p.busy = False
    assert await task > 0 and p.engine.calls


async def test_a_change_during_preparation_throws_its_work_away(prepared: Callable[..., Prepared]) -> None:
    p = prepared()
    p.engine.delay_s = 0.02
    task = asyncio.create_task(p.preparer.prepare())
    await wait_until(lambda: p.engine.calls, 2.0, "the first piece in synthesis")
    p.cache.invalidate("catalog reloaded")
    await task
    assert len(p.cache) == 0 and not p.preparer.ready(p.product_id), "nothing kept from the old data"
    assert await p.preparer.prepare() > 0 and p.preparer.ready(p.product_id), "planned again"


async def test_a_promo_that_starts_or_ends_empties_the_cache(
    prepared: Callable[..., Prepared], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = prepared("aurora-buds")
    await p.preparer.prepare()
    assert len(p.cache) > 0
    monkeypatch.setattr(Promo, "active", lambda self, now=None: False)  # the launch deal ended
    await p.preparer.prepare()
    assert p.cache.invalidations == 1
    assert p.preparer.ready("aurora-buds") and any("$49.99" in entry.text for entry in p.cache)
    assert all("$39.99" not in entry.text for entry in p.cache), "no line quotes the ended deal"


# -- the live show ---------------------------------------------------------------------------------

PROMO_PRICE = "\n      price: 39.99\n"  # the Aurora Buds' launch deal in the demo's products.yaml


async def test_the_live_show_answers_from_the_cache_and_never_says_a_stale_price(tmp_path: Path) -> None:
    root = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, root)
    engine = FakeTTSEngine(seconds_per_char=0.0005, delay_s=0.002)
    show = LiveShow(load_scene(root), Settings(scene=root), speaker=fake_speaker(Playout(), engine))
    queued: list[tuple[int, str, Pcm]] = []  # (turn, sentence, audio) of every piece put on air
    enqueue = show.playout.enqueue

    def record(pcm: Pcm, **kwargs: Any) -> asyncio.Future[Played]:
        queued.append((kwargs["turn_id"], kwargs["text"], pcm))
        return enqueue(pcm, **kwargs)

    show.playout.enqueue = record  # type: ignore[method-assign]
    answered: list[str] = []
    report = show.ops.answered

    def note(comment: Any, answer: Answer, *args: Any, **kwargs: Any) -> None:
        answered.append(answer.text)
        report(comment, answer, *args, **kwargs)

    show.ops.answered = note  # type: ignore[method-assign]
    voice = show.speaker.voice_for("en").spec.name

    async def ask(text: str) -> tuple[str, list[Pcm]]:
        """The words of the answer spoken, and the audio put on air for it."""
        count = len(answered)
        show.submit_comment(f"viewer-{count}", "Ann", text)
        await wait_until(lambda: len(answered) > count, 5.0, "the answer")
        said = answered[count]
        sentences = split_sentences(said)
        turn = max(t for t, sentence, _ in queued if sentence in sentences)
        return said, [pcm for t, _, pcm in queued if t == turn]

    def ids(pieces: tuple[tuple[str, TimedSpeech], ...]) -> list[int]:
        return [id(speech.pcm) for _, speech in pieces]

    await show.start()
    try:
        assert show.product_id == "aurora-buds"
        await wait_until(lambda: show.preparer.ready("aurora-buds"), 5.0, "the answers prepared")
        text, audio = await ask("how much is it?")
        assert "$39.99" in text
        cached = show.answers.get(voice, text)
        assert cached is not None and show.answers.hits == 1
        assert [id(pcm) for pcm in audio] == ids(cached.pieces), "the prepared audio went on air"
        # The deal's price changes while its answer is cached: the cache is emptied at the swap,
        # and the question asked at once is answered with the new price, synthesised afresh.
        products = root / "products.yaml"
        products.write_text(products.read_text().replace(PROMO_PRICE, "\n      price: 34.99\n"))
        show.use_scene(load_scene(root))
        assert len(show.answers) == 0
        stale = set(ids(cached.pieces))
        text, audio = await ask("how much is it?")
        assert "$34.99" in text and "$39.99" not in text
        assert not any(id(pcm) in stale for pcm in audio), "no audio of the old line is played"
        assert show.answers.hits == 1
        # Prepared again from the new data: the next asker hears the new line from the cache.
        await wait_until(lambda: show.preparer.ready("aurora-buds"), 5.0, "the answers prepared again")
        fresh = show.answers.get(voice, text)
        assert fresh is not None and all("$39.99" not in entry.text for entry in show.answers)
        text_again, audio = await ask("what does it cost?")
        assert text_again == text and show.answers.hits == 2
        assert [id(pcm) for pcm in audio] == ids(fresh.pieces)
    finally:
        await show.stop()
