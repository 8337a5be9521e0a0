"""Text before speech: split into sentences, and spell out what voices misread.

Sentences are the unit of streaming: the first one is synthesised and playing while the next is made.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_MIN_SENTENCE_CHARS = 12  # shorter fragments ("Hi!") are merged with the next one
_MAX_SENTENCE_CHARS = 220  # longer runs are cut at a comma so the first audio comes quickly
# A clause boundary a long first sentence may be cut at: a comma, semicolon or colon followed by a
# space (so "1,000" and "10:30" stay whole), or a full-width Chinese one.
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|(?<=[，；：、])")
CLAUSE_MARKS = frozenset(",;:，；：、")
"""Punctuation a piece of a sentence (not the sentence itself) may end with."""
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


def split_first_clause(sentence: str, max_chars: int) -> list[str]:
    """``sentence`` as one piece, or, when it is longer than ``max_chars``, as its first clause and
    the rest: the voice then speaks the short clause first, and the audience hears it sooner.

    Lengths count a Chinese character as three Latin ones (about the same speaking time). Only a
    clause of at least the minimum sentence length is split off, and only when the rest is
    not a fragment either; a sentence without a clause boundary stays whole.
    """
    if _speech_length(sentence) <= max_chars:
        return [sentence]
    for boundary in _CLAUSE_END.finditer(sentence):
        head, rest = sentence[: boundary.start()].strip(), sentence[boundary.end() :].strip()
        if _speech_length(head) >= _MIN_SENTENCE_CHARS:
            return [head, rest] if _speech_length(rest) >= _MIN_SENTENCE_CHARS else [sentence]
    return [sentence]


def _speech_length(text: str) -> int:
    """Length in Latin characters of about the same speaking time: a Chinese character is a
    syllable, about as long as three Latin letters."""
    return len(text) + 2 * len(_CJK_CHAR.findall(text))


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


# -- spoken form -------------------------------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}\u3000-\u303f\uff01-\uff5e]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Digit lookarounds, not \b: Chinese characters count as word characters, so "20:00开抢" has no \b.
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_DECIMAL = re.compile(r"(\d+)\.(\d+)")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Units after a number: (pattern, English, Chinese). Longest first so "mAh" wins over "m".
_UNITS: tuple[tuple[str, str, str], ...] = (
    ("mAh", "milliamp hours", "毫安时"),
    ("kWh", "kilowatt hours", "千瓦时"),
    ("ml", "milliliters", "毫升"),
    ("mL", "milliliters", "毫升"),
    ("kg", "kilograms", "千克"),
    ("km", "kilometers", "公里"),
    ("cm", "centimeters", "厘米"),
    ("mm", "millimeters", "毫米"),
    ("GB", "gigabytes", "GB"),
    ("TB", "terabytes", "TB"),
    ("MB", "megabytes", "MB"),
    ("Hz", "hertz", "赫兹"),
    ("°C", "degrees Celsius", "摄氏度"),
    ("°F", "degrees Fahrenheit", "华氏度"),
    ("lbs", "pounds", "磅"),
    ("oz", "ounces", "盎司"),
    ("W", "watts", "瓦"),
    ("V", "volts", "伏"),
    ("L", "liters", "升"),
    ("g", "grams", "克"),
    ("h", "hours", "小时"),
    ("m", "meters", "米"),
)
_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s?(" + "|".join(re.escape(u) for u, _, _ in _UNITS) + r")(?![A-Za-z])")
_UNIT_WORDS = {u: (en, zh) for u, en, zh in _UNITS}
# A product code: letters and digits (optionally joined by hyphens) with at least one of each and an
# upper-case letter, e.g. "XR-200", "SKU4471", "A7". Spelled letter by letter so no voice reads it as
# a word.
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")
_LONG_DIGITS = 4  # digit runs this long in a code are read digit by digit ("4471": "4 4 7 1")


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


def _speak_date(match: re.Match[str]) -> str:
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return match.group()
    return english_date(year, month, day)


def english_date(year: int, month: int, day: int) -> str:
    """A date as said in English ("March 5, 2026"); month names from a table, not the process locale."""
    return f"{_MONTHS[month - 1]} {day}, {year}"


def _speak_clock(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    suffix = "AM" if hour < 12 else "PM"
    hour12 = hour % 12 or 12
    return f"{hour12} {suffix}" if minute == 0 else f"{hour12} {minute:02d} {suffix}"


def _speak_clock_zh(match: re.Match[str]) -> str:
    minute = int(match.group(2))
    return f"{int(match.group(1))}点" + (f"{minute}分" if minute else "")


def _speak_code(match: re.Match[str]) -> str:
    code = match.group()
    if re.fullmatch(r"\d+[A-Za-z]?|[A-Z][a-z]+\d*", code):
        return code  # "4K", "Gen2": a number or a word, which voices read well
    words: list[str] = []
    for piece in re.findall(r"[A-Za-z]+|\d+", code):
        if piece.isdigit():
            words.append(" ".join(piece) if len(piece) >= _LONG_DIGITS else piece)
        elif piece.isupper() or len(piece) <= 3:
            words.append(" ".join(piece.upper()))
        else:
            words.append(piece)
    return " ".join(words)


def _speak_unit(match: re.Match[str], language: str) -> str:
    english, chinese = _UNIT_WORDS[match.group(2)]
    if language == "zh":
        return f"{match.group(1)}{chinese}"
    if english in {"hours", "meters", "grams", "liters", "volts", "watts"} and match.group(1) == "1":
        english = english.removesuffix("s")
    return f"{match.group(1)} {english}"


def normalise_for_speech(text: str, language: str = "en") -> str:
    """Spell out what voices misread (prices, percentages, dates, times, units, product codes) and
    drop emoji and markup. English text loses Chinese runs (an English voice cannot say them; the
    caption still shows them); Chinese text keeps English words for the Mandarin voice's English part.
    """
    text = _EMOJI.sub("", _MARKUP.sub("", text))
    text = _THOUSANDS.sub("", text)
    if language == "zh":
        text = _PRICE.sub(_speak_price_zh, text)
        text = _PERCENT.sub(lambda m: f"百分之{m.group(1)}", text)
        text = _ISO_DATE.sub(lambda m: f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日", text)
        text = _CLOCK.sub(_speak_clock_zh, text)
        text = _UNIT.sub(lambda m: _speak_unit(m, "zh"), text)
        # espeak-ng's Mandarin skips the decimal point ("99.9" comes out as "99 9"): say 点.
        text = _DECIMAL.sub(r"\1点\2", text)
        text = text.replace("&", "和")
        return re.sub(r"\s{2,}", " ", text).strip()
    text = _CJK_RUN.sub(" ", text)
    text = _PRICE.sub(_speak_price, text)
    text = _PERCENT.sub(lambda m: f"{m.group(1)} percent", text)
    text = _ISO_DATE.sub(_speak_date, text)
    text = _CLOCK.sub(_speak_clock, text)
    text = _UNIT.sub(lambda m: _speak_unit(m, "en"), text)
    text = _CODE.sub(_speak_code, text)
    text = re.sub(r"\s*&\s*", " and ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()
