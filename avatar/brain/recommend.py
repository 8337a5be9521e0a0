"""Recommendations: which product fits what a viewer says they need, and why.

"Anything for hiking under $50?" has two parts the catalog can answer: a use (hiking) and a
budget ($50). Uses are a small table of activities with English and Chinese words; a product
serves a use when its own catalog text (category, names, selling points, specs, FAQ) uses those
words, so the reason the host gives is a sentence from the catalog, never an invented one. The
budget is compared with the price a viewer pays now.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from avatar.brain.catalog import Catalog, Product, Spec
from avatar.brain.language import content_words

__all__ = [
    "USES",
    "Measured",
    "Need",
    "Pick",
    "asks_most",
    "most_of",
    "read_need",
    "recommend",
    "serves",
    "telling_uses",
    "use_label",
]


@dataclass(frozen=True)
class _Use:
    label: dict[str, str]  # how the host names the use ("the outdoors", "户外")
    english: frozenset[str]  # content words (plural s removed, as content_words gives them)
    chinese: tuple[str, ...]  # substrings


def _use(en: str, zh: str, english: str, chinese: str) -> _Use:
    return _Use({"en": en, "zh": zh}, frozenset(english.split()), tuple(chinese.split()))


# The uses a live-commerce catalog is usually shopped for. Words are matched against both the
# viewer's question and the product's catalog text.
USES: dict[str, _Use] = {
    "outdoor": _use(
        "the outdoors",
        "户外",
        "hike hiking hiker trail outdoor camping camp trek trekking mountain climbing adventure",
        "徒步 爬山 登山 户外 露营 野营 远足",
    ),
    "travel": _use(
        "commuting and travel",
        "通勤出行",
        "commute commuting commuter travel traveling travelling trip flight airline airport car drive "
        "driving cabin",
        "通勤 出差 旅行 旅游 飞机 登机 自驾 开车 车载 上班",
    ),
    "sport": _use(
        "workouts",
        "运动健身",
        "gym workout sport run running runner jog jogging exercise fitness sweat training",
        "运动 健身 跑步 锻炼 出汗",
    ),
    "music": _use(
        "music and calls",
        "听歌和通话",
        "music listen listening song call podcast audio headphone earphone earbud",
        "听歌 音乐 通话 打电话 降噪 耳机",
    ),
    "desk": _use(
        "desk work and reading",
        "办公学习",
        "desk reading read study studying homework office evening night laptop computer",
        "看书 阅读 学习 办公 加班 书桌 写作业 电脑 笔记本",
    ),
    "coffee": _use("coffee", "咖啡", "coffee brew brewing espresso barista", "咖啡 手冲"),
    "kitchen": _use(
        "the kitchen", "厨房", "kitchen cook cooking stove grease greasy", "厨房 做饭 炒菜 油污 灶台"
    ),
    "storage": _use(
        "storage",
        "收纳",
        "storage organize organise organizer organiser declutter clutter tidy",
        "收纳 整理 储物 乱糟糟",
    ),
    "meals": _use(
        "a quick meal", "吃饭", "breakfast lunch dinner meal hungry", "早餐 早饭 午饭 晚饭 代餐 顶饱"
    ),
    "drinks": _use(
        "drinks on the go",
        "随身喝水",
        "drink hydration hydrated tea thirsty",
        "喝水 冰水 热茶 饮料 水袋",
    ),
}
# As content_words gives them: "christmas" loses its final s like any plural.
_GIFT_EN = frozenset(["gift", "present", "birthday", "christma", "anniversary"])
_GIFT_ZH = ("送礼", "礼物", "送人", "生日")

_AMOUNT = r"(\d+(?:\.\d{1,2})?)"
_BUDGET = (
    re.compile(
        rf"(?:under|below|less than|at most|max(?:imum)?|up to|within|no more than|cheaper than)\s*"
        rf"(?:about\s*)?\$?\s*{_AMOUNT}",
        re.IGNORECASE,
    ),
    re.compile(rf"budget(?:\s+(?:is|of|around|about))?\s*(?:is\s*)?\$?\s*{_AMOUNT}", re.IGNORECASE),
    re.compile(rf"\$\s*{_AMOUNT}\s*(?:or less|max|tops|budget)", re.IGNORECASE),
    re.compile(rf"\$?\s*{_AMOUNT}\s*(?:块|元|美元|美金|刀)?钱?\s*(?:以内|以下|之内)"),
    re.compile(rf"预算\s*(?:是|有|大概|在)?\s*\$?\s*{_AMOUNT}"),
    re.compile(rf"不超过\s*\$?\s*{_AMOUNT}"),
)


@dataclass(frozen=True)
class Need:
    """What a viewer asked for: uses (keys of :data:`USES`), a budget, whether it is a gift."""

    uses: frozenset[str]
    budget: Decimal | None
    gift: bool
    unknown_use: bool = False  # a purpose was named that no known use covers ("for swimming")

    @property
    def empty(self) -> bool:
        """True when the viewer gave nothing to choose by."""
        return not self.uses and self.budget is None and not self.gift and not self.unknown_use


@dataclass(frozen=True)
class Pick:
    """A recommended product, the uses it serves, and the catalog sentence that says why."""

    product: Product
    uses: frozenset[str]
    reason: str  # a selling point (or spec value) in the language asked; "" when none
    price: Decimal  # what it costs now
    in_budget: bool


def _use_hits(text: str) -> dict[str, int]:
    """For each use named in ``text``: how many of its words and phrases appear."""
    words = content_words(text)
    hits = {}
    for key, use in USES.items():
        count = len(words & use.english) + sum(1 for phrase in use.chinese if phrase in text)
        if count:
            hits[key] = count
    return hits


def _uses_in(text: str) -> frozenset[str]:
    return frozenset(_use_hits(text))


# "for <something>" with no known use: the viewer named a purpose the table does not know.
_PURPOSE = re.compile(
    r"(?<![a-z])(?:for|to use for|use it for)\s+(?!(?:me|you|us|it|them|him|her|sale|today|now|"
    r"the price|a gift|a present|my \w+ under|under|less|about|around)(?![a-z]))[a-z]+",
    re.IGNORECASE,
)
_PURPOSE_ZH = re.compile(r"适合.{1,6}(?:吗|的|用)|(?:用来|拿来).{1,6}")


def read_need(text: str) -> Need:
    """The uses, budget and gift wish in a viewer's message."""
    text = unicodedata.normalize("NFKC", text)
    budget = None
    for pattern in _BUDGET:
        found = pattern.search(text)
        if found is not None:
            try:
                budget = Decimal(found.group(1))
            except InvalidOperation:  # pragma: no cover - the pattern only captures digits
                budget = None
            break
    words = content_words(text)
    gift = bool(words & _GIFT_EN) or any(w in text for w in _GIFT_ZH)
    uses = _uses_in(text.lower())
    unknown = not uses and bool(_PURPOSE.search(text) or _PURPOSE_ZH.search(text))
    return Need(uses, budget, gift, unknown)


def serves(product: Product) -> dict[str, int]:
    """The uses a product's own catalog text speaks to, with a strength for ranking.

    Words in the name, aliases or category say what the product is for (three points each: a
    "hiking backpack" is for hiking); words elsewhere (selling points, specs, FAQ) say what it
    also does (one point each: a backpack with a laptop sleeve also suits the office).
    """
    head = " ".join([product.category, *product.names.values(), *product.aliases]).lower()
    body = [p for points in product.selling_points.values() for p in points]
    body += [v for spec in product.specs for v in (*spec.label.values(), *spec.value.values())]
    body += [q for entry in product.faq for q in entry.question.values()]
    strength = {key: 3 * count for key, count in _use_hits(head).items()}
    for key, count in _use_hits(" ".join(body).lower()).items():
        strength[key] = strength.get(key, 0) + count
    return strength


@lru_cache(maxsize=16)
def _catalog_uses(catalog: Catalog) -> dict[str, dict[str, int]]:
    # Per catalog, not per product: products hold dicts and cannot be hashed; catalogs are
    # immutable once loaded and hashed by identity.
    return {product.id: serves(product) for product in catalog.products}


def _reason(product: Product, uses: frozenset[str], lang: str) -> str:
    """The product's own sentence for why it fits: the first selling point naming one of the uses."""
    points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
    for point in points:
        if uses and _uses_in(point.lower()) & uses:
            return point
    for spec in product.specs:
        value = spec.value.get(lang) or spec.value.get("en", "")
        if uses and _uses_in(value.lower()) & uses:
            return value
    return points[0] if points else ""


def _offered(catalog: Catalog) -> list[Product]:
    """The products a recommendation chooses among: those in stock, else all of them."""
    return [p for p in catalog.products if p.stock > 0] or list(catalog.products)


def recommend(
    catalog: Catalog,
    need: Need,
    lang: str,
    now: datetime | None = None,
    prefer: str | None = None,
) -> list[Pick]:
    """Products for ``need``, best first: within budget, then the best fit for the asked uses
    (see :func:`serves`), then ``prefer`` (the product on screen), then catalog order.

    Sold-out products are left out while anything else is in stock. Products serving none of the
    asked uses are left out; when nothing serves them (or the viewer named a purpose no use
    covers), the list is empty and the host says so rather than stretching a product to fit.
    """
    pool = _offered(catalog)
    picks: list[tuple[tuple[int, int, int, int], Pick]] = []
    for order, product in enumerate(pool):
        strength = _catalog_uses(catalog)[product.id]
        served = frozenset(strength) & need.uses
        if (need.uses and not served) or need.unknown_use:
            continue
        price = product.lowest_price(now)
        in_budget = need.budget is None or price <= need.budget
        score = sum(strength[key] for key in served)
        key = (0 if in_budget else 1, -score, 0 if product.id == prefer else 1, order)
        picks.append((key, Pick(product, served, _reason(product, served, lang), price, in_budget)))
    picks.sort(key=lambda item: item[0])
    return [pick for _, pick in picks]


def telling_uses(catalog: Catalog, need: Need) -> Need:
    """``need`` without the uses every product in stock serves: "厨房" in a kitchen shop tells no
    product from another, so the rest of what was said (or its meaning) decides."""
    pool = _offered(catalog)
    if len(pool) < 2:
        return need
    everywhere = frozenset.intersection(*(frozenset(_catalog_uses(catalog)[p.id]) for p in pool))
    return replace(need, uses=need.uses - everywhere) if need.uses & everywhere else need


def use_label(uses: frozenset[str], lang: str) -> str:
    """How the host names the uses it recommends for: "the outdoors", "户外和通勤出行"."""
    labels = [USES[key].label.get(lang, USES[key].label["en"]) for key in sorted(uses)]
    if lang == "zh":
        return "和".join(labels)
    return " and ".join(labels)


# "糖度越高越好", "the lightest one", "最甜的": the most (or least) of a measure the products state.
_MOST = re.compile(
    r"最|越.{0,4}越好|(?<![a-z])(?:most|highest|biggest|largest|longest|strongest|sweetest|brightest|"
    r"warmest|lightest|smallest|lowest|least|shortest|thinnest)(?![a-z])",
    re.IGNORECASE,
)
_LEAST = re.compile(
    r"最(?:轻|小|低|少|短|薄|矮)|越(?:轻|小|低|少|短|薄).{0,2}越好|(?<![a-z])(?:lightest|smallest|lowest|least|"
    r"shortest|thinnest)(?![a-z])",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def asks_most(text: str) -> bool:
    """``text`` asks for the most or the least of something ("最甜", "越轻越好", "the lightest")."""
    return _MOST.search(text) is not None


@dataclass(frozen=True)
class Measured:
    """A product picked for having the most (or least) of a measure, and the spec that states it."""

    product: Product
    spec: Spec


def most_of(text: str, measured: dict[str, list[tuple[Product, Spec, str]]]) -> Measured | None:
    """The product with the most of what ``text`` asks the most of ("越甜越好", "the lightest"),
    among ``measured``: concept -> (product, spec, its value) for the products whose spec states
    it. None unless the text asks a superlative and, for exactly one concept, two or more in-stock
    products state a number."""
    if not asks_most(text):
        return None
    compared: dict[frozenset[tuple[str, str]], list[tuple[Decimal, Product, Spec]]] = {}
    for entries in measured.values():
        numbered = [
            (Decimal(found.group(0)), product, spec)
            for product, spec, value in entries
            if product.stock != 0 and (found := _NUMBER.search(value)) is not None
        ]
        if len({product.id for _, product, _ in numbered}) >= 2:
            # One set of specs found by two of the question's concepts ("糖度" is sweetness and
            # sugar) is one measure.
            compared[frozenset((product.id, spec.key) for _, product, spec in numbered)] = numbered
    if len(compared) != 1:
        return None  # nothing to weigh, or two measures the words could mean
    (numbers,) = compared.values()
    pick = (min if _LEAST.search(text) else max)(numbers, key=lambda entry: entry[0])
    return Measured(pick[1], pick[2])
