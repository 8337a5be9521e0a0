"""Retrieval over catalog passages without a model (word overlap) and with a scripted embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar.brain.brain import Brain
from avatar.brain.retrieval import Retriever, Vectors, passages
from avatar.brain.scene import Scene, load_scene
from tests.fakes import DEMO_SCENE


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


def test_passages_cover_every_field_in_both_languages(scene: Scene) -> None:
    found = passages(scene.catalog)
    kinds = {(p.product_id, p.kind.split(":")[0], p.language) for p in found}
    for product in scene.catalog.products:
        for kind in ("name", "spec", "point", "faq", "shipping"):
            assert (product.id, kind, "en") in kinds and (product.id, kind, "zh") in kinds


async def test_a_question_naming_nothing_moves_to_the_product_whose_text_matches(scene: Scene) -> None:
    retriever = Retriever(scene.catalog)  # no embedder: word overlap only
    assert await retriever.context_product("does it keep drinks cold?", "aurora-buds") == "summit-bottle"
    # Nothing in the catalog matches: the product on screen stays the context.
    assert await retriever.context_product("what's your favourite film?", "aurora-buds") == "aurora-buds"


def test_a_matching_selling_point_answers_a_question_no_spec_names(scene: Scene) -> None:
    answer = Brain(scene).respond("can it quiet a busy commute?", "aurora-buds")
    assert answer.text == "Active noise cancelling that quiets a busy commute."
    assert answer.product_id == "aurora-buds"


def test_without_a_matching_fact_the_host_says_the_catalog_does_not_say(scene: Scene) -> None:
    answer = Brain(scene).respond("is it vegan?", "aurora-buds")
    assert answer.text.startswith("My notes on the Aurora Buds don't say, so I won't guess.")
    assert answer.not_stated


class CountingEmbedder:
    """Vectors from a hash of the words; counts how often passages are embedded."""

    name = "counting"
    floor, ceil = 0.0, 1.0

    def __init__(self) -> None:
        self.passage_calls = 0

    def _vec(self, text: str) -> Vectors:
        vector = np.zeros(64, dtype=np.float32)
        for word in text.lower().split():
            vector[hash(word) % 64] += 1.0
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def queries(self, texts: list[str]) -> Vectors:
        return np.stack([self._vec(t) for t in texts])

    def passages(self, texts: list[str]) -> Vectors:
        self.passage_calls += 1
        return np.stack([self._vec(t) for t in texts])


async def test_the_index_is_built_once_and_cached_on_disk(
    scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVATAR_CACHE", str(tmp_path))
    embedder = CountingEmbedder()
    first = Retriever(scene.catalog, embedder)
    assert await first.build() and first.ready
    second = Retriever(scene.catalog, embedder)
    assert await second.build() and second.ready
    assert embedder.passage_calls == 1  # the second came from the cache file
    assert list((tmp_path / "retrieval").glob("*.npy"))
    hits = await second.search("keeps drinks cold for 24 hours", None, k=1)
    assert hits[0].passage.product_id == "summit-bottle" and hits[0].semantic is not None
    first.close()
    second.close()


async def test_a_failing_embedder_leaves_lexical_retrieval(scene: Scene) -> None:
    class Broken(CountingEmbedder):
        def passages(self, texts: list[str]) -> Vectors:
            raise RuntimeError("no model")

    retriever = Retriever(scene.catalog, Broken())
    assert not await retriever.build()
    assert not retriever.ready and retriever.failed is not None
    assert await retriever.context_product("does it keep drinks cold?", "aurora-buds") == "summit-bottle"
    retriever.close()
