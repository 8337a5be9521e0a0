"""Answers ready before they are asked: the common questions about the product on screen (price,
promo, stock, shipping, its top FAQ) are answered by the brain and synthesised while the voice is
idle, into the :class:`~avatar.answer_cache.AnswerCache` the speaker plays from.

Preparation is the show's lowest priority: it asks the brain one question and synthesises one piece
at a time, only while no viewer waits, no answer is being worded or spoken and no voice worker has
work queued, so a live line waits at most for the one piece in flight. It plans again whenever the
product on screen changes, the cache was emptied (a reload changed catalog, stock or promos) or a
promo started or ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from avatar.answer_cache import AnswerCache, PreparedLine
from avatar.brain.answerer import Answer
from avatar.brain.catalog import Catalog, Product
from avatar.engines.tts.base import TimedSpeech
from avatar.speaker import Speaker, line_pieces

__all__ = ["COMMON_QUESTIONS", "AnswerPreparer", "Subject", "common_questions"]

log = logging.getLogger(__name__)

IDLE_POLL_S: Final = 0.05  # how often a waiting preparation looks whether the voice is free
CHANGE_POLL_S: Final = 0.25  # how often the preparer looks for a new product or a promo that began/ended

COMMON_QUESTIONS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "How much is the {name}?",
        "Is there a discount on the {name}?",
        "Is the {name} in stock?",
        "How much is shipping for the {name}?",
    ),
    "zh": ("{name}多少钱？", "{name}有优惠吗？", "{name}还有货吗？", "{name}怎么发货？"),
}
"""The questions viewers ask most (price, promo, stock, shipping); the product's first FAQ is added."""


def common_questions(product: Product, language: str) -> list[str]:
    """The questions prepared for ``product``: the common ones, naming it, then its top FAQ."""
    name = product.name(language)
    questions = [q.format(name=name) for q in COMMON_QUESTIONS.get(language, COMMON_QUESTIONS["en"])]
    if product.faq and (top := product.faq[0].question.get(language)):
        questions.append(top)
    return questions


@dataclass(frozen=True)
class Subject:
    """What to prepare for: the product on screen, in the language its answers are spoken in."""

    product: Product
    language: str


AskBrain = Callable[[str, str], Awaitable[Answer]]
"""Answers a question about a product on screen, as the show would (no viewer, so no memory)."""


class AnswerPreparer:
    """Keeps the answers to the common questions about the product on screen in the cache."""

    def __init__(
        self,
        cache: AnswerCache,
        speaker: Speaker,
        *,
        ask: AskBrain,
        subject: Callable[[], Subject | None],
        catalog: Callable[[], Catalog],
        busy: Callable[[], bool],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``ask`` answers as the live show does; ``subject`` is what is on screen now (None:
        nothing to prepare, e.g. a model words the answers); ``catalog`` the scene's catalog now;
        ``busy`` is True while live work (a waiting viewer, an answer) has the voice; ``sleep``
        waits on the show's clock."""
        self.cache = cache
        self.speaker = speaker
        self._ask = ask
        self._subject = subject
        self._catalog = catalog
        self._busy = busy
        self._sleep = sleep
        self.prepared_for: tuple[int, str, str] | None = None  # (generation, product, language) done
        self.synthesised = 0  # pieces synthesised ahead
        self._promos: tuple[tuple[str, bool], ...] | None = None

    async def run(self) -> None:
        """Forever: follow the product on screen and its data, preparing when something changed."""
        while True:
            try:
                await self.prepare()
            except asyncio.CancelledError:
                raise
            except Exception:  # the show goes on without prepared answers
                log.exception("preparing answers failed")
                subject = self._subject()
                if subject is not None:  # do not retry the same product in a loop
                    self.prepared_for = (self.cache.generation, subject.product.id, subject.language)
            await self._sleep(CHANGE_POLL_S)

    def _check_promos(self) -> None:
        # A promo that starts or ends changes the price answers with no file edited.
        promos = tuple((p.id, p.promo_active()) for p in self._catalog() if p.promo is not None)
        if self._promos is not None and promos != self._promos:
            self.cache.invalidate("a promo started or ended")
        self._promos = promos

    def ready(self, product_id: str) -> bool:
        """The common answers about ``product_id`` are prepared for the current data."""
        return self.prepared_for is not None and self.prepared_for[:2] == (self.cache.generation, product_id)

    async def prepare(self) -> int:
        """Prepare the answers for what is on screen if not done for the current data; returns
        the lines added (0 when there was nothing to do or a change interrupted it)."""
        self._check_promos()
        subject = self._subject()
        if subject is None:
            return 0
        generation = self.cache.generation
        key = (generation, subject.product.id, subject.language)
        if key == self.prepared_for:
            return 0
        voice = self.speaker.voice_for(subject.language)
        added = 0
        for question in common_questions(subject.product, subject.language):
            if not await self._idle(generation):
                return added
            answer = await self._ask(question, subject.product.id)
            if not answer.text.strip() or answer.language != subject.language:
                continue
            if voice.failed or self.cache.get(voice.spec.name, answer.text) is not None:
                continue
            pieces: list[tuple[str, TimedSpeech]] = []
            for piece in line_pieces(answer.text):
                if not await self._idle(generation) or voice.failed:
                    return added
                # Not kept in the voice's own cache too: this cache owns the memory it takes.
                speech = await voice.worker.run(voice.render_timed, piece, keep=False)
                pieces.append((piece, speech))
                self.synthesised += 1
            if self.cache.put(PreparedLine(voice.spec.name, answer.text, tuple(pieces)), generation):
                added += 1
        if generation == self.cache.generation:
            self.prepared_for = key
            log.info("answers prepared for %s (%d new)", subject.product.id, added)
        return added

    async def _idle(self, generation: int) -> bool:
        """Wait until live work leaves the voice alone; False when the data changed meanwhile
        (the work is stale)."""
        voice_busy = any(voice.worker.busy for voice in self.speaker.voices.values())
        while self._busy() or voice_busy:
            await self._sleep(IDLE_POLL_S)
            voice_busy = any(voice.worker.busy for voice in self.speaker.voices.values())
        return generation == self.cache.generation
