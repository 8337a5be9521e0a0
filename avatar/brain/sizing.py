"""Which option fits a viewer's own measure: "my baby weighs 10 kg, what size?", "我脚长25厘米穿几码",
"im 6'4 which sleeping bag".

The catalog states what each option is for in its own words: in the option's name ("M (6-11 kg)",
"NB码（5公斤以内）") or in a spec that names the options ("Regular up to 6 ft (183 cm), Long up to
6 ft 6 in (198 cm)", "脚长：36码22.5厘米，38码24厘米…"). Both are read into ranges of one kind of
measure (weight in kg, length in cm), and the viewer's measure is matched against them. Nothing is
inferred beyond what the catalog states: an option with no stated range is never suggested.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from avatar.brain.catalog import Product
from avatar.brain.knowledge import option_words

__all__ = ["Measure", "fitting_options", "viewer_measures"]


@dataclass(frozen=True)
class Measure:
    """A weight in kg, a length in cm, a volume in litres or an age in years."""

    kind: str  # "kg", "cm", "l" or "age"
    value: float


@dataclass(frozen=True)
class _Range:
    kind: str
    low: float
    high: float


_NUMBER = r"(\d+(?:\.\d+)?)"
# Units to (kind, factor to the base unit). Longest spellings first so "kgs" wins over "kg".
_UNITS: dict[str, tuple[str, float]] = {
    "kilograms": ("kg", 1.0),
    "kilos": ("kg", 1.0),
    "kgs": ("kg", 1.0),
    "kg": ("kg", 1.0),
    "公斤": ("kg", 1.0),
    "千克": ("kg", 1.0),
    "斤": ("kg", 0.5),
    "pounds": ("kg", 0.4536),
    "lbs": ("kg", 0.4536),
    "lb": ("kg", 0.4536),
    "centimeters": ("cm", 1.0),
    "centimetres": ("cm", 1.0),
    "cm": ("cm", 1.0),
    "厘米": ("cm", 1.0),
    "公分": ("cm", 1.0),
    "inches": ("cm", 2.54),
    "inch": ("cm", 2.54),
    "in": ("cm", 2.54),
    "米": ("cm", 100.0),
    "m": ("cm", 100.0),
    # Volumes ("tanks 10-25 gal", "my tank is 20 gallons", "50升的鱼缸").
    "gallons": ("l", 3.785),
    "gallon": ("l", 3.785),
    "gal": ("l", 3.785),
    "加仑": ("l", 3.785),
    "liters": ("l", 1.0),
    "litres": ("l", 1.0),
    "升": ("l", 1.0),
    # Ages, which options are often for ("1/2 for ages 5-8", "适合5-8岁"); "孩子7岁".
    "岁": ("age", 1.0),
    "years old": ("age", 1.0),
    "year old": ("age", 1.0),
    "yrs old": ("age", 1.0),
    "yr old": ("age", 1.0),
    "yo": ("age", 1.0),
}
_UNIT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_AFTER = r"(?![a-z])"
_FEET = re.compile(
    r"(?<![\d.])(\d)\s*(?:'|’|ft|feet|foot)\s*(?:(\d{1,2})\s*(?:\"|”|in|inches)?)?", re.IGNORECASE
)
_AMOUNT = re.compile(rf"(?<![\d.]){_NUMBER}\s*({_UNIT}){_AFTER}", re.IGNORECASE)
_SPAN = re.compile(
    rf"(?<![\d.]){_NUMBER}\s*(?:{_UNIT})?\s*(?:-|–|~|～|to|到|至)\s*{_NUMBER}\s*({_UNIT}){_AFTER}",
    re.IGNORECASE,
)
_UP_TO = re.compile(
    rf"(?:up to|under|below|max(?:imum)?|不超过|以下)\s*{_NUMBER}\s*({_UNIT}){_AFTER}", re.IGNORECASE
)
_AT_MOST_ZH = re.compile(rf"{_NUMBER}\s*({_UNIT})\s*(?:以内|以下|之内)")
_AT_LEAST = re.compile(rf"{_NUMBER}\s*({_UNIT})\s*(?:\+|以上|and up|or more)", re.IGNORECASE)
# "for ages 5-8": the unit before the numbers.
_AGES = re.compile(rf"\bages?\s+{_NUMBER}\s*(?:-|–|to)\s*{_NUMBER}", re.IGNORECASE)


def _base(number: str, unit: str) -> Measure:
    kind, factor = _UNITS[unit.lower()] if unit.lower() in _UNITS else _UNITS[unit]
    return Measure(kind, float(number) * factor)


def viewer_measures(text: str) -> list[Measure]:
    """The weights, lengths and ages a viewer states ("10 kg", "6'4", "1.8米", "120斤", "7岁")."""
    found: list[Measure] = []
    for match in _FEET.finditer(text):
        found.append(Measure("cm", int(match.group(1)) * 30.48 + int(match.group(2) or 0) * 2.54))
    rest = _FEET.sub(" ", text)
    for match in _AMOUNT.finditer(rest):
        measure = _base(match.group(1), match.group(2))
        if match.group(2).lower() in ("m", "米") and measure.value > 300:
            continue  # "500m" is a distance, not a body or bed
        found.append(measure)
    return found


def _ranges(text: str) -> list[_Range]:
    """The ranges and points a piece of catalog text states, in base units."""
    found: list[_Range] = []
    taken: list[tuple[int, int]] = []

    def free(match: re.Match[str]) -> bool:
        return all(match.end() <= start or match.start() >= end for start, end in taken)

    for match in _FEET.finditer(text):
        cm = int(match.group(1)) * 30.48 + int(match.group(2) or 0) * 2.54
        before = text[max(0, match.start() - 8) : match.start()].lower()
        floor = 0.0 if re.search(r"up to|under|至|以内", before) else cm
        found.append(_Range("cm", floor, cm))
        taken.append(match.span())
    for match in _AGES.finditer(text):
        found.append(_Range("age", float(match.group(1)), float(match.group(2))))
        taken.append(match.span())
    for pattern in (_SPAN, _UP_TO, _AT_MOST_ZH, _AT_LEAST, _AMOUNT):
        for match in pattern.finditer(text):
            if not free(match):
                continue
            taken.append(match.span())
            if pattern is _SPAN:
                start, stop = _base(match.group(1), match.group(3)), _base(match.group(2), match.group(3))
                found.append(_Range(start.kind, start.value, stop.value))
            elif pattern in (_UP_TO, _AT_MOST_ZH):
                most = _base(match.group(1), match.group(2))
                found.append(_Range(most.kind, 0.0, most.value))
            elif pattern is _AT_LEAST:
                least = _base(match.group(1), match.group(2))
                found.append(_Range(least.kind, least.value, math.inf))
            else:
                point = _base(match.group(1), match.group(2))
                found.append(_Range(point.kind, point.value, point.value))
    return found


def _mentions(text: str, word: str) -> list[int]:
    if word.isascii():
        return [
            m.start()
            for m in re.finditer(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text, re.IGNORECASE)
        ]
    return [m.start() for m in re.finditer(re.escape(word), text)]


def _option_ranges(product: Product) -> dict[str, list[_Range]]:
    """Per option SKU: the ranges its name states, else those a spec states right after naming it."""
    table: dict[str, list[_Range]] = {}
    for option in product.variants:
        # Only a range in a name is what the option is for ("M (6-11 kg)"); a single measure is
        # the option's own size ("150×200厘米" is the quilt, not the bed it fits).
        own = [r for name in option.names.values() for r in _ranges(name) if r.low < r.high]
        if own:
            table[option.sku] = own
    if table:
        return table
    for spec in product.specs:
        for value in spec.value.values():
            # A size chart: the stretch of the value from one option's mention to the next (and
            # no further than _NEAR characters) is about that option. Only a value that gives two
            # or more options their own measure is a chart ("fits wrists 15-20 cm" after naming
            # the 20 mm strap is about every strap).
            starts = sorted(
                (position, option.sku)
                for option in product.variants
                for word in option_words(option)
                for position in _mentions(value, word)
            )
            found: dict[str, list[_Range]] = {}
            for index, (position, sku) in enumerate(starts):
                end = next((p for p, other in starts[index + 1 :] if other != sku), len(value))
                ranges = _ranges(value[position : min(end, position + _NEAR)])
                if ranges:
                    found.setdefault(sku, []).extend(ranges)
            if len(found) >= 2:
                for sku, ranges in found.items():
                    table.setdefault(sku, []).extend(ranges)
    return table


_NEAR = 40


def fitting_options(product: Product, measures: list[Measure]) -> tuple[str, ...]:
    """The SKUs whose stated range holds the viewer's measure (all that do: "10 kg" fits both
    M 6-11 kg and L 9-14 kg); where the catalog gives single values (a size chart), the nearest
    one at or above the measure. Empty when the catalog states nothing of that kind."""
    table = _option_ranges(product)
    for measure in measures:
        inside = [
            sku
            for sku, ranges in table.items()
            if any(
                r.kind == measure.kind and r.low < r.high and r.low <= measure.value <= r.high for r in ranges
            )
        ]
        if inside:
            ceilings = {
                sku: min(
                    r.high for r in table[sku] if r.kind == measure.kind and r.low <= measure.value <= r.high
                )
                for sku in inside
            }
            if all(
                r.low == 0 for sku in inside for r in table[sku] if r.kind == measure.kind and r.low < r.high
            ):
                # "up to 6 ft" and "up to 6 ft 6": the smallest that still fits
                return (min(inside, key=lambda sku: ceilings[sku]),)
            return tuple(inside)
        points = sorted(
            (r.low, sku)
            for sku, ranges in table.items()
            for r in ranges
            if r.kind == measure.kind and r.low == r.high
        )
        above = [(value, sku) for value, sku in points if value >= measure.value * 0.99]
        if above and len(points) >= 2:
            return (above[0][1],)
    return ()
