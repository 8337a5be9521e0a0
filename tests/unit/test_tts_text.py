"""Text before speech: sentences the speaker can stream, and words a voice reads correctly.

Prices are taken from the demo catalog, formatted as the host shows them, so the spoken form is
checked for the numbers the show really says.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from avatar.brain.catalog import Catalog
from avatar.brain.scene import load_scene
from avatar.engines.tts.text import normalise_for_speech, split_first_clause, split_sentences
from tests.fakes import DEMO_SCENE

LONG_LIMIT = 220  # the longest sentence the speaker is given at once


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_scene(DEMO_SCENE).catalog


# -- sentences ---------------------------------------------------------------------------------------


def test_english_text_splits_at_sentence_ends() -> None:
    text = "Meet the Aurora Buds. They cancel noise on a busy commute! Buy now? Tap the cart."
    assert split_sentences(text) == [
        "Meet the Aurora Buds.",
        "They cancel noise on a busy commute!",
        "Buy now? Tap the cart.",  # "Buy now?" alone is a fragment: merged
    ]


def test_chinese_text_splits_at_full_width_punctuation() -> None:
    text = "这款耳机今天特价只要三十九块九。续航很长，单次可以听八个小时！防水防汗，运动的时候也能戴吗？"
    assert split_sentences(text) == [
        "这款耳机今天特价只要三十九块九。",
        "续航很长，单次可以听八个小时！",
        "防水防汗，运动的时候也能戴吗？",
    ]


def test_mixed_language_text_splits_at_both_kinds_of_punctuation() -> None:
    sentences = split_sentences(
        "Welcome to the show, everyone! 欢迎来到直播间，今天有好东西。Let's get started now."
    )
    assert sentences == [
        "Welcome to the show, everyone!",
        "欢迎来到直播间，今天有好东西。",
        "Let's get started now.",
    ]


def test_tiny_fragments_are_merged_with_the_next_sentence() -> None:
    sentences = split_sentences("Hi! Yes. Welcome to Demo Shop Live, I'm Mia!")
    assert sentences == ["Hi! Yes. Welcome to Demo Shop Live, I'm Mia!"]
    assert split_sentences("你好！欢迎来到直播间，我是主播。")[0].startswith("你好！")
    assert len(split_sentences("你好！欢迎来到直播间，我是主播。")) == 1


def test_a_trailing_fragment_joins_the_sentence_before_it() -> None:
    assert split_sentences("The lamp has five brightness levels. Nice!") == [
        "The lamp has five brightness levels. Nice!"
    ]


def test_whitespace_and_empty_text() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n ") == []
    assert split_sentences("  Just one sentence here, really.  ") == ["Just one sentence here, really."]
    assert split_sentences("Short.") == ["Short."], "a lone fragment is still spoken"


def test_a_very_long_sentence_is_cut_at_commas() -> None:
    clause = "this pack has a padded sleeve for a laptop"
    text = ", ".join([clause] * 12) + "."
    assert len(text) > 2 * LONG_LIMIT
    pieces = split_sentences(text)
    assert len(pieces) >= 3
    assert all(len(p) <= LONG_LIMIT for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1]), "cut right after a comma"
    assert " ".join(pieces) == text, "nothing lost or reordered"


def test_the_cut_prefers_a_comma_to_a_later_space() -> None:
    opening = "Here is the trail pack everyone asked about"
    ramble = " ".join(["and it carries everything you need for a long day out"] * 6) + "."
    text = f"{opening}, {ramble}"
    pieces = split_sentences(text)
    assert pieces[0] == f"{opening},", "at the clause boundary, not mid-clause near the limit"
    assert all(len(p) <= LONG_LIMIT for p in pieces)
    assert " ".join(pieces) == text


def test_a_very_long_chinese_sentence_is_cut_at_full_width_commas() -> None:
    clause = "这款背包的背负系统可以调节长距离徒步更省力"
    text = "，".join([clause] * 15) + "。"
    pieces = split_sentences(text)
    assert len(pieces) >= 2 and all(len(p) <= LONG_LIMIT for p in pieces)
    assert all(p.endswith("，") for p in pieces[:-1])
    assert "".join(pieces) == text


def test_a_long_sentence_without_commas_is_cut_between_words() -> None:
    words = [f"word{i}" for i in range(80)]
    text = " ".join(words) + "."
    pieces = split_sentences(text)
    assert len(pieces) >= 2 and all(len(p) <= LONG_LIMIT for p in pieces)
    assert " ".join(pieces) == text, "cut at spaces: no word is split"


# -- spoken form -------------------------------------------------------------------------------------


def spoken_price(amount: Decimal) -> str:
    whole = int(amount)
    cents = int((amount - whole) * 100)
    return f"{whole} dollars" + (f" {cents}" if cents else "")


def test_catalog_prices_are_read_as_dollars_and_cents(catalog: Catalog) -> None:
    amounts = {p.price for p in catalog.products} | {p.promo.price for p in catalog.products if p.promo}
    assert any(a != int(a) for a in amounts) and any(a == int(a) for a in amounts), "both kinds in the demo"
    for amount in sorted(amounts):
        shown = catalog.format_price(amount)
        said = normalise_for_speech(f"Today it is just {shown}.")
        assert said == f"Today it is just {spoken_price(amount)}.", shown
        assert "$" not in said


def test_known_price_spellings() -> None:
    assert normalise_for_speech("$49.99") == "49 dollars 99"
    assert normalise_for_speech("$89") == "89 dollars"
    assert normalise_for_speech("$89.00") == "89 dollars"
    assert normalise_for_speech("$24.5") == "24 dollars 50"
    assert normalise_for_speech("€10.05 or £7") == "10 euros 5 or 7 pounds"
    assert normalise_for_speech("¥99") == "99 yuan"


def test_percentages_are_spelled_out() -> None:
    assert normalise_for_speech("Save 20% today") == "Save 20 percent today"
    assert normalise_for_speech("12.5 % off") == "12.5 percent off"
    assert normalise_for_speech("立减15%！", "zh") == "立减百分之15！"


def test_emoji_and_markup_are_dropped() -> None:
    said = normalise_for_speech("🔥 **Big** <b>deal</b> on the _lamp_ ✨ today! 👍🏽 #sale `now`")
    assert said == "Big deal on the lamp today! sale now"
    assert normalise_for_speech("❤️😀🎉") == ""


def test_chinese_prices_keep_their_digits_with_a_chinese_unit(catalog: Catalog) -> None:
    product = catalog.get("aurora-buds")
    shown = catalog.format_price(product.price)
    whole, _, cents = shown.removeprefix(catalog.currency_symbol).partition(".")
    spoken = f"{whole}点{cents}" if cents else whole
    assert normalise_for_speech(f"日常价{shown}！", "zh") == f"日常价{spoken}美元！"
    # espeak-ng's Mandarin drops a bare decimal point ("74.5" -> "74 5"), so it is written as 点.
    assert normalise_for_speech("原价¥89，现在¥74.5", "zh") == "原价89元，现在74点5元"
    assert normalise_for_speech("¥99.9", "zh") == "99点9元"


def test_plain_text_is_left_alone() -> None:
    text = "It holds plenty and keeps drinks cold for 24 hours, all day long."
    assert normalise_for_speech(text) == text
    assert normalise_for_speech("容量750毫升，保冷24小时。", "zh") == "容量750毫升，保冷24小时。"


def test_thousands_separators_and_big_prices() -> None:
    assert normalise_for_speech("Only $1,299.00 now") == "Only 1299 dollars now"
    assert normalise_for_speech("¥99.9 today") == "99.9 yuan today"
    assert normalise_for_speech("$19.99") == "19 dollars 99"
    assert normalise_for_speech("仅需¥1,299", "zh") == "仅需1299元"


def test_dates_and_times() -> None:
    assert normalise_for_speech("Sale ends 2025-11-11 at 20:00.") == "Sale ends November 11, 2025 at 8 PM."
    assert normalise_for_speech("Live at 9:30 and 12:00") == "Live at 9 30 AM and 12 PM"
    assert normalise_for_speech("2025-11-11 20:00开抢", "zh") == "2025年11月11日 20点开抢"
    assert normalise_for_speech("早上9:30开播", "zh") == "早上9点30分开播"
    assert normalise_for_speech("not a date 2025-13-40") == "not a date 2025-13-40"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("It holds 750ml", "It holds 750 milliliters"),
        ("weighs 1.5 kg", "weighs 1.5 kilograms"),
        ("a 65W charger", "a 65 watts charger"),
        ("10000mAh battery", "10000 milliamp hours battery"),
        ("lasts 1 h", "lasts 1 hour"),
        ("24h battery", "24 hours battery"),
        ("keeps 4°C", "keeps 4 degrees Celsius"),
        ("I'm 2 m tall", "I'm 2 meters tall"),
        ("Mia's mug", "Mia's mug"),
    ],
)
def test_units_are_spelled_out(written: str, spoken: str) -> None:
    assert normalise_for_speech(written) == spoken


def test_chinese_units() -> None:
    assert normalise_for_speech("容量750ml，续航24h", "zh") == "容量750毫升，续航24小时"
    assert normalise_for_speech("重1.5kg", "zh") == "重1点5千克"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Model XR-200 is here", "Model X R 200 is here"),
        ("SKU4471 in stock", "S K U 4 4 7 1 in stock"),
        ("the A7 camera", "the A 7 camera"),
        ("4K video, Gen2 chip", "4K video, Gen2 chip"),
        ("plays MP3", "plays M P 3"),
    ],
)
def test_product_codes_are_spelled_letter_by_letter(written: str, spoken: str) -> None:
    assert normalise_for_speech(written) == spoken


def test_mixed_chinese_and_english() -> None:
    # An English voice cannot say Chinese: the run is dropped from speech (the caption keeps it).
    assert normalise_for_speech("极光耳机 Aurora Buds are 20% off 🔥") == "Aurora Buds are 20 percent off"
    assert normalise_for_speech("Big sale！今天特价。Buy now!") == "Big sale Buy now!"
    # The Mandarin voice keeps English names (its espeak voice reads them in English).
    said = normalise_for_speech("Aurora Buds耳机续航24h，立减15%", "zh")
    assert said == "Aurora Buds耳机续航24小时，立减百分之15"
    assert normalise_for_speech("Q&A with Mia") == "Q and A with Mia"
    assert normalise_for_speech("问&答", "zh") == "问和答"


def test_text_no_voice_can_say_comes_out_empty() -> None:
    assert normalise_for_speech("🔥🔥🔥 ✨") == ""
    assert normalise_for_speech("<br/>**__**") == ""
    assert normalise_for_speech("") == ""


@pytest.mark.parametrize(
    ("sentence", "pieces"),
    [
        # Long: cut at the first clause boundary that leaves a real clause on both sides.
        (
            "Today it is just $39.99, down from $49.99 for the whole weekend only.",
            ["Today it is just $39.99,", "down from $49.99 for the whole weekend only."],
        ),
        (
            "Hi, this lamp has five brightness levels; the warmest is for reading at night.",
            ["Hi, this lamp has five brightness levels;", "the warmest is for reading at night."],
        ),
        (
            "欢迎来到直播间，今天给大家推荐这款台灯，它有五档亮度可以调节，非常适合晚上看书用。",
            # A Chinese character takes about as long to say as three Latin letters.
            ["欢迎来到直播间，", "今天给大家推荐这款台灯，它有五档亮度可以调节，非常适合晚上看书用。"],
        ),
        # Commas inside numbers and times are not clause boundaries.
        (
            "We sold 1,000 lamps at 10:30 today and every single one was gone in an hour.",
            ["We sold 1,000 lamps at 10:30 today and every single one was gone in an hour."],
        ),
        # The rest would be a fragment: kept whole.
        (
            "The Aurora Buds cancel noise on a busy commute and last all day, really.",
            ["The Aurora Buds cancel noise on a busy commute and last all day, really."],
        ),
        # Short enough already.
        ("First up, the Aurora Buds!", ["First up, the Aurora Buds!"]),
    ],
)
def test_a_long_first_sentence_splits_at_a_clause(sentence: str, pieces: list[str]) -> None:
    assert split_first_clause(sentence, 60) == pieces
