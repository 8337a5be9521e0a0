"""Phrases Whisper invents on silence, noise and music: dropped from every transcript.

Whisper was trained on subtitled video, so a quiet or noisy clip often comes back as a subtitle
credit or a sign-off. The VAD gate and the no-speech threshold stop most of them; this list catches
the ones that still slip through. Whisper also echoes its own prompt on noise: a transcript that is
only a piece of the Simplified-Chinese instruction it was given was not said.
"""

from __future__ import annotations

import re
from typing import Final

from avatar.engines.simplified import SIMPLIFIED_PROMPT

_SILENCE_PHRASES: Final = (
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "like and subscribe",
    "subtitles by",
    "subtitled by",
    "captions by",
    "transcribed by",
    "amara.org",
    "字幕由",
    "字幕製作",
    "字幕制作",
    "请不吝点赞",
    "請不吝點贊",
    "谢谢观看",
    "謝謝觀看",
    "明镜与点点",
)
# Whole segments that are a lone filler when they are all the model heard.
_LONE_FILLERS: Final = frozenset({"you", "thank you", "thanks", "bye", "okay", "so", "um", "uh", "hmm"})
_PUNCTUATION: Final = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, punctuation and spacing collapsed to single spaces."""
    return _PUNCTUATION.sub(" ", text.lower()).strip()


def is_hallucination(text: str, *, alone: bool = False) -> bool:
    """True for a silence phrase, an empty or punctuation-only text, or (``alone``) a lone filler
    or a piece of the Simplified-Chinese prompt."""
    plain = normalise(text)
    if not plain:
        return True
    if any(phrase in plain or phrase in text for phrase in _SILENCE_PHRASES):
        return True
    return alone and (plain in _LONE_FILLERS or plain in normalise(SIMPLIFIED_PROMPT))
