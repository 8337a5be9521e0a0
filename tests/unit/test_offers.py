"""What a bundle offer, as written, does to an order's sum."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.offers import Deal, deal_of
from avatar.brain.scene import load_scene

SCENES = Path(__file__).resolve().parents[2] / "scenes"


@pytest.mark.parametrize(
    ("offer", "deal"),
    [
        ("Buy 2 boxes, get 1 free", Deal(2, 1)),
        ("买二送一", Deal(2, 1)),
        ("Buy 2 mounts, get a third one free", Deal(2, 1)),
        ("Buy 3 packs, get 1 more pack free", Deal(3, 1)),
        ("Buy 3 bags, get a 4th bag free", Deal(3, 1)),
        ("买3包送1包", Deal(3, 1)),
        ("买两套送一套", Deal(2, 1)),
        # A gift of something else leaves the sum as it is.
        ("Buy 2 tubs, get a free shaker bottle", Deal(2, 0)),
        ("Buy 2 pillows, get 2 cotton pillowcases free", Deal(2, 0)),
        ("买两个枕头送两个纯棉枕套", Deal(2, 0)),
        ("买两瓶送一瓶120ml旅行装", Deal(2, 0)),
        ("Free storage bag with every quilt", Deal(1, 0)),
        ("每盒附赠手提礼袋", Deal(1, 0)),
        # Discounts are the shop's to sum.
        ("Second pair half price", None),
        ("第二副半价", None),
        ("Buy 2 bookshelves and save 15% on both", None),
        ("远途托运箱和轻羽登机箱一起买，立减200元", None),
    ],
)
def test_an_offer_is_read_as_more_of_the_same_a_gift_or_neither(offer: str, deal: Deal | None) -> None:
    assert deal_of(offer) == deal


def test_an_order_pays_for_what_the_deal_does_not_give() -> None:
    two_get_one = Deal(2, 1)
    assert [two_get_one.paid(n) for n in range(1, 8)] == [1, 2, 2, 3, 4, 4, 5]
    assert two_get_one.adds(2) == 1 and two_get_one.adds(3) == 0  # 2 ordered: a third comes free
    assert Deal(2, 0).paid(5) == 5 and Deal(2, 0).adds(2) == 0


def test_an_order_under_a_deal_says_its_sum() -> None:
    at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    pets = Answerer(load_scene(SCENES / "pets"), now=lambda: at)
    each = pets.catalog.get("tofu-cat-litter").current_price(at)
    four = pets.answer("猫砂要4袋 一共多少钱", "tofu-cat-litter")  # buy 3, get 1 free
    assert pets.catalog.format_price(each * 3) in four.text and "4袋只付3袋" in four.text
    three = pets.answer("猫砂要3袋 一共多少钱", "tofu-cat-litter")
    assert pets.catalog.format_price(each * 3) in three.text and "多送1袋" in three.text
