"""Which language a viewer wrote in, so the host answers in kind.

The show speaks one language, but chat arrives in English and Chinese, often mixed
("这个 price?"). A cheap character count is enough to pick between the two and needs no model.
"""

from __future__ import annotations

import re

__all__ = ["SUPPORTED_LANGUAGES", "detect_language", "is_cjk"]

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
    return "zh" if cjk > words else "en"
