"""Content coaching: what the host said about the product against what the catalog says.

- **Selling points**: each of the product's selling points is covered when enough of its key terms
  (content words and numbers; character pairs for Chinese) were said, with fuzzy matching for ASR
  spelling slips ("cancelling"/"canceling").
- **Facts and compliance**: every transcribed line goes through the same
  :class:`~avatar.brain.compliance.ComplianceChecker` the live host obeys. Numbers the catalog does
  not support (price, promo, stock, specs, promises) are fact errors with the catalog's value as the
  fix; banned words and claims are violations with the checker's rewrite, or a template when the
  checker can only block.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from avatar.brain.catalog import Catalog, Product, localized
from avatar.brain.compliance import Action, ComplianceChecker, Fix, Rule
from avatar.rehearse.timed import TimedLine, is_cjk

__all__ = ["Coaching", "Flag", "PointCoverage", "coach", "key_terms", "point_coverage"]

COVERED_SHARE: Final = 0.6  # share of a point's key terms that must be said
_FUZZY: Final = 0.84  # difflib ratio for two words to count as the same (ASR spelling slips)
FACT_RULES: Final = frozenset({Rule.PRICE, Rule.PERCENT, Rule.STOCK, Rule.NUMBER, Rule.PROMO, Rule.PROMISE})
_STOP: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "up",
        "out",
        "so",
        "as",
        "is",
        "are",
        "be",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "yours",
        "we",
        "our",
        "they",
        "them",
        "their",
        "i",
        "me",
        "my",
        "just",
        "more",
        "most",
        "very",
        "can",
        "will",
        "would",
        "that's",
        "there",
        "here",
        "have",
        "has",
        "had",
        "do",
        "does",
        "get",
        "got",
        "one",
        "all",
        "any",
        "some",
        "than",
        "then",
        "too",
        "also",
        "into",
        "over",
        "about",
        "per",
        "plus",
        "no",
        "not",
        "yes",
    ]
)
_NUMBER_WORDS: Final = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30",
}  # fmt: skip


@dataclass(frozen=True)
class PointCoverage:
    """One selling point: covered or missed, and where it was said."""

    point: str
    covered: bool
    share: float  # of its key terms heard
    missing: tuple[str, ...]  # key terms not heard
    said_at_s: float | None
    said: str  # the line that covered it


@dataclass(frozen=True)
class Flag:
    """A line with a problem: a wrong fact or a compliance violation, and what to say instead."""

    kind: str  # "fact" or "compliance"
    rule: str  # the compliance rule (price, stock, absolute, medical, ...)
    at_s: float
    line: str
    found: str
    detail: str
    suggestion: str


@dataclass(frozen=True)
class Coaching:
    """What the take said, judged against the catalog."""

    product_id: str
    points: tuple[PointCoverage, ...]
    flags: tuple[Flag, ...]

    @property
    def covered(self) -> int:
        """Selling points covered."""
        return sum(p.covered for p in self.points)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"product_id": self.product_id, "points": [asdict(p) for p in self.points],
                "flags": [asdict(f) for f in self.flags]}  # fmt: skip


def _stem(word: str) -> str:
    word = _NUMBER_WORDS.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _tokens(text: str) -> list[str]:
    return [_stem(t) for t in re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower().replace("-", " "))]


def _bigrams(text: str) -> set[str]:
    chars = re.findall(r"[\u3400-\u9fff]|\d+(?:\.\d+)?", text)
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def key_terms(point: str) -> tuple[str, ...]:
    """The words of a selling point that carry its meaning (stop words left out, stemmed)."""
    if is_cjk(point):
        return tuple(sorted(_bigrams(point)))
    seen: list[str] = []
    for token in _tokens(point):
        if token not in _STOP and (len(token) > 1 or token.isdigit()) and token not in seen:
            seen.append(token)
    return tuple(seen)


def _heard(term: str, said: set[str]) -> bool:
    if term in said:
        return True
    if term[0].isdigit() or len(term) < 4:
        return False
    # Stems differ by more than a suffix ("cancell" / "cancellation"): a shared start is enough.
    if any(len(w) >= 4 and (w.startswith(term) or term.startswith(w)) for w in said):
        return True
    return any(
        abs(len(w) - len(term)) <= 3 and difflib.SequenceMatcher(None, term, w).ratio() >= _FUZZY
        for w in said
    )


def point_coverage(point: str, lines: Sequence[TimedLine]) -> PointCoverage:
    """Whether ``point`` was covered by the take's ``lines`` (the whole take counts, so a point made
    across two sentences is still covered), and the line that said most of it."""
    terms = key_terms(point)
    if not terms:
        return PointCoverage(point, True, 1.0, (), None, "")
    cjk = is_cjk(point)
    everything = " ".join(line.text for line in lines)
    said_all = _bigrams(everything) if cjk else set(_tokens(everything))
    missing = tuple(t for t in terms if not (t in said_all if cjk else _heard(t, said_all)))
    share = 1.0 - len(missing) / len(terms)
    best: TimedLine | None = None
    best_hits = 0
    for line in lines:
        said = _bigrams(line.text) if cjk else set(_tokens(line.text))
        hits = sum((t in said) if cjk else _heard(t, said) for t in terms)
        if hits > best_hits:
            best, best_hits = line, hits
    covered = share >= COVERED_SHARE
    return PointCoverage(
        point,
        covered,
        round(share, 2),
        missing,
        best.start if best is not None and covered else None,
        best.text if best is not None and covered else "",
    )


def _fact_suggestion(action: Action, product: Product, catalog: Catalog, language: str) -> str:
    """What the catalog says instead of the wrong fact, in the take's language."""
    name = product.name(language)
    zh = language == "zh"
    if action.rule is Rule.PRICE or action.rule is Rule.PERCENT or action.rule is Rule.PROMO:
        price = catalog.format_price(product.price)
        if product.promo_active():
            assert product.promo is not None
            promo = catalog.format_price(product.promo.price)
            label = localized(product.promo.label, language)
            if zh:
                return f"请说目录里的价格：{name}{label}价{promo}（原价{price}）。"
            return f"Say the catalog price: {name} is {promo} with the {label} (list price {price})."
        return f"请说目录里的价格：{name}{price}。" if zh else f"Say the catalog price: {name} is {price}."
    if action.rule is Rule.STOCK:
        return (
            f"请说真实库存：还有{product.stock}件。"
            if zh
            else f"Say the real stock: {product.stock} in stock."
        )
    if action.rule is Rule.PROMISE:
        shipping = localized(product.shipping, language)
        return f"只承诺目录里写的：{shipping}" if zh else f"Only promise what the catalog does: {shipping}"
    separator = "；" if zh else "; "
    specs = separator.join(
        f"{localized(s.label, language)}: {localized(s.value, language)}" for s in product.specs
    )
    return f"请用目录里的数字（{specs}）。" if zh else f"Use the catalog's numbers ({specs})."


def _agree(match: re.Match[str]) -> str:
    """ "a"/"an" agreeing with the word after it, once a rewrite changed that word."""
    article = "an" if match.group(2).lower() in "aeiou" else "a"
    if match.group(1).isupper():
        article = article.capitalize()
    return f"{article} {match.group(2)}"


def _word_suggestion(line: str, actions: Sequence[Action], point: str) -> str:
    """A compliant wording: the checker's rewrites applied, blocked terms dropped."""
    text = line
    for action in actions:
        replacement = ""
        if action.fix is Fix.REWRITE and (quoted := re.match(r"replaced with (['\"])(.*)\1$", action.detail)):
            replacement = quoted.group(2)
        text = re.sub(re.escape(action.found), replacement, text, count=1)
    text = re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.!?])", r"\1", text)).strip()
    text = re.sub(r"\b([Aa])n? (\w)", _agree, text)
    zh = is_cjk(line)
    if any(a.rule is Rule.MEDICAL for a in actions):
        # Dropping the claim word leaves a broken sentence; a selling point is a sound replacement.
        if zh:
            return "去掉功效宣称，说产品实际能做什么" + (f"，比如“{point}”。" if point else "。")
        example = f' such as "{point}"' if point else ""
        return f"Drop the health claim and say what the product does{example}."
    if any(a.fix is Fix.BLOCK for a in actions):
        return (
            f"{text}（陈述事实，不用绝对化用语）"
            if zh
            else f"{text} (state the fact without an absolute claim)"
        )
    return text


def coach(
    lines: Sequence[TimedLine],
    product: Product,
    catalog: Catalog,
    checker: ComplianceChecker,
    language: str,
) -> Coaching:
    """Selling-point coverage and flagged lines for a take about ``product``."""
    points = product.selling_points.get(language) or product.selling_points.get("en", ())
    coverage = tuple(point_coverage(p, lines) for p in points)
    flags: list[Flag] = []
    for line in lines:
        result = checker.check(line.text, language, product.id)
        word_actions = [a for a in result.actions if a.rule not in FACT_RULES]
        rewrite = (
            _word_suggestion(line.text, word_actions, points[0] if points else "") if word_actions else ""
        )
        for action in result.actions:
            if action.rule in FACT_RULES:
                flags.append(
                    Flag(
                        "fact",
                        action.rule.value,
                        round(line.start, 2),
                        line.text,
                        action.found,
                        action.detail,
                        _fact_suggestion(action, product, catalog, language),
                    )  # fmt: skip
                )
            else:
                flags.append(
                    Flag(
                        "compliance",
                        action.rule.value,
                        round(line.start, 2),
                        line.text,
                        action.found,
                        action.detail,
                        rewrite,
                    )  # fmt: skip
                )
    return Coaching(product.id, coverage, tuple(flags))
