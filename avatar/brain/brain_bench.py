"""``avatar bench --brain-only``: how fast the brain understands and answers, and how a big catalog
loads and indexes.

Two measures, each quoted as JSON:

- **answers**: the scene's own question set (or a fixed list) asked through :meth:`Brain.respond`
  (reading, understanding, plan, template, compliance) with the bundled embeddings warm, as in a
  running show: p50/p95 in ms, and the share of questions whose meaning was embedded;
- **catalog**: a generated catalog of ``products`` products with variants, specs, FAQ and safety
  entries, written as ``products.yaml``; the time to load it and build the word index (facts,
  names), the index's memory (tracemalloc), answer times on it, and what embedding its passages
  costs per product (cold and from the cache): the show embeds them in a background thread, and
  a question about a product not reached yet embeds that product first.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from avatar.brain.brain import Brain
from avatar.brain.catalog import Catalog, load_catalog
from avatar.brain.evaluation import CASES_FILE, load_cases
from avatar.brain.knowledge import catalog_facts, word_owners
from avatar.brain.scene import Scene, load_scene
from avatar.brain.semantic import Embedder, SemanticIndex, default_embedder
from avatar.brain.understanding import read

__all__ = ["bench_brain", "generated_catalog"]

_KINDS = ("kettle", "lamp", "scarf", "tea", "charger", "mug", "jacket", "serum", "blender", "backpack")
_ADJECTIVES = ("nova", "alpine", "cedar", "lumen", "harbor", "maple", "sierra", "onyx", "coral", "atlas")
_QUESTIONS = (
    "how much is the {name}?",
    "{name} 多少钱",
    "is the {name} in stock?",
    "what colours does the {name} come in?",
    "how heavy is the {name}",
    "{name} 保修多久",
    "does the {name} have a warranty",
    "is the {name} safe for kids?",
    "any deal on the {name}?",
    "need 3 of the {name}",
)


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
        "n": len(ordered),
    }


def generated_catalog(count: int, seed: int = 7) -> dict[str, Any]:
    """A catalog of ``count`` products shaped like a real shop's (seeded, so runs compare)."""
    rng = random.Random(seed)
    products = []
    for index in range(count):
        kind = _KINDS[index % len(_KINDS)]
        name = f"{_ADJECTIVES[(index // len(_KINDS)) % len(_ADJECTIVES)].title()} {kind.title()} {index}"
        price = rng.randint(5, 400)
        variants = [
            {
                "sku": f"SKU-{index}-{colour}",
                "name": {"en": colour.title(), "zh": zh},
                "stock": rng.randint(0, 40),
            }
            for colour, zh in (("red", "红色"), ("black", "黑色"), ("white", "白色"))
        ]
        products.append(
            {
                "id": f"product-{index}",
                "names": {"en": name, "zh": f"{kind}{index}号"},
                "aliases": {"en": [f"{kind} {index}"]},
                "price": price,
                "variant_label": {"en": "colour", "zh": "颜色"},
                "variants": variants,
                "specs": [
                    {
                        "key": "weight",
                        "label": {"en": "Weight", "zh": "重量"},
                        "value": {"en": f"{rng.randint(1, 9)}00 g", "zh": "轻"},
                    },
                    {
                        "key": "warranty",
                        "label": {"en": "Warranty", "zh": "保修"},
                        "value": {"en": "12 months", "zh": "12个月"},
                    },
                    {
                        "key": "material",
                        "label": {"en": "Material", "zh": "材质"},
                        "value": {"en": "steel", "zh": "不锈钢"},
                    },
                ],
                "safety": [
                    {
                        "key": "kids",
                        "label": {"en": "Children", "zh": "儿童"},
                        "value": {"en": "keep away from children", "zh": "请远离儿童"},
                    }
                ],
                "selling_points": {"en": [f"A {kind} for every day"], "zh": [f"每天都好用的{kind}"]},
                "faq": [
                    {
                        "q": {"en": "Is it dishwasher safe?", "zh": "能用洗碗机吗？"},
                        "a": {"en": "Hand wash only.", "zh": "请手洗。"},
                    }
                ],
                "shipping": {
                    "en": "Ships in 2 days. Returns within 30 days.",
                    "zh": "2天内发货，30天内可退。",
                },
            }
        )
    return {"products": products}


def _questions(scene: Scene) -> list[tuple[str, str | None]]:
    file = scene.root / CASES_FILE
    if file.is_file():
        cases = load_cases(file, scene.catalog).cases
        return [(turn.question, turn.on_screen) for case in cases for turn in (case.turns or (case,))]
    return [(q.format(name=p.name("en")), p.id) for p in scene.catalog.products for q in _QUESTIONS]


def _answer_times(brain: Brain, questions: Sequence[tuple[str, str | None]]) -> list[float]:
    times = []
    for number, (question, on_screen) in enumerate(questions):
        started = time.perf_counter()
        brain.respond(question, on_screen, f"bench-{number}", float(number))
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_brain(scene_path: Path, products: int = 1000) -> dict[str, Any]:
    """The brain's answer times on the scene, and load/index/answer figures for a generated catalog."""
    scene = load_scene(scene_path)
    embedder = default_embedder()
    brain = Brain(scene, embedder=embedder)
    brain.warm(background=False)
    brain.respond("warm-up", None)
    questions = _questions(scene)
    report: dict[str, Any] = {
        "scene": str(scene_path),
        "embeddings": embedder.name if embedder is not None else None,
        "answer_ms": _ms(_answer_times(brain, questions)),
    }
    if brain.semantic is not None:
        report["meaning_share"] = round(brain.semantic.embedded_queries / max(len(questions), 1), 2)
    if products <= 0:
        return report
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "products.yaml"
        file.write_text(yaml.safe_dump(generated_catalog(products), allow_unicode=True), encoding="utf-8")
        # A cache of its own, so the first load is cold whatever ran before.
        previous = os.environ.get("AVATAR_CACHE")
        os.environ["AVATAR_CACHE"] = str(Path(folder) / "cache")
        try:
            began = time.perf_counter()
            catalog, big = _load_and_index(scene, file)
            first = time.perf_counter()
            catalog, big = _load_and_index(scene, file)
            again = time.perf_counter()
        finally:
            if previous is None:
                os.environ.pop("AVATAR_CACHE", None)
            else:
                os.environ["AVATAR_CACHE"] = previous
        # Memory on a second, fresh load: tracemalloc slows Python down, so it is not on the clock.
        gc.collect()
        tracemalloc.start()
        _load_and_index(scene, file)
        memory, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        questions = [
            (q.format(name=p.name("en")), p.id) for p in list(catalog.products)[:20] for q in _QUESTIONS
        ]
        report["catalog"] = {
            "products": len(catalog),
            "variants": sum(len(p.variants) for p in catalog.products),
            # parse, validate, facts, names, fact lock: the first time, and again with the parse cached
            "load_and_index_s": {"first": round(first - began, 2), "cached": round(again - first, 2)},
            "memory_mb": round(memory / 1e6, 1),  # catalog and indexes, traced
            "answer_ms": _ms(_answer_times(big, questions)),
        }
        if embedder is not None:
            report["catalog"]["embeddings"] = _embedding_cost(catalog, embedder, folder)
    return report


def _embedding_cost(catalog: Catalog, embedder: Embedder, folder: str, sample: int = 10) -> dict[str, Any]:
    """Seconds per product to embed its passages, cold and from the cache, on ``sample`` products."""
    previous = os.environ.get("AVATAR_CACHE")
    os.environ["AVATAR_CACHE"] = str(Path(folder) / "embeddings")
    try:
        ids = [p.id for p in list(catalog.products)[:sample]]
        timings = []
        for _ in range(2):  # cold, then a restart that finds the cache
            index = SemanticIndex(catalog, embedder)
            began = time.perf_counter()
            for product_id in ids:
                index.product(product_id)
            timings.append((time.perf_counter() - began) / len(ids))
    finally:
        if previous is None:
            os.environ.pop("AVATAR_CACHE", None)
        else:
            os.environ["AVATAR_CACHE"] = previous
    return {
        "per_product_ms": {"cold": round(timings[0] * 1000, 1), "cached": round(timings[1] * 1000, 2)},
        "whole_catalog_s": {
            "cold": round(timings[0] * len(catalog), 1),
            "cached": round(timings[1] * len(catalog), 2),
        },
    }


def _load_and_index(scene: Scene, file: Path) -> tuple[Catalog, Brain]:
    catalog = load_catalog(file)
    brain = Brain(replace(scene, catalog=catalog, segments=()))  # fact lock and answerer on it
    catalog_facts(catalog)
    word_owners(catalog)
    read("warm-up", catalog)  # builds the name indexes
    return catalog, brain
