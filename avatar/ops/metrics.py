"""Prometheus metrics written by hand in the text exposition format (version 0.0.4).

No client library: a show needs a handful of counters, gauges and latency histograms, and the format
is a few lines of text. Collectors are read when ``/metrics`` is scraped, so nothing here runs on
the media path except :meth:`Histogram.observe` (a bisect and two additions).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

# Latency buckets in seconds, from a rendered frame (ms) to a slow model call (s).
LATENCY_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in sorted(labels.items()))
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass
class Histogram:
    """Cumulative-bucket latency histogram (seconds) for one stage."""

    buckets: Sequence[float] = LATENCY_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, seconds: float) -> None:
        """Record one latency."""
        index = bisect.bisect_left(self.buckets, seconds)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += seconds
        self.count += 1

    def lines(self, name: str, labels: dict[str, str]) -> list[str]:
        """Exposition lines: cumulative buckets, +Inf, _sum and _count."""
        out: list[str] = []
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            running += count
            out.append(f"{name}_bucket{_labels({**labels, 'le': _number(bound)})} {running}")
        out.append(f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {self.count}")
        out.append(f"{name}_sum{_labels(labels)} {_number(self.total)}")
        out.append(f"{name}_count{_labels(labels)} {self.count}")
        return out


Sample = tuple[dict[str, str], float]
"""One value of a metric family and its labels."""


@dataclass
class _Family:
    name: str
    kind: str  # counter | gauge
    help: str
    read: Callable[[], Iterable[Sample]]


class Registry:
    """Metric families, read when scraped, rendered as Prometheus text."""

    def __init__(self) -> None:
        self._families: list[_Family] = []
        self._histograms: dict[str, tuple[str, dict[tuple[tuple[str, str], ...], Histogram]]] = {}

    def counter(self, name: str, help: str, read: Callable[[], Iterable[Sample] | float]) -> None:
        """A monotonically increasing value (name should end in ``_total``)."""
        self._families.append(_Family(name, "counter", help, _samples(read)))

    def gauge(self, name: str, help: str, read: Callable[[], Iterable[Sample] | float]) -> None:
        """A value that goes up and down."""
        self._families.append(_Family(name, "gauge", help, _samples(read)))

    def histogram(self, name: str, help: str, **labels: str) -> Histogram:
        """The histogram of ``name`` with these labels (created on first use)."""
        _, by_labels = self._histograms.setdefault(name, (help, {}))
        key = tuple(sorted(labels.items()))
        if key not in by_labels:
            by_labels[key] = Histogram()
        return by_labels[key]

    def render(self) -> str:
        """The whole exposition, newline-terminated."""
        lines: list[str] = []
        for family in self._families:
            lines.append(f"# HELP {family.name} {_escape(family.help)}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for labels, value in family.read():
                lines.append(f"{family.name}{_labels(labels)} {_number(value)}")
        for name, (help, by_labels) in self._histograms.items():
            lines.append(f"# HELP {name} {_escape(help)}")
            lines.append(f"# TYPE {name} histogram")
            for key, histogram in by_labels.items():
                lines.extend(histogram.lines(name, dict(key)))
        return "\n".join(lines) + "\n"


def _samples(read: Callable[[], Iterable[Sample] | float]) -> Callable[[], Iterable[Sample]]:
    def samples() -> Iterable[Sample]:
        value = read()
        if isinstance(value, int | float):
            return [({}, float(value))]
        return value

    return samples


CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
