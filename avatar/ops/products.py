"""What each product earned on air, from the recorded events: time on screen, comments, clicks, viewers.

The show records when the product on screen changes (``on_air``), every accepted comment (with the
product it names, if any, and the product on screen when it arrived), every Buy click and every
viewer's join and leave. From those this module works out, per product, over a window:

* ``on_air_s``: seconds it was the product on screen;
* ``mentions``: comments that name it;
* ``questions``: comments that ask something about it, whether they name it or ask about "this"
  while it is on screen ("这个多少钱？" during the backpack segment counts for the backpack);
* ``clicks`` and ``clicks_per_min``: Buy clicks, and clicks per minute it was on air;
* ``click_through``: clicks per distinct viewer who watched while it was on air;
* ``peak_viewers``, ``avg_viewers`` (time-weighted) and ``unique_viewers`` while it was on air;
* ``comments_per_min``: comments about it per minute on air, by source (``page``, ``twitch`` ...).

Pure functions over plain rows, so the numbers can be checked from a recorded sequence of events.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from avatar.brain.intents import FACT_INTENTS, Intent
from avatar.hygiene import csv_cell
from avatar.ops.audience import watch

QUESTION_INTENTS: Final = frozenset(
    {
        *(i.value for i in FACT_INTENTS),
        Intent.COMPARISON.value,
        Intent.RECOMMENDATION.value,
        Intent.PURCHASE.value,
    }
)
"""Intents that ask about a product (see :func:`is_question` for comments triage could not read)."""
_ASKS: Final = re.compile(r"[?？]|[吗呢么]\s*$")
OFF_AIR: Final = ""
"""The ``on_air`` value while no product is on screen (the show stopped, or a segment has none)."""


def source_of(viewer: str) -> str:
    """Where a comment came from: platform chat is keyed ``platform:user`` (avatar.sources); the
    studio microphone is ``studio``; the viewer page's own ids have no colon."""
    if ":" in viewer:
        return viewer.partition(":")[0]
    return "studio" if viewer == "studio" else "page"


def is_question(intent: str | None, text: str) -> bool:
    """Whether a comment asks something about a product: by its intent, or, when triage could not
    tell (no intent, ``other``), by a question mark or 吗 / 呢 at the end. Greetings, chit-chat
    ("are you real?") and complaints are not questions about the product."""
    if intent in QUESTION_INTENTS:
        return True
    return intent in (None, "", Intent.OTHER.value) and bool(_ASKS.search(text.strip()))


@dataclass(frozen=True)
class CommentRow:
    """One accepted comment as recorded."""

    ts: float
    viewer: str
    text: str
    product: str | None = None
    """The product the comment names (``None``: it names none)."""
    on_air: str | None = None
    """The product on screen when it arrived (``None``: not recorded, found from ``on_air`` rows)."""
    intent: str | None = None


@dataclass
class _Tally:
    on_air_s: float = 0.0
    mentions: int = 0
    questions: int = 0
    comments: int = 0
    clicks: int = 0
    peak: int = 0
    area: float = 0.0
    unique: set[str] = field(default_factory=set)
    by_source: dict[str, int] = field(default_factory=dict)


class _Schedule:
    """Which product was on screen at any moment, from ``(ts, product)`` changes ordered by time."""

    def __init__(self, changes: Sequence[tuple[float, str]]) -> None:
        self.times = [ts for ts, _ in changes]
        self.products = [product for _, product in changes]

    def at(self, ts: float) -> str:
        index = bisect.bisect_right(self.times, ts) - 1
        return self.products[index] if index >= 0 else OFF_AIR


def product_report(
    on_air: Sequence[tuple[float, str]],
    comments: Iterable[CommentRow],
    clicks: Iterable[tuple[float, str]],
    sessions: Iterable[tuple[float, str, str]],
    since: float,
    until: float,
) -> list[dict[str, Any]]:
    """Per-product numbers over ``[since, until)``, most time on air first.

    ``on_air``: ``(ts, product)`` changes ordered by time, including the last one before ``since``
    (it says what was on screen when the window opens); ``OFF_AIR`` while nothing is. ``sessions``:
    ``(ts, viewer, event)`` joins, leaves and show starts ordered by time (events before ``since``
    say who was watching when it opens). Comments and clicks outside the window are ignored.
    """
    schedule = _Schedule(on_air)
    tallies: dict[str, _Tally] = {}

    def tally(product: str) -> _Tally:
        return tallies.setdefault(product, _Tally())

    # Time on air and the audience while on air: one sweep over screen changes and viewer events.
    present: set[str] = set()
    timeline: list[tuple[float, int, str, str]] = [(ts, 0, product, "") for ts, product in on_air]
    timeline += [(ts, 1, viewer, event) for ts, viewer, event in sessions]
    timeline.sort(key=lambda item: (item[0], item[1]))
    current, clock = OFF_AIR, since
    for ts, kind, name, event in timeline:
        if ts >= until:
            break
        if ts > clock and current != OFF_AIR:  # who watched it since the last change
            t = tally(current)
            t.on_air_s += ts - clock
            t.area += len(present) * (ts - clock)
            t.peak = max(t.peak, len(present))
            t.unique |= present
        clock = max(clock, ts)
        if kind == 0:
            current = name
        else:
            watch(present, name, event)
        if ts >= since and current != OFF_AIR:
            t = tally(current)
            t.peak = max(t.peak, len(present))
            t.unique |= present
    if until > clock and current != OFF_AIR:
        t = tally(current)
        t.on_air_s += until - clock
        t.area += len(present) * (until - clock)
        t.peak = max(t.peak, len(present))
        t.unique |= present

    for comment in comments:
        if not since <= comment.ts < until:
            continue
        shown = comment.on_air if comment.on_air is not None else schedule.at(comment.ts)
        about = comment.product or shown
        if not about:
            continue
        t = tally(about)
        t.comments += 1
        source = source_of(comment.viewer)
        t.by_source[source] = t.by_source.get(source, 0) + 1
        if comment.product:
            t.mentions += 1
        if is_question(comment.intent, comment.text):
            t.questions += 1
    for ts, product in clicks:
        if since <= ts < until and product:
            tally(product).clicks += 1

    report: list[dict[str, Any]] = []
    for product, t in tallies.items():
        minutes = t.on_air_s / 60.0
        report.append(
            {
                "product": product,
                "name": product,  # the catalog's name, where the caller knows the catalog
                "on_air_s": round(t.on_air_s, 3),
                "mentions": t.mentions,
                "questions": t.questions,
                "comments": t.comments,
                "clicks": t.clicks,
                "clicks_per_min": round(t.clicks / minutes, 4) if minutes > 0 else None,
                "click_through": round(t.clicks / len(t.unique), 4) if t.unique else None,
                "peak_viewers": t.peak,
                "avg_viewers": round(t.area / t.on_air_s, 3) if t.on_air_s > 0 else 0.0,
                "unique_viewers": len(t.unique),
                "comments_per_min": {
                    source: round(count / minutes, 4) if minutes > 0 else None
                    for source, count in sorted(t.by_source.items())
                },
            }
        )
    report.sort(key=lambda item: (-item["on_air_s"], item["product"]))
    return report


def comments_per_minute(
    comments: Iterable[tuple[float, str]], since: float, until: float, bucket_s: float
) -> list[dict[str, Any]]:
    """``[{t, source, per_min}]``: comments a minute from each source in each bucket of the window,
    from ``(ts, viewer)`` rows (a bucket cut short by the window's end is divided by its real length)."""
    counts: dict[tuple[float, str], int] = {}
    for ts, viewer in comments:
        if since <= ts < until:
            start = int(ts // bucket_s) * bucket_s
            key = (start, source_of(viewer))
            counts[key] = counts.get(key, 0) + 1
    series: list[dict[str, Any]] = []
    for (start, source), count in sorted(counts.items()):
        span = min(start + bucket_s, until) - max(start, since)
        series.append({"t": start, "source": source, "per_min": round(count * 60.0 / span, 4)})
    return series


REPORT_COLUMNS: Final = (
    "product",
    "name",
    "on_air_s",
    "mentions",
    "questions",
    "comments",
    "clicks",
    "clicks_per_min",
    "click_through",
    "peak_viewers",
    "avg_viewers",
    "unique_viewers",
)


def report_csv(report: Sequence[dict[str, Any]]) -> str:
    """:func:`product_report` as CSV: one row per product, then one ``comments_per_min_<source>``
    column per source seen (empty where a product was never on air)."""
    sources = sorted({source for item in report for source in item["comments_per_min"]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REPORT_COLUMNS, *(f"comments_per_min_{source}" for source in sources)])
    for item in report:
        rates = item["comments_per_min"]
        row = [item[column] for column in REPORT_COLUMNS] + [rates.get(source, 0.0) for source in sources]
        # A product id or source name must not run as a formula in the spreadsheet.
        writer.writerow([csv_cell("" if value is None else value) for value in row])
    return out.getvalue()


def rates_csv(series: Sequence[dict[str, Any]]) -> str:
    """:func:`comments_per_minute` as CSV: ``t`` (unix seconds), ``source``, ``per_min``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["t", "source", "per_min"])
    for point in series:
        writer.writerow([point["t"], csv_cell(point["source"]), point["per_min"]])
    return out.getvalue()
