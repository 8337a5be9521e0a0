"""Answers: the catalog's facts, in the viewer's language, short, and honest when unknown."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from avatar.brain.answerer import Answer, Answerer
from avatar.brain.intents import Intent
from avatar.brain.scene import Scene, load_scene

DEMO = Path(__file__).resolve().parents[2] / "scenes" / "demo"
DURING_PROMOS = datetime(2026, 12, 1, tzinfo=UTC)
AFTER_BACKPACK_DEAL = datetime(2027, 4, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO)


@pytest.fixture(scope="module")
def host(scene: Scene) -> Answerer:
    return Answerer(scene, now=lambda: DURING_PROMOS)


def catalog_numbers() -> set[Decimal]:
    """Every number written anywhere in the demo catalog."""
    text = (DEMO / "products.yaml").read_text(encoding="utf-8")
    return {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}


def numbers_in(text: str) -> set[Decimal]:
    return {Decimal(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text.strip())
    return [p for p in parts if p.strip()]


# A broad sample of chat, with and without a product on screen, for the properties every answer
# must have.
QUESTIONS = [
    "how much?",
    "多少钱",
    "any discount?",
    "有优惠吗",
    "is it in stock?",
    "还有货吗",
    "how long does the battery last?",
    "续航多久",
    "what size is it",
    "does it ship free?",
    "怎么退货",
    "hello!",
    "你好",
    "tell me about this one",
    "介绍一下",
    "is it dishwasher safe?",
    "可以放洗碗机吗",
    "how much is the red one",
    "the green one on sale?",
    "do you sell laptops?",
    "how much is the iPhone 15 Pro?",
    "what's the warranty",
    "lol",
    "   ",
]


@pytest.mark.parametrize(
    "current", [None, "aurora-buds", "summit-bottle", "ridgeline-backpack", "lumen-lamp"]
)
def test_every_answer_is_short_spoken_text_with_catalog_numbers_only(
    host: Answerer, current: str | None
) -> None:
    known = catalog_numbers()
    for question in QUESTIONS:
        answer = host.answer(question, current)
        assert answer.text, question
        assert len(sentences(answer.text)) <= 2, (question, answer.text)
        assert answer.text[-1] in ".!?。！？", (question, answer.text)
        assert "{" not in answer.text
        assert numbers_in(answer.text) <= known, (question, answer.text)
        assert answer.intent in {i.value for i in Intent}
        # Every fact the answer lists is one it actually says.
        for key in ("price", "promo_price", "stock"):
            if key in answer.facts:
                assert answer.facts[key] in answer.text, (question, key, answer.text)


@pytest.mark.parametrize("current", [None, "kiln-pourover"])
def test_replies_in_the_language_of_the_question(host: Answerer, current: str | None) -> None:
    for question in QUESTIONS:
        if not question.strip():
            continue
        answer = host.answer(question, current)
        has_chinese = bool(re.search(r"[\u4e00-\u9fff]", question))
        assert answer.language == ("zh" if has_chinese else "en")
        if answer.language == "en":
            assert not re.search(r"[\u4e00-\u9fff]", answer.text), answer.text


def test_price_with_a_promo_states_both_prices_deal_first(host: Answerer) -> None:
    answer = host.answer("how much are these?", "aurora-buds")
    assert answer == Answer(
        "You can get the Aurora Buds for $39.99 right now with our launch deal, down from $49.99.",
        "aurora-buds",
        "price",
        "en",
        {"name": "Aurora Buds", "price": "$49.99", "promo_price": "$39.99", "promo_label": "launch deal"},
    )
    assert answer.text.index("$39.99") < answer.text.index("$49.99")


def test_price_in_chinese(host: Answerer) -> None:
    answer = host.answer("这个多少钱？", "aurora-buds")
    assert answer.language == "zh" and answer.intent == "price"
    assert answer.text == "极光真无线耳机现在首发优惠只要$39.99，原价$49.99。"


@pytest.mark.parametrize(
    "product_id", ["aurora-buds", "summit-bottle", "ridgeline-backpack", "lumen-lamp", "kiln-pourover"]
)
def test_price_answers_quote_the_catalog_price_string(host: Answerer, scene: Scene, product_id: str) -> None:
    product = scene.catalog.get(product_id)
    for question in ("how much?", "多少钱"):
        answer = host.answer(question, product_id)
        assert answer.product_id == product_id
        assert scene.catalog.format_price(product.current_price(DURING_PROMOS)) in answer.text
        assert scene.catalog.format_price(product.price) in answer.text


def test_price_without_promo(host: Answerer) -> None:
    answer = host.answer("price of the red one?", None)
    assert answer.text == "You can get the Summit Steel Bottle for $24.50."
    assert answer.facts == {"name": "Summit Steel Bottle", "price": "$24.50"}


def test_expired_promo_is_never_quoted(scene: Scene) -> None:
    later = Answerer(scene, now=lambda: AFTER_BACKPACK_DEAL)
    answer = later.answer("how much is the backpack?")
    assert answer.text == "You can get the Ridgeline 30L Backpack for $89."
    assert "$74" not in answer.text and "promo_price" not in answer.facts


def test_promo_answer_with_end_date(host: Answerer) -> None:
    answer = host.answer("is the backpack on sale?")
    assert answer.intent == "promo" and answer.product_id == "ridgeline-backpack"
    assert answer.text == (
        "Yes, our trail season deal takes the Ridgeline 30L Backpack to $74, down from $89. "
        "The deal runs until March 31, 2027."
    )
    zh = host.answer("背包有优惠吗")
    assert zh.text == "有的，山脊30升徒步背包现在户外季特惠只要$74，原价$89。活动到2027年3月31日结束。"


def test_no_promo_says_so_and_points_at_a_real_deal(host: Answerer) -> None:
    answer = host.answer("any discount?", "lumen-lamp")
    assert answer.text.startswith("There's no deal on the Lumen LED Desk Lamp right now; it's $39.99.")
    assert "Aurora Buds" in answer.text and "launch deal" in answer.text


def test_promo_question_without_a_product_names_a_running_deal(host: Answerer) -> None:
    answer = host.answer("any deals today?")
    assert answer.product_id == "aurora-buds" and "$39.99" in answer.text


def test_stock(host: Answerer) -> None:
    assert host.answer("is it in stock?", "aurora-buds").text == "We have 120 left of the Aurora Buds."
    assert host.answer("还有货吗", "aurora-buds").text == "极光真无线耳机还有120件现货。"
    low = host.answer("how many lamps left?")
    assert low.text == "Only 8 left of the Lumen LED Desk Lamp, so grab one soon!"
    assert low.facts["stock"] == "8"


def test_spec_asked_by_name(host: Answerer) -> None:
    answer = host.answer("how long does the battery last?", "aurora-buds")
    assert answer.intent == "spec"
    assert answer.text == "Battery life of the Aurora Buds: 8 hours per charge, 32 hours with the case."
    assert answer.facts["spec:battery"] == "8 hours per charge, 32 hours with the case"
    zh = host.answer("续航多久？", "aurora-buds")
    assert zh.text == "极光真无线耳机的续航：单次8小时，配合充电盒共32小时。"
    assert host.answer("how heavy is the backpack?").facts["spec:weight"] == "1.1 kg"
    assert "750 ml" in host.answer("how big is the bottle?").text


def test_spec_not_named_lists_two_key_specs(host: Answerer) -> None:
    answer = host.answer("what are the specs?", "aurora-buds")
    assert answer.text == (
        "On the Aurora Buds, the battery life is 8 hours per charge, 32 hours with the case, "
        "and the noise cancelling is active noise cancelling with a transparency mode."
    )
    assert set(answer.facts) == {"name", "spec:battery", "spec:noise"}


def test_shipping(host: Answerer, scene: Scene) -> None:
    answer = host.answer("how fast do you ship?", "ridgeline-backpack")
    assert answer.text == scene.catalog.get("ridgeline-backpack").shipping["en"]
    zh = host.answer("包邮吗", "ridgeline-backpack")
    assert zh.text == scene.catalog.get("ridgeline-backpack").shipping["zh"]


def test_faq_by_word_overlap(host: Answerer) -> None:
    answer = host.answer("Is the bottle dishwasher safe?")
    assert answer.product_id == "summit-bottle"
    assert answer.text == "The lid can go on the top rack; please hand-wash the bottle to protect the finish."
    assert host.answer("can I wear just one earbud?", "aurora-buds").text.startswith("Yes, either bud")
    zh = host.answer("苹果手机能用吗", "aurora-buds")
    assert zh.text == "都能用，蓝牙连接苹果和安卓手机都可以。"


def test_ambiguous_faq_without_a_product_asks_which_one(host: Answerer) -> None:
    # Both the bottle and the coffee set have "Is it dishwasher safe?"; guessing would be wrong
    # half the time.
    answer = host.answer("is it dishwasher safe?")
    assert answer.product_id is None and answer.text.startswith("Which product do you mean?")


def test_greeting_uses_the_persona(host: Answerer, scene: Scene) -> None:
    answer = host.answer("hello!", "kiln-pourover")
    assert answer.intent == "greeting"
    assert (
        answer.text
        == f"{scene.persona.greeting['en']} Right now we're looking at the Kiln Pour-Over Coffee Set."
    )
    assert host.answer("你好", None).text == scene.persona.greeting["zh"]


def test_product_info(host: Answerer) -> None:
    answer = host.answer("tell me about this one", "aurora-buds")
    assert answer.text == (
        "The Aurora Buds: Active noise cancelling that quiets a busy commute. "
        "Yours for $39.99 right now, down from $49.99."
    )
    zh = host.answer("介绍一下", "lumen-lamp")
    assert zh.text == "流明LED台灯：无频闪光源，5档亮度随心调。售价$39.99。"


def test_unknown_product_is_honest(host: Answerer) -> None:
    answer = host.answer("how much is the iPhone 15 Pro?")
    assert answer.product_id is None and answer.intent == "price"
    assert answer.text.startswith("Which product do you mean?")
    assert "$" not in answer.text
    assert numbers_in(answer.text) <= catalog_numbers()  # "30" of "30L": a name, not a price
    zh = host.answer("苹果手机多少钱")
    assert zh.text.startswith("你想问哪一款呢？") and "$" not in zh.text


def test_unanswerable_question_about_the_product_on_screen(host: Answerer) -> None:
    answer = host.answer("can I engrave my name on it?", "summit-bottle")
    assert answer.intent == "other" and answer.product_id == "summit-bottle"
    assert answer.text.startswith("I don't have that detail for the Summit Steel Bottle, so I won't guess.")
    assert not numbers_in(answer.text)


def test_empty_question_prompts_politely(host: Answerer) -> None:
    for question in ("", "   \n"):
        answer = host.answer(question, "aurora-buds")
        assert answer.intent == "other" and answer.product_id is None and answer.facts == {}
        assert answer.text == "Ask me anything about today's products!"


def test_sold_out_product(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    shutil.copytree(DEMO, folder)
    products = folder / "products.yaml"
    products.write_text(
        products.read_text(encoding="utf-8").replace("stock: 8\n", "stock: 0\n"), encoding="utf-8"
    )
    host = Answerer(load_scene(folder))
    assert (
        host.answer("is it in stock?", "lumen-lamp").text == "Sorry, the Lumen LED Desk Lamp just sold out."
    )
    price = host.answer("how much?", "lumen-lamp")
    assert price.text == "You can get the Lumen LED Desk Lamp for $39.99. It's sold out right now, though."
