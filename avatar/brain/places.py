"""Where a viewer wants an order sent: "新疆能发吗", "寄到上海几天", "can u ship to tibet".

A place in a shipping question is a destination, never a product name, though a shop may name a
product after a place ("新疆果干礼盒"). Chinese places are found by jieba's part-of-speech tags
(``ns``: a place name), English ones by the words after "ship/send/deliver ... to".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from avatar.zh_segment import jieba_module

__all__ = ["Destination", "destination"]

# A shipping word next to the place: before it ("发新疆", "寄到上海") or after it ("新疆能发吗",
# "西藏包邮吗", "上海几天到").
_ZH_BEFORE = re.compile(r"(?:发|寄|送|运|配送)(?:到|往|去)?$")
_ZH_AFTER = re.compile(r"^(?:的话)?(?:能|可以|可|给)?(?:发|寄|送|到|包邮|配送|几天|多久|运费|邮费|快递)")
_EN = re.compile(
    r"\b(?:ship|ships|shipping|send|sends|deliver|delivers|delivery|post|mail)\b(?:\s+\w+){0,3}?\s+to\s+"
    r"(?P<place>[a-z][a-z]+(?:\s+[a-z][a-z]+)?)",
    re.IGNORECASE,
)
# Words after "to" that are not places: "ship to me", "send it to my mom".
_NOT_PLACES = frozenset(
    ["me", "my", "you", "your", "us", "our", "him", "her", "them", "his", "their"]
    + ["a", "an", "the", "arrive", "get", "be", "come", "reach"]
)


@dataclass(frozen=True)
class Destination:
    """A place named as where to send an order, and where it is in the text."""

    place: str
    start: int
    end: int


def destination(text: str) -> Destination | None:
    """The place ``text`` asks to have an order sent to, or None."""
    found = _EN.search(text)
    if found is not None:
        first = found.group("place").split()[0].lower()
        if first not in _NOT_PLACES:
            return Destination(found.group("place"), found.start("place"), found.end("place"))
    if not re.search(r"发|寄|送|运|邮|到|快递", text):
        return None  # no shipping word: jieba (a second to load) is not needed
    at = 0
    for token in jieba_module().posseg.cut(text):
        start, end = at, at + len(token.word)
        at = end
        if token.flag == "ns" and (_ZH_BEFORE.search(text[:start]) or _ZH_AFTER.match(text[end:])):
            return Destination(token.word, start, end)
    return None
