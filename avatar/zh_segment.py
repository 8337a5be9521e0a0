"""jieba (Chinese word segmentation and part-of-speech tags), loaded once and quietly."""

from __future__ import annotations

import logging
import warnings
from functools import cache, lru_cache
from typing import Any

from avatar.brain.language import is_cjk

__all__ = ["jieba_module", "zh_words"]


@cache
def jieba_module() -> Any:  # jieba ships no type hints
    """The initialised ``jieba`` package, its ``posseg`` tagger imported too. The first call builds
    jieba's prefix dictionary (about a second)."""
    with warnings.catch_warnings():
        # jieba 0.42 predates Python 3.12's escape warnings and setuptools' pkg_resources notice.
        warnings.simplefilter("ignore")
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    return jieba


@lru_cache(maxsize=4096)
def zh_words(text: str) -> frozenset[str]:
    """The Chinese words of two characters or more in ``text`` (jieba's segmentation). Cached: a
    question's words are asked for once per product it is matched against."""
    return frozenset(w for w in jieba_module().lcut(text) if len(w) >= 2 and all(is_cjk(ch) for ch in w))
