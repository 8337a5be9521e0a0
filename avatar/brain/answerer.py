"""Answers to viewer questions, built from catalog facts only.

This is the safe core of the host's replies (DESIGN §4): the intent says which fact is asked for,
the catalog supplies it, and a fixed template in the viewer's language says it. No model is
involved, so no number can be invented; an LLM may later rephrase these answers, and the
``facts`` of each :class:`Answer` are what a checker holds the rephrasing to. When the catalog has
no answer the host says so and offers what it does know.

Answers are spoken, so they stay within two short sentences with the fact in the first one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from avatar.brain.catalog import FAQ, Product, Spec, localized
from avatar.brain.intents import Intent, classify, resolve_product
from avatar.brain.language import detect_language, is_cjk
from avatar.brain.scene import Scene

__all__ = ["Answer", "Answerer"]

_LOW_STOCK = 10  # at or below this, say "only N left": urgency the numbers justify
_FAQ_MIN_SCORE = 0.5  # cosine overlap of content words; below this an FAQ is about something else

# Words that carry no topic; a word list reads better than a hundred quoted strings.
_EN_STOP = frozenset(
    """a an the is are am was were be been do does did it its it's this that these those they them
    i me my you your we our us he she his her of to in on at for with and or but if so can could
    would will should may might must have has had there here what which who how when where why
    any some please pls plz just really very about from by as not no yes ok okay one ones get got
    hi hey hello thanks thank""".split()  # noqa: SIM905
)
# Function characters that say nothing about the topic of a Chinese question.
_ZH_STOP = frozenset("吗呢吧啊呀哦嘛的了是这那个款件它我你您们么什可以能会要有没不吧也都就还很和与在用给")


@dataclass(frozen=True)
class Answer:
    """One reply: what to say and the catalog facts it states (field name -> value as said)."""

    text: str
    product_id: str | None
    intent: str
    language: str
    facts: dict[str, str] = field(default_factory=dict)


def _words(text: str) -> set[str]:
    """Content words: English words without stop words or plural s, and Chinese characters."""
    lowered = text.lower()
    words = set()
    for word in re.findall(r"[a-z0-9]+", lowered):
        if word in _EN_STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    # Single characters, not bigrams: short questions share too few bigrams with an FAQ
    # ("可以用洗碗机洗吗" vs "能放洗碗机吗") while their content characters overlap well.
    words.update(ch for ch in lowered if is_cjk(ch) and ch not in _ZH_STOP)
    return words


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


def _clause(text: str) -> str:
    """``text`` without its final punctuation, to be embedded in a sentence."""
    return text.strip().rstrip(".!?。！？")


# Words viewers use for a spec, keyed by words of its key or English label ("battery life").
_SPEC_WORDS: dict[str, frozenset[str]] = {
    "battery": frozenset({"battery", "last", "hour", "charge", "charging", "续航", "电池", "充电", "多久"}),
    "noise": frozenset({"noise", "anc", "quiet", "cancelling", "canceling", "降噪", "噪音", "安静"}),
    "water": frozenset({"water", "waterproof", "rain", "sweat", "ipx4", "防水", "下雨", "出汗", "汗"}),
    "weight": frozenset({"weight", "weigh", "heavy", "light", "gram", "kg", "重量", "多重", "重", "轻"}),
    "capacity": frozenset(
        {"capacity", "hold", "big", "size", "liter", "litre", "ml", "容量", "装", "多大", "大"}
    ),
    "size": frozenset(
        {"size", "big", "dimension", "tall", "wide", "long", "尺寸", "大小", "多大", "多高", "多长"}
    ),
    "material": frozenset({"material", "made", "plastic", "metal", "材质", "材料", "做的"}),
    "colour": frozenset({"colour", "color", "colours", "colors", "颜色", "色"}),
    "insulation": frozenset(
        {"cold", "hot", "warm", "ice", "insulated", "insulation", "保温", "保冷", "冰", "热"}
    ),
    "bluetooth": frozenset({"bluetooth", "connect", "pair", "pairing", "range", "蓝牙", "连接"}),
    "brightness": frozenset({"bright", "brightness", "dim", "dimmable", "亮度", "亮", "调光"}),
    "light": frozenset({"warm", "cool", "kelvin", "tone", "temperature", "色温", "暖光", "白光"}),
    "laptop": frozenset({"laptop", "computer", "inch", "电脑", "笔记本"}),
    "includes": frozenset({"include", "included", "come", "box", "包含", "包括", "配件", "送"}),
    "filter": frozenset({"filter", "paper", "滤纸", "滤杯"}),
    "power": frozenset({"power", "watt", "usb", "plug", "功率", "插头", "供电"}),
}


def _spec_words(spec: Spec) -> tuple[set[str], tuple[str, ...]]:
    """Latin words and Chinese phrases that identify ``spec`` in a question."""
    named = " ".join([spec.key.replace("_", " "), *spec.label.values()]).lower()
    latin = set(re.findall(r"[a-z0-9]+", named)) - _EN_STOP
    chinese = [text for text in spec.label.values() if any(is_cjk(ch) for ch in text)]
    for word in list(latin):
        for key, synonyms in _SPEC_WORDS.items():
            if word == key or word in synonyms:
                latin |= {s for s in synonyms if not any(is_cjk(ch) for ch in s)}
                chinese += [s for s in synonyms if any(is_cjk(ch) for ch in s)]
    return latin, tuple(chinese)


class Answerer:
    """Answers viewer questions about the products of one scene from its catalog."""

    def __init__(self, scene: Scene, now: Callable[[], datetime] | None = None) -> None:
        """``now`` is the clock promos are checked against (injectable for tests and replays)."""
        self.scene = scene
        self.catalog = scene.catalog
        self._now = now
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

    def _time(self) -> datetime | None:
        return self._now() if self._now is not None else None

    def answer(self, question: str, current_product_id: str | None = None) -> Answer:
        """Reply to ``question`` in its language; ``current_product_id`` is the product on screen.

        The reply states catalog facts only and lists them in ``Answer.facts``; when the catalog
        cannot answer, it says so and points at what it can answer.
        """
        if not question.strip():
            lang = self.scene.language
            text = (
                "有什么想了解的商品，直接问我哦！"
                if lang == "zh"
                else "Ask me anything about today's products!"
            )
            return Answer(text, None, Intent.OTHER.value, lang, {})

        lang = detect_language(question)
        intent = classify(question, lang)
        product = resolve_product(question, self.catalog, current_product_id)

        if intent is Intent.GREETING:
            return self._greeting(product, lang)
        if intent is Intent.PROMO and product is None:
            return self._any_promo(intent, lang)
        if product is None:
            faq = self._faq(question, None)
            if faq is not None and intent not in (Intent.PRICE, Intent.STOCK):
                return self._faq_answer(faq[0], faq[1], intent, lang)
            return self._which_product(intent, lang)

        if intent is Intent.PRICE:
            return self._price(product, lang)
        if intent is Intent.PROMO:
            return self._promo(product, lang)
        if intent is Intent.STOCK:
            return self._stock(product, lang)
        if intent is Intent.SPEC:
            spec = self._match_spec(question, product)
            if spec is not None:
                return self._one_spec(spec, product, lang)
        # A prepared FAQ answer beats a generic spec list or policy text when it fits the question.
        faq = self._faq(question, product)
        if faq is not None:
            return self._faq_answer(faq[0], faq[1], intent, lang)
        if intent is Intent.SPEC:
            return self._key_specs(product, lang)
        if intent is Intent.SHIPPING:
            return self._shipping(product, lang)
        if intent is Intent.PRODUCT_INFO:
            return self._info(product, lang)
        return self._unknown(product, lang)

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

    def _price(self, product: Product, lang: str) -> Answer:
        f = self._price_facts(product, lang)
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
        if product.stock == 0:
            f["stock"] = "0"
            text += "不过现在已经售罄了。" if lang == "zh" else " It's sold out right now, though."
        return Answer(text, product.id, Intent.PRICE.value, lang, f)

    def _promo(self, product: Product, lang: str) -> Answer:
        f = self._price_facts(product, lang)
        if "promo_price" in f:
            if lang == "zh":
                text = f"有的，{f['name']}现在{f['promo_label']}只要{f['promo_price']}，原价{f['price']}。"
                if "promo_ends" in f:
                    text += f"活动到{f['promo_ends']}结束。"
            else:
                text = (
                    f"Yes, our {f['promo_label']} takes the {f['name']} to {f['promo_price']}, "
                    f"down from {f['price']}."
                )
                if "promo_ends" in f:
                    text += f" The deal runs until {f['promo_ends']}."
            return Answer(text, product.id, Intent.PROMO.value, lang, f)

        if lang == "zh":
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

    def _any_promo(self, intent: Intent, lang: str) -> Answer:
        """A deal question with no product in view: name a running deal, if there is one."""
        deal = next((p for p in self.catalog.products if p.promo_active(self._time())), None)
        if deal is None:
            text = "今天暂时没有优惠活动。" if lang == "zh" else "There are no deals running right now."
            return Answer(text, None, intent.value, lang, {})
        answer = self._promo(deal, lang)
        return Answer(answer.text, deal.id, intent.value, lang, answer.facts)

    def _stock(self, product: Product, lang: str) -> Answer:
        name, n = product.name(lang), product.stock
        facts = {"name": name, "stock": str(n)}
        if n == 0:
            text = f"{name}已经售罄了，抱歉！" if lang == "zh" else f"Sorry, the {name} just sold out."
        elif n <= _LOW_STOCK:
            text = (
                f"{name}只剩{n}件了，喜欢的抓紧！"
                if lang == "zh"
                else f"Only {n} left of the {name}, so grab one soon!"
            )
        else:
            text = f"{name}还有{n}件现货。" if lang == "zh" else f"We have {n} left of the {name}."
        return Answer(text, product.id, Intent.STOCK.value, lang, facts)

    def _one_spec(self, spec: Spec, product: Product, lang: str) -> Answer:
        name = product.name(lang)
        label, value = localized(spec.label, lang), _clause(localized(spec.value, lang))
        facts = {"name": name, f"spec:{spec.key}": value}
        text = f"{name}的{label}：{value}。" if lang == "zh" else f"{label} of the {name}: {value}."
        return Answer(text, product.id, Intent.SPEC.value, lang, facts)

    def _key_specs(self, product: Product, lang: str) -> Answer:
        """No spec named (or none that this product has): the first two, as the author ordered them."""
        name = product.name(lang)
        if not product.specs:
            text = (
                f"我这里没有{name}的规格资料，不乱说哦。"
                if lang == "zh"
                else f"I don't have spec details for the {name} here, so I won't guess."
            )
            return Answer(text, product.id, Intent.SPEC.value, lang, {"name": name})
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

    def _match_spec(self, question: str, product: Product) -> Spec | None:
        asked = {
            w[:-1] if len(w) > 3 and w.endswith("s") else w
            for w in re.findall(r"[a-z0-9]+", question.lower())
        }
        best: tuple[int, Spec] | None = None
        for spec in product.specs:
            latin, chinese = _spec_words(spec)
            score = len(asked & latin) + sum(1 for phrase in set(chinese) if phrase in question)
            if score and (best is None or score > best[0]):
                best = (score, spec)
        return best[1] if best else None

    def _shipping(self, product: Product, lang: str) -> Answer:
        name = product.name(lang)
        if not product.shipping:
            text = (
                f"我这里没有{name}的发货信息，不乱说哦。"
                if lang == "zh"
                else f"I don't have shipping details for the {name} here, so I won't guess."
            )
            return Answer(text, product.id, Intent.SHIPPING.value, lang, {"name": name})
        shipping = _end(localized(product.shipping, lang), lang)
        return Answer(shipping, product.id, Intent.SHIPPING.value, lang, {"name": name, "shipping": shipping})

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

    def _faq(self, question: str, product: Product | None) -> tuple[FAQ, Product] | None:
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
                if score >= _FAQ_MIN_SCORE and (product is not None or shared >= 2):
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
        return _words(text) - self._name_words

    def _faq_answer(self, entry: FAQ, product: Product, intent: Intent, lang: str) -> Answer:
        reply = _end(localized(entry.answer, lang), lang)
        facts = {"name": product.name(lang), "faq": localized(entry.question, lang), "faq_answer": reply}
        return Answer(reply, product.id, intent.value, lang, facts)

    def _unknown(self, product: Product, lang: str) -> Answer:
        name = product.name(lang)
        if lang == "zh":
            text = f"关于{name}的这个问题，我这里没有资料，不乱说哦。可以问我价格、库存、规格或发货！"
        else:
            text = (
                f"I don't have that detail for the {name}, so I won't guess. "
                "Ask me about its price, stock, specs or shipping!"
            )
        return Answer(text, product.id, Intent.OTHER.value, lang, {"name": name})

    def _which_product(self, intent: Intent, lang: str) -> Answer:
        names = [p.name(lang) for p in self.catalog.products]
        if lang == "zh":
            text = f"你想问哪一款呢？今天有{'、'.join(names)}。"
        else:
            listed = (
                ", ".join(f"the {n}" for n in names[:-1]) + f" and the {names[-1]}"
                if len(names) > 1
                else f"the {names[0]}"
            )
            text = f"Which product do you mean? Today I have {listed}."
        return Answer(text, None, intent.value, lang, {"products": ", ".join(names)})


def _lower_first(label: str) -> str:
    """Lower-case a label's first letter mid-sentence ("battery life"), but not an acronym ("LED")."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _date(moment: datetime, lang: str) -> str:
    """A promo end date as spoken, in the timezone the catalog author wrote."""
    if lang == "zh":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    # Month names from a table, not strftime("%B"): that follows the process locale.
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
