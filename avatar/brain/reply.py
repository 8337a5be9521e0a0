"""One viewer question to the words the host speaks: retrieval, catalog answer, LLM phrasing.

1. When the question names no product, retrieval decides which product it is about (the product on
   screen unless another one's catalog text clearly matches better).
2. The :class:`~avatar.brain.answerer.Answerer` builds the answer from catalog facts.
3. When the answerer has no direct answer (it would say "I don't have that detail"), a catalog
   passage of that product that matches the question well (an FAQ answer, a spec, a selling point,
   the shipping text) is said instead; it is catalog text, so it passes the same checker.
4. The :class:`~avatar.brain.phrasing.Phraser` may reword the result within its time budget.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from avatar.brain.answerer import Answer, Answerer
from avatar.brain.intents import Intent
from avatar.brain.phrasing import Phrased, Phraser
from avatar.brain.retrieval import Retriever

__all__ = ["PASSAGE_MIN_SCORE", "answer_question", "reply"]

log = logging.getLogger(__name__)

PASSAGE_MIN_SCORE: Final = 0.55
"""A passage must match this well to be said in place of "I don't have that detail"."""
_PASSAGE_KINDS = ("faq", "spec:", "point", "shipping")


AskAnswerer = Callable[[str, str | None], Awaitable[Answer]]
"""Runs the answerer somewhere else (the live show: on its supervised brain worker)."""


async def answer_question(
    answerer: Answerer,
    retriever: Retriever | None,
    question: str,
    on_screen: str | None,
    *,
    ask: AskAnswerer | None = None,
) -> Answer:
    """The catalog answer, with retrieval choosing the product and filling in unknown details."""
    context = on_screen
    if retriever is not None:
        context = await retriever.context_product(question, on_screen)
        if context != on_screen:
            log.info("retrieval: %r is about %s (on screen: %s)", question, context, on_screen)
    answer = await ask(question, context) if ask is not None else answerer.answer(question, context)
    if retriever is None or answer.intent != Intent.OTHER.value or answer.product_id is None:
        return answer
    if set(answer.facts) != {"name"}:
        return answer
    hits = await retriever.search(question, answer.product_id, k=3)
    for hit in hits:
        passage = hit.passage
        if hit.score < PASSAGE_MIN_SCORE:
            break
        if passage.language != answer.language or not passage.kind.startswith(_PASSAGE_KINDS):
            continue
        text = passage.answer.strip()
        if text and text[-1] not in ".!?。！？":
            text += "。" if answer.language == "zh" else "."
        checked = answerer.compliance.check(text, answer.language, answer.product_id)
        if checked.blocked:
            continue
        log.info(
            "retrieval answered %r from %s %s (%.2f)", question, passage.product_id, passage.kind, hit.score
        )
        facts = {**answer.facts, "passage": passage.kind}
        return replace(answer, text=checked.text, facts=facts, compliance=checked.actions)
    return answer


async def reply(
    answerer: Answerer,
    retriever: Retriever | None,
    phraser: Phraser,
    question: str,
    on_screen: str | None,
    *,
    ask: AskAnswerer | None = None,
) -> Phrased:
    """What the host says to ``question``: the checked catalog answer, reworded when the model can."""
    answer = await answer_question(answerer, retriever, question, on_screen, ask=ask)
    return await phraser.phrase(answer)
