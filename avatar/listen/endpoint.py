"""Endpointing that listens to words: a complete question ends the turn after a short pause.

Silence alone is a slow judge of the end of a turn: a person who asked "How much is the Lumen desk
lamp?" has finished, one who said "How much is the..." has not, and both are silent. The listener
decodes what was said when a pause begins (an interim, after ``pause_decode_s`` of silence); when
that interim reads as a complete question, :class:`Endpointing` lets the turn end after
``quick_silence_s`` instead of the VAD's full ``min_silence_s``, and the final transcript is that
interim (nothing is decoded again).

A wrong end is recovered: speech again within ``resume_window_s`` of the last word is the same
turn, so the listener withdraws the first part (the show stops the half answer) and transcribes
both parts together as one final.

The question test reads the text through the brain's public reading
(:func:`avatar.brain.understanding.read`): a question word or a yes/no opening plus a product,
attribute, colour or "this" from the scene's catalog, or a question mark; never a text that ends on
a word that needs another ("the", "of", "and"...) or a trailing ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from avatar.brain.catalog import Catalog
from avatar.brain.intents import FACT_INTENTS, Intent
from avatar.brain.understanding import read

QUICK_SILENCE_S: Final = 0.15
"""Silence that ends a turn whose words already make a complete question."""
PAUSE_DECODE_S: Final = 0.1
"""Silence after which what was said so far is decoded (shorter dips between words are not pauses:
decoding at each would keep the shared recogniser busy for nothing)."""
HOLD_SILENCE_S: Final = 1.0
"""Silence that ends a turn whose words stop mid-phrase ("How much is the...")."""
RESUME_WINDOW_S: Final = 0.8
"""A pause no longer than this between a turn's last word and the next word, though the turn had
ended, was a pause in the same turn: the two parts are merged. (A question repeated after a
second's silence stays two turns.)"""

# A text ending on one of these words (or a comma, dash, colon or ellipsis) is waiting for more.
_DANGLING: Final = re.compile(
    r"(?<![a-z'])(?:the|a|an|of|for|and|or|but|with|without|to|in|on|at|from|about|by|is|are|"
    r"was|does|do|my|your|his|her|their|our|than|if|so|because|um|uh|er|"
    r"erm|like|how|what|which|where|when|who|why|can|could|will|would)$",
    re.IGNORECASE,
)
_TRAILING: Final = re.compile(r"(?:\.\.\.|…|[,\-–—:;])\s*$")
_QUESTION_WORD: Final = re.compile(
    r"^\s*(?:so\s+|and\s+|okay\s+|ok\s+|hey\s+|hi\s+)?(?:how|what|what's|whats|which|where|when|why|who|"
    r"is|are|does|do|did|can|could|will|would|should|has|have|any)(?![a-z])",
    re.IGNORECASE,
)
_ZH_ENDS: Final = ("吗", "呢", "嘛", "么")
# Intents that are about something, not a greeting or small talk.
_ASKING: Final = FACT_INTENTS | {Intent.OTHER, Intent.COMPARISON, Intent.RECOMMENDATION, Intent.PURCHASE}


def ends_unfinished(text: str) -> bool:
    """True when ``text`` stops mid-phrase: on a word that needs another ("the", "of", "and"...),
    a comma, a dash or an ellipsis (Whisper's mark for speech that trails off)."""
    stripped = text.strip()
    if not stripped:
        return False
    if _TRAILING.search(stripped):
        return True
    words = stripped.rstrip("?？.!。！ ").split()
    return bool(words) and bool(_DANGLING.search(words[-1]))


def complete_question(text: str, catalog: Catalog) -> bool:
    """True when ``text`` reads as a whole question (see the module docstring)."""
    stripped = text.strip()
    if not stripped or ends_unfinished(stripped):
        return False
    core = stripped.rstrip("?？.!。！ ")
    if stripped.endswith(("?", "？")) or core.endswith(_ZH_ENDS):
        return True
    reading = read(core, catalog)
    if reading.intent not in _ASKING:
        return False
    about = bool(reading.named or reading.variants or reading.concepts or reading.colour or reading.deixis)
    if reading.language == "zh":
        # Chinese asks without question words as often as with them: a product fact named is enough.
        return about and reading.intent in FACT_INTENTS
    return about and (bool(_QUESTION_WORD.search(core)) or reading.yes_no)


@dataclass(frozen=True)
class Endpointing:
    """When a listener may end a turn early, and how it recovers from a wrong early end.

    ``complete(text)`` says whether an interim transcript is a whole question; ``unfinished(text)``
    whether it stops mid-phrase (the turn then waits up to ``hold_silence_s`` of silence).
    """

    complete: Callable[[str], bool]
    unfinished: Callable[[str], bool] = ends_unfinished
    quick_silence_s: float = QUICK_SILENCE_S
    pause_decode_s: float = PAUSE_DECODE_S
    hold_silence_s: float = HOLD_SILENCE_S
    resume_window_s: float = RESUME_WINDOW_S

    def __post_init__(self) -> None:
        if self.quick_silence_s <= 0.0:
            raise ValueError(f"quick_silence_s must be positive, got {self.quick_silence_s}")
        if not 0.0 <= self.pause_decode_s <= self.quick_silence_s:
            raise ValueError(
                f"pause_decode_s must be between 0 and quick_silence_s ({self.quick_silence_s}),"
                f" got {self.pause_decode_s}"
            )
        if self.hold_silence_s < self.quick_silence_s:
            raise ValueError(f"hold_silence_s must be at least quick_silence_s, got {self.hold_silence_s}")
        if self.resume_window_s < 0.0:
            raise ValueError(f"resume_window_s must not be negative, got {self.resume_window_s}")


def catalog_endpointing(catalog: Callable[[], Catalog]) -> Endpointing:
    """Endpointing that asks :func:`complete_question` of the scene's catalog (read at each call,
    so a reloaded scene's products count at once)."""
    return Endpointing(lambda text: complete_question(text, catalog()))
