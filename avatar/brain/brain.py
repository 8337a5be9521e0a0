"""The brain of one show: a comment in, the checked catalog answer out, with the viewer's memory.

One object owns what the answer path needs of the scene (catalog, fact lock, answerer, memory)
and swaps it all at once (:meth:`Brain.swap_scene`), so a reload can never leave the fact lock on
an old catalog. The live show and ``avatar eval`` call the same :meth:`Brain.respond`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from avatar.brain.answerer import MAX_QUESTION_CHARS, Answer, Answerer
from avatar.brain.memory import Memory
from avatar.brain.scene import Scene
from avatar.brain.semantic import Embedder, SemanticIndex
from avatar.brain.understanding import Reading, read, second_question, topic_of, understand
from avatar.zh_segment import jieba_module

__all__ = ["Brain"]

log = logging.getLogger(__name__)


class Brain:
    """Understands comments and answers them from one scene's catalog."""

    def __init__(
        self,
        scene: Scene,
        now: Callable[[], datetime] | None = None,
        answerer: Answerer | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """``now`` is the clock promos are judged at (injectable for tests and the eval);
        ``embedder`` compares questions with the catalog by meaning (None: by words only). A
        malformed ``compliance.yaml`` raises :class:`~avatar.errors.DataError` here."""
        self._now = now
        self._embedder = embedder
        self.scene = scene
        self.answerer = answerer or Answerer(scene, now=now)
        self.semantic = SemanticIndex(scene.catalog, embedder) if embedder is not None else None
        self.memory = Memory()

    def swap_scene(self, scene: Scene) -> None:
        """Answer from ``scene`` from now on: catalog, fact lock and answerer change together and
        memories of the old catalog are dropped. Raises DataError (and changes nothing) when the
        scene's compliance rules are broken."""
        answerer = Answerer(scene, now=self._now)
        self.scene, self.answerer = scene, answerer
        if self._embedder is not None:
            self.semantic = SemanticIndex(scene.catalog, self._embedder)
            self.semantic.warm()
        self.memory.clear()

    def warm(self, background: bool = True) -> None:
        """Embed the catalog's passages and load jieba (places in Chinese shipping questions) now,
        in daemon threads unless ``background`` is False, so the first questions do not pay for
        it. Without it they are loaded when first needed."""
        if self.semantic is not None:
            self.semantic.warm(background)
        if background:
            threading.Thread(target=jieba_module, name="jieba-warm", daemon=True).start()
        else:
            jieba_module()

    def read(self, text: str) -> Reading:
        """The context-free reading of a comment (what triage keeps with it)."""
        return read(text[:MAX_QUESTION_CHARS], self.scene.catalog)

    def respond(
        self,
        text: str,
        on_screen: str | None,
        viewer: str = "",
        at: float = 0.0,
        reading: Reading | None = None,
    ) -> Answer:
        """The checked answer to ``text`` from ``viewer`` at clock second ``at``, with the
        product on screen; remembers what it was about for the viewer's next question."""
        if not text.strip():
            return self.answerer.answer("", on_screen)
        reading = reading if reading is not None and reading.text else self.read(text)
        topic = self.memory.recall(viewer, at) if viewer else None
        meaning = self.semantic.meaning(reading.text) if self.semantic is not None else None
        understanding = understand(reading, self.scene.catalog, on_screen, topic, meaning)
        then = None
        if (second := second_question(reading, self.scene.catalog)) is not None:
            # A ramble's second question; "it" there is the product of the first.
            shown = understanding.product_id or on_screen
            meant = self.semantic.meaning(second.text) if self.semantic is not None else None
            then = understand(second, self.scene.catalog, shown, None, meant)
        answer = self.answerer.respond(understanding, then)
        if viewer and answer.product_id is not None:
            self.memory.remember(viewer, topic_of(understanding, on_screen, at))
        log.debug("understood %r as %s", text[:80], understanding)
        return answer
