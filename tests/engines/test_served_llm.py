"""The show against a real model server: ``transformers serve`` on the bundled SmolLM2 weights.

The server is started once per session on loopback (tests/servers_llm.py) and spoken to over
HTTP by the ``openai`` client, streaming. SmolLM2-135M is a weak writer: these tests check that
what it writes is streamed, checked sentence by sentence, and either spoken as checked or replaced
by the plan — never that it writes well. Its time budget here is generous: this is about
behaviour; speed is ``avatar bench --llm-only``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.phrasing import Phraser
from avatar.brain.scene import Scene, load_scene
from avatar.brain.wording import AnswerWriter
from avatar.engines.llm import OpenAIEngine
from tests.fakes import DEMO_SCENE
from tests.servers_llm import Served, served_smollm2

__all__ = ["served_smollm2"]  # the session fixture, imported for the tests below

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture
async def engine(served_smollm2: Served) -> AsyncIterator[OpenAIEngine]:
    engine = OpenAIEngine(served_smollm2.base_url, served_smollm2.model, timeout_s=120.0)
    await engine.load()
    yield engine
    await engine.aclose()


async def test_the_server_streams_a_reply_in_pieces(engine: OpenAIEngine) -> None:
    messages = [{"role": "user", "content": "Say hello to the viewers of a live shopping stream."}]
    pieces = [delta.text async for delta in engine.stream(messages, 24)]
    assert len([p for p in pieces if p]) > 1, pieces
    assert "".join(pieces).strip()


async def test_a_whole_answer_from_the_server_is_checked_sentence_by_sentence(
    scene: Scene, engine: OpenAIEngine
) -> None:
    answerer = Answerer(scene)
    phraser = Phraser(engine, answerer.compliance, budget_s=120.0, persona="Mia", style=scene.persona.style)
    assert await phraser.load()
    writer = AnswerWriter(phraser)
    try:
        for question, on_screen in (
            ("how much is the desk lamp?", "aurora-buds"),
            ("how long does the battery last?", "aurora-buds"),
            ("这个多少钱？", "aurora-buds"),
        ):
            answer = answerer.answer(question, on_screen)
            sentences = [s async for s in writer.sentences(answer, question)]
            plan = [s.template for s in sentences]
            assert " ".join(plan).replace("。 ", "。") == answer.text or "".join(plan) == answer.text
            for sentence in sentences:
                assert sentence.by in ("llm", "template")
                if sentence.by == "llm":
                    # What the model said was checked against the plan's sentence at its place.
                    assert phraser.check(
                        sentence.text, sentence.template, answer.language, answer.product_id
                    ).ok
                else:
                    assert sentence.text == sentence.template and sentence.reason
            # Every price of the plan is on air, whoever worded it.
            for value in answer.facts.values():
                if value.startswith("$"):
                    assert value in "".join(s.text for s in sentences)
    finally:
        phraser.close()


async def test_tools_offered_to_a_server_that_does_not_call_them_change_nothing(
    scene: Scene, engine: OpenAIEngine
) -> None:
    from avatar.brain.tools import TOOLS

    messages = [{"role": "user", "content": "What does the desk lamp cost?"}]
    deltas = [delta async for delta in engine.stream(messages, 24, TOOLS)]
    text = "".join(d.text for d in deltas)
    calls = [c for d in deltas for c in d.tool_calls]
    assert text.strip() or calls
    for call in calls:  # a model that does call gets parsed calls with dict arguments
        assert call.name and isinstance(call.arguments, dict)
