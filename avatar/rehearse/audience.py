"""The simulated audience: viewer-style questions at intervals, and whether the host answered them.

Questions come from the product's FAQ and from the intents viewers ask most (price, a spec, stock),
in a fixed order so a recorded take can be planned against them. A question is asked at
``first_s`` into the take and every ``every_s`` after; the host's answer is what they say from
then until the next question (at most ``answer_window_s``). An answer is correct when it states the
catalog's numbers (for a price, the current or list price) or enough of the catalog answer's key
terms, and no fact in it contradicts the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from avatar.brain.catalog import Catalog, Product, localized
from avatar.brain.compliance import ComplianceChecker
from avatar.rehearse.coaching import FACT_RULES, key_terms
from avatar.rehearse.timed import TimedLine, is_cjk

__all__ = ["Answer", "AudienceSchedule", "Question", "questions_for", "score_answers"]

TERMS_NEEDED: Final = 0.34  # share of the catalog answer's key terms an answer must say
_MONEY = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class AudienceSchedule:
    """When the audience asks: the first question, the interval, and how long an answer may take."""

    first_s: float = 15.0
    every_s: float = 20.0
    answer_window_s: float = 20.0

    def times(self, take_s: float, count: int) -> list[float]:
        """Times of the questions that fall inside a take of ``take_s`` seconds."""
        out: list[float] = []
        at = self.first_s
        while at < take_s and len(out) < count:
            out.append(at)
            at += self.every_s
        return out


@dataclass(frozen=True)
class Question:
    """A viewer question with what a correct answer must contain."""

    text: str
    answer: str  # the catalog answer, shown to the host afterwards
    numbers: tuple[str, ...]  # any one of these said makes the numbers right (empty: none needed)
    terms: tuple[str, ...]  # key terms of the catalog answer


@dataclass(frozen=True)
class Answer:
    """How the host did on one question."""

    question: str
    asked_at_s: float
    said: str
    verdict: str  # "correct", "wrong" (a fact contradicts the catalog), "incomplete", "unanswered"
    expected: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group(0) for m in _MONEY.finditer(text)))


def questions_for(product: Product, catalog: Catalog, language: str) -> list[Question]:
    """The questions viewers would ask about ``product``, in the order the audience asks them."""
    zh = language == "zh"
    name = product.name(language)
    price = catalog.format_price(product.current_price())
    prices = tuple(
        str(p.normalize()) if p == p.to_integral() else f"{p:.2f}"
        for p in {product.price, product.current_price()}
    )
    price_q = Question(
        "这个多少钱？" if zh else f"How much is the {name}?",
        (f"{name}现在{price}" if zh else f"The {name} is {price} right now."),
        prices,
        (),
    )
    faq = [
        Question(
            localized(f.question, language),
            localized(f.answer, language),
            _numbers(localized(f.answer, language)),
            key_terms(localized(f.answer, language)),
        )  # fmt: skip
        for f in product.faq
    ]
    specs = []
    if product.specs:
        spec = product.specs[0]
        label, value = localized(spec.label, language), localized(spec.value, language)
        specs.append(
            Question(
                f"{label}怎么样？" if zh else f"What about the {label.lower()}?",
                f"{label}：{value}" if zh else f"{label}: {value}.",
                _numbers(value)[:1],
                key_terms(value),
            )
        )
    stock = Question(
        "还有货吗？" if zh else "How many are left?",
        f"现货{product.stock}件" if zh else f"{product.stock} in stock.",
        (str(product.stock),),
        (),
    )
    return [price_q, *faq[:1], *specs, *faq[1:], stock]


def _window(lines: Sequence[TimedLine], start: float, end: float) -> list[TimedLine]:
    return [
        line
        for line in lines
        if start <= (line.start + line.end) / 2 < end or (line.start >= start and line.start < end)
    ]


def score_answers(
    lines: Sequence[TimedLine],
    questions: Sequence[Question],
    asked_at: Sequence[float],
    product: Product,
    checker: ComplianceChecker,
    language: str,
    schedule: AudienceSchedule,
    take_s: float,
) -> list[Answer]:
    """Score the host's reply to each asked question (``asked_at[i]`` is when ``questions[i]`` came)."""
    answers: list[Answer] = []
    for i, (question, at) in enumerate(zip(questions, asked_at, strict=False)):
        until = min(at + schedule.answer_window_s, asked_at[i + 1] if i + 1 < len(asked_at) else take_s + 1.0)
        said_lines = _window(lines, at, until)
        said = " ".join(line.text for line in said_lines)
        if not said.strip():
            answers.append(
                Answer(
                    question.text,
                    at,
                    "",
                    "unanswered",
                    question.answer,
                    "nothing was said after the question",
                )
            )
            continue
        wrong = [
            a
            for line in said_lines
            for a in checker.check(line.text, language, product.id).actions
            if a.rule in FACT_RULES
        ]
        if wrong:
            found = ", ".join(a.found for a in wrong)
            answers.append(
                Answer(question.text, at, said, "wrong", question.answer, f"{found}: {wrong[0].detail}")
            )
            continue
        said_numbers = set(_numbers(said))
        if question.numbers and not said_numbers & set(question.numbers):
            answers.append(
                Answer(
                    question.text,
                    at,
                    said,
                    "incomplete",
                    question.answer,
                    f"did not say {' or '.join(question.numbers)}",
                )
            )
            continue
        if question.terms and not question.numbers:
            heard = set(key_terms(said)) if not is_cjk(said) else set(key_terms(said))
            share = sum(t in heard for t in question.terms) / len(question.terms)
            if share < TERMS_NEEDED:
                answers.append(
                    Answer(
                        question.text,
                        at,
                        said,
                        "incomplete",
                        question.answer,
                        "the answer missed what the catalog says",
                    )
                )
                continue
        answers.append(Answer(question.text, at, said, "correct", question.answer, "matches the catalog"))
    return answers
