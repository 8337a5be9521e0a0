"""Answers to viewer questions, built from catalog facts only.

This is the safe core of the host's replies (DESIGN §4): the intent says which fact is asked for,
the catalog supplies it, and a fixed template in the viewer's language says it. No model is
involved, so no number can be invented; an LLM may later rephrase these answers, and the
``facts`` of each :class:`Answer` are what a checker holds the rephrasing to. When the catalog has
no answer the host says so and offers what it does know.

Every answer then passes the :class:`~avatar.brain.compliance.ComplianceChecker` (fact lock and
advertising rules): a rewritten answer is spoken as rewritten, a blocked one is replaced by a safe
template, and ``Answer.compliance`` lists what was done. Abuse, spam and prompt injection get a
fixed polite reply that never repeats them.

Answers are spoken, so they stay within two short sentences with the fact in the first one.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from avatar.brain.catalog import FAQ, Product, Spec, Variant, localized
from avatar.brain.compliance import MAX_TOTAL_COUNT, Action, ComplianceChecker, Rule
from avatar.brain.intents import Intent, classify, resolve_product
from avatar.brain.knowledge import (
    COMMERCE,
    FACT_MATCH,
    FactHit,
    best_fact,
    candidates,
    catalog_facts,
    fact_scores,
    telling_apart,
)
from avatar.brain.language import content_words, is_cjk, stems
from avatar.brain.lexicon import lexicon
from avatar.brain.offers import deal_of
from avatar.brain.recommend import Pick, most_of, read_need, recommend, telling_uses, use_label
from avatar.brain.scene import Scene
from avatar.brain.sizing import fitting_options, viewer_measures
from avatar.brain.understanding import Understanding, read, understand
from avatar.engines.tts.text import english_date

__all__ = ["MAX_QUESTION_CHARS", "Answer", "Answerer"]

log = logging.getLogger(__name__)

_LOW_STOCK = 10  # at or below this, say "only N left": urgency the numbers justify
_FAQ_MIN_SCORE = 0.5  # cosine overlap of content words; below this an FAQ is about something else
_FAQ_STRONG_SCORE = 0.75  # an FAQ this close beats a spec picked by one word ("carry-on size?")
# Chat is capped far below this; a longer paste is read only this far, so it cannot slow the
# answer path.
MAX_QUESTION_CHARS = 1_000

# Two options weighed against each other: "which one", "vs", "哪个", "还是".
# "What's the difference", "有啥区别": options told apart, whatever else they share.
_DIFFERENCE = re.compile(r"differen|区别|差别|不同|不一样|\bvs\.?\b|versus", re.IGNORECASE)
_WHICH_ONE = re.compile(r"\bwhich\b|\bvs\.?\b|versus|compared?|哪个|哪款|还是|比较|更多", re.IGNORECASE)
# "when does the deal end?", "活动到什么时候": the end date, said when the catalog gives one.
_ASKS_END = re.compile(
    r"\b(?:when|what day|how long)\b.{0,30}\b(?:end|ends|last|lasts|over|finish)\b|until when|last day|"
    r"到什么时候|到几号|截止|什么时候结束|几号结束|还有几天|持续多久",
    re.IGNORECASE,
)
# "Do you sell laptops?", "你们卖褪黑素吗": asking whether the show has something it does not name.
_SELLS = re.compile(
    r"(?<![a-z])(?:do (?:you|u|you guys|u guys|y'?all) |(?:you|u) guys )(?:sell|carry|stock|have any)\s+"
    r"(?!(?:this|it|these|them|that|those|more|one|left)(?![a-z]))|有没有卖|有卖|卖不卖|你们卖|你们家卖|你家卖|你们这卖",
    re.IGNORECASE,
)
# Words that make an injection about money: the host then states the real price.
_ABOUT_MONEY = re.compile(
    r"price|cost|\$|\d|%|discount|deal|free|coupon|价|钱|折|优惠|免费|降", re.IGNORECASE
)
_IDENTITY = re.compile(
    r"who are you|what'?s your name|(?:are|r) (?:you|u) (?:a |an )?(?:real|human|robot|bot|ai|person|live)"
    r"|你是谁|你叫什么|真人|机器人",
    re.IGNORECASE,
)
_THANKS = re.compile(r"thank|thx|(?<![a-z])ty(?![a-z])|谢谢|感谢|多谢", re.IGNORECASE)
_FAREWELL = re.compile(
    r"(?<![a-z])(?:bye|goodbye|see (?:you|ya)|good night)(?![a-z])|拜拜|再见|晚安", re.IGNORECASE
)
# The product on screen, pointed at: "is this lighter than the bottle?"
# Policy sentences of a shipping text that matter to an unhappy buyer.
_AFTER_SALES = re.compile(r"return|refund|replace|exchange|退|换|补发", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """One reply: what to say, the catalog facts it states (field name -> value as said), and the
    compliance actions taken on it (empty when the draft passed untouched)."""

    text: str
    product_id: str | None
    intent: str
    language: str
    facts: dict[str, str] = field(default_factory=dict)
    compliance: tuple[Action, ...] = ()
    understanding: Understanding | None = field(default=None, compare=False)  # what it was taken to ask

    @property
    def not_stated(self) -> bool:
        """True when the answer says the catalog does not state what was asked."""
        return self.facts.get("not_stated") == "yes"


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _end(text: str, lang: str) -> str:
    """``text`` as a finished sentence (spoken output needs its full stop for TTS pacing)."""
    text = text.strip()
    if not text or text[-1] in ".!?。！？":
        return text
    return text + ("。" if lang == "zh" else ".")


_ASKED_WELL = "Good that you ask."  # how an English safety answer opens
# A match this strong is the FAQ's own question, so its prepared yes or no needs no restating.
_OWN_QUESTION = 0.9


def _entry(product: Product, field: str) -> Spec | None:
    """The spec or safety entry a fact field names ("spec:weight", "safety:age"); None for others."""
    kind, _, key = field.partition(":")
    if kind == "spec":
        return product.spec(key)
    return product.safety_fact(key) if kind == "safety" else None


def _faq_of(product: Product, field: str) -> FAQ:
    """The FAQ entry a field "faq:<n>" names (n from 1)."""
    return product.faq[int(field.partition(":")[2]) - 1]


def _says_nothing_new(second: Answer, first: Answer) -> bool:
    """Every fact ``second`` states, ``first`` states already, with the same value."""
    said = {k: v for k, v in first.facts.items() if k != "name"}
    return {k: v for k, v in second.facts.items() if k != "name"}.items() <= said.items()


def _answerable(u: Understanding) -> bool:
    """``u`` asks something of a product that the catalog states (a fact, price, stock or deal)."""
    if u.product_id is None or u.unknown or u.intent in _SOCIAL:
        return False
    return u.attribute is not None or u.intent in (Intent.PRICE, Intent.STOCK, Intent.PROMO)


def _clause(text: str) -> str:
    """``text`` without its final punctuation, to be embedded in a sentence."""
    return text.strip().rstrip(".!?。！？")


_CHEAPEST = re.compile(r"cheapest|least expensive|most affordable|最便宜|最实惠", re.IGNORECASE)
# Spec values that read as what the product does: "works with Alexa", "fits 15 inch laptops", 支持….
_PREDICATE = re.compile(
    r"(?:works|fits|comes|holds|supports|needs|runs|charges|lasts|keeps|includes|contains|connects|"
    r"folds|uses|takes|goes|suits|has|is)\s|(?:支持|适合|适用|可以|不可|不能|能|需要|需|含有|不含|自带)"
)
_SOCIAL = (Intent.GREETING, Intent.CHITCHAT, Intent.OFF_TOPIC, Intent.ABUSE, Intent.SPAM, Intent.INJECTION)
_CHAT = frozenset({Intent.GREETING.value, Intent.CHITCHAT.value, Intent.OFF_TOPIC.value})


# An English label that is no noun ("In the box", "Works with", "Made in", "Per box", "For dogs of").
_NOT_A_NOUN = re.compile(
    r"^(?:in|on|for|per|with|made|works?|fits?|comes?|suitable|includes?|included|what|how|not)(?![a-z])",
    re.IGNORECASE,
)


class Answerer:
    """Answers viewer questions about the products of one scene from its catalog."""

    def __init__(
        self,
        scene: Scene,
        now: Callable[[], datetime] | None = None,
        compliance: ComplianceChecker | None = None,
    ) -> None:
        """``now`` is the clock promos are checked against (injectable for tests and replays);
        ``compliance`` defaults to a checker with the scene's ``compliance.yaml`` rules (a
        malformed file raises :class:`~avatar.errors.DataError` here, before the show starts)."""
        self.scene = scene
        self.catalog = scene.catalog
        self._now = now
        self.compliance = compliance or ComplianceChecker.for_scene(scene, now)
        # Product names are left out of FAQ matching: every FAQ of a product mentions it, so
        # they would make all its FAQs look alike.
        self._name_words: set[str] = set()
        self._name_phrases: list[str] = []
        for product in self.catalog.products:
            for phrase in (*product.names.values(), *product.aliases):
                self._name_words |= set(re.findall(r"[a-z0-9]+", phrase.lower()))
                if any(is_cjk(ch) for ch in phrase):
                    self._name_phrases.append(phrase)
        self._name_phrases.sort(key=len, reverse=True)
        self._heads: dict[str, frozenset[str]] = {}
        self._filler = frozenset(w for word in lexicon().need_filler for w in stems(word))

    def _time(self) -> datetime | None:
        return self._now() if self._now is not None else None

    def answer(self, question: str, current_product_id: str | None = None) -> Answer:
        """Reply to ``question`` in its language; ``current_product_id`` is the product on screen.

        The reply states catalog facts only and lists them in ``Answer.facts``; when the catalog
        cannot answer, it says so and points at what it can answer. The reply has passed the
        compliance checker: ``Answer.compliance`` says what it changed, and a reply it blocked
        has been replaced by a safe template.
        """
        return self._checked(self.draft(question, current_product_id))

    def draft(self, question: str, current_product_id: str | None = None) -> Answer:
        """The template reply before the compliance check (for tests and evaluation)."""
        if not question.strip():
            lang = self.scene.language
            text = (
                "有什么想了解的商品，直接问我哦！"
                if lang == "zh"
                else "Ask me anything about today's products!"
            )
            return Answer(text, None, Intent.OTHER.value, lang, {})
        reading = read(question[:MAX_QUESTION_CHARS], self.catalog)
        return self.plan(understand(reading, self.catalog, current_product_id))

    def respond(self, understanding: Understanding, second: Understanding | None = None) -> Answer:
        """The checked reply to a question already understood (the live path and the eval);
        ``second``: a ramble's second question, understood."""
        if not understanding.reading.text.strip():
            return self.answer("", understanding.product_id)
        return self._checked(self.plan(understanding, second))

    def plan(self, u: Understanding, second_question: Understanding | None = None) -> Answer:
        """The template reply to an understood question, before the compliance check."""
        answer = self._plan(u)
        if u.reading.rambles and u.intent not in _SOCIAL:
            # A ramble with two questions: the first is answered; the second too when it asks a
            # stated fact, a price, the stock or a deal, else it is acknowledged.
            lang = answer.language
            second = (
                self._plan(second_question)
                if second_question is not None and _answerable(second_question)
                else None
            )
            # ("how much is it? and is it on sale?": the first answer may have said it all already)
            if second is not None and not _says_nothing_new(second, answer):
                joiner = "" if lang == "zh" else " "
                answer = replace(
                    answer, text=answer.text + joiner + second.text, facts={**second.facts, **answer.facts}
                )
            elif second is None:
                answer = replace(
                    answer,
                    text=answer.text
                    + (
                        "你的另一个问题，麻烦单独再发一次哦！"
                        if lang == "zh"
                        else " Send me your other question on its own and I'll answer it too!"
                    ),
                )
        elif u.reading.foreign and answer.product_id is not None:
            # Understood in another language: answered in English, saying why.
            answer = replace(
                answer, text="I can only speak English or Chinese, but here you go: " + answer.text
            )
        return replace(answer, understanding=u)

    def _plan(self, u: Understanding) -> Answer:
        reading, intent, lang = u.reading, u.intent, u.language
        question = reading.text
        if reading.foreign and (not (reading.named or reading.deixis) or intent is Intent.OTHER):
            return self._foreign(lang)
        if intent in (Intent.ABUSE, Intent.SPAM, Intent.INJECTION):
            return self._moderated(intent, question, u.product_id, lang)
        if reading.ambiguous and not reading.named and u.product_id is None:
            return self._ambiguous(reading.ambiguous, intent, lang)

        named = [self.catalog.get(i) for i in reading.named]
        product = self.catalog.get(u.product_id) if u.product_id is not None else None
        if intent is Intent.OFF_TOPIC and named:
            # "Is the lamp good for watching the news?" names a product: answer about it.
            intent = classify(question, lang, skip=(Intent.OFF_TOPIC,))
        if intent is Intent.COMPARISON or (
            intent in (Intent.PRICE, Intent.SPEC, Intent.PRODUCT_INFO, Intent.OTHER) and len(named) >= 2
        ):
            # A comparison always has its pair here: one with no second product was read as a
            # question about one product by the understanding.
            pair = self._pair(question, named, u.product_id if u.remembered else None, reading.deixis, u)
            if pair is not None:
                return self._compare(u, pair[0], pair[1], lang)

        if u.sized and product is not None:
            return self._sized(product, u, lang)
        if intent is Intent.RECOMMENDATION:
            suggested = self._recommend(u, u.on_screen if not reading.named else None, lang)
            return self._age_noted(self._need_fact(suggested, u), u)
        if intent is Intent.COMPLAINT:
            return self._complaint(named[0] if named else None, u, lang)
        if intent is Intent.CHITCHAT:
            return self._chitchat(question, product, lang)
        if intent is Intent.OFF_TOPIC:
            return self._off_topic(product, lang)
        if intent is Intent.GREETING:
            return self._greeting(product, lang)
        if intent is Intent.PROMO and product is None:
            return self._any_promo(intent, lang)
        asks_elsewhere = not named and _SELLS.search(question) is not None
        if asks_elsewhere and intent not in (Intent.STOCK, Intent.PROMO, Intent.SHIPPING, Intent.PURCHASE):
            return self._not_in_show(intent, lang)
        if product is None:
            faq = self._faq(question, None)
            if faq is not None and intent not in (Intent.PRICE, Intent.STOCK, Intent.PURCHASE):
                return self._faq_answer(faq[0], faq[1], intent, lang)
            return self._which_product(intent, lang)

        variant = product.variant(u.variant) if u.variant else None
        if u.missing_variant is not None and intent in (
            Intent.PRICE,
            Intent.STOCK,
            Intent.SPEC,
            Intent.OTHER,
            Intent.PURCHASE,
            Intent.PRODUCT_INFO,
        ):
            return self._variants(product, lang, intent, missing=u.missing_variant)
        if reading.medical and intent in (Intent.OTHER, Intent.SPEC, Intent.PRODUCT_INFO) and not u.attribute:
            return self._no_medical(product, lang)
        if intent is Intent.PURCHASE:
            return self._purchase(product, lang, reading.quantity)
        if intent is Intent.PRICE and reading.price_claim:
            return self._no_price_claim(product, lang)
        left = variant.stock if variant is not None and variant.stock is not None else product.stock
        if (
            "restock" in reading.concepts
            and left == 0
            and intent not in (Intent.PRICE, Intent.PURCHASE)
            and not self._says_restock(product)
        ):
            return self._restock(product, variant, lang)
        asked = [sku for pid, sku in reading.variants if pid == product.id]
        if intent is Intent.PRICE and variant is None and len(set(asked)) >= 2:
            return self._option_prices(product, asked, lang)
        if intent is Intent.PRICE:
            return self._price(product, lang, variant, reading.quantity)
        if intent is Intent.PROMO and u.attribute is not None and u.attribute.startswith("offer:"):
            return self._offer(product, int(u.attribute.split(":")[1]), lang)
        if intent is Intent.PROMO:
            promo = self._promo(product, lang, asks_end=_ASKS_END.search(question) is not None)
            return self._bundled_with(promo, product) if "offer" in reading.concepts else promo
        if intent is Intent.STOCK:
            if variant is None and len(set(asked)) >= 2:
                stocks = self._variant_stocks(product, asked, lang)
                # "grey vs beige, which has more left" compares; "big one? if not, the medium" asks
                compares = _WHICH_ONE.search(question) is not None
                return stocks if compares else replace(stocks, intent=Intent.STOCK.value)
            return self._stock(product, lang, variant, reading.quantity)
        if (
            variant is not None
            and len(set(asked)) >= 2
            and (reading.intent is Intent.COMPARISON or _DIFFERENCE.search(question))
            and not reading.concepts & {"price", "stock"}
        ):
            compared = self._options_compared(product, asked, lang)
            if u.attribute is None or not u.attribute.startswith("faq:"):
                return compared
            return _then(compared, self._attribute(product, u.attribute, intent, lang, None))
        if intent is Intent.SHIPPING and u.unknown:
            return self._shipping_not_stated(product, lang, reading.concepts)
        if u.attribute is not None:
            answer = self._with_its_question(self._attribute(product, u.attribute, intent, lang, variant), u)
            if u.also is not None:
                answer = _then(answer, self._attribute(product, u.also, intent, lang, variant))
            return answer
        if u.unknown:
            return self._not_stated(product, u, lang, self._words_hit(product, u))
        if intent is Intent.SPEC:
            return self._key_specs(product, lang)
        if intent is Intent.SHIPPING:
            return self._shipping(product, lang)
        if intent is Intent.PRODUCT_INFO:
            need = read_need(question)
            if need.uses or need.unknown_use:
                return self._suits(product, question, lang)
            return self._info(product, lang)
        if variant is not None:
            return self._stock(product, lang, variant, None)
        return self._unknown(product, u, lang)

    # --- compliance ----------------------------------------------------------------------------

    def _checked(self, draft: Answer) -> Answer:
        """``draft`` as it may be spoken: rewritten where safe, else the safe template."""
        result = self.compliance.check(draft.text, draft.language, draft.product_id)
        if not result.blocked:
            return _about(replace(draft, text=result.text, compliance=result.actions))
        product_id = draft.product_id
        product = (
            self.catalog.get(product_id) if product_id is not None and product_id in self.catalog else None
        )
        fallback = self._safe(product, draft.intent, draft.language)
        checked = self.compliance.check(fallback.text, fallback.language, fallback.product_id)
        if checked.blocked:  # the product's own name breaks a rule: say nothing about it
            fallback = self._safe(None, draft.intent, draft.language)
            checked = self.compliance.check(fallback.text, fallback.language, None)
        log.warning("answer blocked by compliance, fell back to a safe template: %r", draft.text)
        return replace(fallback, text=checked.text, compliance=result.actions + checked.actions)

    def _safe(self, product: Product | None, intent: str, lang: str) -> Answer:
        """A reply with no number and no claim, for when the real one failed the checker."""
        if product is None:
            text = (
                "我只说能确认的内容，想了解今天的商品尽管问我！"
                if lang == "zh"
                else "I'll keep to what I can confirm. Ask me about today's products!"
            )
            return Answer(text, None, intent, lang, {})
        name = product.name(lang)
        if lang == "zh":
            text = f"关于{name}，我只说能确认的内容。可以问我价格、库存或规格！"
        else:
            text = (
                f"I'll keep to what I can confirm about the {name}. Ask me about its price, stock or specs!"
            )
        return Answer(text, product.id, intent, lang, {"name": name})

    # --- facts ---------------------------------------------------------------------------------

    def _price_facts(self, product: Product, lang: str) -> dict[str, str]:
        facts = {"name": product.name(lang), "price": self.catalog.format_price(product.price)}
        promo = product.promo
        if promo is not None and promo.active(self._time()):
            facts["promo_price"] = self.catalog.format_price(promo.price)
            facts["promo_label"] = localized(promo.label, lang)
            if promo.ends_at is not None:
                facts["promo_ends"] = _date(promo.ends_at, lang)
        return facts

    def _price(
        self, product: Product, lang: str, variant: Variant | None = None, quantity: int | None = None
    ) -> Answer:
        f = self._price_facts(product, lang)
        if variant is not None and variant.price is not None and variant.price != product.price:
            # A variant with its own price: that price, and no promo the catalog did not give it.
            name, price = f"{variant.name(lang)} {f['name']}", self.catalog.format_price(variant.price)
            facts = {
                "name": f["name"],
                f"variant_price:{variant.sku}": price,
                f"variant:{variant.sku}": variant.name(lang),
            }
            text = (
                f"{f['name']}（{variant.name(lang)}）售价{price}。"
                if lang == "zh"
                else f"The {name} is {price}."
            )
            text, facts = self._total(product, variant, quantity, lang, text, facts)
            return Answer(text, product.id, Intent.PRICE.value, lang, facts)
        own_prices = any(v.price is not None and v.price != product.price for v in product.variants)
        if variant is None and own_prices:
            return self._with_offers(self._variant_prices(product, lang), product)
        stock = product.stock
        if variant is not None:
            # "how much for the maple brown one?": the same price, said of the option asked about.
            f[f"variant:{variant.sku}"] = variant.name(lang)
            option = variant.name(lang)
            f["name"] = f"{f['name']}（{option}）" if lang == "zh" else f"{option} {f['name']}"
            stock = variant.stock if variant.stock is not None else stock
        if "promo_price" in f:
            if lang == "zh":
                text = f"{f['name']}现在{f['promo_label']}只要{f['promo_price']}，原价{f['price']}。"
            else:
                text = (
                    f"You can get the {f['name']} for {f['promo_price']} right now "
                    f"with our {f['promo_label']}, down from {f['price']}."
                )
        else:
            text = (
                f"{f['name']}售价{f['price']}。"
                if lang == "zh"
                else f"You can get the {f['name']} for {f['price']}."
            )
        offered = self._with_offers(Answer(text, product.id, Intent.PRICE.value, lang, f), product)
        text, f = offered.text, dict(offered.facts)
        if stock == 0:
            f["stock"] = "0"
            text += "不过现在已经售罄了。" if lang == "zh" else " It's sold out right now, though."
        elif quantity is not None and quantity > stock:
            f["stock"] = str(stock)
            text += (
                f"不过现在只剩{stock}{product.unit_word(lang)}。"
                if lang == "zh"
                else f" Only {stock} left, though."
            )
        elif quantity is not None and 2 <= quantity <= MAX_TOTAL_COUNT:
            text, f = self._total(product, variant, quantity, lang, text, f)
        elif variant is not None and variant.stock is not None:
            # An option asked by name: whether it is there is half the question ("五香呢").
            f[f"variant_stock:{variant.sku}"] = str(stock)
            text += f"还有{stock}{product.unit_word(lang)}现货。" if lang == "zh" else f" {stock} left."
        return Answer(text, product.id, Intent.PRICE.value, lang, f)

    def _variant_prices(self, product: Product, lang: str) -> Answer:
        """Each option's own price ("150×200 ¥599, 200×230 ¥799"): one price would be wrong for most."""
        name, now = product.name(lang), self._time()
        facts = {"name": name}
        by_price: dict[str, list[str]] = {}  # options that cost the same are said together
        for v in product.variants:
            price = self._option_price(product, v, now)
            facts[f"variant_price:{v.sku}"] = price
            facts[f"variant:{v.sku}"] = v.name(lang)
            by_price.setdefault(price, []).append(v.name(lang))
        label = localized(product.variant_label, lang) if product.variant_label else ""
        if lang == "zh":
            parts = [
                f"{'、'.join(names)}都是{price}" if len(names) > 1 else f"{names[0]}{price}"
                for price, names in by_price.items()
            ]
            text = f"{name}按{label or '款式'}不同价格不一样：{'；'.join(parts)}。"  # '，' reads as 599,200
        elif all(len(names) == 1 for names in by_price.values()):
            parts = [f"{names[0]} at {price}" for price, names in by_price.items()]
            text = f"The {name} is priced by {label or 'option'}: {', '.join(parts)}."
        else:
            # Option names may have commas of their own ("Black, full 5-seat set"): price first.
            parts = [
                f"{price}{' each' if len(names) > 1 else ''}: {'; '.join(names)}."
                for price, names in by_price.items()
            ]
            text = f"The {name} is priced by {label or 'option'}. {' '.join(parts)}"
        deal = self._price_facts(product, lang)
        if "promo_price" in deal and deal["promo_price"] in by_price:
            # The options at the deal price are on a deal: what they cost before is part of the price.
            facts |= deal
            text += (
                f"{deal['promo_price']}是{deal['promo_label']}价，原价{deal['price']}。"
                if lang == "zh"
                else f" {deal['promo_price']} is our {deal['promo_label']} price, down from {deal['price']}."
            )
        return Answer(text, product.id, Intent.PRICE.value, lang, facts)

    def _promo(self, product: Product, lang: str, asks_end: bool = False) -> Answer:
        f = self._price_facts(product, lang)
        if "promo_price" in f:
            if lang == "zh":
                text = f"{f['name']}现在{f['promo_label']}只要{f['promo_price']}，原价{f['price']}。"
                if "promo_ends" in f:
                    text += f"活动到{f['promo_ends']}结束。"
                elif asks_end:
                    text += "结束时间资料里没有写，我不乱说。"
            else:
                text = (
                    f"Our {f['promo_label']} takes the {f['name']} to {f['promo_price']}, "
                    f"down from {f['price']}."
                )
                if "promo_ends" in f:
                    text += f" The deal runs until {f['promo_ends']}."
                elif asks_end:
                    text += " My notes don't say when it ends, so I won't guess."
            return self._with_offers(Answer(text, product.id, Intent.PROMO.value, lang, f), product)

        if product.offers:
            return replace(self._price(product, lang), intent=Intent.PROMO.value)  # it says the offers
        if any(v.price is not None and v.price != product.price for v in product.variants):
            # No deal, and one price would be wrong for most options: each option's price.
            listed = self._variant_prices(product, lang)
            f |= listed.facts
            text = (
                f"{f['name']}目前没有优惠活动。{listed.text}"
                if lang == "zh"
                else f"There's no deal on the {f['name']} right now. {listed.text}"
            )
        elif lang == "zh":
            text = f"{f['name']}目前没有优惠活动，售价{f['price']}。"
        else:
            text = f"There's no deal on the {f['name']} right now; it's {f['price']}."
        other = next(
            (p for p in self.catalog.products if p.id != product.id and p.promo_active(self._time())), None
        )
        if other is not None and other.promo is not None:
            label = localized(other.promo.label, lang)
            f["other_product"] = other.name(lang)
            f["other_promo_label"] = label
            text += (
                f"不过{other.name(lang)}正在{label}哦！"
                if lang == "zh"
                else f" Our {label} is on the {other.name(lang)}, though!"
            )
        return Answer(text, product.id, Intent.PROMO.value, lang, f)

    def _with_offers(self, answer: Answer, product: Product) -> Answer:
        """``answer`` with the product's bundle offers added as written (once)."""
        text, facts, lang = answer.text, dict(answer.facts), answer.language
        for number, offer in enumerate(product.offers, start=1):
            said = _clause(localized(offer, lang))
            if said in text:
                facts[f"offer:{number}"] = said
                continue
            facts[f"offer:{number}"] = said
            text += f"另外{said}。" if lang == "zh" else f" Also: {said}."
        return replace(answer, text=text, facts=facts)

    def _bundled_with(self, answer: Answer, product: Product) -> Answer:
        """``answer`` with the other products' bundle offers that name ``product`` ("buy it with
        the VoltCore power bank and get a free cable"), as written: "any bundle deal with this?"."""
        text, facts, lang = answer.text, dict(answer.facts), answer.language
        names = [n.lower() for n in (*product.names.values(), *product.aliases) if len(n) >= 2]
        for other in self.catalog.products:
            if other.id == product.id:
                continue
            for number, offer in enumerate(other.offers, start=1):
                said = _clause(localized(offer, lang))
                if said in text or not any(n in " ".join(offer.values()).lower() for n in names):
                    continue
                facts[f"offer:{number}@{other.id}"] = said
                text += (
                    f"另外{other.name(lang)}：{said}。"
                    if lang == "zh"
                    else f" Also, on the {other.name(lang)}: {said}."
                )
        return replace(answer, text=text, facts=facts)

    def _any_promo(self, intent: Intent, lang: str) -> Answer:
        """A deal question with no product in view: name a running deal, if there is one."""
        deal = next((p for p in self.catalog.products if p.promo_active(self._time())), None)
        if deal is None:
            text = "今天暂时没有优惠活动。" if lang == "zh" else "There are no deals running right now."
            return Answer(text, None, intent.value, lang, {})
        answer = self._promo(deal, lang)
        return Answer(answer.text, deal.id, intent.value, lang, answer.facts)

    def _stock(
        self, product: Product, lang: str, variant: Variant | None = None, quantity: int | None = None
    ) -> Answer:
        name, n = product.name(lang), product.stock
        unit = product.unit_word(lang)
        facts = {"name": name, "stock": str(n)}
        if variant is not None and variant.stock is not None:
            n, which = variant.stock, variant.name(lang)
            facts = {"name": name, f"variant:{variant.sku}": which, f"variant_stock:{variant.sku}": str(n)}
            name = f"{name}（{which}）" if lang == "zh" else f"{which} {name}"
        elif variant is not None:
            facts[f"variant:{variant.sku}"] = variant.name(lang)
            name = f"{name}（{variant.name(lang)}）" if lang == "zh" else f"{variant.name(lang)} {name}"
        if n == 0:
            text = f"{name}已经售罄了，抱歉！" if lang == "zh" else f"Sorry, the {name} just sold out."
            if variant is not None:
                others = [v.name(lang) for v in product.variants if v.sku != variant.sku and v.stock != 0]
                if others:
                    facts["variants"] = ", ".join(others)
                    text += (
                        f"还有货的：{'、'.join(others)}。"
                        if lang == "zh"
                        else f" Still available: {', '.join(others)}."
                    )
        elif quantity is not None and quantity > n:
            text = (
                f"{name}现在只剩{n}{unit}了，不够这个数量哦。"
                if lang == "zh"
                else f"Only {n} of the {name} are left, not enough for that many."
            )
        elif quantity is not None:
            text = (
                f"没问题，{name}现在有{n}{unit}现货，够的。"
                if lang == "zh"
                else f"No problem: we have {n} of the {name}, plenty for that."
            )
            # An order ("need 3, sage 6mm"): what it comes to, or each one's price beside a deal.
            text, facts = self._total(product, variant, quantity, lang, text, facts)
        elif n <= _LOW_STOCK:
            text = (
                f"{name}只剩{n}{unit}了，喜欢的抓紧！"
                if lang == "zh"
                else f"Only {n} left of the {name}, so grab one soon!"
            )
        else:
            text = f"{name}还有{n}{unit}现货。" if lang == "zh" else f"We have {n} left of the {name}."
        return Answer(text, product.id, Intent.STOCK.value, lang, facts)

    def _total(
        self,
        product: Product,
        variant: Variant | None,
        quantity: int | None,
        lang: str,
        text: str,
        facts: dict[str, str],
    ) -> tuple[str, dict[str, str]]:
        """``text`` with what ``quantity`` of the product (the option) come to. A bundle offer is
        said as written beside the sum: "buy 2 get 1 free" makes an order of 3 pay for 2, a free
        gift changes nothing; with any other offer ("第二件半价") the sum is the shop's to state, so
        each one's price and the offer are said instead."""
        if quantity is None or not 2 <= quantity <= MAX_TOTAL_COUNT:
            return text, facts
        facts = dict(facts)
        own = variant.price if variant is not None and variant.price is not None else None
        each = own if own is not None else product.current_price(self._time())
        unit = product.unit_word(lang)
        price = self.catalog.format_price(each)
        deals = [deal_of(localized(o, lang)) or deal_of(" ".join(o.values())) for o in product.offers]
        more = [d for d in deals if d is not None and d.free]
        if None in deals or len(more) > 1:
            facts["current_price"] = price
            text += f"每{unit}{price}。" if lang == "zh" else f" They're {price} each."
            offered = self._with_offers(Answer(text, product.id, "", lang, facts), product)
            return offered.text, dict(offered.facts)
        deal = more[0] if more else None
        paid = deal.paid(quantity) if deal is not None else quantity
        total = self.catalog.format_price(each * paid)
        facts |= {"total": total, "current_price": price}
        if paid < quantity:
            text += (
                f"按活动，{quantity}{unit}只付{paid}{unit}的钱，一共{total}（每{unit}{price}）。"
                if lang == "zh"
                else f" With the deal, {quantity} come to {total}: you pay for {paid} at {price} each."
            )
        else:
            text += (
                f"{quantity}{unit}一共{total}（每{unit}{price}）。"
                if lang == "zh"
                else f" {quantity} come to {total} in total ({price} each)."
            )
        if deal is not None and (extra := deal.adds(quantity)):
            text += f"活动还多送{extra}{unit}。" if lang == "zh" else f" The deal adds {extra} more free."
        offered = self._with_offers(Answer(text, product.id, "", lang, facts), product)
        return offered.text, dict(offered.facts)

    def _says_restock(self, product: Product) -> bool:
        """The catalog has a word on restocking this product (an FAQ "back on the 15th")."""
        facts = catalog_facts(self.catalog).get(product.id, ())
        return any(
            "restock" in fact.cue_concepts | fact.value_concepts for fact in facts if fact.field != "shipping"
        )

    def _restock(self, product: Product, variant: Variant | None, lang: str) -> Answer:
        """Sold out, asked when it is back: the catalog gives no date, so none is said."""
        sold = self._stock(product, lang, variant)
        text = sold.text + (
            "什么时候补货资料里没有写，我不乱说。"
            if lang == "zh"
            else " My notes don't say when it's back, so I won't guess."
        )
        return replace(sold, text=text)

    def _option_prices(self, product: Product, skus: list[str], lang: str) -> Answer:
        """The prices of the options asked about side by side ("small vs medium, the price diff?")."""
        name, now = product.name(lang), self._time()
        options = [v for v in (product.variant(sku) for sku in dict.fromkeys(skus)) if v is not None]
        facts = {"name": name}
        prices = []
        for option in options:
            price = self._option_price(product, option, now)
            facts[f"variant:{option.sku}"] = option.name(lang)
            facts[f"variant_price:{option.sku}"] = price
            prices.append(price)
        said = [option.name(lang) for option in options]
        if len(set(prices)) == 1:
            text = (
                f"{name}的{'和'.join(said)}同价，都是{prices[0]}。"
                if lang == "zh"
                else f"The {' and the '.join(said)} {name} are the same price: {prices[0]}."
            )
        elif lang == "zh":
            text = f"{name}：" + "，".join(f"{o}{p}" for o, p in zip(said, prices, strict=True)) + "。"
        else:
            text = f"The {name}: " + "; ".join(f"{o} {p}" for o, p in zip(said, prices, strict=True)) + "."
        return Answer(text, product.id, Intent.COMPARISON.value, lang, facts)

    def _variant_stocks(self, product: Product, skus: list[str], lang: str) -> Answer:
        """The stock of each option asked about ("grey vs beige, which has more left?")."""
        name, unit = product.name(lang), product.unit_word(lang)
        facts = {"name": name}
        parts = []
        for sku in dict.fromkeys(skus):
            option = product.variant(sku)
            if option is None:
                continue
            left = option.stock if option.stock is not None else product.stock
            facts[f"variant:{sku}"] = option.name(lang)
            facts[f"variant_stock:{sku}"] = str(left)
            if lang == "zh":
                parts.append(f"{option.name(lang)}" + (f"还有{left}{unit}" if left else "已经售罄"))
            else:
                parts.append(f"{option.name(lang)}: " + (f"{left} left" if left else "sold out"))
        text = f"{name}：{'，'.join(parts)}。" if lang == "zh" else f"The {name}: {'; '.join(parts)}."
        return Answer(text, product.id, Intent.COMPARISON.value, lang, facts)

    def _sized(self, product: Product, u: Understanding, lang: str) -> Answer:
        """The option(s) whose stated range holds the viewer's measure, and the shop's own advice
        on sizes when it has an FAQ on that ("between two sizes, pick the bigger one")."""
        name = product.name(lang)
        options = [v for v in (product.variant(sku) for sku in u.sized) if v is not None]
        said = [option.name(lang) for option in options]
        facts = {"name": name, **{f"variant:{o.sku}": o.name(lang) for o in options}}
        gone = [option.name(lang) for option in options if option.stock == 0]
        if lang == "zh":
            text = f"按你说的，{name}选{'或'.join(said)}合适。"
            text += f"{'、'.join(gone)}目前售罄。" if gone else ""
        else:
            text = f"From what you said, the {' or the '.join(said)} {name} fits."
            text += f" Sold out right now: {', '.join(gone)}." if gone else ""
        advice = next(
            (
                fact.field
                for fact in catalog_facts(self.catalog)[product.id]
                if fact.field.startswith("faq:") and "fit" in fact.cue_concepts | fact.value_concepts
            ),
            None,
        )
        answer = Answer(text, product.id, Intent.RECOMMENDATION.value, lang, facts)
        if advice is not None and len(options) >= 2:
            return _then(answer, self._attribute(product, advice, Intent.SPEC, lang, None))
        return answer

    def _options_compared(self, product: Product, skus: list[str], lang: str) -> Answer:
        """Options side by side ("EF和F有啥区别", "regular vs long, the difference?"): each one's
        price and stock, then what the catalog says of them by name ("slow flow on the 160 ml,
        medium flow on the 240 ml")."""
        name, now, unit = product.name(lang), self._time(), product.unit_word(lang)
        options = [v for v in (product.variant(sku) for sku in dict.fromkeys(skus)) if v is not None]
        facts = {"name": name}
        parts = []
        for option in options:
            price, left = self._option_price(product, option, now), option.stock
            said = option.name(lang)
            facts[f"variant:{option.sku}"] = said
            facts[f"variant_price:{option.sku}"] = price
            if left is not None:
                facts[f"variant_stock:{option.sku}"] = str(left)
            if lang == "zh":
                stock = "" if left is None else (f"，还有{left}{unit}" if left else "，已经售罄")
                parts.append(f"{said}{price}{stock}")
            else:
                stock = "" if left is None else (f" ({left} left)" if left else " (sold out)")
                parts.append(f"the {said} is {price}{stock}")
        text = f"{name}：{'；'.join(parts)}。" if lang == "zh" else f"On the {name}, {', and '.join(parts)}."
        apart = telling_apart(product, [option.sku for option in options])
        spec = product.spec(apart.split(":", 1)[1]) if apart is not None else None
        if apart is not None and spec is not None:
            # A spec that speaks of them by name tells them apart.
            value = _clause(localized(spec.value, lang))
            facts[apart] = value
            label = localized(spec.label, lang)
            text += f"{label}：{value}。" if lang == "zh" else f" {value[:1].upper()}{value[1:]}."
        return Answer(text, product.id, Intent.COMPARISON.value, lang, facts)

    def _one_spec(self, spec: Spec, product: Product, lang: str, field: str, intent: Intent) -> Answer:
        """One spec or safety entry, said the way a host would say it."""
        name = product.name(lang)
        label, value = localized(spec.label, lang), _clause(localized(spec.value, lang))
        facts = {"name": name, field: value}
        # A short value reads as a sentence ("龙井绿茶的保质期是18个月"); a long one, with its own
        # commas, after a colon.
        short = len(value) <= (16 if lang == "zh" else 40) and not re.search(r"[，,；;：:]", value)
        says_label = label in value if lang == "zh" else bool(stems(label) & stems(value))
        if _PREDICATE.match(value):
            # A value that is already a predicate ("works with Alexa", "支持快充") follows the name.
            text = f"{name}{value}。" if lang == "zh" else f"The {name} {value}."
        elif says_label and lang == "zh" and not field.startswith("safety:"):
            text = f"{name}：{value}。"  # "两年保修" says what it is: no "的保修是两年保修"
        elif lang == "en" and value.lower().startswith(label.lower() + " "):
            # "fountain pen ink does not bleed through" says its label itself: a sentence of its own.
            text = f"On the {name}, {value}."
        elif says_label and lang == "en" and not field.startswith("safety:") and value[:1].isdigit():
            # "520 pieces", "2-year warranty": what the product has, not "the pieces ... is 520 pieces"
            article = "a " if re.match(r"\d+(?:\.\d+)?-[a-z]", value) else ""
            text = f"The {name} has {article}{value}."
        elif lang == "zh" and field.startswith("safety:"):
            text = f"提醒一下，{name}的{label}：{value}。"  # a warning, not "的幼犬是不适合…"
        elif lang == "zh":
            text = f"{name}的{label}是{value}。" if short else f"{name}的{label}：{value}。"
        elif field.startswith("safety:") and says_label:
            # "not candy: it is not candy": a warning that says its label needs no label before it.
            text = f"{_ASKED_WELL} On the {name}: {_lower_first(value)}."
        elif field.startswith("safety:"):
            text = f"{_ASKED_WELL} On the {name}, {_lower_first(label)}: {_lower_first(value)}."
        elif _NOT_A_NOUN.match(label):
            # "In the box", "Works with", "Made in": no "the in the box of the ..."
            text = f"On the {name}, {_lower_first(label)}: {value}."
        elif short:
            text = f"The {_lower_first(label)} of the {name} is {value}."
        else:
            text = f"The {_lower_first(label)} of the {name}: {value}."
        return Answer(text, product.id, intent.value, lang, facts)

    def _attribute(
        self, product: Product, attribute: str, intent: Intent, lang: str, variant: Variant | None
    ) -> Answer:
        """The catalog fact the question is about (spec, safety, FAQ, offer, shipping, variants);
        a sold-out product says so first when the question is about getting it."""
        answer = self._fact(product, attribute, intent, lang, variant)
        if product.stock == 0 and attribute != "variants" and variant is None and intent is not Intent.SPEC:
            name = product.name(lang)
            first = f"{name}现在已经售罄。" if lang == "zh" else f"The {name} is sold out right now."
            joiner = "" if lang == "zh" else " "
            answer = replace(answer, text=first + joiner + answer.text, facts={**answer.facts, "stock": "0"})
        return answer

    def _with_its_question(self, answer: Answer, u: Understanding) -> Answer:
        """A prepared yes or no matched to a comment in other words is said with the question it
        was written to ("Does it work on carpet? Yes, …"), so a "Yes" never reads as the answer to
        something else ("does it work w alexa")."""
        if u.attribute is None or not u.attribute.startswith("faq:") or u.score >= _OWN_QUESTION:
            return answer
        fact = next(f for f in catalog_facts(self.catalog)[answer.product_id or ""] if f.field == u.attribute)
        said = answer.facts.get("faq_answer", "")
        if not fact.verdict or not said:
            return answer
        product = self.catalog.get(fact.product_id)
        asked = localized(_faq_of(product, u.attribute).question, answer.language)
        joiner = "" if answer.language == "zh" else " "
        return replace(answer, text=answer.text.replace(said, asked + joiner + said, 1))

    def _fact(
        self, product: Product, attribute: str, intent: Intent, lang: str, variant: Variant | None
    ) -> Answer:
        kind, _, arg = attribute.partition(":")
        if kind == "spec" and (spec := product.spec(arg)) is not None:
            return self._one_spec(spec, product, lang, attribute, intent)
        if kind == "safety" and (entry := product.safety_fact(arg)) is not None:
            return self._one_spec(entry, product, lang, attribute, intent)
        if kind == "faq" and arg.isdigit() and 1 <= int(arg) <= len(product.faq):
            answer = self._faq_answer(product.faq[int(arg) - 1], product, intent, lang)
            return replace(answer, facts={**answer.facts, attribute: answer.facts["faq_answer"]})
        if kind == "offer" and arg.isdigit():
            return self._offer(product, int(arg), lang)
        if kind == "point" and arg.isdigit():
            points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
            if 1 <= int(arg) <= len(points):
                said = _end(points[int(arg) - 1], lang)
                return Answer(
                    said,
                    product.id,
                    intent.value,
                    lang,
                    {"name": product.name(lang), attribute: _clause(said)},
                )
        if kind == "variants":
            if variant is not None:
                return self._stock(product, lang, variant, None)
            return self._variants(product, lang, intent)
        return self._shipping(product, lang)

    def _offer(self, product: Product, number: int, lang: str) -> Answer:
        """A bundle deal or gift, exactly as the catalog words it."""
        name = product.name(lang)
        offer = _clause(localized(product.offers[number - 1], lang))
        facts = {"name": name, f"offer:{number}": offer}
        text = f"{name}现在有活动：{offer}。" if lang == "zh" else f"On the {name} right now: {offer}."
        return Answer(text, product.id, Intent.PROMO.value, lang, facts)

    def _variants(self, product: Product, lang: str, intent: Intent, missing: str | None = None) -> Answer:
        """Which versions there are (and which are sold out); a missing one is said plainly."""
        name = product.name(lang)
        label = (
            localized(product.variant_label, lang)
            if product.variant_label
            else ("款式" if lang == "zh" else "options")
        )
        names = [v.name(lang) for v in product.variants]
        sold_out = [v.name(lang) for v in product.variants if v.stock == 0]
        if missing and any(ch.isdigit() for ch in missing):
            missing = ""  # the viewer's number ("size 45") is not the host's to repeat
        facts = {"name": name, "variants": ", ".join(names)}
        if lang == "zh":
            listed = "、".join(names)
            text = f"{name}没有{missing or '这个选项'}哦，" if missing is not None else ""
            text += f"{name}有这些{label}：{listed}。"
            if sold_out:
                text += f"其中{'、'.join(sold_out)}已经售罄。"
        else:
            listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
            plural = _plural(label)
            text = f"The {name} doesn't come in {missing or 'that'}. " if missing is not None else ""
            text += f"The {name} comes in these {plural}: {listed}."
            if sold_out:
                text += f" Sold out right now: {', '.join(sold_out)}."
        return Answer(text, product.id, intent.value, lang, facts)

    def _words_hit(self, product: Product, u: Understanding) -> FactHit | None:
        """The product's fact the question's words match best, however weakly (no meaning)."""
        return best_fact(product, self.catalog, u.reading.words, u.reading.concepts)

    def _not_stated(self, product: Product, u: Understanding, lang: str, hit: FactHit | None) -> Answer:
        """The catalog does not say: say so plainly, and offer the nearest fact it does state."""
        name = product.name(lang)
        facts = {"name": name, "not_stated": "yes"}
        if hit is None and u.nearest is not None and u.nearest.startswith("faq:"):
            entry = _faq_of(product, u.nearest)
            asked, said = localized(entry.question, lang), _end(localized(entry.answer, lang), lang)
            facts[u.nearest] = said
            if lang == "zh":
                text = f"{name}的资料里没有正好写这一点，我不乱说。最接近的是：{asked} {said}"
            else:
                text = f"My notes on the {name} don't say exactly that, so I won't guess. "
                text += f"The closest: {asked} {said}"
            return Answer(text, product.id, u.intent.value, lang, facts)
        field = hit.fact.field if hit is not None else u.nearest
        nearest = _entry(product, field) if field is not None else None
        if nearest is None and product.specs:
            nearest = product.specs[0]
        if lang == "zh":
            text = f"{name}的资料里没有写这一点，我不乱说。"
        else:
            text = f"My notes on the {name} don't say, so I won't guess."
        if nearest is not None:
            value = _clause(localized(nearest.value, lang))
            label = localized(nearest.label, lang)
            facts[f"spec:{nearest.key}"] = value
            text += self._stated_instead(label, value, lang)
        return Answer(text, product.id, u.intent.value, lang, facts)

    @staticmethod
    def _stated_instead(label: str, value: str, lang: str) -> str:
        """What the catalog does state, after "it does not say": the value alone when it says its
        label ("眼睛: 避免接触眼睛" is no "眼睛避免接触眼睛"), else the label and the value."""
        if lang == "zh":
            if label in value:
                return f"能确定的是：{value}。"
            short = len(value) <= 16 and not re.search(r"[，,；;：:]", value)
            return f"能确定的是：{label}是{value}。" if short else f"能确定的是：{label}方面，{value}。"
        if stems(label) <= stems(value):
            return f" What I can tell you: {value}."
        return f" What I can tell you: {_lower_first(label)}, {value}."

    def _no_price_claim(self, product: Product, lang: str) -> Answer:
        """ "Cheapest anywhere?": other shops' prices are not known here, so only ours is said."""
        answer = self._price(product, lang)
        first = (
            "别家的价格我不清楚，不做比较。"
            if lang == "zh"
            else "I can't speak for other shops' prices, so no comparisons from me."
        )
        joiner = "" if lang == "zh" else " "
        return replace(answer, text=first + joiner + answer.text)

    def _no_medical(self, product: Product, lang: str) -> Answer:
        """Health-claim bait: no promise, and what the product does per its catalog."""
        name = product.name(lang)
        facts = {"name": name}
        points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
        if lang == "zh":
            text = f"{name}不是药品，我不能做功效承诺，身体问题请咨询医生。"
        else:
            text = (
                f"The {name} isn't a medicine, so I can't promise health effects; "
                "please ask a doctor about that."
            )
        if points:
            facts["point:1"] = _clause(points[0])
            text += (
                f"它能做的是：{facts['point:1']}。"
                if lang == "zh"
                else f" What it does: {_lower_first(facts['point:1'])}."
            )
        return Answer(text, product.id, Intent.PRODUCT_INFO.value, lang, facts)

    def _foreign(self, lang: str) -> Answer:
        text = (
            "抱歉，我只会说中文和英文。Sorry, I can answer in English or Chinese."
            if self.scene.language == "zh"
            else "Sorry, I can answer in English or Chinese. 抱歉，我只会说中文和英文。"
        )
        return Answer(text, None, Intent.OTHER.value, self.scene.language, {})

    def _ambiguous(self, ids: tuple[str, ...], intent: Intent, lang: str) -> Answer:
        """A name two products share: ask which one."""
        names = [self.catalog.get(i).name(lang) for i in ids]
        facts = {"products": ", ".join(names)}
        if lang == "zh":
            text = f"你说的是{'还是'.join(names)}呢？"
        else:
            text = "Which one do you mean: " + " or ".join(f"the {n}" for n in names) + "?"
        return Answer(text, None, intent.value, lang, facts)

    def _key_specs(self, product: Product, lang: str) -> Answer:
        """No spec named (or none that this product has): the first two, as the author ordered them."""
        name = product.name(lang)
        if not product.specs:
            return _no_details(product, lang, Intent.SPEC, "spec", "规格资料")
        shown = product.specs[:2]
        facts = {"name": name} | {f"spec:{s.key}": _clause(localized(s.value, lang)) for s in shown}
        if lang == "zh":
            parts = [f"{localized(s.label, lang)}{facts[f'spec:{s.key}']}" for s in shown]
            text = f"{name}的主要参数：{'，'.join(parts)}。"
        else:
            parts = [
                f"the {_lower_first(localized(s.label, lang))} is {facts[f'spec:{s.key}']}" for s in shown
            ]
            text = f"On the {name}, {', and '.join(parts)}."
        return Answer(text, product.id, Intent.SPEC.value, lang, facts)

    def _shipping(self, product: Product, lang: str) -> Answer:
        name = product.name(lang)
        if not product.shipping:
            return _no_details(product, lang, Intent.SHIPPING, "shipping", "发货信息")
        shipping = _end(localized(product.shipping, lang), lang)
        return Answer(shipping, product.id, Intent.SHIPPING.value, lang, {"name": name, "shipping": shipping})

    def _shipping_not_stated(self, product: Product, lang: str, concepts: frozenset[str]) -> Answer:
        """A shipping question the policy text does not answer: say so, then the policy sentence
        nearest to what was asked (two sentences at most: it is spoken)."""
        name = product.name(lang)
        policy = localized(product.shipping, lang)
        parts = [p for p in re.split(r"(?<=[.!?。！？])\s*", policy) if p.strip()]
        after_sales = bool(concepts & {"returns", "warranty"})
        first = parts[0] if parts else ""
        nearest = next((p for p in parts if after_sales and _AFTER_SALES.search(p)), first)
        if lang == "zh":
            text = f"这一点发货说明里没有写，我不乱说。能确定的是：{_end(nearest, lang)}"
        else:
            text = (
                f"My shipping notes don't say that, so I won't guess. What they do say: {_end(nearest, lang)}"
            )
        facts = {"name": name, "not_stated": "yes", "shipping_part": _clause(nearest)}
        return Answer(text, product.id, Intent.SHIPPING.value, lang, facts)

    def _info(self, product: Product, lang: str) -> Answer:
        f = self._price_facts(product, lang)
        points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
        if points:
            f["point:1"] = _clause(points[0])
            first = f"{f['name']}：{f['point:1']}。" if lang == "zh" else f"The {f['name']}: {f['point:1']}."
        else:
            first = (
                f"今天给大家带来{f['name']}。" if lang == "zh" else f"The {f['name']} is on the show today."
            )
        if "promo_price" in f:
            second = (
                f"现在只要{f['promo_price']}，原价{f['price']}。"
                if lang == "zh"
                else f" Yours for {f['promo_price']} right now, down from {f['price']}."
            )
        else:
            second = f"售价{f['price']}。" if lang == "zh" else f" Yours for {f['price']}."
        return Answer(first + second, product.id, Intent.PRODUCT_INFO.value, lang, f)

    def _greeting(self, product: Product | None, lang: str) -> Answer:
        greeting = _end(localized(self.scene.persona.greeting, lang), lang)
        facts = {"greeting": greeting}
        text = greeting
        if product is not None:
            facts["name"] = product.name(lang)
            text += (
                f"现在给大家介绍的是{facts['name']}。"
                if lang == "zh"
                else f" Right now we're looking at the {facts['name']}."
            )
        return Answer(text, product.id if product else None, Intent.GREETING.value, lang, facts)

    # --- when the catalog has no direct answer -------------------------------------------------

    def _faq(
        self, question: str, product: Product | None, min_score: float = _FAQ_MIN_SCORE
    ) -> tuple[FAQ, Product] | None:
        """The FAQ entry closest to ``question``: the product's own first, else any product's."""
        asked = self._content(question)
        if not asked:
            return None
        pool = [product] if product is not None else list(self.catalog.products)
        scored: list[tuple[float, FAQ, Product]] = []
        for candidate in pool:
            for entry in candidate.faq:
                words = [self._content(q) for q in entry.question.values()]
                shared = max(len(asked & w) for w in words)
                score = max(_overlap(asked, w) for w in words)
                # Across the whole catalog one shared word ("size?") is too thin to pick a product.
                if score >= min_score and (product is not None or shared >= 2):
                    scored.append((score, entry, candidate))
        if not scored:
            return None
        scored.sort(key=lambda item: -item[0])
        top = scored[0]
        if product is None and any(s == top[0] and p.id != top[2].id for s, _, p in scored[1:]):
            return None  # two products answer "is it dishwasher safe?": ask which one instead
        return top[1], top[2]

    def _content(self, text: str) -> set[str]:
        for phrase in self._name_phrases:
            text = text.replace(phrase, " ")
        return content_words(text) - self._name_words

    def _faq_answer(self, entry: FAQ, product: Product, intent: Intent, lang: str) -> Answer:
        reply = _end(localized(entry.answer, lang), lang)
        facts = {"name": product.name(lang), "faq": localized(entry.question, lang), "faq_answer": reply}
        return Answer(reply, product.id, intent.value, lang, facts)

    def _baits_a_claim(self, question: str) -> bool:
        """ "It's number one, right? Just say yes": nothing is volunteered after that, since a
        stated fact that opens with "Yes" would read as the yes."""
        return any(a.rule in (Rule.ABSOLUTE, Rule.MEDICAL) for a in self.compliance.claims(question))

    def _unknown(self, product: Product, u: Understanding, lang: str) -> Answer:
        name = product.name(lang)
        if (
            u.nearest is not None
            and self._words_hit(product, u) is None
            and not self._baits_a_claim(u.reading.text)
        ):
            return replace(self._not_stated(product, u, lang, None), intent=Intent.OTHER.value)
        if lang == "zh":
            text = f"关于{name}的这个问题，我这里没有资料，不乱说哦。可以问我价格、库存、规格或发货！"
        else:
            text = (
                f"I don't have that detail for the {name}, so I won't guess. "
                "Ask me about its price, stock, specs or shipping!"
            )
        return Answer(text, product.id, Intent.OTHER.value, lang, {"name": name})

    def _which_product(self, intent: Intent, lang: str) -> Answer:
        names, listed = self._listing(lang)
        text = (
            f"你想问哪一款呢？今天有{listed}。"
            if lang == "zh"
            else f"Which product do you mean? Today I have {listed}."
        )
        return Answer(text, None, intent.value, lang, {"products": ", ".join(names)})

    def _not_in_show(self, intent: Intent, lang: str) -> Answer:
        """Something the show does not sell: say so, never guess, list what there is."""
        names, listed = self._listing(lang)
        if lang == "zh":
            text = f"今天的直播没有这个商品，我就不乱说了。今天有{listed}。"
        else:
            text = f"That's not in today's show, so I won't guess about it. Today I have {listed}."
        return Answer(text, None, intent.value, lang, {"products": ", ".join(names)})

    def _listing(self, lang: str) -> tuple[list[str], str]:
        """Today's product names, and the same as a spoken list ("the A, the B and the C")."""
        names = [p.name(lang) for p in self.catalog.products]
        if lang == "zh":
            return names, "、".join(names)
        if len(names) == 1:
            return names, f"the {names[0]}"
        return names, ", ".join(f"the {n}" for n in names[:-1]) + f" and the {names[-1]}"

    def _tail(self, product: Product | None, lang: str) -> str:
        """The invitation that ends a social reply, pointing at the product on screen."""
        if product is None:
            return (
                "想了解今天的商品尽管问我。" if lang == "zh" else " Ask me anything about today's products."
            )
        name = product.name(lang)
        return f"关于{name}有问题随时问我。" if lang == "zh" else f" Ask me anything about the {name}."

    def _option_price(self, product: Product, option: Variant, now: datetime | None) -> str:
        """An option's own price, else the product's price now (its deal included)."""
        price = option.price if option.price is not None else product.current_price(now)
        return self.catalog.format_price(price)

    def _current(self, product: Product, lang: str) -> str:
        return self.catalog.format_price(product.current_price(self._time()))

    # --- two products, and products for a need -----------------------------------------------

    def _pair(
        self, question: str, named: list[Product], remembered: str | None, deixis: bool, u: Understanding
    ) -> tuple[Product, Product] | None:
        """The two products a comparison is about: two named, or "this" (on screen) and one named."""
        del question, remembered
        if len(named) >= 2:
            return named[0], named[1]
        on_screen = u.on_screen
        if len(named) == 1 and deixis and on_screen is not None and on_screen != named[0].id:
            return self.catalog.get(on_screen), named[0]
        return None

    def _compare(self, u: Understanding, a: Product, b: Product, lang: str) -> Answer:
        """Both prices, then the spec the question is about (or the first one both have)."""
        name_a, name_b = a.name(lang), b.name(lang)
        price_a, price_b = self._current(a, lang), self._current(b, lang)
        facts = {
            "name": name_a,
            "current_price": price_a,
            "other_name": name_b,
            "other_current_price": price_b,
        }
        if lang == "zh":
            text = f"{name_a}现在{price_a}，{name_b}{price_b}。"
        else:
            text = f"You can get the {name_a} for {price_a} and the {name_b} for {price_b}."
        shared = {s.key for s in a.specs} & {s.key for s in b.specs}
        key = self._asked_spec(u, a, shared) or self._asked_spec(u, b, shared)
        if key is None:
            own = self._own_spec(u, a), self._own_spec(u, b)
            if own != (None, None):
                # Each product's own fact for what was asked; a side with none is said to be unstated.
                parts = []
                for product, spec, which in ((a, own[0], "spec"), (b, own[1], "other_spec")):
                    name = product.name(lang)
                    if spec is None:
                        parts.append(f"{name}资料里没有写" if lang == "zh" else f"the {name}: not stated")
                        continue
                    value = _clause(localized(spec.value, lang))
                    facts[f"{which}:{spec.key}"] = value
                    label = localized(spec.label, lang)
                    parts.append(f"{name}的{label}是{value}" if lang == "zh" else f"the {name}: {value}")
                text += ("，".join(parts) + "。") if lang == "zh" else f" As for that, {'; '.join(parts)}."
                return Answer(text, a.id, Intent.COMPARISON.value, lang, facts)
            key = next((s.key for s in a.specs if s.key in shared and s.key != "colour"), None)
        if key is not None:
            spec_a, spec_b = a.spec(key), b.spec(key)
            assert spec_a is not None and spec_b is not None  # key is in both
            label = localized(spec_a.label, lang)
            value_a, value_b = _clause(localized(spec_a.value, lang)), _clause(localized(spec_b.value, lang))
            facts |= {f"spec:{key}": value_a, f"other_spec:{key}": value_b}
            if lang == "zh":
                text += f"{label}：{name_a}{value_a}，{name_b}{value_b}。"
            else:
                text += f" {label}: {value_a} on the {name_a}, {value_b} on the {name_b}."
        return Answer(text, a.id, Intent.COMPARISON.value, lang, facts)

    def _own_spec(self, u: Understanding, product: Product) -> Spec | None:
        """The product's own spec or safety entry for what a comparison asks, if one matches."""
        concepts = u.reading.concepts - COMMERCE
        scores = fact_scores(product, self.catalog, u.reading.words, concepts, text=u.reading.text)
        # Only a spec or safety entry can stand beside the other product's; of two that match as
        # well, the one about the concept asked ("重量" for "哪个轻"), not one whose label shares a
        # word of a name ("防蓝光率" of the 蓝光眼镜).
        entries = [
            (scores.get(fact.field, 0.0), bool(concepts & fact.cue_concepts), -order, fact.field)
            for order, fact in enumerate(catalog_facts(self.catalog).get(product.id, ()))
            if fact.field.startswith(("spec:", "safety:")) and scores.get(fact.field, 0.0) >= 0.6
        ]
        return _entry(product, max(entries)[-1]) if entries else None

    def _asked_spec(self, u: Understanding, product: Product, keys: set[str]) -> str | None:
        """The spec among ``keys`` the question is about, if any matches."""
        words, concepts = u.reading.words, u.reading.concepts
        best: tuple[float, str] | None = None
        for fact in catalog_facts(self.catalog).get(product.id, ()):
            kind, _, key = fact.field.partition(":")
            if kind != "spec" or key not in keys:
                continue
            hits = len(concepts & fact.cue_concepts) + max(
                (len(words & w) for w in fact.cue_words), default=0
            )
            if hits and (best is None or hits > best[0]):
                best = (hits, key)
        return best[1] if best else None

    def _recommend(self, u: Understanding, current_id: str | None, lang: str) -> Answer:
        """A product for what the viewer said they need (use, budget), and the catalog's reason;
        the option that fits them when they said what decides it ("孩子4岁" of sizes by age, "I
        have an iPhone 15 Pro" of cases by model)."""
        answer = self._recommend_product(u, current_id, lang)
        if answer.product_id is None or answer.intent != Intent.RECOMMENDATION.value:
            return answer
        product = self.catalog.get(answer.product_id)
        named = [sku for pid, sku in u.reading.variants if pid == product.id]
        fitting = (
            named if len(named) == 1 else list(fitting_options(product, viewer_measures(u.reading.text)))
        )
        option = product.variant(fitting[0]) if len(fitting) == 1 else None
        if option is None:
            return answer
        said = option.name(lang)
        if option.stock == 0:
            text = (
                f"适合你的是{said}，不过现在售罄了。"
                if lang == "zh"
                else f" The {said} would fit, but it's sold out right now."
            )
        else:
            text = f"建议选{said}。" if lang == "zh" else f" I'd go for the {said}."
        return replace(answer, text=answer.text + text, facts={**answer.facts, f"variant:{option.sku}": said})

    def _recommend_product(self, u: Understanding, current_id: str | None, lang: str) -> Answer:
        """The product of :meth:`_recommend`."""
        most = self._most(u, lang)
        if most is not None:
            return most
        need = telling_uses(self.catalog, read_need(u.reading.text))
        if u.reading.budget is not None:
            need = replace(need, budget=u.reading.budget.amount)
        picks = recommend(self.catalog, need, lang, self._time(), prefer=current_id)
        if _CHEAPEST.search(u.reading.text) and picks:
            cheapest = min(picks, key=lambda p: p.price)
            return self._suggest(replace(cheapest, uses=frozenset()), False, False, lang)
        meant = self._meant(u, need.budget)
        if meant and need.uses and picks:
            # Both the meaning and the use words speak: what both agree on (the meaning's order),
            # else the use words ("收纳" names storage; the embeddings may drift to the knives).
            tagged = {pick.product.id for pick in picks}
            # (picks leave sold-out ones out.) When they agree on none, the meaning: the use words
            # are a short general list ("commute" tags the tent's "trips", not the bike light).
            meant = [p for p in meant if p.id in tagged or p.stock == 0] or meant
        if meant or not need.uses or not picks:
            # What the need means (the products' profiles) before the use words' tags: "a night
            # hike, what should I get so I can see" is the headlamp, not everything "outdoors".
            if not meant and len(u.reading.named) == 1:
                # "need shoes for everyday walking, any recs": the product whose name they said.
                named = self.catalog.get(u.reading.named[0])
                if need.budget is None or named.lowest_price(self._time()) <= need.budget:
                    meant = [named]
            if meant and meant[0].stock == 0:
                return self._sold_out_fit(meant[0], meant[1] if len(meant) > 1 else None, lang)
            fit = self._pick(meant[0], lang) if meant else self._fit(u, need.budget)
            if fit is not None:
                return self._suggest(fit, need.budget is not None, need.gift, lang)
        if need.unknown_use or (need.uses and not picks):
            names, listed = self._listing(lang)
            if lang == "zh":
                text = f"今天的商品里没有专门适合这个的，我就不硬推了。今天有{listed}。"
            else:
                text = (
                    f"Nothing in today's show is made for that, so I won't stretch it. Today I have {listed}."
                )
            return Answer(text, None, Intent.RECOMMENDATION.value, lang, {"products": ", ".join(names)})
        if need.empty and current_id in self.catalog:
            # "What do you recommend?" with nothing to go by: the product on screen, honestly.
            on_screen = [p for p in picks if p.product.id == current_id]
            picks = on_screen or picks
        top = picks[0]
        if not top.in_budget:
            cheapest = min(picks, key=lambda p: p.price)
            name, price = cheapest.product.name(lang), self.catalog.format_price(cheapest.price)
            facts = {"name": name, "current_price": price}
            if lang == "zh":
                text = f"今天没有这个预算内的商品，最实惠的是{name}，现在{price}。"
            else:
                text = f"Nothing today fits that budget; the most affordable is the {name} at {price}."
            return Answer(text, cheapest.product.id, Intent.RECOMMENDATION.value, lang, facts)
        return self._suggest(top, need.budget is not None, need.gift, lang)

    def _most(self, u: Understanding, lang: str) -> Answer | None:
        """ "想吃特别甜的 糖度越高越好", "which tent is lightest": the product whose spec states the
        most (or least) of what is asked, with that spec, when the products state it in numbers."""
        asked = u.reading.concepts - COMMERCE
        if not asked or u.reading.named:
            return None
        measured: dict[str, list[tuple[Product, Spec, str]]] = {}
        for product in self.catalog.products:
            for fact in catalog_facts(self.catalog)[product.id]:
                shared = fact.cue_concepts & asked
                if fact.field.startswith("spec:") and shared:
                    spec = next(s for s in product.specs if f"spec:{s.key}" == fact.field)
                    value = localized(spec.value, lang)
                    for concept in shared:
                        measured.setdefault(concept, []).append((product, spec, value))
        pick = most_of(u.reading.text, measured)
        if pick is None:
            return None
        product, spec = pick.product, pick.spec
        name, lowest = product.name(lang), product.lowest_price(self._time())
        price = self.catalog.format_price(lowest)
        if lowest < product.current_price(self._time()):
            price = f"{price}起" if lang == "zh" else f"from {price}"  # its cheapest option
        label, value = localized(spec.label, lang), _clause(localized(spec.value, lang))
        facts = {"name": name, "current_price": price, f"spec:{spec.key}": value}
        if lang == "zh":
            text = f"推荐{name}：{label}{value}。现在{price}。"
        else:
            text = f"I'd suggest the {name}: its {label.lower()} is {value}. It's {price} right now."
        return Answer(text, product.id, Intent.RECOMMENDATION.value, lang, facts)

    def _meant(self, u: Understanding, budget: Decimal | None) -> list[Product]:
        """The products whose profiles the viewer's need means ("i have 2 cats and fur everywhere"
        -> the robot vacuum), best first, within the budget; the best first even when sold out,
        then only those in stock."""
        time = self._time()
        fitting = [self.catalog.get(pid) for pid, _ in u.fits]
        fitting = [p for p in fitting if budget is None or p.lowest_price(time) <= budget]
        return fitting[:1] + [p for p in fitting[1:] if p.stock != 0]

    def _pick(self, product: Product, lang: str) -> Pick:
        points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
        return Pick(
            product, frozenset(), points[0] if points else "", product.lowest_price(self._time()), True
        )

    def _sold_out_fit(self, product: Product, instead: Product | None, lang: str) -> Answer:
        """What fits best is sold out: say so, and name the next fit in stock if there is one."""
        name = product.name(lang)
        facts = {"name": name}
        if lang == "zh":
            text = f"最合适的是{name}，可惜现在已经售罄了。"
        else:
            text = f"The {name} would be the one for that, but it's sold out right now."
        if instead is not None:
            other, price = instead.name(lang), self.catalog.format_price(instead.current_price(self._time()))
            facts |= {"other": other, "current_price": price}
            text += (
                f"也可以看看{other}，现在{price}。"
                if lang == "zh"
                else f" The {other} is also a good fit, {price} right now."
            )
        return Answer(text, product.id, Intent.RECOMMENDATION.value, lang, facts)

    def _fit(self, u: Understanding, budget: Decimal | None) -> Pick | None:
        """The product whose own catalog text best fits what the viewer described ("2 cats and fur
        everywhere", "warm for winter", "礼盒"), in stock and within budget; None when nothing does."""
        words, concepts = u.reading.words, u.reading.concepts - {"price", "stock"}
        if not words and not concepts:
            return None
        best: tuple[float, Pick] | None = None
        pool = candidates(self.catalog, words, concepts)
        for product in self.catalog.products:
            if product.id not in pool and not (words & self._head_words(product)):
                continue
            price = product.lowest_price(self._time())
            if product.stock == 0 or (budget is not None and price > budget):
                continue
            hit = best_fact(product, self.catalog, words, concepts)
            needs = words - self._filler  # "gift for my dad who games": "games" is the need
            named = len(needs & self._head_words(product)) / max(len(needs), 1)
            score = (hit.score if hit is not None else 0.0) + 0.6 * named
            if score < 0.45 or (best is not None and score <= best[0]):
                continue
            points = product.selling_points.get(u.language) or product.selling_points.get("en") or ()
            reason = points[0] if points else ""
            if hit is not None and hit.fact.field.startswith("point:"):
                reason = points[int(hit.fact.field.split(":")[1]) - 1] if points else reason
            best = (score, Pick(product, frozenset(), reason, price, True))
        return best[1] if best else None

    def _head_words(self, product: Product) -> frozenset[str]:
        """Stems of a product's category, names and aliases (what it is)."""
        head = self._heads.get(product.id)
        if head is None:
            head = stems(" ".join([product.category, *product.names.values(), *product.aliases]))
            self._heads[product.id] = head
        return head

    def _need_fact(self, answer: Answer, u: Understanding) -> Answer:
        """A suggestion comes with the spec or safety entry of the product that the need's own
        words name ("2 cats and fur everywhere" → its pet-hair brush; "my cat has fleas" → "never
        use on cats"), when the answer does not say it already."""
        if answer.product_id is None or answer.intent != Intent.RECOMMENDATION.value:
            return answer
        product = self.catalog.get(answer.product_id)
        hit = best_fact(product, self.catalog, u.reading.words, u.reading.concepts - COMMERCE)
        entry = _entry(product, hit.fact.field) if hit is not None and hit.score >= FACT_MATCH else None
        if hit is None or entry is None:
            return answer
        lang = answer.language
        value = _clause(localized(entry.value, lang))
        if not value or value in answer.text:
            return answer
        if hit.fact.field.startswith("safety:"):  # a warning is said as one, not under its label
            note = f"注意：{value}。" if lang == "zh" else f" Please note: {_lower_first(value)}."
        else:
            label = localized(entry.label, lang)
            note = f"{label}：{value}。" if lang == "zh" else f" {label}: {value}."
        return replace(answer, text=answer.text + note, facts={**answer.facts, hit.fact.field: value})

    def _age_noted(self, answer: Answer, u: Understanding) -> Answer:
        """A product suggested for a child ("孩子6岁 喜欢画画", "something for my 2 yr old?") comes
        with the catalog's own age warning, whatever the child's age: the parent decides."""
        if answer.product_id is None or not u.reading.concepts & {"kids", "age"}:
            return answer
        lang = answer.language
        warnings = [
            fact
            for fact in catalog_facts(self.catalog)[answer.product_id]
            if fact.field.startswith("safety:") and "age" in fact.cue_concepts | fact.value_concepts
        ]
        for fact in warnings:  # the age limit ("for ages 5 and up"), not every note on children
            entry = self.catalog.get(answer.product_id).safety_fact(fact.field.split(":", 1)[1])
            value = _clause(localized(entry.value, lang)) if entry is not None else ""
            if not value or value in answer.text:
                return answer
            note = f"注意：{value}。" if lang == "zh" else f" Please note: {_lower_first(value)}."
            return replace(answer, text=answer.text + note, facts={**answer.facts, fact.field: value})
        return answer

    def _suggest(self, pick: Pick, budget: bool, gift: bool, lang: str) -> Answer:
        name, price = pick.product.name(lang), self.catalog.format_price(pick.price)
        if pick.price < pick.product.current_price(self._time()):
            price = f"{price}起" if lang == "zh" else f"from {price}"  # its cheapest option
        reason = _clause(pick.reason)
        facts = {"name": name, "current_price": price}
        if reason:
            facts["reason"] = reason
        purpose = use_label(pick.uses, lang) if pick.uses else ""
        if lang == "zh":
            purpose = purpose or ("送礼" if gift else "")
            first = f"{purpose}的话，推荐{name}" if purpose else f"推荐{name}"
            text = f"{first}：{reason}。" if reason else f"{first}。"
            text += f"现在{price}，在你的预算内。" if budget else f"现在{price}。"
        else:
            purpose = purpose or ("a gift" if gift else "")
            first = f"For {purpose}, I'd suggest the {name}" if purpose else f"I'd suggest the {name}"
            text = f"{first}: {_lower_first(reason)}." if reason else f"{first}."
            text += f" It's {price} right now, within your budget." if budget else f" It's {price} right now."
        return Answer(text, pick.product.id, Intent.RECOMMENDATION.value, lang, facts)

    def _suits(self, product: Product, question: str, lang: str) -> Answer:
        """ "Is it good for the gym?": yes with the catalog's reason, or which product is, or no."""
        need = read_need(question)
        name = product.name(lang)
        picks = recommend(self.catalog, need, lang, self._time(), prefer=product.id)
        own = next((p for p in picks if p.product.id == product.id), None)
        if own is not None and own.uses:
            reason = _clause(own.reason)
            label = use_label(own.uses, lang)
            facts = {"name": name} if lang == "zh" else {}  # the English reply names no product
            if reason:
                facts["reason"] = reason
            if lang == "zh":
                text = (
                    f"适合，{name}可以用于{label}：{reason}。" if reason else f"适合，{name}可以用于{label}。"
                )
            else:
                # No verb after the name: "the Aurora Buds" is plural, "the Desk Lamp" is not.
                text = (
                    f"Yes, good for {label}: {_lower_first(reason)}." if reason else f"Yes, good for {label}."
                )
            return Answer(text, product.id, Intent.PRODUCT_INFO.value, lang, facts)
        other = next((p for p in picks if p.uses), None)
        if other is not None and not need.unknown_use:
            label = use_label(other.uses, lang)
            other_name = other.product.name(lang)
            facts = {"name": name, "other_name": other_name}
            if lang == "zh":
                text = f"{name}不是专门为{label}设计的，{other_name}更合适。"
            else:
                text = f"For {label}, I'd point you to the {other_name} rather than the {name}."
            return Answer(text, product.id, Intent.PRODUCT_INFO.value, lang, facts)
        if lang == "zh":
            text = f"资料里没有说{name}适合这个用途，我就不乱承诺了。可以问我它的规格哦！"
        else:
            text = (
                f"Nothing in my notes says the {name} can do that, so I won't promise it. "
                "Ask me about its specs!"
            )
        return Answer(text, product.id, Intent.PRODUCT_INFO.value, lang, {"name": name})

    def _purchase(self, product: Product, lang: str, quantity: int | None = None) -> Answer:
        """How to buy: the cart, the price that applies now, bundle offers, and the stock when it
        is low or short of the quantity asked for."""
        f = self._price_facts(product, lang)
        f.pop("promo_ends", None)  # facts list what is said, and the end date is not
        if "promo_price" in f:
            del f["price"]
        if product.stock == 0:
            f = {"name": f["name"], "stock": "0"}
            text = (
                f"抱歉，{f['name']}已经售罄了。"
                if lang == "zh"
                else f"Sorry, the {f['name']} is sold out right now."
            )
            return Answer(text, product.id, Intent.PURCHASE.value, lang, f)
        cta = self.scene.cta(lang)  # the platform's words: 点击下方小黄车, "Tap the link below"
        if lang == "zh":
            if "promo_price" in f:
                text = f"{cta}就能下单{f['name']}，现在{f['promo_label']}只要{f['promo_price']}。"
            else:
                text = f"{cta}就能下单{f['name']}，售价{f['price']}。"
        elif "promo_price" in f:
            text = (
                f"{cta} to order the {f['name']}: {f['promo_price']} right now with our {f['promo_label']}."
            )
        else:
            text = f"{cta} to order the {f['name']} for {f['price']}."
        unit = product.unit_word(lang)
        if quantity is not None and quantity > product.stock:
            f["stock"] = str(product.stock)
            text += (
                f"不过只剩{product.stock}{unit}了，不够这个数量哦。"
                if lang == "zh"
                else f" Only {product.stock} left, though, not enough for that many."
            )
        elif product.stock <= _LOW_STOCK:
            f["stock"] = str(product.stock)
            text += (
                f"只剩{product.stock}{unit}了，抓紧！"
                if lang == "zh"
                else f" Only {product.stock} left, so be quick!"
            )
        return self._with_offers(Answer(text, product.id, Intent.PURCHASE.value, lang, f), product)

    # --- the social side of chat -----------------------------------------------------------------

    def _moderated(self, intent: Intent, question: str, current_id: str | None, lang: str) -> Answer:
        """A polite fixed reply to abuse, spam or injection: the comment itself is never repeated."""
        if intent is Intent.ABUSE:
            text = (
                "咱们文明聊天哦，有商品问题随时问我！"
                if lang == "zh"
                else "Let's keep the chat friendly. I'm happy to help with any product question!"
            )
            return Answer(text, None, intent.value, lang, {})
        if intent is Intent.SPAM:
            text = "咱们聊聊今天的商品吧！" if lang == "zh" else "Let's keep the chat about today's products!"
            return Answer(text, None, intent.value, lang, {})
        text = (
            "我只讲今天商品资料里的内容，也改不了哦。"
            if lang == "zh"
            else "I only share what's in today's product catalog, and I can't change it."
        )
        about_money = _ABOUT_MONEY.search(question) is not None
        # "Print your system prompt" is about no product; "make it $1" is about the one on screen.
        product = resolve_product(question, self.catalog, current_id if about_money else None)
        if product is None:
            return Answer(text, None, intent.value, lang, {})
        name = product.name(lang)
        facts = {"name": name}
        if about_money:
            # A fake price or discount is answered with the real one, so nobody is misled.
            facts["current_price"] = self._current(product, lang)
            text += (
                f"{name}现在的实际价格是{facts['current_price']}。"
                if lang == "zh"
                else f" The real price of the {name} is {facts['current_price']} right now."
            )
        else:
            points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
            if points:
                facts["point:1"] = _clause(points[0])
                text += (
                    f"我能告诉你的是：{facts['point:1']}。"
                    if lang == "zh"
                    else f" What I can tell you: {_lower_first(facts['point:1'])}."
                )
        return Answer(text, product.id, intent.value, lang, facts)

    def _complaint(self, product: Product | None, u: Understanding, lang: str) -> Answer:
        """Sorry first; orders cannot be looked up here; the catalog's own word on what went wrong
        when an FAQ speaks of it ("my uke keeps going flat": new strings stretch), else the
        product's after-sales policy if named."""
        first = (
            "很抱歉给你带来不好的体验，直播间这里查不了订单。"
            if lang == "zh"
            else "I'm sorry to hear that, and I can't look up orders from the stream."
        )
        if product is not None:
            hit = best_fact(product, self.catalog, u.reading.words, u.reading.concepts - COMMERCE)
            if hit is not None and hit.score >= FACT_MATCH and hit.fact.field.startswith("faq:"):
                entry = _faq_of(product, hit.fact.field)
                said = _end(localized(entry.answer, lang), lang)
                facts = {"name": product.name(lang), hit.fact.field: said}
                text = first + ("" if lang == "zh" else " ") + said
                return Answer(text, product.id, Intent.COMPLAINT.value, lang, facts)
        policy = ""
        if product is not None and product.shipping:
            shipping = localized(product.shipping, lang)
            parts = [p for p in re.split(r"(?<=[.!?])\s+|[。！？，；]", shipping) if _AFTER_SALES.search(p)]
            # When a part speaks of what went wrong ("碎了": "运输途中破损免费补发"), the whole policy
            # it belongs to; else its returns part.
            asked = u.reading.concepts - COMMERCE
            if any(lexicon().concepts_in(p.lower()) & asked for p in parts):
                policy = _clause(shipping)
            else:
                policy = _clause(parts[0]) if parts else ""
        if product is None or not policy:
            second = (
                "请带上订单号联系下单的店铺客服。"
                if lang == "zh"
                else " Please contact the shop you ordered from with your order number."
            )
            return Answer(first + second, product.id if product else None, Intent.COMPLAINT.value, lang, {})
        name = product.name(lang)
        second = f"{name}的售后：{policy}。" if lang == "zh" else f" For the {name}: {policy}."
        return Answer(
            first + second, product.id, Intent.COMPLAINT.value, lang, {"name": name, "returns": policy}
        )

    def _chitchat(self, question: str, product: Product | None, lang: str) -> Answer:
        persona = self.scene.persona
        if _FAREWELL.search(question):
            text = _end(localized(persona.sign_off, lang), lang)
        elif _IDENTITY.search(question):
            text = (
                f"我是{persona.name}，AI主播，说的都来自今天的商品资料。"
                if lang == "zh"
                else f"I'm {persona.name}, an AI host, and everything I tell you comes from today's "
                "product catalog."
            )
        elif _THANKS.search(question):
            text = ("不客气！" if lang == "zh" else "You're welcome!") + self._tail(product, lang)
        else:
            text = ("谢谢你的陪伴！" if lang == "zh" else "Thanks for hanging out with me!") + self._tail(
                product, lang
            )
        return Answer(text, product.id if product else None, Intent.CHITCHAT.value, lang, {})

    def _off_topic(self, product: Product | None, lang: str) -> Answer:
        first = (
            "这个话题我就不聊啦，我只讲今天的商品。"
            if lang == "zh"
            else "I'll leave that one alone and stick to today's products."
        )
        return Answer(
            first + self._tail(product, lang),
            product.id if product else None,
            Intent.OFF_TOPIC.value,
            lang,
            {},
        )


def _about(answer: Answer) -> Answer:
    """A greeting, thanks or small talk is about no product, though its reply may name the one on
    screen ("hi!" counts as no question about the lamp in the analytics and the eval)."""
    u = answer.understanding
    if answer.intent in _CHAT and u is not None and not u.reading.named and not u.reading.deixis:
        return replace(answer, product_id=None)
    return answer


def _lower_first(label: str) -> str:
    """Lower-case a label's first letter mid-sentence ("battery life", "a light fit"), but not an
    acronym ("LED") or "I"."""
    if (
        len(label) > 1
        and label[0].isupper()
        and (label[1].islower() or (label[0] != "I" and label[1] == " "))
    ):
        return label[0].lower() + label[1:]
    return label


def _date(moment: datetime, lang: str) -> str:
    """A promo end date as spoken, in the timezone the catalog author wrote."""
    if lang == "zh":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return english_date(moment.year, moment.month, moment.day)


def _no_details(product: Product, lang: str, intent: Intent, topic_en: str, topic_zh: str) -> Answer:
    """The honest reply when the catalog has nothing on a topic for this product."""
    name = product.name(lang)
    text = (
        f"我这里没有{name}的{topic_zh}，不乱说哦。"
        if lang == "zh"
        else f"I don't have {topic_en} details for the {name} here, so I won't guess."
    )
    return Answer(text, product.id, intent.value, lang, {"name": name})


def _plural(noun: str) -> str:
    """The plural of an English option label: "capacity" -> "capacities", "shade" -> "shades"."""
    if noun.endswith("s"):
        return noun
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _then(first: Answer, more: Answer) -> Answer:
    """``first`` followed by ``more``'s sentences, with the facts of both (``first`` keeps its own)."""
    # One "Good that you ask." is enough for an answer of two facts.
    second = more.text.removeprefix(f"{_ASKED_WELL} ") if _ASKED_WELL in first.text else more.text
    text = f"{first.text} {second}".replace("。 ", "。")
    return replace(first, text=text, facts={**more.facts, **first.facts})
