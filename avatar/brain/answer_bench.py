"""Answer latency with the LLM phrasing step on, for ``avatar bench``.

Asks a fixed, bounded set of questions through the same path the live show uses (retrieval,
catalog answer, LLM phrasing within its time budget, fact lock) and reports the time from question
to the first sentence ready to speak (p50/p95; the model words only that sentence, so the answer's
text is complete then too), how many answers the model worded, and why the others fell back. The
model is loaded (and warmed up) first; its load time is reported on its own.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any, Final

from avatar.brain.brain import Brain
from avatar.brain.phrasing import build_phraser
from avatar.brain.scene import Scene

__all__ = ["MAX_QUESTIONS", "bench_answers"]

MAX_QUESTIONS: Final = 40
FIRST_SENTENCE_TARGET_MS: Final = 800
QUESTIONS: Final = (
    "How much is the {name}?",
    "Is the {name} in stock?",
    "Any discount on the {name}?",
    "What are the specs of the {name}?",
    "这个多少钱？",
)


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


async def bench_answers(
    scene: Scene, llm: str, questions: int, budget_s: float | None = None
) -> dict[str, Any]:
    """Time ``questions`` answers (at most :data:`MAX_QUESTIONS`) with the model ``llm``."""
    brain = Brain(scene)
    phraser = build_phraser(scene, llm, brain.answerer.compliance)
    if budget_s is not None:
        phraser.budget_s = budget_s
    began = time.perf_counter()
    loaded = await phraser.load()
    load_s = time.perf_counter() - began
    products = list(scene.catalog.products)
    latencies: list[float] = []
    model_ms: list[float] = []
    by: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    try:
        for index in range(min(questions, MAX_QUESTIONS)):
            product = products[index % len(products)]
            text = QUESTIONS[index % len(QUESTIONS)].format(name=product.name("en"))
            started = time.perf_counter()
            phrased = await phraser.phrase(brain.respond(text, product.id))
            latencies.append((time.perf_counter() - started) * 1000)
            if phrased.ms is not None:
                model_ms.append(phrased.ms)
            by[phrased.by] += 1
            if phrased.fallback:
                fallbacks[phrased.fallback.split(":")[0]] += 1
    finally:
        phraser.close()
    return {
        "llm": phraser.engine_name,
        "loaded": loaded,
        "load_s": round(load_s, 1),
        "budget_s": phraser.budget_s,
        "threads": getattr(phraser.engine, "threads", None),
        "first_sentence_ms": _percentiles(latencies),
        "model_ms": _percentiles(model_ms),
        "target_first_sentence_p50_ms": FIRST_SENTENCE_TARGET_MS,
        "worded_by": dict(by),
        "fallbacks": dict(fallbacks),
    }
