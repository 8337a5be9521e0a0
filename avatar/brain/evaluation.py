"""Evaluation: run a question set through the answerer and score it against the catalog.

A case names a question, the product on screen, the product the answer must be about, the catalog
fields whose values it must say, what it must never say, and optionally the intent. The expected
values are computed here from the catalog (never typed into the case file), so a price change in
``products.yaml`` cannot leave the eval set stale. ``avatar eval`` and the unit tests run the same
:func:`run_eval`.

Scores:

- **grounded accuracy**: the share of cases whose answer is about the expected product, has the
  expected intent, says every expected fact, says nothing forbidden, and has no violation;
- **hallucination rate**: the share of answers with a number that appears nowhere in the catalog
  or a money amount that is no product's price (checked independently of the compliance module);
- **violations**: answers whose final text still fails a fresh compliance check, or that say
  something the case forbids.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from avatar.brain.answerer import Answer, Answerer
from avatar.brain.brain import Brain
from avatar.brain.catalog import Catalog, FieldReader, localized, read_yaml, sub
from avatar.brain.compliance import MAX_TOTAL_COUNT, ComplianceChecker, says_total, totals
from avatar.brain.intents import Intent
from avatar.brain.scene import Scene
from avatar.brain.semantic import Embedder, default_embedder

__all__ = [
    "expected_value",
    "CASES_FILE",
    "MIN_ACCURACY",
    "CaseResult",
    "EvalCase",
    "EvalReport",
    "EvalSet",
    "load_cases",
    "run_eval",
]

CASES_FILE: Final = "eval.yaml"
MIN_ACCURACY: Final = 0.95  # below this `avatar eval` fails


class _Unset:
    """``expect_product`` left out: the product is not checked (null means "no product")."""


UNSET: Final = _Unset()
_FIELDS = ("name", "price", "promo_price", "current_price", "promo_label", "stock", "shipping", "unit")
_INDEXED = ("spec", "point", "faq")  # spec:<key>, point:<n>, faq:<n> (n from 1)
_VARIANT_FIELDS = ("variant", "variant_price", "variant_stock")  # <field>:<sku>
# How an answer says plainly that the catalog does not state something (expect_unknown).
_ADMITS = re.compile(
    r"don'?t say|doesn'?t say|not (?:stated|listed|say)|won'?t guess|no (?:\w+ )?details|don'?t have that"
    r"|没有写|资料里没有|没有资料|不乱说|没有提到|不清楚",
    re.IGNORECASE,
)
# How an answer says a stock of 0: in words, the way a host would, not as the number.
_SOLD_OUT = re.compile(r"sold out|out of stock|none left|售罄|卖完|卖光|没货|缺货", re.IGNORECASE)


@dataclass(frozen=True)
class EvalCase:
    """One question and what its answer must (and must not) contain."""

    field: str  # where it is in the file ("cases[3]"), for reports
    question: str
    on_screen: str | None
    expect_product: str | None | _Unset
    expect_facts: tuple[str, ...]  # field names, each optionally "@product-id"
    must_not_say: tuple[re.Pattern[str], ...]
    expect_intent: str | None
    tags: tuple[str, ...]
    must_say: tuple[re.Pattern[str], ...] = ()
    expect_unknown: bool = False
    turns: tuple[EvalCase, ...] = ()  # a multi-turn case: these, in order, by one viewer


@dataclass(frozen=True)
class EvalSet:
    """A loaded question set: its cases and the moment promos are judged at."""

    source: Path
    cases: tuple[EvalCase, ...]
    now: datetime | None  # None: the real clock


@dataclass
class CaseResult:
    """What the answerer said to one case and everything wrong with it."""

    case: EvalCase
    answer: Answer
    ms: float
    problems: list[str] = field(default_factory=list)  # missed product, intent or fact
    hallucinations: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def grounded(self) -> bool:
        """True when the answer is right, complete and clean."""
        return not (self.problems or self.hallucinations or self.violations)


@dataclass
class EvalReport:
    """The scores of one run (see the module docstring) and the cases that failed."""

    results: list[CaseResult]

    @property
    def grounded_accuracy(self) -> float:
        """Share of cases answered right, completely and cleanly."""
        return sum(r.grounded for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def hallucination_rate(self) -> float:
        """Share of answers with a number or amount the catalog does not ground."""
        return sum(bool(r.hallucinations) for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def violations(self) -> int:
        """Answers that fail a fresh compliance check or say what their case forbids."""
        return sum(bool(r.violations) for r in self.results)

    @property
    def passed(self) -> bool:
        """True when ``avatar eval`` should exit 0."""
        return self.grounded_accuracy >= MIN_ACCURACY and self.violations == 0

    def per_intent(self) -> dict[str, dict[str, float]]:
        """Accuracy per expected intent (cases without one under "unlabelled")."""
        groups: dict[str, list[bool]] = {}
        for r in self.results:
            groups.setdefault(r.case.expect_intent or "unlabelled", []).append(r.grounded)
        return {
            intent: {"cases": len(marks), "accuracy": round(sum(marks) / len(marks), 4)}
            for intent, marks in sorted(groups.items())
        }

    def confusion(self) -> dict[str, dict[str, int]]:
        """Expected intent -> intent answered -> count, for cases that name an intent."""
        table: dict[str, dict[str, int]] = {}
        for r in self.results:
            if r.case.expect_intent is not None:
                row = table.setdefault(r.case.expect_intent, {})
                row[r.answer.intent] = row.get(r.answer.intent, 0) + 1
        return table

    def as_dict(self) -> dict[str, Any]:
        """The JSON report ``avatar eval`` prints."""
        times = sorted(r.ms for r in self.results)
        return {
            "cases": len(self.results),
            "grounded_accuracy": round(self.grounded_accuracy, 4),
            "hallucination_rate": round(self.hallucination_rate, 4),
            "violations": self.violations,
            "interventions": sum(bool(r.answer.compliance) for r in self.results),
            "answer_ms": {
                "p50": round(statistics.median(times), 3) if times else None,
                "p95": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 3)
                if times
                else None,
                "max": round(times[-1], 3) if times else None,
            },
            "per_intent": self.per_intent(),
            "confusion": self.confusion(),
            "not_stated": [
                {"question": r.case.question[:120], "answer": r.answer.text}
                for r in self.results
                if _ADMITS.search(r.answer.text)
            ],
            "failures": [
                {
                    "case": r.case.field,
                    "question": r.case.question[:200],
                    "on_screen": r.case.on_screen,
                    "answer": r.answer.text,
                    "intent": r.answer.intent,
                    "product": r.answer.product_id,
                    "problems": r.problems + r.hallucinations + r.violations,
                }
                for r in self.results
                if not r.grounded
            ],
        }


# --- the case file -----------------------------------------------------------------------------

_CASE_KEYS = (
    "on_screen",
    "expect_product",
    "expect_facts",
    "must_not_say",
    "must_say",
    "expect_intent",
    "expect_unknown",
    "tags",
)


def load_cases(path: Path, catalog: Catalog) -> EvalSet:
    """Load and validate a question set (``now:`` and ``cases:``, see ``scenes/demo/eval.yaml``).

    Every product id, intent, fact field and pattern is checked against ``catalog`` here, so a
    typo fails with ``file: field: problem`` instead of counting as a wrong answer.
    """
    path = Path(path).absolute()
    reader = FieldReader(path)
    raw = reader.mapping(read_yaml(path), "", required=("cases",), optional=("now",))
    now = reader.timestamp(raw["now"], "now") if raw.get("now") is not None else None
    items = reader.sequence(raw["cases"], "cases")
    if not items:
        reader.fail("cases", "the question set is empty")
    cases = tuple(_read_case(reader, item, sub("cases", i), catalog) for i, item in enumerate(items))
    return EvalSet(path, cases, now)


def _product_id(reader: FieldReader, value: object, where: str, catalog: Catalog) -> str:
    product_id = reader.text(value, where)
    if product_id not in catalog:
        known = ", ".join(p.id for p in catalog.products)
        reader.fail(where, f"unknown product {product_id!r} (products: {known})")
    return product_id


def _read_case(reader: FieldReader, value: object, where: str, catalog: Catalog) -> EvalCase:
    raw = reader.mapping(value, where, required=(), optional=("question", "turns", *_CASE_KEYS))
    if raw.get("turns") is not None:
        if "question" in raw:
            reader.fail(sub(where, "question"), "a case has either a question or turns, not both")
        items = reader.sequence(raw["turns"], sub(where, "turns"))
        if not items:
            reader.fail(sub(where, "turns"), "needs at least one turn")
        read = [_read_case(reader, t, sub(sub(where, "turns"), i), catalog) for i, t in enumerate(items)]
        for i, item in enumerate(items):
            if i and isinstance(item, dict) and "on_screen" not in item:
                # A follow-up a moment later: the same product is still on screen (as in a show).
                read[i] = replace(read[i], on_screen=read[i - 1].on_screen)
        turns = tuple(read)
        if any(t.turns for t in turns):
            reader.fail(sub(where, "turns"), "turns cannot hold turns")
        last = turns[-1]
        return replace(last, field=where, turns=turns, tags=_patterns_tags(reader, raw, where))
    if "question" not in raw or not isinstance(raw["question"], str):
        reader.fail(sub(where, "question"), "expected the question as text (it may be empty)")
    question = raw["question"]
    on_screen = (
        _product_id(reader, raw["on_screen"], sub(where, "on_screen"), catalog)
        if raw.get("on_screen") is not None
        else None
    )
    expect_product: str | None | _Unset = UNSET
    if "expect_product" in raw:
        expect_product = (
            None
            if raw["expect_product"] is None
            else _product_id(reader, raw["expect_product"], sub(where, "expect_product"), catalog)
        )
    intent = None
    if raw.get("expect_intent") is not None:
        intent = reader.text(raw["expect_intent"], sub(where, "expect_intent"))
        if intent not in {i.value for i in Intent}:
            reader.fail(
                sub(where, "expect_intent"), f"unknown intent; one of {', '.join(i.value for i in Intent)}"
            )
    facts = reader.texts(raw["expect_facts"], sub(where, "expect_facts")) if raw.get("expect_facts") else ()
    for i, fact in enumerate(facts):
        problem = _fact_problem(fact, expect_product, catalog)
        if problem is not None:
            reader.fail(sub(sub(where, "expect_facts"), i), problem)
    unknown = raw.get("expect_unknown", False)
    if not isinstance(unknown, bool):
        reader.fail(sub(where, "expect_unknown"), "expected true or false")
    return EvalCase(
        where,
        question,
        on_screen,
        expect_product,
        facts,
        _patterns(reader, raw.get("must_not_say"), sub(where, "must_not_say")),
        intent,
        _patterns_tags(reader, raw, where),
        must_say=_patterns(reader, raw.get("must_say"), sub(where, "must_say")),
        expect_unknown=unknown,
    )


def _patterns_tags(reader: FieldReader, raw: dict[str, object], where: str) -> tuple[str, ...]:
    return reader.texts(raw["tags"], sub(where, "tags")) if raw.get("tags") else ()


def _patterns(reader: FieldReader, value: object, where: str) -> tuple[re.Pattern[str], ...]:
    """Text (matched literally) or ``{regex: ...}`` items, case-insensitive."""
    patterns = []
    for i, item in enumerate(reader.sequence(value, where) if value else []):
        spot = sub(where, i)
        if isinstance(item, dict):
            entry = reader.mapping(item, spot, required=("regex",), optional=())
            try:
                patterns.append(re.compile(reader.text(entry["regex"], sub(spot, "regex")), re.IGNORECASE))
            except re.error as exc:
                reader.fail(sub(spot, "regex"), f"not a regular expression: {exc}")
        else:
            patterns.append(re.compile(re.escape(reader.text(str(item), spot)), re.IGNORECASE))
    return tuple(patterns)


def _split(fact: str) -> tuple[str, str | None]:
    name, _, product_id = fact.partition("@")
    return name, product_id or None


def _fact_problem(fact: str, expect_product: str | None | _Unset, catalog: Catalog) -> str | None:
    name, product_id = _split(fact)
    product_id = product_id or (expect_product if isinstance(expect_product, str) else None)
    if product_id is None:
        return f"{fact!r}: say which product (expect_product, or {name}@<product-id>)"
    if product_id not in catalog:
        return f"{fact!r}: unknown product {product_id!r}"
    product = catalog.get(product_id)
    kind, _, arg = name.partition(":")
    if kind in _FIELDS and not arg:
        if kind in ("promo_price", "promo_label") and product.promo is None:
            return f"{fact!r}: {product_id} has no promo"
        if kind == "shipping" and not product.shipping:
            return f"{fact!r}: {product_id} has no shipping text"
        return None
    if kind == "spec" and product.spec(arg) is None:
        return f"{fact!r}: {product_id} has no spec {arg!r}"
    if kind == "safety" and product.safety_fact(arg) is None:
        return f"{fact!r}: {product_id} has no safety entry {arg!r}"
    if kind in _VARIANT_FIELDS:
        variant = product.variant(arg)
        if variant is None:
            return f"{fact!r}: {product_id} has no variant with SKU {arg!r}"
        if kind == "variant_stock" and variant.stock is None:
            return f"{fact!r}: variant {arg!r} has no stock of its own"
        return None
    if kind == "offer":
        if not arg.isdigit() or not 1 <= int(arg) <= len(product.offers):
            return f"{fact!r}: {product_id} has {len(product.offers)} offers"
        return None
    if kind == "unit" and not product.unit:
        return f"{fact!r}: {product_id} has no unit"
    if kind in ("point", "faq"):
        count = (
            len(product.faq)
            if kind == "faq"
            else max((len(v) for v in product.selling_points.values()), default=0)
        )
        if not arg.isdigit() or not 1 <= int(arg) <= count:
            return f"{fact!r}: {product_id} has {count} {'FAQs' if kind == 'faq' else 'selling points'}"
        return None
    if kind in _INDEXED or kind == "safety":
        return None
    return (
        f"{fact!r}: unknown field; use {', '.join(_FIELDS)}, spec:<key>, safety:<key>, point:<n>, faq:<n>, "
        "offer:<n>, variant:<sku>, variant_price:<sku> or variant_stock:<sku>"
    )


def expected_value(
    fact: str, default_product: str | None, catalog: Catalog, lang: str, now: datetime | None
) -> str:
    """The text a fact field has in the catalog, as an answer in ``lang`` would say it."""
    name, product_id = _split(fact)
    product = catalog.get(product_id or str(default_product))
    kind, _, arg = name.partition(":")
    if kind == "name":
        return product.name(lang)
    if kind == "price":
        return catalog.format_price(product.price)
    if kind == "promo_price" and product.promo is not None:
        return catalog.format_price(product.promo.price)
    if kind == "current_price":
        return catalog.format_price(product.current_price(now))
    if kind == "promo_label" and product.promo is not None:
        return localized(product.promo.label, lang)
    if kind == "stock":
        return str(product.stock)
    if kind == "shipping":
        return _clause(localized(product.shipping, lang))
    if kind in ("spec", "safety"):
        spec = product.spec(arg) if kind == "spec" else product.safety_fact(arg)
        return _clause(localized(spec.value, lang)) if spec else ""
    if kind in _VARIANT_FIELDS:
        variant = product.variant(arg)
        assert variant is not None  # load_cases checked it
        if kind == "variant":
            return variant.name(lang)
        if kind == "variant_price":
            return catalog.format_price(variant.price or product.price)
        return str(variant.stock)
    if kind == "offer":
        return _clause(localized(product.offers[int(arg) - 1], lang))
    if kind == "unit":
        return product.unit_word(lang)
    if kind == "point":
        points = product.selling_points.get(lang) or product.selling_points.get("en") or ()
        return _clause(points[int(arg) - 1])
    if kind == "faq":
        return _clause(localized(product.faq[int(arg) - 1].answer, lang))
    raise ValueError(f"unknown fact field {fact!r}")  # load_cases rejected it already


def _clause(text: str) -> str:
    return text.strip().rstrip(".!?。！？")


# --- what the catalog can ground ---------------------------------------------------------------

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MONEY = re.compile(r"[$¥€£]\s?(\d[\d,]*(?:\.\d+)?)")


def _grounding(catalog: Catalog, now: datetime | None) -> tuple[set[Decimal], set[Decimal]]:
    """Every number the catalog states, and every amount that is a price (or a promo's saving)."""
    numbers: set[Decimal] = set()
    money: set[Decimal] = set()
    for product in catalog.products:
        for text in product.texts():
            numbers |= {Decimal(n.replace(",", "")) for n in _NUMBER.findall(text)}
            money |= {Decimal(n.replace(",", "")) for n in _MONEY.findall(text)}  # "free over $50"
        numbers |= {product.price, Decimal(product.stock)}
        money.add(product.price)
        for variant in product.variants:
            if variant.price is not None:
                numbers.add(variant.price)
                money.add(variant.price)
            if variant.stock is not None:
                numbers.add(Decimal(variant.stock))
        if product.promo is not None:
            numbers.add(product.promo.price)
            if product.promo.active(now):
                money |= {product.promo.price, product.price - product.promo.price}
            if product.promo.ends_at is not None:
                end = product.promo.ends_at
                numbers |= {Decimal(end.year), Decimal(end.month), Decimal(end.day)}
    return numbers, money


# --- running ---------------------------------------------------------------------------------


def run_eval(
    scene: Scene,
    cases: EvalSet,
    answerer: Answerer | None = None,
    rephrase: Callable[[Answer], Answer] | None = None,
    embedder: Embedder | None | Literal["bundled"] = "bundled",
) -> EvalReport:
    """Ask every case through the live show's answer path and score it (module docstring).

    The :class:`~avatar.brain.brain.Brain` (understanding, the viewer's memory, the catalog answer
    and the compliance check) runs at ``cases.now`` (the real clock when the file gives none); each
    case is a new viewer, and a multi-turn case's turns come from one viewer a few seconds apart.
    ``rephrase`` (``avatar eval --llm``) words each answer with a model behind the fact lock before
    it is scored, so the score is of what the host would say with it on. ``embedder``: the
    meaning matcher (default: the bundled one the live show uses; None: words only).
    """
    now = cases.now
    clock = (lambda: now) if now is not None else None
    brain = Brain(
        scene,
        now=clock,
        answerer=answerer or Answerer(scene, now=clock),
        embedder=default_embedder() if embedder == "bundled" else embedder,
    )
    brain.warm(background=False)  # every question meets the whole index, as it does in a warm show
    recheck = ComplianceChecker.for_scene(scene, now=clock)
    numbers, money = _grounding(scene.catalog, now)
    brain.respond("warm-up", None)  # first-call caches (name tables) are not what a viewer waits for
    results = []
    for number, case in enumerate(cases.cases):
        viewer, at = f"eval-{number}", number * 1_000.0
        turns = case.turns or (case,)
        turn_results = []
        for step, turn in enumerate(turns):
            started = time.perf_counter()
            answer = brain.respond(turn.question, turn.on_screen, viewer, at + 5.0 * step)
            if rephrase is not None:
                answer = rephrase(answer)
            ms = (time.perf_counter() - started) * 1000
            turn_results.append(_score(turn, answer, ms, scene.catalog, now, numbers, money, recheck))
        result = turn_results[-1]
        if len(turn_results) > 1:
            result = CaseResult(case, result.answer, result.ms)
            for step, turn_result in enumerate(turn_results):
                prefix = f"turn {step + 1}: "
                result.problems += [prefix + p for p in turn_result.problems]
                result.hallucinations += [prefix + p for p in turn_result.hallucinations]
                result.violations += [prefix + p for p in turn_result.violations]
        results.append(result)
    return EvalReport(results)


def _says(fact: str, value: str, text: str, default: str | None, catalog: Catalog, lang: str) -> bool:
    """Whether ``text`` says the fact's ``value``; a stock of 0 may be said as "sold out" (of that
    option, when the fact is an option's stock)."""
    if value.lower() in text.lower():
        return True
    kind = fact.partition(":")[0].partition("@")[0]
    if value != "0" or kind not in ("stock", "variant_stock") or _SOLD_OUT.search(text) is None:
        return False
    if kind == "stock":
        return True
    option = expected_value(fact.replace("variant_stock", "variant", 1), default, catalog, lang, None)
    return option.lower() in text.lower()


def _score(
    case: EvalCase,
    answer: Answer,
    ms: float,
    catalog: Catalog,
    now: datetime | None,
    numbers: set[Decimal],
    money: set[Decimal],
    recheck: ComplianceChecker,
) -> CaseResult:
    result = CaseResult(case, answer, ms)
    text = answer.text
    if not isinstance(case.expect_product, _Unset) and answer.product_id != case.expect_product:
        result.problems.append(f"product {answer.product_id!r}, expected {case.expect_product!r}")
    if case.expect_intent is not None and answer.intent != case.expect_intent:
        result.problems.append(f"intent {answer.intent!r}, expected {case.expect_intent!r}")
    default = case.expect_product if isinstance(case.expect_product, str) else None
    for fact in case.expect_facts:
        value = expected_value(fact, default, catalog, answer.language, now)
        if not _says(fact, value, text, default, catalog, answer.language):
            result.problems.append(f"does not say {fact} ({value!r})")
    result.problems += [f"does not say {p.pattern!r}" for p in case.must_say if not p.search(text)]
    if case.expect_unknown and not _ADMITS.search(text):
        result.problems.append("does not say plainly that the catalog does not state it")

    if says_total(text):  # "2 come to $139.98 in total": a count and a sum of catalog prices
        money = money | totals(money)
        numbers = numbers | money | set(map(Decimal, range(2, MAX_TOTAL_COUNT + 1)))
    for found in _NUMBER.findall(text):
        if Decimal(found.replace(",", "")) not in numbers:
            result.hallucinations.append(f"number {found} is not in the catalog")
    for found in _MONEY.findall(text):
        if Decimal(found.replace(",", "")) not in money:
            result.hallucinations.append(f"amount {found} is no price in the catalog")

    checked = recheck.check(text, answer.language, answer.product_id)
    result.violations += [f"compliance: {a.rule.value} {a.found!r} ({a.detail})" for a in checked.actions]
    result.violations += [f"said {p.pattern!r}" for p in case.must_not_say if p.search(text)]
    return result
