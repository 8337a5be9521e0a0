"""Shop-independent words: attribute concepts, emoji, colours, foreign words (``brain/data``).

A new shop's ``spf``, ``shelf_life`` or ``voltage`` field is understood without code because the
question and the field are both read into the same general concepts ("sun", "shelf_life",
"voltage") from a word list in data files, and a shared concept ties them together. Nothing here
names a product.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

import yaml

from avatar.brain.language import is_cjk
from avatar.brain.names import NameIndex, NameMatch

__all__ = ["Lexicon", "lexicon"]


def _english_pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    # Longest first so "shelf life" wins over "life"; letters-only lookarounds (not \b) so a
    # keyword next to a Chinese character still counts ("这个spf多少").
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?:s|es)?(?![a-z0-9])", re.IGNORECASE)


class Lexicon:
    """The word lists of ``avatar/brain/data``, compiled once."""

    def __init__(self, attributes: dict[str, Any], words: dict[str, Any]) -> None:
        # One pass over a text finds every concept: its words and phrases are looked up as word
        # runs and Chinese substrings (avatar.brain.names), not tried one pattern at a time.
        self._concepts = NameIndex(
            (str(word), str(name))
            for name, entry in attributes.items()
            for word in (*entry.get("en", []), *entry.get("zh", []))
        )
        self.emoji: dict[str, str] = {str(k): str(v) for k, v in words.get("emoji", {}).items()}
        colours = words.get("colours", {})
        self.colours_en = tuple(str(w) for w in colours.get("en", []))
        self.colours_zh = tuple(str(w) for w in colours.get("zh", []))
        self._colour_en = _english_pattern(list(self.colours_en))
        self.foreign = frozenset(str(w) for w in words.get("foreign", []))
        self.foreign_intents = _word_table(words.get("foreign_intents", {}))
        self.foreign_concepts = _word_table(words.get("foreign_concepts", {}))
        self.measures = frozenset(str(w).lower() for w in words.get("measures", []))
        self.unit_spellings = {
            str(word).lower(): tuple(str(w).lower() for w in group)
            for group in words.get("unit_spellings", [])
            for word in group
        }
        self.not_units = frozenset(str(w).lower() for w in words.get("not_units", []))
        units = {str(u).lower(): str(c) for c, said in words.get("unit_concepts", {}).items() for u in said}
        self._unit_concepts = units
        self._measured = re.compile(
            r"\d(?:[\d.,]*\d)?\s*("
            + "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
            + r")(?![a-z])",
            re.IGNORECASE,
        )
        self.option_kinds = tuple(str(w) for w in words.get("option_kinds", []))
        self.need_filler = frozenset(str(w).lower() for w in words.get("need_filler", []))
        self.slang = {str(k).lower(): str(v) for k, v in words.get("slang", {}).items()}
        self.colloquial_zh = {str(k): str(v) for k, v in words.get("colloquial_zh", {}).items()}
        self._slang = (
            re.compile(r"(?<![\w/&])(" + "|".join(map(re.escape, self.slang)) + r")(?![\w/&])", re.IGNORECASE)
            if self.slang
            else None
        )

    def concepts_in(self, text: str) -> frozenset[str]:
        """The attribute concepts ``text`` speaks of, also in colloquial Chinese ("啥做的" is
        "什么做的")."""
        matches = self._concepts.find(text)

        # An English phrase inside a longer one means what the longer one says: "how long" is a
        # size, but not in "how long do they keep" (shelf life); "weight limit" is a load, not the
        # product's own weight. (Chinese runs together: its phrases are all kept.)
        def inside_longer(m: NameMatch[str]) -> bool:
            size = m.end - m.start
            return any(o.start <= m.start and m.end <= o.end and o.end - o.start > size for o in matches)

        found = {
            value
            for match in matches
            if not (text[match.start : match.end].isascii() and inside_longer(match))
            for value in match.values
        }
        plain = text
        for said, meant in self.colloquial_zh.items():
            plain = plain.replace(said, meant)
        if plain != text:
            found.update(value for match in self._concepts.find(plain) for value in match.values)
        return frozenset(found)

    def concept_spans(self, text: str) -> list[tuple[int, int]]:
        """Where in ``text`` the words and phrases naming a concept are (start, end)."""
        return [(m.start, m.end) for m in self._concepts.find(text)]

    def measured_in(self, text: str) -> frozenset[str]:
        """What the numbers of ``text`` measure, by their units ("净重500克" -> weight)."""
        return frozenset(self._unit_concepts[m.group(1).lower()] for m in self._measured.finditer(text))

    def unslang(self, text: str) -> str:
        """``text`` with chat shorthand spelled out ("how much r the earrings" -> "... are ...")."""
        if self._slang is None:
            return text
        return self._slang.sub(lambda m: self.slang[m.group(1).lower()], text)

    def spell_emoji(self, text: str) -> str:
        """``text`` with each known emoji replaced by its words (variation selectors dropped)."""
        if text.isascii():
            return text
        out = []
        for char in text.replace("\ufe0f", ""):
            word = self.emoji.get(char)
            out.append(f" {word} " if word else char)
        return "".join(out)

    def colour_in(self, text: str) -> str | None:
        """A colour word in ``text`` ("blue", "黑色"), or None."""
        if self._colour_en is not None and (found := self._colour_en.search(text)):
            return found.group(0).lower()
        return next((w for w in self.colours_zh if w in text), None)

    def foreign_intent(self, text: str) -> tuple[str | None, frozenset[str]]:
        """What a question in another language asks: an intent name (None if unclear) and the
        attribute concepts it names, by its words."""
        lowered = text.lower()
        intent = next(
            (i for i, said in self.foreign_intents.items() if any(w in lowered for w in said)), None
        )
        concepts = frozenset(
            c for c, said in self.foreign_concepts.items() if any(w in lowered for w in said)
        )
        return intent, concepts

    def is_foreign(self, text: str) -> bool:
        """True when ``text`` is written in a language the host does not speak (kana, hangul,
        Cyrillic, Arabic, Thai scripts, or mostly Spanish/German/French/Italian/Portuguese words)."""
        for char in text:
            name = unicodedata.name(char, "")
            if name.startswith(("HIRAGANA", "KATAKANA", "HANGUL", "CYRILLIC", "ARABIC", "THAI", "HEBREW")):
                return True
        if any(is_cjk(ch) for ch in text):
            return False
        words = re.findall(r"[^\W\d_]+", text.lower())
        hits = sum(1 for w in words if w in self.foreign)
        return hits >= 2 and hits * 2 >= len(words) or "¿" in text


def _word_table(raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {str(key): tuple(str(w).lower() for w in said) for key, said in raw.items()}


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load(resources.files("avatar.brain").joinpath("data", name).read_text("utf-8"))
    return data if isinstance(data, dict) else {}


@cache
def lexicon() -> Lexicon:
    """The shared lexicon (loaded on first use)."""
    return Lexicon(_load("attributes.yaml"), _load("words.yaml"))
