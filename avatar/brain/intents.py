"""What a viewer is asking and about which product, without a model.

Chat questions in live commerce are short and repetitive ("how much?", "还有货吗", "the red one?").
Keyword rules in English and Chinese answer them in microseconds and, unlike a small LLM, never
guess: the answerer turns the intent into a catalog lookup. Anything the rules do not know is
``Intent.OTHER`` and gets an FAQ search or an honest "I don't know".
"""

from __future__ import annotations

import re
from enum import StrEnum

from avatar.brain.catalog import Catalog, Product
from avatar.brain.language import is_cjk

__all__ = ["Intent", "classify", "mentions", "resolve_product"]


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


# Each intent: English patterns (regex fragments, matched as whole words) and Chinese keywords
# (substrings: Chinese has no spaces between words). Both sets are always tried, because viewers
# mix languages ("这个 price?").
_KEYWORDS: dict[Intent, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Intent.PROMO: (
        (
            r"discounts?",
            r"deals?",
            r"promos?",
            r"promotions?",
            r"coupons?",
            r"vouchers?",
            r"on sale",
            r"sales?",
            r"offers?",
            r"cheaper",
            r"\d+ ?% off",
            r"any(thing)? off",
            r"promo code",
        ),
        (
            "优惠",
            "折扣",
            "打折",
            "促销",
            "特价",
            "特惠",
            "活动价",
            "便宜点",
            "便宜些",
            "更便宜",
            "优惠券",
            "满减",
            "有券",
        ),
    ),
    Intent.STOCK: (
        (
            r"in stock",
            r"stock",
            r"left(?=\s*[?!.]*\s*$)",  # "any left?", not "the left one"
            r"available",
            r"availability",
            r"sold out",
            r"how many",
            r"inventory",
            r"run(ning)? out",
        ),
        ("有货", "库存", "还剩", "剩几", "剩多少", "售罄", "卖完", "没货", "现货", "断货", "多少件", "几件"),
    ),
    Intent.SHIPPING: (
        (
            r"ship",
            r"ships",
            r"shipping",
            r"shipped",
            r"deliver",
            r"delivery",
            r"delivered",
            r"arrive",
            r"returns?",
            r"refunds?",
            r"exchanges?",
            r"warranty",
            r"guarantee",
            r"postage",
            r"send it",
        ),
        (
            "发货",
            "快递",
            "包邮",
            "运费",
            "邮费",
            "配送",
            "退货",
            "退款",
            "换货",
            "退换",
            "保修",
            "质保",
            "到货",
            "物流",
            "几天到",
        ),
    ),
    Intent.SPEC: (
        (
            r"specs?",
            r"specifications?",
            r"battery",
            r"charge",
            r"charging",
            r"size",
            r"sizes",
            r"how big",
            r"dimensions?",
            r"weight",
            r"weigh",
            r"weighs",
            r"heavy",
            r"light ?weight",
            r"capacity",
            r"hold",
            r"holds",
            r"liters?",
            r"litres?",
            r"ml",
            r"material",
            r"made of",
            r"waterproof",
            r"water ?resistant",
            r"rain",
            r"sweat",
            r"swim(ming)?",
            r"bluetooth",
            r"colou?rs?",
            r"brightness",
            r"bright",
            r"watts?",
            r"tall",
            r"wide",
            r"fits?",
            r"laptop",
            r"last",
            r"lasts",
            r"noise",
            r"keeps?",
        ),
        (
            "规格",
            "参数",
            "续航",
            "电池",
            "充电",
            "尺寸",
            "大小",
            "多大",
            "重量",
            "多重",
            "容量",
            "材质",
            "材料",
            "防水",
            "下雨",
            "出汗",
            "蓝牙",
            "颜色",
            "亮度",
            "功率",
            "多高",
            "多长",
            "降噪",
            "保温",
            "保冷",
            "能装",
        ),
    ),
    Intent.PRICE: (
        (
            r"how much",
            r"price",
            r"prices",
            r"pricing",
            r"priced",
            r"cost",
            r"costs",
            r"expensive",
            r"dollars?",
            r"bucks",
        ),
        ("多少钱", "价格", "价钱", "售价", "几块", "多少米", "贵不贵", "贵吗", "什么价"),
    ),
    Intent.PRODUCT_INFO: (
        (
            r"tell me about",
            r"tell me more",
            r"what is",
            r"what's",
            r"whats",
            r"what are",
            r"what does",
            r"features?",
            r"describe",
            r"info",
            r"details",
            r"more about",
            r"explain",
            r"show me",
            r"good for",
            r"worth it",
        ),
        ("介绍", "是什么", "怎么样", "特点", "好用吗", "讲讲", "说说", "详细", "功能", "有什么用", "值得买"),
    ),
    Intent.GREETING: (
        (
            r"hello",
            r"hi",
            r"hii+",
            r"hey",
            r"heya",
            r"howdy",
            r"good (morning|afternoon|evening)",
            r"greetings",
        ),
        ("你好", "您好", "大家好", "哈喽", "嗨", "早上好", "下午好", "晚上好", "主播好"),
    ),
}

# Order matters: the most specific wins. "How much is shipping?" is about shipping, "how much
# does it weigh?" is a spec, and "hi, how much?" is a price question, not a greeting.
_PRIORITY = (
    Intent.PROMO,
    Intent.STOCK,
    Intent.SHIPPING,
    Intent.SPEC,
    Intent.PRICE,
    Intent.PRODUCT_INFO,
    Intent.GREETING,
)


def _english(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Letters-only lookarounds instead of \b: in "这个price" a Chinese character counts as a word
    # character for \b and would hide the keyword.
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(patterns) + r")(?![A-Za-z])", re.IGNORECASE)


_RULES: tuple[tuple[Intent, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (intent, _english(_KEYWORDS[intent][0]), _KEYWORDS[intent][1]) for intent in _PRIORITY
)


def classify(text: str, lang: str) -> Intent:
    """The intent of a viewer question, by English and Chinese keywords (``lang`` is the question's).

    Keywords of both languages are tried whatever ``lang`` says, since chat mixes them; the
    rules are ordered so the most specific intent wins.
    """
    del lang  # both keyword sets apply; kept in the signature for language-specific rules later
    for intent, english, chinese in _RULES:
        if english.search(text) or any(word in text for word in chinese):
            return intent
    return Intent.OTHER


# --- which product --------------------------------------------------------------------------

_ARTICLES = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
# Generic words never identify a product on their own even when only one name contains them.
_GENERIC = frozenset({"with", "the", "and", "for", "set", "pro", "mini", "max", "plus", "one", "ones"})


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _terms(catalog: Catalog) -> list[tuple[str, Product]]:
    """Every phrase that names a product: names, aliases, and name words only one product has."""
    terms: list[tuple[str, Product]] = []
    for product in catalog.products:
        for phrase in (*product.names.values(), *product.aliases):
            phrase = _normalize(phrase)
            terms.append((phrase, product))
            bare = _ARTICLES.sub("", phrase)
            if bare != phrase:
                terms.append((bare, product))
    # Viewers shorten names ("how much are the Auroras?"): a name word that belongs to a single
    # product is enough to identify it.
    owners: dict[str, set[str]] = {}
    for product in catalog.products:
        for word in re.findall(r"[a-z0-9][a-z0-9'-]*", _normalize(product.name("en"))):
            owners.setdefault(word, set()).add(product.id)
    for word, ids in owners.items():
        if len(ids) == 1 and len(word) >= 4 and word not in _GENERIC:
            terms.append((word, catalog.get(next(iter(ids)))))
    return terms


def _find(term: str, text: str) -> int:
    """Position of ``term`` in lower-cased ``text``, or -1; Latin terms match whole words."""
    if any(is_cjk(ch) for ch in term):
        return text.find(term)
    # An optional plural ending, so "bottles" finds "bottle" and "Auroras" finds "aurora".
    found = re.search(r"(?<![a-z0-9])" + re.escape(term) + r"(?:s|es)?(?![a-z0-9])", text)
    return found.start() if found else -1


def mentions(text: str, catalog: Catalog) -> Product | None:
    """The product named in ``text`` by name or alias, or None; the longest mention wins."""
    lowered = _normalize(text)
    best: tuple[int, int, Product] | None = None  # (-length, position, product): smallest wins
    for term, product in _terms(catalog):
        if not term:
            continue
        position = _find(term, lowered)
        if position >= 0:
            key = (-len(term), position, product)
            if best is None or key[:2] < best[:2]:
                best = key
    return best[2] if best else None


def resolve_product(text: str, catalog: Catalog, current_id: str | None) -> Product | None:
    """The product a question is about.

    A name or alias in the text wins (case-insensitive; Chinese by substring). Otherwise the
    question is about the product on screen: "this one" / "这个", or no product mentioned at all,
    both resolve to ``current_id``. None when nothing is named and nothing (known) is on screen.
    """
    named = mentions(text, catalog)
    if named is not None:
        return named
    if current_id is not None and current_id in catalog:
        return catalog.get(current_id)
    return None
