"""Presenter lines with the facts left out, filled from the catalog when spoken.

Script writers never type a price: they write ``"Today just {promo_price}, down from {price}!"``
and the catalog fills it in, so a price change in ``products.yaml`` can never leave a stale number
in the show. :func:`check_template` is run by ``load_scene`` on every line, which is why
:func:`fill` cannot fail at show time on a loaded scene.

Placeholders: ``{name}``, ``{price}`` (list price), ``{promo_price}``, ``{promo_label}``,
``{stock}``, ``{spec:<key>}`` (spec value), ``{point:<n>}`` (n-th selling point, from 1).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from avatar.brain.catalog import Catalog, Product, localized

__all__ = ["PLACEHOLDERS", "check_template", "fill", "idle_lines", "script_lines", "uses_promo"]

PLACEHOLDERS = (
    "{name}",
    "{price}",
    "{promo_price}",
    "{promo_label}",
    "{stock}",
    "{spec:<key>}",
    "{point:<n>}",
)


class Show(Protocol):
    """What the lines need of a scene (:class:`avatar.brain.scene.Scene` has it; the scene module
    imports this one to check its lines, so this one names no scene type)."""

    @property
    def catalog(self) -> Catalog: ...
    @property
    def language(self) -> str: ...
    @property
    def idle_lines(self) -> dict[str, tuple[str, ...]]: ...


class Segment(Protocol):
    """What the lines need of a run-of-show segment."""

    @property
    def product_id(self) -> str: ...
    @property
    def lines(self) -> dict[str, tuple[str, ...]]: ...


_TOKEN = re.compile(r"\{([^{}]*)\}")
# ASCII and full-width digits: a digit in a script line is a fact typed by hand.
_DIGIT = re.compile(r"[0-9\uff10-\uff19]")
_PROMO_FIELDS = frozenset({"promo_price", "promo_label"})


def _points(product: Product, lang: str) -> tuple[str, ...]:
    points = product.selling_points
    if lang in points:
        return points[lang]
    return points.get("en", ())


def check_template(
    template: str, product: Product | None, lang: str, *, promo_optional: bool = False
) -> str | None:
    """Why ``template`` cannot be filled for ``product`` in ``lang``, or None when it can.

    With ``product=None`` the line must have no placeholders. ``promo_optional`` allows promo
    placeholders on a product without a promo (for idle lines, which are skipped there).
    """
    outside = _TOKEN.sub("", template)
    if "{" in outside or "}" in outside:
        return "unbalanced '{' or '}' (placeholders look like {price})"
    if _DIGIT.search(outside):
        return "hard-coded number; facts come from the catalog, use a placeholder such as {price} or {stock}"
    for match in _TOKEN.finditer(template):
        token = match.group(1)
        kind, _, arg = token.partition(":")
        if kind in {"name", "price", "promo_price", "promo_label", "stock"} and not arg:
            if product is None:
                return f"placeholder {{{token}}} needs a product"
            if kind in _PROMO_FIELDS and product.promo is None and not promo_optional:
                return f"placeholder {{{token}}}: product {product.id!r} has no promo"
        elif kind == "spec" and arg:
            if product is None:
                return f"placeholder {{{token}}} needs a product"
            if product.spec(arg) is None:
                known = ", ".join(s.key for s in product.specs) or "none"
                return f"placeholder {{{token}}}: product {product.id!r} has no spec {arg!r} (specs: {known})"
        elif kind == "point" and arg:
            if product is None:
                return f"placeholder {{{token}}} needs a product"
            count = len(_points(product, lang))
            if not arg.isdigit() or not 1 <= int(arg) <= count:
                return (
                    f"placeholder {{{token}}}: product {product.id!r} has {count} selling points in {lang!r}"
                )
        else:
            return f"unknown placeholder {{{token}}}; use one of {', '.join(PLACEHOLDERS)}"
    return None


def uses_promo(template: str) -> bool:
    """True when the line quotes the promo, so it must not be said once the promo has ended."""
    return any(m.group(1) in _PROMO_FIELDS for m in _TOKEN.finditer(template))


def fill(template: str, product: Product, catalog: Catalog, lang: str, now: datetime | None = None) -> str:
    """``template`` with its placeholders replaced by catalog facts in ``lang``.

    Lines of a loaded scene were checked by ``load_scene``; a template that was not (and fails
    :func:`check_template`) raises ValueError. After a promo ends, ``{promo_price}`` gives the
    price that applies and ``{promo_label}`` nothing; :func:`script_lines` drops such lines.
    """
    problem = check_template(template, product, lang, promo_optional=True)
    if problem is not None:
        raise ValueError(f"{template!r}: {problem}")
    promo = product.promo if product.promo_active(now) else None

    def value(match: re.Match[str]) -> str:
        kind, _, arg = match.group(1).partition(":")
        if kind == "name":
            return product.name(lang)
        if kind == "price":
            return catalog.format_price(product.price)
        if kind == "promo_price":
            return catalog.format_price(promo.price if promo else product.price)
        if kind == "promo_label":
            return localized(promo.label, lang) if promo else ""
        if kind == "stock":
            return str(product.stock)
        if kind == "spec":
            spec = product.spec(arg)
            return localized(spec.value, lang) if spec else ""
        return _points(product, lang)[int(arg) - 1]  # "point", checked above

    return _TOKEN.sub(value, template)


def _pick(lines: dict[str, tuple[str, ...]], lang: str, fallback: str) -> tuple[str, tuple[str, ...]]:
    """The lines in ``lang``, else the show's language, else English; with the language used."""
    for candidate in (lang, fallback, "en"):
        if lines.get(candidate):
            return candidate, lines[candidate]
    return lang, ()


def script_lines(scene: Show, segment: Segment, lang: str, now: datetime | None = None) -> list[str]:
    """The segment's presenter lines in ``lang`` (else the show's language), facts filled in.

    Lines quoting a promo are left out once the promo has ended, so the host never announces a
    deal that is over.
    """
    product = scene.catalog.get(segment.product_id)
    used, lines = _pick(segment.lines, lang, scene.language)
    active = product.promo_active(now)
    return [fill(line, product, scene.catalog, used, now) for line in lines if active or not uses_promo(line)]


def idle_lines(scene: Show, product: Product | None, lang: str, now: datetime | None = None) -> list[str]:
    """Filler lines for quiet moments, about ``product`` (the one on screen) when given.

    Without a product only lines without placeholders are returned; promo lines are left out
    when the product has no running promo.
    """
    used, lines = _pick(scene.idle_lines, lang, scene.language)
    if product is None:
        return [line for line in lines if not _TOKEN.search(line)]
    active = product.promo_active(now)
    return [fill(line, product, scene.catalog, used, now) for line in lines if active or not uses_promo(line)]
