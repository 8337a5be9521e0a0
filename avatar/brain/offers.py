"""What a bundle offer, as the shop wrote it, does to the sum of an order.

"Buy 2 boxes, get 1 free" / "买3包送1包" give more of the same product: an order of 3 pays for 2.
"Buy 2 tubs, get a free shaker" / "下单送一个收纳袋" add a gift: the sum is unchanged. Any other kind
of offer ("second pair half price", "15% off the sheet set") is not read here, and the host gives
each one's price and the offer as written instead of a sum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from avatar.brain.language import stems

_EN_COUNTS = {"one": 1, "a": 1, "an": 1, "another": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_ZH_COUNTS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_ORDINALS = frozenset({"second", "third", "fourth", "fifth", "sixth"})
_NTH = re.compile(r"\d+(?:st|nd|rd|th)")
_COUNT_EN = r"(\d+|one|two|three|four|five|six)"
_COUNT_ZH = r"(\d+|[一二两三四五六七八九十])"
# "buy 2 mounts, get a third one free", "buy 3 packs, get 1 more pack free", "buy 2, get 1 free"
_EN_BUY_GET = re.compile(
    rf"\bbuy {_COUNT_EN}\b(?: (\w+))?,? (?:and )?get (\d+|one|two|a|an|another)\b"
    r"((?: [\w-]+){0,3}?) free\b(?: (\w+))?",
    re.IGNORECASE,
)
# "买3包送1包", "买两个送一个", "买二送一", "买两个枕头送两个纯棉枕套"
_ZH_BUY_GET = re.compile(rf"买{_COUNT_ZH}([^\d送，,。：:；;]{{0,4}}?)送{_COUNT_ZH}([^\s，,。：:；;]*)")
_GIFT = re.compile(r"\bfree\b|\bcomes with\b|送|赠", re.IGNORECASE)
_DISCOUNT = re.compile(r"%|\bhalf\b|\boff\b|\bprice\b|折|半价|减|优惠|立减|价", re.IGNORECASE)
_FILLER = frozenset({"more", "extra", "additional", "one", "same", "of", "the"})


@dataclass(frozen=True)
class Deal:
    """Buy ``buy``, get ``free`` more of the same product (``free`` 0: a gift of something else)."""

    buy: int
    free: int

    def paid(self, count: int) -> int:
        """How many of ``count`` are paid for."""
        if self.free == 0:
            return count
        bundle = self.buy + self.free
        return (count // bundle) * self.buy + min(count % bundle, self.buy)

    def adds(self, count: int) -> int:
        """Free ones the deal adds to an order of ``count`` that did not count them in."""
        if self.free == 0 or count % (self.buy + self.free) != self.buy:
            return 0
        return self.free


def deal_of(offer: str) -> Deal | None:
    """What ``offer`` does to an order's sum; None when it is no buy-and-get or gift offer."""
    if (found := _EN_BUY_GET.search(offer)) is not None:
        bought, thing, free, between, after = found.groups()
        words = stems(f"{between} {after or ''}") - _FILLER
        ordinal = bool(words & _ORDINALS) or any(_NTH.fullmatch(w) for w in words)
        same = not words or ordinal or bool(thing and words <= stems(thing) | _FILLER)
        if after and not between.strip():  # "get a free shaker": the gift is named after "free"
            same = bool(thing) and stems(after) <= stems(thing)
        return Deal(_count(bought), _count(free) if same else 0)
    if (found := _ZH_BUY_GET.search(offer)) is not None:
        bought, unit, free, rest = found.groups()
        same = not rest or rest == unit or rest in {"个", "件", "份"} and not unit[1:]
        return Deal(_count(bought), _count(free) if same else 0)
    if _GIFT.search(offer) and not _DISCOUNT.search(offer):
        return Deal(1, 0)
    return None


def _count(said: str) -> int:
    if said.isdigit():
        return int(said)
    return _EN_COUNTS.get(said.lower()) or _ZH_COUNTS.get(said, 1)
