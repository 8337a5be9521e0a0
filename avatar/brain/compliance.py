"""Compliance: every line the host speaks is checked here first, and rewritten or blocked.

Two kinds of rule (DESIGN §4):

- **Advertising words.** Absolute and superlative claims ("best", "No.1", 最好的, 排名第一, 国家级;
  the Chinese list is data, ``data/ad_law_zh.yaml``) and
  medical claims ("cures", 治愈, 无副作用) are banned by Chinese advertising law and by most
  platforms' English rules. A superlative with a neutral stand-in is rewritten ("perfect" ->
  "great", 最好 -> 很好); one without (rank claims, "in the world") and every medical claim block
  the line. Lists have defaults for both languages and can be extended per scene in
  ``scenes/<name>/compliance.yaml``.
- **The fact lock.** Every money amount must be a catalog price of a product the line is about
  (list price, running promo price, or the saving between them), every percentage a real discount
  or a percentage the catalog states, every stock count the product's stock, and every other
  number one the catalog has for those products. Delivery times, warranties and money-back
  promises must be ones the product's shipping or FAQ text makes. An ended promo is never quoted.
  A failed fact is never rewritten (which number would be right?): the line is blocked and the
  caller falls back to a safe template.

The products a line is "about" are the ones it names plus the caller's context product (the one
on screen or being answered about); a line naming none is held to the whole catalog. Every
intervention is logged and returned as an :class:`Action`. What this cannot see: claims in words
without a number or a listed term ("it never breaks"), Chinese numerals outside percentages and
discounts, and product names the catalog does not have; an LLM phrasing step must keep the
answer's ``facts`` and be checked here like everything else.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from avatar.brain.catalog import Catalog, FieldReader, Product, read_yaml, sub
from avatar.brain.intents import mentioned
from avatar.brain.scene import Scene

__all__ = [
    "RULES_FILE",
    "MAX_TOTAL_COUNT",
    "Action",
    "ComplianceChecker",
    "ComplianceResult",
    "ComplianceRules",
    "Fix",
    "Rule",
    "Term",
    "load_rules",
    "says_total",
    "totals",
]

log = logging.getLogger(__name__)

RULES_FILE: Final = "compliance.yaml"
_CENT = Decimal("0.01")


class Rule(StrEnum):
    """Which rule an intervention enforced."""

    ABSOLUTE = "absolute"  # superlative or rank claim
    MEDICAL = "medical"  # health or healing claim
    PRICE = "price"  # a money amount that is not a catalog price of the product
    PERCENT = "percent"  # a percentage or 折 that is not the real discount
    STOCK = "stock"  # a stock count or availability claim that does not match
    NUMBER = "number"  # any other number the catalog does not have
    PROMO = "promo"  # a promo quoted after it ended
    PROMISE = "promise"  # a delivery time, warranty or guarantee the catalog does not make


class Fix(StrEnum):
    """What was done about it."""

    REWRITE = "rewrite"  # the words were replaced; the line may be spoken
    BLOCK = "block"  # the line must not be spoken


@dataclass(frozen=True)
class Action:
    """One intervention on a line: the rule, what was done, what was found, and why."""

    rule: Rule
    fix: Fix
    found: str  # the words or number in the line
    detail: str  # readable reason, or the replacement for a rewrite

    def as_dict(self) -> dict[str, str]:
        """Plain JSON-ready form (``avatar ask --json``)."""
        return {"rule": self.rule.value, "fix": self.fix.value, "found": self.found, "detail": self.detail}


@dataclass(frozen=True)
class ComplianceResult:
    """A checked line: the text to speak (empty when blocked) and every action taken."""

    text: str
    actions: tuple[Action, ...]
    blocked: bool

    @property
    def changed(self) -> bool:
        """True when anything was rewritten or blocked."""
        return bool(self.actions)


@dataclass(frozen=True)
class Term:
    """One listed word or phrase; ``replacement`` None means lines with it are blocked."""

    text: str  # as written in the list, for logs and the config file
    pattern: re.Pattern[str]
    replacement: str | None = None


def _term(text: str, replacement: str | None = None, *, regex: bool = False) -> Term:
    """A term matched as whole words when it has Latin letters, as a substring otherwise."""
    # A literal's words may be joined by any run of spaces or hyphens: "world class" also finds
    # "world-class".
    body = text if regex else r"[\s-]+".join(re.escape(part) for part in text.split())
    if re.search(r"[A-Za-z]", text):
        body = r"(?<![A-Za-z])(?:" + body + r")(?![A-Za-z])"
    return Term(text, re.compile(body, re.IGNORECASE), replacement)


# --- default lists ---------------------------------------------------------------------------
# (pattern, replacement): None blocks the line, "" drops the word. Longer phrases win over the
# words inside them ("the best" before "best"), whatever their order here.

_EN_ABSOLUTE: tuple[tuple[str, str | None], ...] = (
    (r"(the )?best in the world|in the world", None),
    (r"world'?s", None),
    (r"world[\s-]class", None),
    (r"the best", "a great"),
    (r"best[\s-]?sell(ing|er|ers)", "popular"),
    (r"best", "great"),
    (r"greatest", "great"),
    (r"perfect", "great"),
    (r"perfectly", "nicely"),
    (r"no\. ?1|number one|#\s?1(?!\d)", None),
    (r"top[\s-]rated", None),
    (r"ultimate", "great"),
    (r"flawless", "great"),
    (r"unbeatable|unmatched|unrivall?ed", None),
    (r"lowest prices?|cheapest", None),
    (r"guarantee[sd]?", None),
    (r"(?<![\d.])100 ?%|100 percent|one hundred percent", None),
    (r"risk[\s-]free", None),
    (r"never (fails|breaks|wears out)", None),
    (r"forever", None),
)
_EN_MEDICAL = (
    r"cure[sd]?|curing",
    r"heal(s|ed|ing)?",
    r"treat(s|ed|ing|ment|ments)?",
    r"therapy|therapeutic",
    r"miracles?|miraculous",
    r"clinically proven",
    r"medical[\s-]grade",
    r"prevents? (disease|illness|cancer|infection)s?",
    r"anti-?inflammatory",
    r"detox\w*",
    r"pain relief|relieves? pain",
    r"boosts? (your )?immun\w+",
    r"fda[\s-]approved",
    r"lose weight|weight loss",
)
_ZH_MEDICAL = (
    "根治",
    "治愈",
    "治疗",
    "特效",
    "无副作用",
    "药到病除",
    "包治",
    "疗效",
    "祛病",
    "消炎",
    "防癌",
    "抗癌",
    "降血压",
    "降血糖",
    "排毒",
    "医用级",
    "减肥",
    "瘦身",
)
# Everyday phrases that contain a listed word but claim nothing (Chinese ones: ad_law_zh.yaml).
_ALLOWED = ("treat yourself", "a treat", "best before")
# Treating water (a conditioner "treats 50 gallons", "treat the new tap water") claims no cure.
_ALLOWED_PATTERNS = (
    r"treat(?:s|ed|ing)?\s+(?:up to\s+|about\s+)?\d",
    r"treat(?:s|ed|ing)?\s+(?:(?:the|your|new|tap|tank|aquarium|pond|pool|fresh)\s+)*water",
    r"water[\s-]treat(?:ment|ing)?",
    r"(?:bottle|capful|cap|dose|drop|tablet)s?\s+treats?",
)


@lru_cache(maxsize=1)
def _ad_law_zh() -> tuple[tuple[Term, ...], tuple[Term, ...]]:
    """The Chinese banned and allowed terms of ``data/ad_law_zh.yaml`` (regular expressions)."""
    raw = yaml.safe_load(
        resources.files("avatar.brain").joinpath("data", "ad_law_zh.yaml").read_text("utf-8")
    )
    banned = tuple(_term(str(e["term"]), e.get("replace"), regex=True) for e in raw["banned"])
    return banned, tuple(_term(str(p)) for p in raw.get("allowed", []))


@dataclass(frozen=True)
class ComplianceRules:
    """The word lists a checker enforces (see :func:`load_rules` for the file format)."""

    banned: tuple[Term, ...]  # absolute claims; rewritten when the term has a replacement
    medical: tuple[Term, ...]  # always blocked
    allowed: tuple[Term, ...]  # never flagged, even though a banned term is inside

    @classmethod
    def defaults(cls) -> ComplianceRules:
        """The built-in English and Chinese lists."""
        zh_banned, zh_allowed = _ad_law_zh()
        return cls(
            banned=(*(_term(p, r, regex=True) for p, r in _EN_ABSOLUTE), *zh_banned),
            medical=(*(_term(p, regex=True) for p in _EN_MEDICAL), *(_term(p) for p in _ZH_MEDICAL)),
            allowed=(
                *(_term(p) for p in _ALLOWED),
                *(_term(p, regex=True) for p in _ALLOWED_PATTERNS),
                *zh_allowed,
            ),
        )


def load_rules(path: Path) -> ComplianceRules:
    """The rules of a scene: the defaults, extended by ``compliance.yaml`` when the file exists.

    ``path`` is the scene folder or the file itself. The file (every key optional)::

        defaults: true          # keep the built-in lists; false uses only what is below
        banned:                 # absolute claims: rewritten with `replace`, else blocked
          - {term: insane deal, replace: great deal}
          - 吊打
        medical: [detox tea, 排毒]   # always blocked
        allowed: [best before]       # phrases never flagged

    A malformed file raises :class:`~avatar.errors.DataError` naming the field.
    """
    file = path / RULES_FILE if path.is_dir() else path
    if not file.exists():
        return ComplianceRules.defaults()
    reader = FieldReader(file)
    raw = reader.mapping(read_yaml(file) or {}, "", optional=("defaults", "banned", "medical", "allowed"))
    keep = raw.get("defaults", True)
    if not isinstance(keep, bool):
        reader.fail("defaults", "expected true or false")
    base = ComplianceRules.defaults() if keep else ComplianceRules((), (), ())

    banned: list[Term] = []
    if raw.get("banned") is not None:
        for i, item in enumerate(reader.sequence(raw["banned"], "banned")):
            field_name = sub("banned", i)
            if isinstance(item, dict):
                entry = reader.mapping(item, field_name, required=("term",), optional=("replace",))
                replacement = entry.get("replace")
                if replacement is not None and not isinstance(replacement, str):
                    reader.fail(sub(field_name, "replace"), "expected text (empty text drops the word)")
                banned.append(_term(reader.text(entry["term"], sub(field_name, "term")), replacement))
            else:
                banned.append(_term(reader.text(item, field_name)))
    medical = [_term(t) for t in reader.texts(raw["medical"], "medical")] if raw.get("medical") else []
    allowed = [_term(t) for t in reader.texts(raw["allowed"], "allowed")] if raw.get("allowed") else []
    for term in (*banned, *medical):
        for exempt in allowed:
            if exempt.pattern.fullmatch(term.text):
                reader.fail("allowed", f"{term.text!r} is both banned and allowed")
    return ComplianceRules(
        banned=(*banned, *base.banned),  # the scene's own entries first: they win on equal spans
        medical=(*medical, *base.medical),
        allowed=(*allowed, *base.allowed),
    )


# --- numbers ----------------------------------------------------------------------------------

_WORD_NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_DIGIT_WORDS = {"zero": 0, "oh": 0, "one": 1} | {w: n for w, n in _WORD_NUMBERS.items() if n < 10}
_UNITS = "two|three|four|five|six|seven|eight|nine"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_WHOLE_WORDS = rf"(?:{_TENS})(?:[\s-](?:{_UNITS}))?|{_TEENS}|{_UNITS}"
# A spoken decimal as a transcript writes it: "four point six", "nineteen point nine nine".
_POINT_WORDS = rf"\s+point(?:\s+(?:{'|'.join(_DIGIT_WORDS)}))+"
# "one" is left out on purpose: "the red one", "grab one" are not quantities, but "one point five" is.
_NUMBER = re.compile(
    r"(?P<digits>(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d))"
    rf"|(?<![A-Za-z-])(?P<words>(?:{_WHOLE_WORDS})(?:{_POINT_WORDS})?|(?:zero|one){_POINT_WORDS})(?![A-Za-z-])",
    re.IGNORECASE,
)
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# A line that says it sums prices: its amounts may be a few times a catalog price.
_TOTAL = re.compile(
    r"\b(?:in total|altogether|all together|come to|comes to)\b|一共|总共|合计|共计", re.IGNORECASE
)
MAX_TOTAL_COUNT: Final = 20
"""The most items a spoken total multiplies a price by."""


def says_total(text: str) -> bool:
    """True when ``text`` says it sums prices ("in total", 一共)."""
    return _TOTAL.search(text) is not None


def totals(prices: set[Decimal]) -> set[Decimal]:
    """Every sum of 2 to :data:`MAX_TOTAL_COUNT` items at one of ``prices``."""
    return {(price * count).quantize(_CENT) for price in prices for count in range(2, MAX_TOTAL_COUNT + 1)}


_CURRENCY_BEFORE = re.compile(r"(?:[$¥€£]|usd|us\$|rmb|cny)\s?$", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(r"^\s?(?:dollars?|bucks|usd|元|块|美元|美金|刀)", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"^\s?(?:%|percent|per cent)", re.IGNORECASE)
_ZHE_AFTER = re.compile(r"^\s?折")
_ZH_PERCENT = re.compile(r"百分之([一二两三四五六七八九十]+)")
_ZH_ZHE = re.compile(r"(?<![一二两三四五六七八九十\d])([一二三四五六七八九])([一二三四五六七八九])?折")
_COUNT = rf"\d{{1,3}}(?:,\d{{3}})+|\d+|{_WHOLE_WORDS}"
_STOCK_EN = re.compile(
    rf"(?<![\w.,])(?P<n>{_COUNT})\s+(?:[a-z]+\s+){{0,2}}?"
    r"(?:left|in stock|remaining|(?:still |now )available|available now|ready to ship|in this drop)(?![a-z])",
    re.IGNORECASE,
)
_COUNTING_ZH = "件|个|副|台|套|只|包|本|册|卷|枚|颗|粒|片|桶|根|顶|株|盆"
_STOCK_ZH = re.compile(
    rf"(?:只剩|还剩|剩下|仅剩|剩|现货|库存|还有|只有)\s*(?P<n>\d+)\s*(?:{_COUNTING_ZH})"
    # a counting word that is also money ("块": watches, soap; "刀": a pack of 100 sheets of
    # paper) counts only next to 现货/库存
    rf"|(?P<m>\d+)\s*(?:{_COUNTING_ZH}|块|刀|盒|瓶|袋|双|支|罐|条|份|箱|张|把|辆|对)\s*(?:现货|库存)"
)
_IN_STOCK = re.compile(r"(?<![a-z])(in stock|ready to ship)(?![a-z])|有货|有现货", re.IGNORECASE)
_SOLD_OUT = re.compile(
    r"(?<![a-z])(is|are|it's|they're|just|already|now) sold out(?![a-z])|已经?售罄|卖完了|没货了|断货了",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Number:
    value: Decimal
    start: int
    end: int
    text: str


def _numbers(text: str) -> Iterator[_Number]:
    for match in _NUMBER.finditer(text):
        if match.group("digits"):
            value = Decimal(match.group("digits").replace(",", ""))
        else:
            whole, *fraction = re.split(r"\s+point\s+", match.group("words").lower(), maxsplit=1)
            words = re.split(r"[\s-]", whole)
            value = Decimal(sum(_WORD_NUMBERS.get(w) or _DIGIT_WORDS[w] for w in words))
            if fraction:
                value += Decimal("0." + "".join(str(_DIGIT_WORDS[w]) for w in fraction[0].split()))
        yield _Number(value, match.start(), match.end(), match.group(0))


# Chinese numerals that state an amount, a count or a share: "只要一元", "还剩三件", "打八折" is
# read by _ZH_ZHE. Only these are turned into digits: "介绍一下" is no number.
_ZH_NUMERAL = "零一二两三四五六七八九十百千万点"
_ZH_AMOUNT = re.compile(
    rf"([{_ZH_NUMERAL}]+)(?=\s?(?:元|块|美元|美金|刀|件|个|盒|支|瓶|袋|双|包|罐|条|份|套|箱|台|副|只|把))"
)
_EN_AMOUNT = re.compile(
    r"(?<![a-z])((?:(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|and|point)(?![a-z])[ -]?)+)\s*"
    r"(dollars?|bucks|percent|per cent)(?![a-z])",
    re.IGNORECASE,
)
_ZH_MONEY_NEXT = re.compile(r"\s?(?:元|块|美元|美金|刀)")
# Price comparisons with other shops or absolute price claims: the host cannot know them.
_PRICE_CLAIM = re.compile(
    r"cheap(?:er|est) than (?:anywhere|any other|other shops|everywhere|amazon|the rest)"
    r"|cheapest (?:anywhere|online|on the market|price)|lowest price|best price"
    r"|\d+\s?(?:dollars?|bucks) cheaper"
    r"|全网最低|全网最便宜|最低价|比别家便宜|比别人便宜|历史最低",
    re.IGNORECASE,
)


def spoken_numbers(text: str) -> str:
    """``text`` with numbers said in words written as digits, so the fact lock reads "只要一元" like
    "只要1元" and "one hundred dollars" like "100 dollars" (cn2an and text2num)."""
    import cn2an
    from text_to_num import alpha2digit

    def amount(match: re.Match[str]) -> str:
        said = str(alpha2digit(match.group(1), "en", threshold=0)).strip()
        return f"{said} {match.group(2)}" if any(ch.isdigit() for ch in said) else match.group(0)

    # Only words that state an amount or a share: "grab one soon" is no number.
    text = _EN_AMOUNT.sub(amount, text)

    def digits(match: re.Match[str]) -> str:
        if (
            match.group(1) == "一"
            and match.group(0) == match.group(1)
            and not _ZH_MONEY_NEXT.match(match.string[match.end() :])
        ):
            return match.group(0)  # "一个包", "一件": "a", not a count
        try:
            return str(cn2an.cn2an(match.group(1), "smart"))
        except (ValueError, KeyError, IndexError):  # not a well-formed numeral: leave it
            return match.group(0)

    return _ZH_AMOUNT.sub(digits, text)


def _zh_number(text: str) -> Decimal | None:
    """百分之 numerals up to 99 (二十, 十五, 三十五); None for anything else."""
    if text == "十":
        return Decimal(10)
    head, sep, tail = text.partition("十")
    if not sep:
        return Decimal(_ZH_DIGITS[text]) if text in _ZH_DIGITS else None
    tens = _ZH_DIGITS.get(head, 1 if not head else 0)
    units = _ZH_DIGITS.get(tail, 0 if not tail else -1)
    if tens == 0 or units < 0:
        return None
    return Decimal(tens * 10 + units)


def _parse_count(token: str) -> Decimal | None:
    found = next(_numbers(token), None)
    return found.value if found is not None and found.text == token else None


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- promises ---------------------------------------------------------------------------------

_NUM = rf"(\d+|{_UNITS}|ten|eleven|twelve|{_TENS})"
_PROMISES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (
            "delivery",
            r"(?:arriv\w*|deliver\w*|get (?:it|them)|receive (?:it|them)|have (?:it|them)|at your door)"
            rf"[^.!?。！？]{{0,25}}?(?:in|within)\s+{_NUM}(?:\s*(?:to|-|or)\s*{_NUM})?\s*"
            r"(?:business\s+|working\s+)?(?:days?|hours?|weeks?)",
        ),
        (
            "delivery",
            r"(?:arriv\w*|deliver\w*|get (?:it|them)|have (?:it|them)|receive (?:it|them)|be there)\s+"
            r"(?:by\s+)?(tomorrow|today|tonight|overnight)",
        ),
        (
            "delivery",
            r"(next|same|one|two|1|2)[\s-]day\s+(?:delivery|shipping)|(overnight) (?:delivery|shipping)",
        ),
        ("delivery", r"(\d+)\s*(?:天|小时)(?:内|之内)?就?(?:能|可)?(?:送达|到货|到家|必达|到)"),
        (
            "delivery",
            r"(明天|今天|当天|次日|隔日)就?(?:能|可)?(?:到|送达|到货|达)|(次日达|当日达|隔日达|极速达)",
        ),
        (
            "dispatch",
            r"(?:ships?|shipped|shipping|dispatch\w*|sends?|sent)[^.!?。！？]{0,20}?(?:in|within)\s+"
            rf"{_NUM}(?:\s*(?:to|-|or)\s*{_NUM})?\s*(?:business\s+|working\s+)?(?:days?|hours?)",
        ),
        ("dispatch", r"ships?\s+(today|tomorrow|same[\s-]day)"),
        (
            "dispatch",
            r"(\d+)(?:\s*(?:到|至|-|~)\s*(\d+))?\s*个?(?:工作日|天|小时)(?:内|之内)?(?:包邮)?(?:发货|发出|寄出)",
        ),
        ("dispatch", r"(当天|今天|当日)发货"),
        ("free_shipping", r"free (?:shipping|delivery)|ships? free|包邮|免运费|免邮"),
        (
            "returns",
            rf"returns?\s+(?:are\s+)?(?:free\s+)?(?:within|for|in|up to)\s+{_NUM}\s+days"
            rf"|{_NUM}[\s-]day\s+(?:free\s+)?returns?",
        ),
        ("returns", r"(\d+|七)\s*天(?:内|之内)?(?:免费|无理由)*退(?:货|换|款)|(无理由退)"),
        (
            "warranty",
            rf"(lifetime|life-?long|{_NUM}[\s-](?:year|month)s?)\s+(?:warranty|guarantee)"
            rf"|warranty\s+(?:of|for)\s+{_NUM}\s+(?:years?|months?)|warrant(?:y|ies|ied)",
        ),
        (
            "warranty",
            r"(终身)(?:保修|质保|保固)|(?:保修|质保)\s*(\d+)\s*年|(\d+)\s*年(?:保修|质保)|保修|质保",
        ),
        ("money_back", r"money[\s-]back|full refund|no[\s-]questions?[\s-]asked|refund if"),
        ("money_back", r"无效退款|假一赔[十三一]|不满意(?:全额)?退款|全额退款|包退|包换"),
    )
)


@dataclass(frozen=True)
class _Promise:
    kind: str
    details: frozenset[str]  # numbers and words that make the promise ("2", "tomorrow", "终身")
    text: str


def _promises(text: str) -> list[_Promise]:
    found: list[_Promise] = []
    claimed: dict[str, list[tuple[int, int]]] = {}
    for kind, pattern in _PROMISES:
        spans = claimed.setdefault(kind, [])
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in spans):
                continue  # "warranty" inside "lifetime warranty" is one promise
            spans.append((start, end))
            details = set()
            for group in match.groups():
                if group:
                    value = _parse_count(group.lower()) if not group.isdigit() else Decimal(group)
                    details.add(str(value) if value is not None else group.lower())
            found.append(_Promise(kind, frozenset(details), match.group(0)))
    return found


# --- what the catalog says, per product ------------------------------------------------------


@dataclass
class _Known:
    """The numbers and promises one product's catalog entry supports."""

    numbers: set[Decimal] = field(default_factory=set)
    percents: set[Decimal] = field(default_factory=set)
    zhe: set[Decimal] = field(default_factory=set)  # "85折" as an offer writes it
    money: set[Decimal] = field(default_factory=set)  # amounts its text quotes (FAQ, shipping)
    promises: list[_Promise] = field(default_factory=list)
    stock: set[Decimal] = field(default_factory=set)  # per-variant stock counts


def _normalise(text: str) -> str:
    # Full-width digits, ％ and ＄ are folded so "５０％" is checked like "50%". The Chinese comma
    # separates clauses, never digit groups: "160毫升¥79，240毫升¥89" is 79 and 240, not 79,240.
    return unicodedata.normalize("NFKC", text.replace("，", ", "))


def _tenths_off(value: Decimal) -> Decimal:
    """ "85折" is 8.5 tenths of the price, like 八五折; "8折" is 8."""
    return value / 10 if value >= 10 else value


def _zhe_value(match: re.Match[str]) -> Decimal:
    """八五折 → 8.5, 八折 → 8."""
    value = Decimal(_ZH_DIGITS[match.group(1)])
    if match.group(2):
        value += Decimal(_ZH_DIGITS[match.group(2)]) / 10
    return value


def _known(product: Product) -> _Known:
    known = _Known()
    for raw in product.texts():
        text = spoken_numbers(_normalise(raw))  # the catalog's "第二袋半价" grounds a spoken 2
        for number in _numbers(text):
            known.numbers.add(number.value)
            after = text[number.end :]
            if _PERCENT_AFTER.match(after):
                known.percents.add(number.value)
            if _ZHE_AFTER.match(after):
                known.zhe.add(_tenths_off(number.value))
            if _CURRENCY_BEFORE.search(text[: number.start]) or _CURRENCY_AFTER.match(after):
                known.money.add(number.value)
        known.zhe.update(_zhe_value(match) for match in _ZH_ZHE.finditer(text))
    said = (*product.shipping.values(), *(a for e in product.faq for a in e.answer.values()))
    said += tuple(t for o in product.offers for t in o.values())
    # A spec says its promise with its label: "Warranty: 12 months".
    said += tuple(
        f"{c.label.get(lang, next(iter(c.label.values())))}: {t}"
        for c in (*product.safety, *product.specs)
        for lang, t in c.value.items()
    )
    for raw in said:
        known.promises.extend(_promises(_normalise(raw)))
    if product.promo is not None and product.promo.ends_at is not None:
        end = product.promo.ends_at
        known.numbers.update(Decimal(n) for n in (end.year, end.month, end.day))
    known.numbers.add(Decimal(product.stock))
    for variant in product.variants:
        if variant.price is not None:
            known.money.add(variant.price)
            known.numbers.add(variant.price)
        if variant.stock is not None:
            known.stock.add(Decimal(variant.stock))
            known.numbers.add(Decimal(variant.stock))
    return known


class ComplianceChecker:
    """Checks spoken lines against a catalog and a set of word lists (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        rules: ComplianceRules | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """``now`` is the clock promos are judged by (injectable for tests and replays)."""
        self.catalog = catalog
        self.rules = rules or ComplianceRules.defaults()
        self._now = now
        self._known = {p.id: _known(p) for p in catalog.products}
        # Names may be said in any line ("which one: the Ridgeline 30L Backpack or ..."), so their
        # numbers are always allowed.
        self._name_numbers = {
            n.value for p in catalog.products for name in p.names.values() for n in _numbers(_normalise(name))
        }
        # Spec and safety values are the shop's stated facts ("100% merino wool" is a composition,
        # not an absolute claim): quoted word for word they are not checked for advertising words.
        # Selling points and FAQ answers are marketing and stay checked.
        self._stated = tuple(
            sorted(
                {
                    # As written and folded: a line may quote "（PC）" with its full-width brackets.
                    form.strip().rstrip(".!?。！？")
                    for p in catalog.products
                    for spec in (*p.specs, *p.safety)
                    for v in spec.value.values()
                    if len(v.strip()) >= 4
                    for form in (v, _normalise(v))
                },
                key=len,
                reverse=True,
            )
        )

    @classmethod
    def for_scene(cls, scene: Scene, now: Callable[[], datetime] | None = None) -> ComplianceChecker:
        """A checker for a scene's catalog with its ``compliance.yaml`` rules (or the defaults)."""
        return cls(scene.catalog, load_rules(scene.root), now)

    def check(self, text: str, language: str, product_id: str | None = None) -> ComplianceResult:
        """Check one line the host is about to say in ``language``.

        ``product_id`` is the product the line is about when the line itself may not name it
        (the answer's product, the product on screen). Returns the text to speak, with banned
        words rewritten; when ``blocked`` the text is empty and the caller must say something
        else. Every action is logged.
        """
        actions: list[Action] = []
        rewritten = self._words(text, actions)
        products = self._about(rewritten, product_id)
        self._facts(spoken_numbers(_normalise(rewritten)), products, actions)
        self._price_claims(rewritten, products, actions)
        blocked = any(a.fix is Fix.BLOCK for a in actions)
        for action in actions:
            level = logging.WARNING if blocked else logging.INFO
            log.log(
                level,
                "compliance %s (%s, %s): %r: %s | line: %r",
                action.fix.value,
                action.rule.value,
                language,
                action.found,
                action.detail,
                text,
            )
        return ComplianceResult("" if blocked else rewritten, tuple(actions), blocked)

    def claims(self, text: str) -> tuple[Action, ...]:
        """The advertising and medical claims ``text`` makes (a viewer's comment, say), found
        the way :meth:`check` finds them but not logged: nobody is about to say it."""
        actions: list[Action] = []
        self._words(text, actions)
        return tuple(actions)

    # --- words ---------------------------------------------------------------------------------

    def _words(self, text: str, actions: list[Action]) -> str:
        exempt = [m.span() for term in self.rules.allowed for m in term.pattern.finditer(text)]
        for stated in self._stated:
            start = text.find(stated)
            while start >= 0:
                exempt.append((start, start + len(stated)))
                start = text.find(stated, start + 1)
        hits: list[tuple[int, int, Term, Rule]] = []
        for rule, terms in ((Rule.MEDICAL, self.rules.medical), (Rule.ABSOLUTE, self.rules.banned)):
            for term in terms:
                for match in term.pattern.finditer(text):
                    start, end = match.span()
                    if any(s <= start and end <= e for s, e in exempt):
                        continue
                    hits.append((start, end, term, rule))
        # Longest match first at each place; then no overlaps ("the best" claims "best").
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        chosen: list[tuple[int, int, Term, Rule]] = []
        for hit in hits:
            if chosen and hit[0] < chosen[-1][1]:
                continue
            chosen.append(hit)
        for start, end, term, rule in reversed(chosen):
            found = text[start:end]
            if rule is Rule.MEDICAL or term.replacement is None:
                why = "medical claim" if rule is Rule.MEDICAL else "absolute claim with no neutral wording"
                actions.insert(0, Action(rule, Fix.BLOCK, found, why))
                continue
            replacement = _fit(term.replacement, found, text[:start], text[end:])
            before = _article(text[:start], replacement)
            text = before + replacement + text[end:]
            actions.insert(0, Action(rule, Fix.REWRITE, found, f"replaced with {replacement!r}"))
        return _tidy(text) if chosen else text

    # --- facts ---------------------------------------------------------------------------------

    def _about(self, text: str, product_id: str | None) -> list[Product]:
        products = mentioned(text, self.catalog)
        if product_id is not None and product_id in self.catalog:
            context = self.catalog.get(product_id)
            if context not in products:
                products.append(context)
        return products or list(self.catalog.products)

    def _facts(self, text: str, products: list[Product], actions: list[Action]) -> None:
        now = self._now() if self._now is not None else None
        money: set[Decimal] = set()
        percents: set[Decimal] = set()
        zhe: set[Decimal] = set()
        stock: set[Decimal] = set()
        numbers = set(self._name_numbers)
        names = ", ".join(p.name("en") for p in products)
        for product in products:
            known = self._known[product.id]
            money |= {product.price, *known.money}
            percents |= known.percents
            zhe |= known.zhe
            numbers |= known.numbers
            stock |= {Decimal(product.stock), *known.stock}
            promo = product.promo
            if promo is not None and promo.active(now):
                money |= {promo.price, product.price - promo.price}
                share = promo.price / product.price
                percents.add((100 - share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                zhe |= {_tenth(share * 10), (share * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP)}
        if says_total(text):
            # "4 come to $51.96 in total": a sum of a few of a price the catalog gives, and the count.
            money |= totals(money)
            numbers |= {Decimal(count) for count in range(2, MAX_TOTAL_COUNT + 1)}
        money = {m.quantize(_CENT) for m in money}

        stock_spans = self._stock_spans(text)
        for number in _numbers(text):
            before, after = text[: number.start], text[number.end :]
            if (number.start, number.end) in stock_spans:  # "还有22块现货": watches, not yuan
                if number.value not in stock:
                    actions.append(Action(Rule.STOCK, Fix.BLOCK, number.text, f"not the stock of {names}"))
            elif _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
                if _quantize(number.value) not in money:
                    actions.append(
                        Action(Rule.PRICE, Fix.BLOCK, number.text, f"not a current price of {names}")
                    )
            elif _PERCENT_AFTER.match(after):
                if number.value not in percents:
                    actions.append(
                        Action(Rule.PERCENT, Fix.BLOCK, number.text + "%", f"not a discount of {names}")
                    )
            elif _ZHE_AFTER.match(after):
                if _tenths_off(number.value) not in zhe:
                    actions.append(
                        Action(Rule.PERCENT, Fix.BLOCK, number.text + "折", f"not a discount of {names}")
                    )
            elif number.value not in numbers:
                actions.append(Action(Rule.NUMBER, Fix.BLOCK, number.text, f"not in the catalog for {names}"))
        for match in _ZH_PERCENT.finditer(text):
            value = _zh_number(match.group(1))
            if value is None or value not in percents:
                actions.append(Action(Rule.PERCENT, Fix.BLOCK, match.group(0), f"not a discount of {names}"))
        for match in _ZH_ZHE.finditer(text):
            if _zhe_value(match) not in zhe:
                actions.append(Action(Rule.PERCENT, Fix.BLOCK, match.group(0), f"not a discount of {names}"))

        if len(products) == 1:
            product = products[0]
            # The shop's own words are not a stock claim: "ships once back in stock".
            own = text
            for said in product.texts():
                said = _normalise(said).strip().rstrip(".!?。！？")
                if len(said) >= 6:
                    own = own.replace(said, " ")
            if product.stock == 0 and (claim := _IN_STOCK.search(own)):
                actions.append(Action(Rule.STOCK, Fix.BLOCK, claim.group(0), f"{names} is sold out"))
            some_sold_out = any(v.stock == 0 for v in product.variants)  # "the XL just sold out"
            if product.stock > 0 and not some_sold_out and (claim := _SOLD_OUT.search(text)):
                actions.append(Action(Rule.STOCK, Fix.BLOCK, claim.group(0), f"{names} is in stock"))

        lowered = text.lower()
        for product in self.catalog.products:
            promo = product.promo
            if promo is None or promo.active(now):
                continue
            for label in promo.label.values():
                if label.lower() in lowered:
                    actions.append(
                        Action(Rule.PROMO, Fix.BLOCK, label, f"the promo on {product.name('en')} ended")
                    )

        supported = [p for product in products for p in self._known[product.id].promises]
        for promise in _promises(text):
            if not any(p.kind == promise.kind and promise.details <= p.details for p in supported):
                actions.append(
                    Action(
                        Rule.PROMISE, Fix.BLOCK, promise.text, f"no such {promise.kind} promise for {names}"
                    )
                )

    def _price_claims(self, text: str, products: list[Product], actions: list[Action]) -> None:
        """Block "cheaper than anywhere", 全网最低 and the like unless the catalog says it."""
        # The usual line makes no such claim: the catalog's words (all of them, for a line naming
        # no product) are gathered only when one is found.
        claims = list(_PRICE_CLAIM.finditer(_normalise(text)))
        if not claims:
            return
        stated = " ".join(t for p in products for t in p.texts()).lower()
        for match in claims:
            if match.group(0).lower() not in stated:
                actions.append(
                    Action(Rule.PRICE, Fix.BLOCK, match.group(0), "a price claim the catalog does not make")
                )

    @staticmethod
    def _stock_spans(text: str) -> set[tuple[int, int]]:
        """Where the stock counts are: "only 8 left", "120 pairs ready to ship", "还有340个现货"."""
        spans = {match.span("n") for match in _STOCK_EN.finditer(text)}
        for match in _STOCK_ZH.finditer(text):
            group = "n" if match.group("n") is not None else "m"
            spans.add(match.span(group))
        return spans


def _quantize(value: Decimal) -> Decimal:
    try:
        return value.quantize(_CENT)
    except InvalidOperation:  # a number too long to be a price
        return value


def _fit(replacement: str, found: str, preceding: str, following: str) -> str:
    """``replacement`` shaped to its place: no "a" before a plural, capitalised where the original
    was (a sentence start or a capitalised word, not a shouted one)."""
    if replacement.startswith("a ") and re.match(r"\s*[a-z]+[^s\W]s\b", following, re.IGNORECASE):
        replacement = replacement[2:]  # "the best earbuds" -> "great earbuds", not "a great earbuds"
    sentence_start = not preceding.strip() or preceding.rstrip()[-1] in ".!?"
    first_word = found.split()[0] if found.split() else found
    shouted = len(first_word) > 1 and first_word.isupper()
    if replacement and found[:1].isupper() and (sentence_start or not shouted):
        replacement = replacement[0].upper() + replacement[1:]
    return replacement


def _article(preceding: str, replacement: str) -> str:
    """The text before a rewrite with "a"/"an" agreeing with the new word ("an ultimate" -> "a great")."""
    match = re.search(r"(?<![A-Za-z])(a|an|A|An|AN)(\s+)$", preceding)
    if match is None or not re.match(r"[A-Za-z]", replacement):
        return preceding
    article = "an" if replacement[0].lower() in "aeiou" else "a"
    if match.group(1)[0].isupper():
        article = article.capitalize()
    return preceding[: match.start()] + article + match.group(2)


def _tidy(text: str) -> str:
    """Spaces and punctuation after words were dropped: no doubled or leading blanks."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r" +([,.!?;:])", r"\1", text)
    return text.strip()
