"""Text before speech: split into sentences, and spell out what voices misread.

Sentences are the unit of streaming: the first one is synthesised and playing while the next is made.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$")
_MIN_SENTENCE_CHARS = 12  # shorter fragments ("Hi!") are merged with the next one
_MAX_SENTENCE_CHARS = 220  # longer runs are cut at a comma so the first audio comes quickly
_PRICE = re.compile(r"([$¥€£])\s?(\d+)(?:\.(\d{1,2}))?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_MARKUP = re.compile(r"<[^>]{0,200}>|[*_`#~]")
# Pictographs and symbols no voice can say.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_CURRENCY_WORDS = {"$": ("dollars", "cents"), "€": ("euros", "cents"), "£": ("pounds", "pence")}


def split_sentences(text: str) -> list[str]:
    """Split text into speakable sentences, merging tiny ones and cutting very long ones."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p and p.strip()]
    sentences: list[str] = []
    carry = ""
    for piece in pieces:
        candidate = _join(carry, piece) if carry else piece
        if len(candidate) < _MIN_SENTENCE_CHARS:
            carry = candidate
            continue
        sentences.extend(_cut_long(candidate))
        carry = ""
    if carry:
        if sentences and len(sentences[-1]) + len(carry) < _MAX_SENTENCE_CHARS:
            sentences[-1] = _join(sentences[-1], carry)
        else:
            sentences.append(carry)
    return sentences


def _join(first: str, second: str) -> str:
    # Chinese runs sentences together without a space; English needs one.
    if _CJK_END.search(first):
        return first + second
    return f"{first} {second}"


def _cut_long(sentence: str) -> list[str]:
    if len(sentence) <= _MAX_SENTENCE_CHARS:
        return [sentence]
    parts: list[str] = []
    rest = sentence
    while len(rest) > _MAX_SENTENCE_CHARS:
        cut = max(rest.rfind(",", 0, _MAX_SENTENCE_CHARS), rest.rfind("，", 0, _MAX_SENTENCE_CHARS))
        if cut <= 0:
            cut = rest.rfind(" ", 0, _MAX_SENTENCE_CHARS)
        if cut <= 0:
            cut = _MAX_SENTENCE_CHARS - 1
        parts.append(rest[: cut + 1].strip())
        rest = rest[cut + 1 :].strip()
    if rest:
        parts.append(rest)
    return parts


def _speak_price(match: re.Match[str]) -> str:
    symbol, whole, fraction = match.group(1), match.group(2), match.group(3)
    if symbol == "¥":
        return f"{whole}.{fraction} yuan" if fraction else f"{whole} yuan"
    major, minor = _CURRENCY_WORDS[symbol]
    if not fraction or int(fraction) == 0:
        return f"{whole} {major}"
    return f"{whole} {major} {int(fraction.ljust(2, '0'))}"


def _speak_price_zh(match: re.Match[str]) -> str:
    symbol, whole, fraction = match.group(1), match.group(2), match.group(3)
    unit = {"$": "美元", "€": "欧元", "£": "英镑"}.get(symbol, "元")
    return f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"


def normalise_for_speech(text: str, language: str = "en") -> str:
    """Spell out prices and percentages, and drop emoji and markup, so the voice reads it right."""
    text = _EMOJI.sub("", _MARKUP.sub("", text))
    if language == "zh":
        text = _PRICE.sub(_speak_price_zh, text)
        return _PERCENT.sub(lambda m: f"百分之{m.group(1)}", text).strip()
    text = _PRICE.sub(_speak_price, text)
    text = _PERCENT.sub(lambda m: f"{m.group(1)} percent", text)
    return re.sub(r"\s{2,}", " ", text).strip()
