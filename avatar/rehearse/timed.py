"""Timed words: what every rehearsal measure is computed from.

The ASR engine (``avatar.engines.asr``) gives a ``Transcript`` of segments with word timings; this
module turns it into a flat list of :class:`TimedWord` so the metrics and coaching code do not
depend on the engine (and unit tests can script transcripts by hand).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

__all__ = ["TimedLine", "TimedWord", "is_cjk", "lines_from_transcript", "normalise_asr_text", "words_of"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """True when ``text`` contains Chinese characters."""
    return _CJK.search(text) is not None


@dataclass(frozen=True)
class TimedWord:
    """One word (or, for Chinese, one run of characters) and when it was said, in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class TimedLine:
    """One transcribed line (an ASR segment) with its words."""

    start: float
    end: float
    text: str
    words: tuple[TimedWord, ...]


class _WordLike(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


class _SegmentLike(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def words(self) -> Sequence[_WordLike]: ...


class TranscriptLike(Protocol):
    """The part of ``avatar.engines.asr.Transcript`` rehearsal reads."""

    @property
    def segments(self) -> Sequence[_SegmentLike]: ...


_SENTENCE_END = re.compile(r"[.!?。！？]$")
# Whisper writes a spoken price as "dollar 39.99" or "39.99 dollars" as often as "$39.99"; the
# fact lock reads money from the currency sign, so the spoken forms are folded into it.
_DOLLAR_BEFORE = re.compile(r"\b(?:US )?dollars? (\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_DOLLAR_AFTER = re.compile(r"(?<![$\d.])(\d[\d,]*(?:\.\d+)?) dollars?\b", re.IGNORECASE)


def normalise_asr_text(text: str) -> str:
    """ASR text in the written form the brain reads (spoken money as ``$39.99``)."""
    text = _DOLLAR_BEFORE.sub(r"$\1", text)
    return _DOLLAR_AFTER.sub(r"$\1", text)


def _join(words: Sequence[TimedWord]) -> str:
    text = ""
    for word in words:
        if text and not (is_cjk(word.text[:1]) and is_cjk(text[-1:])):
            text += " "
        text += word.text
    # Whisper splits "39.99" into " 39" + ".99" and leaves punctuation as its own word at times.
    text = re.sub(r"(\d) ([.,]\d)", r"\1\2", text)
    text = re.sub(r" ([,.!?;:%])", r"\1", text)
    return normalise_asr_text(text)


def lines_from_transcript(transcript: TranscriptLike, offset_s: float = 0.0) -> list[TimedLine]:
    """The transcript as sentence lines, shifted by ``offset_s`` (where the clip sits in the take).

    Segments are split at sentence ends using the word timings (a prompted Whisper often returns
    one segment for a whole clip, and a flag should point at its sentence). A segment without word
    timings is one line, its words spread evenly over its span, so pace and pauses still have
    something to work with.
    """
    lines: list[TimedLine] = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        if not segment.words:
            words = _spread(text, segment.start + offset_s, segment.end + offset_s)
            lines.append(
                TimedLine(segment.start + offset_s, segment.end + offset_s, normalise_asr_text(text), words)
            )
            continue
        sentence: list[TimedWord] = []
        timed = [
            TimedWord(float(w.start) + offset_s, float(w.end) + offset_s, w.text.strip())
            for w in segment.words
            if w.text.strip()
        ]
        for i, word in enumerate(timed):
            sentence.append(word)
            if _SENTENCE_END.search(word.text) or i == len(timed) - 1:
                lines.append(TimedLine(sentence[0].start, sentence[-1].end, _join(sentence), tuple(sentence)))
                sentence = []
    return _join_decimals(lines)


def _join_decimals(lines: list[TimedLine]) -> list[TimedLine]:
    """Lines cut inside a number put back together: Whisper ends a segment at "4." when the host
    goes on "6 克" (4.6 g), and the fact check would then read two numbers that are not in the catalog."""
    out: list[TimedLine] = []
    for line in lines:
        previous = out[-1] if out else None
        if (
            previous
            and previous.words
            and line.words
            and re.search(r"\d\.$", previous.text)
            and line.text[:1].isdigit()
        ):
            words = (
                *previous.words[:-1],
                replace(previous.words[-1], text=previous.words[-1].text + line.words[0].text),
                *line.words[1:],
            )
            out[-1] = TimedLine(previous.start, line.end, _join(list(words)), words)
        else:
            out.append(line)
    return out


def _spread(text: str, start: float, end: float) -> tuple[TimedWord, ...]:
    tokens = text.split()
    if not tokens:
        return ()
    step = max(end - start, 0.0) / len(tokens)
    return tuple(TimedWord(start + i * step, start + (i + 1) * step, t) for i, t in enumerate(tokens))


def words_of(lines: Iterable[TimedLine]) -> list[TimedWord]:
    """All words of ``lines`` in order."""
    return [word for line in lines for word in line.words]
