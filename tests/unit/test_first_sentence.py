"""The model words the first sentence only: the cut, the fact lock on that sentence, the template
for the rest, and live answers taking the model from background script rewording.

Behaviour (see avatar.brain.phrasing): whatever the model says after its first sentence is never
spoken; the first sentence is checked alone, standing for the template's first sentence(s), and the
template's remaining sentences follow it; a first sentence that fails gives the whole template.
"""

from __future__ import annotations

import asyncio

import pytest

from avatar.brain.answerer import Answer, Answerer
from avatar.brain.phrasing import PREEMPTED, Phraser, first_sentence, template_sentences
from avatar.brain.scene import Scene, load_scene
from avatar.brain.scriptgen import ScriptWriter
from avatar.engines.llm import first_sentence_done, first_sentence_end
from avatar.engines.llm.transformers_engine import _draft
from tests.fakes import DEMO_SCENE
from tests.fakes_llm import FakeLLM, template_of

SHIPPING = "Ships free in 1 to 2 business days. Returns are free within 30 days."


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture(scope="module")
def answerer(scene: Scene) -> Answerer:
    return Answerer(scene)


async def spoken(
    answerer: Answerer, reply: str, question: str, on_screen: str = "aurora-buds"
) -> tuple[str, str, str | None, FakeLLM]:
    engine = FakeLLM(reply)
    phraser = Phraser(engine, answerer.compliance, persona="Mia")
    assert await phraser.load()
    phrased = await phraser.phrase(answerer.answer(question, on_screen))
    return phrased.answer.text, phrased.by, phrased.fallback, engine


def test_the_first_sentence_ends_at_a_real_sentence_end() -> None:
    assert first_sentence_end("It costs $39.99 today") is None, "still running"
    assert first_sentence_end("It costs $39.") is None, "a decimal point may follow: wait for a space"
    assert first_sentence_done("It costs $39.99. Only")
    # An end the next token cannot undo is seen on the token that writes it, not one token later.
    assert first_sentence_end("Only 8 left, grab one!") == 22
    assert first_sentence_end("It holds 750 ml.") == 16
    assert first_sentence_end("You can get it for $39.99.") == 26, "a price cannot go on"
    assert first_sentence_end("It ships from the U.") is None, "an initial: wait"
    assert first_sentence("It costs $39.99. And a bad $1 here.") == "It costs $39.99."
    # A short opener is not the answer: the sentence runs on.
    assert first_sentence("Hey there! The lamp is $39.99! Buy now.") == "Hey there! The lamp is $39.99!"
    assert first_sentence("这款台灯售价三十九元。还有八台。") == "这款台灯售价三十九元。"
    assert first_sentence("Reworded answer: Only 8 left!") == "Only 8 left!"


def test_template_sentences_keep_decimals_together() -> None:
    assert template_sentences("It's $39.99. Only 8 left!") == ["It's $39.99.", "Only 8 left!"]
    assert template_sentences("售价39.9元。还剩8台。") == ["售价39.9元。", "还剩8台。"]


def test_drafts_copy_what_followed_the_last_tokens_in_the_prompt() -> None:
    prompt = [1, 2, 3, 4, 5, 6, 7, 8]
    assert _draft([*prompt, 9, 3, 4], 0, 3) == [5, 6, 7]  # last two tokens seen at 3, 4
    assert _draft([*prompt, 9, 6], 0, 10) == [7, 8, 9, 6]  # one token: what followed it, to the end
    assert _draft([*prompt, 42], 0, 3) == []  # never seen: no guess
    assert _draft([*prompt, 2], 4, 3) == []  # only the part after ``start`` is searched


async def test_a_bad_number_in_the_second_sentence_is_never_spoken(answerer: Answerer) -> None:
    text, by, fallback, engine = await spoken(
        answerer,
        "The Lumen LED Desk Lamp is only $39.99! Today just $1 for you, the best deal ever.",
        "how much is the desk lamp?",
    )
    assert (text, by, fallback) == ("The Lumen LED Desk Lamp is only $39.99!", "llm", None)
    assert engine.first_sentence == [True], "the engine may stop at the first sentence"


async def test_a_bad_first_sentence_gives_the_whole_template(answerer: Answerer) -> None:
    template = answerer.answer("how much is the desk lamp?", "aurora-buds").text
    text, by, fallback, _ = await spoken(
        answerer, "The Lumen LED Desk Lamp is $29.99! It's $39.99 normally.", "how much is the desk lamp?"
    )
    assert (text, by) == (template, "template")
    assert fallback is not None and "29.99" in fallback


async def test_the_template_says_what_the_first_sentence_does_not(answerer: Answerer) -> None:
    assert template_sentences(
        answerer.answer("shipping for the lamp?", "lumen-lamp").text
    ) == template_sentences(SHIPPING)

    def reword_first(prompt: str) -> str:
        first = template_sentences(template_of(prompt))[0]
        return f"Good news: it {first[0].lower()}{first[1:]} And returns cost $5."

    text, by, fallback, _ = await spoken(
        answerer,
        reword_first(f"Answer: {SHIPPING}\nReworded answer:"),
        "shipping for the lamp?",
        "lumen-lamp",
    )
    assert (by, fallback) == ("llm", None)
    assert text == "Good news: it ships free in 1 to 2 business days. Returns are free within 30 days."
    assert "$5" not in text


async def test_a_first_sentence_that_carries_every_number_is_said_alone(answerer: Answerer) -> None:
    # A script line (no catalog fields to say word for word): numbers and names decide.
    phraser = Phraser(
        FakeLLM("Free shipping in 1 to 2 business days, and free returns within 30 days! Anything else?"),
        answerer.compliance,
    )
    assert await phraser.load()
    text, reason, _ = await phraser.reword(SHIPPING, "en", "lumen-lamp", budget_s=1)
    assert (text, reason) == ("Free shipping in 1 to 2 business days, and free returns within 30 days!", None)


async def test_a_fact_in_words_must_be_said_word_for_word(answerer: Answerer) -> None:
    template = answerer.answer("what colour is the backpack?", "aurora-buds").text
    assert "forest green" in template.lower()
    text, by, fallback, _ = await spoken(
        answerer, "The Ridgeline 30L Backpack is a luxury item, a rare find.", "what colour is the backpack?"
    )
    assert (text, by) == (template, "template")
    assert fallback is not None and "dropped a fact: spec:colour" in fallback


async def test_a_first_sentence_dropping_a_fact_the_rest_needs_falls_back(answerer: Answerer) -> None:
    # "30" is in the template's second sentence; a first sentence with only "30" stands for no
    # prefix of the template (it adds a number the first sentence does not have).
    text, by, fallback, _ = await spoken(
        answerer, "Free returns within 30 days, friends!", "shipping for the lamp?", "lumen-lamp"
    )
    assert (text, by) == (SHIPPING, "template")
    assert fallback is not None and fallback.startswith("fact lock")


async def test_a_live_answer_takes_the_model_from_a_script_line(scene: Scene, answerer: Answerer) -> None:
    release = asyncio.Event()
    engine = FakeLLM(lambda prompt: template_of(prompt))
    original = engine.complete

    async def slow_for_scripts(
        messages: list[dict[str, str]], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        if "Only 8 left" not in messages[-1]["content"]:
            await release.wait()  # the script line takes "forever"
        return await original(messages, max_tokens, first_sentence=first_sentence)

    engine.complete = slow_for_scripts  # type: ignore[method-assign]
    phraser = Phraser(engine, answerer.compliance)
    assert await phraser.load()
    background = asyncio.create_task(phraser.reword("A line of the script.", "en", "lumen-lamp", budget_s=20))
    await asyncio.sleep(0)
    answer: Answer = answerer.answer("is the lamp in stock?", "aurora-buds")
    phrased = await phraser.phrase(answer)
    assert phrased.by == "llm" and phrased.answer.text == answer.text
    text, reason, _ = await asyncio.wait_for(background, 1)
    assert (text, reason) == (None, PREEMPTED)
    assert phraser.live == 0


async def test_the_script_writer_waits_while_the_show_is_busy_then_writes(
    scene: Scene, tmp_path: object
) -> None:

    engine = FakeLLM(lambda prompt: template_of(prompt))
    phraser = Phraser(engine, Answerer(scene).compliance, persona=scene.persona.name)
    assert await phraser.load()
    busy = [True]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 3:
            busy[0] = False  # the answer was spoken
        await asyncio.sleep(0)

    writer = ScriptWriter(phraser, tmp_path, pause_s=1.0, sleep=sleep)
    script = await writer.write(scene, scene.segments[0], "en", should_pause=lambda: busy[0])
    assert len(engine.prompts) == len(script.lines), "no line was skipped"
    assert waits[:3] == [0.5, 0.5, 0.5], "nothing was worded while the show was busy"
    assert waits[3:].count(1.0) == len(script.lines), "a rest after every line"
    assert all(script.by_llm)
