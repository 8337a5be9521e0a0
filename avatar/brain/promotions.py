"""Promotions on a schedule: coupon drops, flash sales with a countdown, "only N left" calls.

Declared in ``scene.yaml`` under ``promotions:``, timed in seconds from the start of the show::

    promotions:
      - {kind: coupon, code: LIVE10, banner: "Code LIVE10", at_s: 120, duration_s: 300, every_s: 1800}
      - {kind: flash_sale, product: kiln-pourover, at_s: 600, duration_s: 900}
      - {kind: low_stock, product: lumen-lamp, at_s: 60, every_s: 600}

The host announces each one when it starts (never over a viewer's question) and the stage shows it:
the coupon banner while a drop runs, a countdown on the product card while a flash sale runs. What
the host says comes from the catalog: a flash sale quotes the product's running promo price (a
product without a promo cannot have one), a low-stock call the real stock, and only while the
stock is at or below ``threshold`` (default 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from avatar.brain.catalog import sub

if TYPE_CHECKING:
    from avatar.brain.catalog import Catalog, FieldReader

__all__ = ["LOW_STOCK_THRESHOLD", "Kind", "Promotion", "PromotionSchedule", "read_promotions"]

LOW_STOCK_THRESHOLD = 10


class Kind(StrEnum):
    """What a promotion is."""

    COUPON = "coupon"
    FLASH_SALE = "flash_sale"
    LOW_STOCK = "low_stock"


@dataclass(frozen=True)
class Promotion:
    """One scheduled promotion (see the module docstring for the fields)."""

    kind: Kind
    at_s: float  # first start, seconds after the show starts
    duration_s: float  # how long it stays on screen (0 for a spoken-only call)
    every_s: float | None  # repeat period; None = once
    product_id: str | None = None
    code: str | None = None
    banner: str | None = None
    threshold: int = LOW_STOCK_THRESHOLD

    def occurrence(self, elapsed: float) -> int | None:
        """The index of the run active or last started at ``elapsed`` seconds, or None before the first."""
        if elapsed < self.at_s:
            return None
        if self.every_s is None:
            return 0
        return int(math.floor((elapsed - self.at_s) / self.every_s))

    def start_of(self, occurrence: int) -> float:
        """When run ``occurrence`` starts (seconds after the show starts)."""
        return self.at_s + occurrence * (self.every_s or 0.0)


_FIELDS = ("at_s", "duration_s", "every_s", "product", "code", "banner", "threshold")


def read_promotions(reader: FieldReader, value: object, catalog: Catalog) -> tuple[Promotion, ...]:
    """Validate ``promotions:``; errors name the field (``promotions[1].product: ...``)."""
    if value is None:
        return ()
    found: list[Promotion] = []
    for i, item in enumerate(reader.sequence(value, "promotions")):
        field = sub("promotions", i)
        raw = reader.mapping(item, field, required=("kind", "at_s"), optional=_FIELDS)
        kind_text = reader.text(raw["kind"], sub(field, "kind"))
        if kind_text not in {k.value for k in Kind}:
            reader.fail(
                sub(field, "kind"), f"must be one of {', '.join(k.value for k in Kind)}, got {kind_text!r}"
            )
        kind = Kind(kind_text)
        at_s = reader.number(raw["at_s"], sub(field, "at_s"))
        if at_s < 0:
            reader.fail(sub(field, "at_s"), "must not be negative")
        duration = reader.number(
            raw.get("duration_s", 0 if kind is Kind.LOW_STOCK else 300), sub(field, "duration_s")
        )
        if duration < 0:
            reader.fail(sub(field, "duration_s"), "must not be negative")
        every = None
        if raw.get("every_s") is not None:
            every = reader.number(raw["every_s"], sub(field, "every_s"))
            if every <= duration or every < 10:
                reader.fail(sub(field, "every_s"), "must be at least 10 s and longer than duration_s")
        product_id = None
        if kind in (Kind.FLASH_SALE, Kind.LOW_STOCK):
            if raw.get("product") is None:
                reader.fail(sub(field, "product"), f"a {kind.value} needs a product")
            product_id = reader.text(raw["product"], sub(field, "product"))
            if product_id not in catalog:
                known = ", ".join(p.id for p in catalog.products)
                reader.fail(sub(field, "product"), f"unknown product {product_id!r} (products: {known})")
            if kind is Kind.FLASH_SALE and catalog.get(product_id).promo is None:
                reader.fail(sub(field, "product"), f"{product_id!r} has no promo price to sell at")
        code = banner = None
        if kind is Kind.COUPON:
            if raw.get("code") is None:
                reader.fail(sub(field, "code"), "a coupon needs a code")
            code = reader.text(raw["code"], sub(field, "code"))
            banner = (
                reader.text(raw["banner"], sub(field, "banner"))
                if raw.get("banner") is not None
                else f"Code {code}"
            )
        threshold = LOW_STOCK_THRESHOLD
        if raw.get("threshold") is not None:
            threshold = reader.integer(raw["threshold"], sub(field, "threshold"), minimum=1)
        found.append(Promotion(kind, at_s, duration, every, product_id, code, banner, threshold))
    return tuple(found)


@dataclass(frozen=True)
class Change:
    """A promotion run that starts (``started``) or ends now."""

    promotion: Promotion
    occurrence: int
    started: bool
    ends_at_s: float  # show seconds when this run ends


class PromotionSchedule:
    """Which promotion runs are on at a moment of the show, and what changed since the last look."""

    def __init__(self, promotions: tuple[Promotion, ...]) -> None:
        self.promotions = promotions
        self._started: dict[int, int] = {}  # promotion index -> last occurrence started
        self._active: dict[int, int] = {}  # promotion index -> occurrence on screen

    def update(self, elapsed: float) -> list[Change]:
        """Runs that started or ended by ``elapsed`` seconds into the show (each reported once).

        A run whose whole window passed unseen (the show was busy or paused) is not announced late.
        """
        changes: list[Change] = []
        for index, promo in enumerate(self.promotions):
            active = self._active.get(index)
            if active is not None and elapsed >= promo.start_of(active) + promo.duration_s:
                del self._active[index]
                changes.append(Change(promo, active, False, promo.start_of(active) + promo.duration_s))
            occurrence = promo.occurrence(elapsed)
            if occurrence is None or self._started.get(index) == occurrence:
                continue
            self._started[index] = occurrence
            ends = promo.start_of(occurrence) + promo.duration_s
            if promo.duration_s and elapsed >= ends:
                continue
            if promo.duration_s == 0 and elapsed - promo.start_of(occurrence) > 60:
                continue  # a spoken call more than a minute late is dropped
            if promo.duration_s:
                self._active[index] = occurrence
            changes.append(Change(promo, occurrence, True, ends))
        return changes
