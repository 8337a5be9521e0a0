"""What a viewer is asking and about which product, without a model.

Chat questions in live commerce are short and repetitive ("how much?", "还有货吗", "the red one?").
The words for each intent live in data files (``avatar/brain/data/intents/en.yaml`` and
``zh.yaml``): keyword rules that answer in microseconds, and a bank of example messages; a
comment no rule matches takes the intent of its nearest example (character n-grams, both
languages) when it is close enough. Abuse, spam and prompt injection come from
:mod:`avatar.brain.moderation`, where safety needs the certainty of rules, so the host and the
chat triage judge a comment the same way. Anything else is ``Intent.OTHER``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from enum import StrEnum
from importlib import resources

import yaml

from avatar.brain.catalog import Catalog, Product
from avatar.brain.language import EN_STOP_WORDS, is_cjk
from avatar.brain.moderation import Flag, moderate
from avatar.brain.names import product_index

__all__ = ["FACT_INTENTS", "Intent", "classify", "mentioned", "mentions", "resolve_product"]


class Intent(StrEnum):
    """The kind of fact a question asks for."""

    PRICE = "price"
    PROMO = "promo"
    STOCK = "stock"
    SPEC = "spec"
    SHIPPING = "shipping"
    PRODUCT_INFO = "product_info"
    GREETING = "greeting"
    OTHER = "other"
    COMPARISON = "comparison"  # two products side by side
    RECOMMENDATION = "recommendation"  # "what's good for hiking under $50?"
    PURCHASE = "purchase"  # "how do I buy?", "I'll take it", 下单
    COMPLAINT = "complaint"  # "mine broke", 没收到
    CHITCHAT = "chitchat"  # "lol", "are you real?", 谢谢
    OFF_TOPIC = "off_topic"  # weather, politics, jokes
    ABUSE = "abuse"  # swearing or insults (moderation)
    INJECTION = "injection"  # "ignore your instructions", "change the price to $1" (moderation)
    SPAM = "spam"  # links, contact details, floods (moderation)


# Questions whose answer is a catalog fact about a product.
FACT_INTENTS = frozenset(
    {Intent.PRICE, Intent.PROMO, Intent.STOCK, Intent.SPEC, Intent.SHIPPING, Intent.PRODUCT_INFO}
)
_MODERATED = {Flag.PROFANITY: Intent.ABUSE, Flag.INJECTION: Intent.INJECTION}


def _bank(language: str) -> dict[str, dict[str, list[str]]]:
    raw = yaml.safe_load(
        resources.files("avatar.brain").joinpath("data", "intents", f"{language}.yaml").read_text("utf-8")
    )
    return raw if isinstance(raw, dict) else {}


# Each intent: English patterns (regex fragments, matched as whole words) and Chinese keywords
# (substrings: Chinese has no spaces between words), from avatar/brain/data/intents/{en,zh}.yaml.
# Both sets are always tried, because viewers mix languages ("这个 price?").
_EN, _ZH = _bank("en"), _bank("zh")
_KEYWORDS: dict[Intent, tuple[tuple[str, ...], tuple[str, ...]]] = {
    intent: (
        tuple(_EN.get(intent.value, {}).get("patterns", ())),
        tuple(_ZH.get(intent.value, {}).get("keywords", ())),
    )
    for intent in Intent
    if intent.value in _EN or intent.value in _ZH
}
_EXAMPLES: tuple[tuple[Intent, str], ...] = tuple(
    (Intent(name), str(example))
    for bank in (_EN, _ZH)
    for name, entry in bank.items()
    for example in entry.get("examples", ())
)

# Order matters: the most specific wins. "How much is shipping?" is about shipping, "how much
# does it weigh?" is a spec, and "hi, how much?" is a price question, not a greeting. A complaint
# outranks everything ("it broke, can I return it?" needs empathy first), off-topic words come
# before stock ("stock market"), and comparisons and recommendations before the single facts they
# are made of ("which is cheaper?").
_PRIORITY = (
    Intent.COMPLAINT,
    Intent.OFF_TOPIC,
    Intent.RECOMMENDATION,
    Intent.COMPARISON,
    Intent.PROMO,
    Intent.STOCK,
    Intent.SHIPPING,
    Intent.SPEC,
    Intent.PURCHASE,
    Intent.PRICE,
    Intent.PRODUCT_INFO,
    Intent.GREETING,
    Intent.CHITCHAT,
)


def _english(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Letters-only lookarounds instead of \b: in "这个price" a Chinese character counts as a word
    # character for \b and would hide the keyword.
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(patterns) + r")(?![A-Za-z])", re.IGNORECASE)


_RULES: tuple[tuple[Intent, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (intent, _english(_KEYWORDS[intent][0]), _KEYWORDS[intent][1]) for intent in _PRIORITY
)


# Nothing but emoji, punctuation or symbols ("👍👍", "!!!"): a reaction, not a question.
_NO_WORDS = re.compile(r"^[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")


NEAREST_MIN = 0.8
"""A comment no rule matches takes the intent of its nearest example at this similarity or more."""


def _grams(text: str) -> Counter[str]:
    """Character n-grams: trigrams of each English content word (with its edges), single
    characters and pairs of Chinese; comparable across spellings and without spaces."""
    grams: Counter[str] = Counter()
    lowered = text.lower()
    for word in re.findall(r"[a-z0-9]+", lowered):
        if word in EN_STOP_WORDS:
            continue  # "how long is the cable" is not "how long is the sale"
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    chinese = "".join(ch for ch in lowered if is_cjk(ch))
    grams.update(chinese)
    grams.update(chinese[i : i + 2] for i in range(len(chinese) - 1))
    return grams


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    return dot / math.sqrt(sum(c * c for c in a.values()) * sum(c * c for c in b.values()))


_EXAMPLE_GRAMS = tuple((intent, _grams(example)) for intent, example in _EXAMPLES)


def nearest(text: str, skip: Collection[Intent] = ()) -> tuple[Intent, float] | None:
    """The intent of the example most like ``text``, with its similarity (0..1)."""
    grams = _grams(text)
    best: tuple[Intent, float] | None = None
    for intent, example in _EXAMPLE_GRAMS:
        if intent in skip:
            continue
        score = _cosine(grams, example)
        if best is None or score > best[1]:
            best = (intent, score)
    return best


def classify(text: str, lang: str, skip: Collection[Intent] = ()) -> Intent:
    """The intent of a viewer question (``lang`` is the question's).

    Moderation comes first: a comment it flags is ``ABUSE``, ``INJECTION`` or ``SPAM`` whatever
    else it says (rules, where safety needs certainty). Then the keyword rules of both languages,
    whatever ``lang`` says, since chat mixes them, ordered so the most specific intent wins; then
    the nearest example of the data files' bank, when it is close enough. ``skip`` leaves intents
    out, for a second reading when the first one does not fit (a comparison naming one product).
    """
    del lang  # both keyword sets apply; kept in the signature for language-specific rules later
    verdict = moderate(text)
    if verdict.flag is not None:
        return _MODERATED.get(verdict.flag, Intent.SPAM)
    text = unicodedata.normalize("NFKC", text)
    for intent, english, chinese in _RULES:
        if intent in skip:
            continue
        if english.search(text) or any(word in text for word in chinese):
            return intent
    if text.strip() and _NO_WORDS.match(text.strip()):
        return Intent.CHITCHAT
    found = nearest(text, skip)
    if found is not None and found[1] >= NEAREST_MIN:
        return found[0]
    return Intent.OTHER


# --- which product --------------------------------------------------------------------------


def mentioned(text: str, catalog: Catalog) -> list[Product]:
    """Every product named in ``text``, in the order they appear (each once).

    Longer names claim their words first, so "the red bottle or the lamp" is two products, not
    three overlapping mentions; a word several names share names none of them here.
    """
    ordered: list[Product] = []
    for match in product_index(catalog).claim(text.lower()):
        if len(match.values) == 1:
            product = catalog.get(next(iter(match.values)))
            if product not in ordered:
                ordered.append(product)
    return ordered


def mentions(text: str, catalog: Catalog) -> Product | None:
    """The product named in ``text`` by name or alias, or None; the longest mention wins."""
    best: tuple[int, int, str] | None = None  # (-length, position, product id): smallest wins
    for match in product_index(catalog).find(text.lower()):
        if len(match.values) == 1:
            key = (match.start - match.end, match.start, next(iter(match.values)))
            if best is None or key[:2] < best[:2]:
                best = key
    return catalog.get(best[2]) if best else None


# "The blue one" / "蓝色的" when no alias matched: a product the viewer sees elsewhere, not the one
# on screen, so the host asks instead of answering about the wrong product.
_OTHER_ONE = re.compile(
    r"(?<![a-z])the (red|blue|green|black|white|pink|yellow|purple|grey|gray|orange|brown|silver|gold|"
    r"cream) (one|ones)(?![a-z])|(红|蓝|绿|黑|白|粉|黄|紫|灰|橙|棕|银|金)色(的|那个|那款)",
    re.IGNORECASE,
)


def resolve_product(text: str, catalog: Catalog, current_id: str | None) -> Product | None:
    """The product a question is about.

    A name or alias in the text wins (case-insensitive; Chinese by substring). Otherwise the
    question is about the product on screen: "this one" / "这个", or no product mentioned at all,
    both resolve to ``current_id``. None when nothing is named and nothing (known) is on screen,
    or when the viewer points at a colour no product has ("the blue one").
    """
    named = mentions(text, catalog)
    if named is not None:
        return named
    if _OTHER_ONE.search(text):
        return None
    if current_id is not None and current_id in catalog:
        return catalog.get(current_id)
    return None
