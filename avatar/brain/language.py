"""Which language a viewer wrote in, so the host answers in kind.

The show speaks one language, but chat arrives in English and Chinese, often mixed
("这个 price?"). A cheap character count is enough to pick between the two and needs no model.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

__all__ = ["EN_STOP_WORDS", "SUPPORTED_LANGUAGES", "content_words", "detect_language", "is_cjk", "stems"]

SUPPORTED_LANGUAGES = ("en", "zh")

# CJK unified ideographs, extension A and compatibility ideographs: the characters of written
# Chinese. CJK punctuation is left out on purpose; "？" alone says nothing about the language.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def is_cjk(char: str) -> bool:
    """True for a Chinese character."""
    return bool(_CJK.fullmatch(char))


def detect_language(text: str) -> str:
    """``"zh"`` if Chinese characters dominate ``text``, else ``"en"`` (also for empty text).

    One Chinese character carries about as much as one English word, so characters are weighed
    against words: "Aurora Buds 多少钱" (3 characters, 2 words) is Chinese, "is the 极光耳机 in
    stock" (4 characters, 4 words) is English with a product name in it.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if cjk == words and cjk:
        # A tie goes to the language the sentence ends in: "XL呢", "M码" are Chinese questions.
        last = text.rstrip(" ?？!！.。~～")[-1:]
        return "zh" if _CJK.match(last) else "en"
    return "zh" if cjk > words else "en"


# Words that carry no topic; a word list reads better than a hundred quoted strings.
EN_STOP_WORDS = frozenset(
    """a an the is are am was were be been do does did it its it's this that these those they them
    i me my you your we our us he she his her of to in on at for with and or but if so can could
    would will should may might must have has had there here what which who how when where why
    any some please pls plz just really very about from by as not no yes ok okay one ones get got
    hi hey hello thanks thank all over out up into onto than then too also still much many lot lots
    such same other every each""".split()  # noqa: SIM905
)
# Function characters that say nothing about the topic of a Chinese question.
_ZH_STOP = frozenset(
    "吗呢吧啊呀哦嘛的了是这那个款件它我你您们么什可以能会要有没不吧也都就还很和与在用给多少几哪啥怎从"
)


def content_words(text: str) -> set[str]:
    """Topic words of ``text``: English words minus stop words and plural s, and Chinese characters.

    Single characters, not bigrams, for Chinese: short questions share too few bigrams with a
    prepared question ("可以用洗碗机洗吗" vs "能放洗碗机吗") while their content characters overlap well.
    """
    lowered = text.lower()
    words = set()
    for word in re.findall(r"[a-z0-9]+", lowered):
        if word in EN_STOP_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    words.update(ch for ch in lowered if is_cjk(ch) and ch not in _ZH_STOP)
    return words


def zh_pairs(text: str) -> frozenset[str]:
    """Two Chinese content characters side by side ("螺丝", "耳朵"): a word, most of the time. A
    pair a question shares with one fact's text tells that fact apart better than its characters
    one by one, which many facts share."""
    lowered = text.lower()
    return frozenset(
        lowered[i : i + 2]
        for i in range(len(lowered) - 1)
        if all(is_cjk(ch) and ch not in _ZH_STOP for ch in lowered[i : i + 2])
    )


_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    # Snowball (Porter 2), the same on both sides of a match: "brightness"/"bright",
    # "heating"/"heat", "batteries"/"battery"; Chinese characters are kept as they are.
    if not word.isascii() or len(word) <= 2:
        return word
    stem: str = _STEMMER.stemWord(word)
    # Snowball keeps what viewers' words and catalog labels often differ by: "foldable"/"fold"
    # ("foldabl"), "itchy"/"itch" ("itchi"), "spicy"/"spice" ("spici"/"spice").
    if stem.endswith(("abl", "ibl")) and len(stem) >= 6:
        stem = stem[:-3]
    if len(stem) >= 5 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
        stem = stem[:-1]  # "programmable" ("programm") and "program", "stoppable" and "stop"
    if stem[-1] in "ie" and len(stem) >= 5:
        stem = stem[:-1]
    return stem


def stems(text: str) -> frozenset[str]:
    """:func:`content_words` with English words reduced to a rough stem, for matching facts."""
    return frozenset(_stem(word) for word in content_words(text))
