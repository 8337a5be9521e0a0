"""Answers ready before they are asked: synthesised answers held for the speaker, keyed by the
voice and the *exact* text of the answer (:mod:`avatar.modes.prepare` fills it while the voice is
idle).

The key is never the question: a question is still answered by the brain when it is asked, and only
if the brain's words now are the words prepared does the audio come from here. A price that changed
since can therefore never be heard from the cache (the new answer is new text); on top of that every
catalog, stock, promo or scene change empties it (:meth:`AnswerCache.invalidate`), so nothing said
from old data stays in memory, and work begun before the change is refused when it finishes.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from avatar.engines.tts.base import TimedSpeech

__all__ = ["AnswerCache", "PreparedLine"]

log = logging.getLogger(__name__)

# About four answers per product (price, promo, stock, shipping, top FAQ; some coincide) of 3-6 s
# each at 48 kHz int16 (96 kB/s): 16 MiB keeps the prepared answers of some ten products.
MAX_ENTRIES: Final = 64
MAX_BYTES: Final = 16 * 2**20


@dataclass(frozen=True)
class PreparedLine:
    """One answer as the speaker would play it: each piece of text with its synthesised audio."""

    voice: str  # the voice's name
    text: str  # the exact answer text
    pieces: tuple[tuple[str, TimedSpeech], ...]

    @property
    def nbytes(self) -> int:
        """Memory the audio takes."""
        return sum(speech.pcm.nbytes for _, speech in self.pieces)

    def speech_for(self, piece: str) -> TimedSpeech | None:
        """The audio of one piece of the line, if it was prepared."""
        return next((speech for text, speech in self.pieces if text == piece), None)


class AnswerCache:
    """Prepared answers keyed by (voice, exact text): bounded by count and bytes, least recently
    used out first. Used from the event loop only (no lock)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.generation = 0  # bumped by every invalidation: work begun before it is not stored
        self.invalidations = 0
        self.evictions = 0
        self.hits = 0  # lines the speaker played from here
        self._lines: OrderedDict[tuple[str, str], PreparedLine] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, key: object) -> bool:
        return key in self._lines

    def __iter__(self) -> Iterator[PreparedLine]:
        return iter(list(self._lines.values()))

    @property
    def nbytes(self) -> int:
        """Audio bytes held."""
        return self._bytes

    def get(self, voice: str, text: str) -> PreparedLine | None:
        """The prepared line for exactly ``text`` in ``voice``, or None."""
        line = self._lines.get((voice, text))
        if line is not None:
            self._lines.move_to_end((voice, text))
        return line

    def put(self, line: PreparedLine, generation: int) -> bool:
        """Keep ``line`` if it was prepared from the current data (``generation`` is the one its
        preparation began in) and fits; False when it was refused."""
        if generation != self.generation or line.nbytes > self.max_bytes:
            return False
        key = (line.voice, line.text)
        old = self._lines.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._lines[key] = line
        self._bytes += line.nbytes
        while len(self._lines) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._lines.popitem(last=False)
            self._bytes -= dropped.nbytes
            self.evictions += 1
        return True

    def invalidate(self, reason: str) -> None:
        """Drop everything (the catalog, stock, promos or scene changed): nothing said from the
        old data stays, and preparations still running are not stored."""
        if self._lines:
            log.info("answer cache emptied (%d lines): %s", len(self._lines), reason)
        self._lines.clear()
        self._bytes = 0
        self.generation += 1
        self.invalidations += 1

    def stats(self) -> dict[str, int]:
        """What /healthz and the bench report."""
        return {
            "lines": len(self._lines),
            "bytes": self._bytes,
            "hits": self.hits,
            "invalidations": self.invalidations,
            "evictions": self.evictions,
        }
