"""Answer latency with the language model on, for ``avatar bench --llm-only``.

Asks the scene's own eval questions (``eval.yaml``), English and Chinese separately, through the
path the live show uses: the brain's catalog answer, then the model — the bundled SmolLM2 rewords
the first sentence; a configured model (a served one) writes the whole answer sentence by
sentence — with both checks (fact lock and meaning) on every model sentence. Reported per
language: question -> first sentence ready to speak (p50/p95; for whole answers the first checked
sentence of the stream), the share of answers with at least one model-worded sentence, the share
of sentences the model worded, and why the others fell back. The model is loaded (and warmed up)
first; its load time is reported on its own.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import datetime
from typing import Any, Final

from avatar.brain.brain import Brain
from avatar.brain.evaluation import CASES_FILE, load_cases
from avatar.brain.language import detect_language
from avatar.brain.phrasing import Phraser, build_phraser
from avatar.brain.scene import Scene
from avatar.brain.wording import AnswerWriter

__all__ = ["MAX_QUESTIONS", "bench_answers"]

MAX_QUESTIONS: Final = 60
"""Questions per language at most."""
FIRST_SENTENCE_TARGET_MS: Final = 700


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


def _questions(scene: Scene) -> dict[str, list[tuple[str, str | None]]]:
    """The scene's eval questions (first turn of multi-turn cases) by language."""
    cases = load_cases(scene.root / CASES_FILE, scene.catalog)
    found: dict[str, list[tuple[str, str | None]]] = {"en": [], "zh": []}
    for case in cases.cases:
        first = case.turns[0] if case.turns else case
        language = detect_language(first.question)
        if language in found and first.question.strip():
            found[language].append((first.question, first.on_screen))
    return found


async def _one_language(
    brain: Brain, phraser: Phraser, questions: list[tuple[str, str | None]]
) -> dict[str, Any]:
    writer = AnswerWriter(phraser)
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    sentences: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    for question, on_screen in questions:
        started = time.perf_counter()
        answer = brain.respond(question, on_screen)
        if phraser.whole_answers:
            first: float | None = None
            worded = False
            async for sentence in writer.sentences(answer, question):
                if first is None:
                    first = (time.perf_counter() - started) * 1000
                sentences[sentence.by] += 1
                worded = worded or sentence.by == "llm"
                if sentence.reason:
                    fallbacks[sentence.reason.split(":")[0]] += 1
            latencies.append(first if first is not None else (time.perf_counter() - started) * 1000)
            answers["llm" if worded else "template"] += 1
        else:
            phrased = await phraser.phrase(answer)
            latencies.append((time.perf_counter() - started) * 1000)
            answers[phrased.by] += 1
            sentences[phrased.by] += 1
            if phrased.fallback:
                fallbacks[phrased.fallback.split(":")[0]] += 1
    total = sum(answers.values())
    return {
        "questions": total,
        "first_sentence_ms": _percentiles(latencies),
        "answers_model_worded": round(answers["llm"] / total, 3) if total else None,
        "sentences_by": dict(sentences),
        "fallbacks": dict(fallbacks.most_common()),
    }


async def bench_answers(
    scene: Scene, llm: str, questions: int, budget_s: float | None = None
) -> dict[str, Any]:
    """Time up to ``questions`` answers per language (at most :data:`MAX_QUESTIONS`) with ``llm``."""
    cases_now = load_cases(scene.root / CASES_FILE, scene.catalog).now
    now = (lambda: cases_now) if cases_now is not None else None
    brain = Brain(scene, now=now)
    phraser = build_phraser(scene, llm, brain.answerer.compliance)
    if budget_s is not None:
        phraser.budget_s = budget_s
    began = time.perf_counter()
    loaded = await phraser.load()
    load_s = time.perf_counter() - began
    per_language: dict[str, Any] = {}
    try:
        for language, asked in _questions(scene).items():
            chosen = asked[: min(questions, MAX_QUESTIONS)]
            if chosen:
                per_language[language] = await _one_language(brain, phraser, chosen)
    finally:
        phraser.close()
    moment: datetime | None = cases_now
    return {
        "llm": phraser.engine_name,
        "mode": "whole answers" if phraser.whole_answers else "first sentence reworded",
        "loaded": loaded,
        "load_s": round(load_s, 1),
        "budget_s": phraser.budget_s,
        "promos_judged_at": moment.isoformat() if moment else None,
        "target_first_sentence_p50_ms": FIRST_SENTENCE_TARGET_MS,
        **per_language,
    }
