"""The product catalog: the one place the host's facts come from.

Small local models invent prices, so everything the host states about a product (price, promo,
stock, specs, shipping, FAQ) is read from ``products.yaml`` here, validated once at load time, and
handed to the rest of the brain as frozen dataclasses. A bad file fails loudly with
``file: field: problem`` (:class:`~avatar.errors.DataError`) instead of letting the show say
something wrong later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

import yaml

from avatar.errors import DataError
from avatar.paths import cache_dir

__all__ = [
    "FAQ",
    "Catalog",
    "FieldReader",
    "Product",
    "Promo",
    "Spec",
    "Variant",
    "load_catalog",
    "read_yaml",
]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPEC_KEY = re.compile(r"^[a-z0-9_]+$")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Promo:
    """A temporary lower price, with the label the host says out loud ("launch deal")."""

    price: Decimal
    label: dict[str, str]
    ends_at: datetime | None  # timezone-aware; None means "until the data changes"
    starts_at: datetime | None = None  # timezone-aware; None means "already running"

    def active(self, now: datetime | None = None) -> bool:
        """True while the promo runs; ``now`` is injectable so tests and replays control time."""
        moment = now or datetime.now(UTC)
        if self.starts_at is not None and moment < self.starts_at:
            return False
        return self.ends_at is None or moment < self.ends_at


@dataclass(frozen=True)
class Spec:
    """One technical detail, keyed for templates (``{spec:battery}``) and labelled for speech."""

    key: str
    label: dict[str, str]
    value: dict[str, str]


@dataclass(frozen=True)
class FAQ:
    """A prepared question and answer, matched against viewer questions by word overlap."""

    question: dict[str, str]
    answer: dict[str, str]


@dataclass(frozen=True)
class Variant:
    """One version of a product a viewer can pick (a shade, a size, a flavour), with its own SKU and,
    where the catalog gives them, its own price, stock and picture."""

    sku: str
    names: dict[str, str]
    aliases: tuple[str, ...]
    price: Decimal | None  # None: the product's price
    stock: int | None  # None: not counted per variant
    image: Path | None

    def name(self, lang: str) -> str:
        """The variant's name in ``lang``, falling back to English, then to any language."""
        return localized(self.names, lang)


@dataclass(frozen=True)
class Product:
    """One product as the host may talk about it. Text fields map a language code to text."""

    id: str
    names: dict[str, str]
    aliases: tuple[str, ...]
    category: str
    price: Decimal
    promo: Promo | None
    stock: int
    specs: tuple[Spec, ...]
    selling_points: dict[str, tuple[str, ...]]
    faq: tuple[FAQ, ...]
    shipping: dict[str, str]
    image: Path | None
    unit: dict[str, str] = field(default_factory=dict)  # counting word: {en: tube, zh: 支}
    url: str | None = None  # where viewers buy it
    offers: tuple[dict[str, str], ...] = ()  # bundle deals and gifts, said exactly as written
    variant_label: dict[str, str] = field(default_factory=dict)  # what variants differ in: shade, 色号
    variants: tuple[Variant, ...] = ()
    safety: tuple[Spec, ...] = ()  # allergens, who should not use it: always answered as written

    def name(self, lang: str) -> str:
        """The product name in ``lang``, falling back to English, then to any language."""
        return localized(self.names, lang)

    def spec(self, key: str) -> Spec | None:
        """The spec with this key, or None."""
        return next((s for s in self.specs if s.key == key), None)

    def safety_fact(self, key: str) -> Spec | None:
        """The safety entry with this key, or None."""
        return next((s for s in self.safety if s.key == key), None)

    def variant(self, sku: str) -> Variant | None:
        """The variant with this SKU, or None."""
        return next((v for v in self.variants if v.sku == sku), None)

    def texts(self) -> Iterator[str]:
        """Every text the catalog states about the product, in every language (names to variants)."""
        yield from self.names.values()
        yield from self.aliases
        for spec in (*self.specs, *self.safety):
            yield from (*spec.label.values(), *spec.value.values())
        for points in self.selling_points.values():
            yield from points
        for entry in self.faq:
            yield from (*entry.question.values(), *entry.answer.values())
        yield from self.shipping.values()
        if self.promo is not None:
            yield from self.promo.label.values()
        for offer in self.offers:
            yield from offer.values()
        for variant in self.variants:
            yield from (*variant.names.values(), *variant.aliases, variant.sku)

    def unit_word(self, lang: str) -> str:
        """The counting word in ``lang`` ("pieces" / "件" when the catalog gives none)."""
        if self.unit:
            return localized(self.unit, lang)
        return "件" if lang == "zh" else "pieces"

    def promo_active(self, now: datetime | None = None) -> bool:
        """True when a promo exists and has not ended."""
        return self.promo is not None and self.promo.active(now)

    def current_price(self, now: datetime | None = None) -> Decimal:
        """The price a viewer pays now: the promo price while a promo runs, else the list price."""
        if self.promo is not None and self.promo.active(now):
            return self.promo.price
        return self.price

    def lowest_price(self, now: datetime | None = None) -> Decimal:
        """The least a viewer can pay now: an option in stock with its own lower price, else
        :meth:`current_price` ("jars from $24.99")."""
        own = [v.price for v in self.variants if v.price is not None and v.stock != 0]
        return min([self.current_price(now), *own])


class Catalog:
    """All products of a show, in presentation order, with the show's currency."""

    def __init__(
        self,
        products: tuple[Product, ...],
        source: Path,
        currency_code: str = "USD",
        currency_symbol: str = "$",
    ) -> None:
        self.products = products
        self.source = source
        self.currency_code = currency_code
        self.currency_symbol = currency_symbol
        self._by_id = {p.id: p for p in products}

    def get(self, product_id: str) -> Product:
        """The product with this id; raises KeyError when there is none."""
        try:
            return self._by_id[product_id]
        except KeyError:
            raise KeyError(f"no product {product_id!r} in {self.source}") from None

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._by_id

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def format_price(self, amount: Decimal) -> str:
        """Money as the host says and shows it: ``$49.99``, ``$24.50``, ``$89`` (no ``.00``).

        The same string in every language, so a checker can find the catalog price verbatim in
        any line the host speaks.
        """
        cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
        if cents == cents.to_integral_value():
            return f"{self.currency_symbol}{int(cents):,}"
        return f"{self.currency_symbol}{cents:,.2f}"


def localized(texts: Mapping[str, str], lang: str) -> str:
    """Text in ``lang``, else English, else any language, else ``""``."""
    if lang in texts:
        return texts[lang]
    if "en" in texts:
        return texts["en"]
    return next(iter(texts.values()), "")


# --- reading YAML with errors that point at the field ------------------------------------------


_PARSED_CACHE_BYTES = 200_000  # files this big keep their parsed data in the cache as JSON


def read_yaml(path: Path) -> object:
    """Parse a YAML file safely; a missing file or a syntax error becomes a DataError.

    A big file (a shop's thousand-product export) keeps its parsed data as JSON in the cache,
    keyed by a hash of its text: a restart or a reload of the same text skips the YAML parser
    (seconds for a big catalog); any edit changes the hash. Validation always runs.
    """
    if not path.is_file():
        raise DataError(path, "(file)", "file not found" if not path.exists() else "not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, "(file)", f"cannot read: {exc}") from exc
    cached = None
    if len(text) >= _PARSED_CACHE_BYTES:
        cached = cache_dir("parsed") / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
        if cached.is_file():
            try:
                return json.loads(cached.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # a damaged cache entry: parse again
                pass
    try:
        # libyaml's C parser when PyYAML has it: a thousand-product catalog parses in a second.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise DataError(path, "(yaml)", _yaml_problem(exc)) from exc
    if cached is not None:
        with contextlib.suppress(OSError, TypeError, ValueError):  # the cache is only a speed-up
            temporary = cached.with_suffix(".tmp")
            # Dates and times become ISO text, which the field readers accept as written.
            temporary.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
            temporary.replace(cached)
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        # PyYAML counts lines from 0; editors count from 1.
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


def sub(parent: str, key: str | int) -> str:
    """The path of a child field: ``products[2]`` + ``price`` -> ``products[2].price``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


class FieldReader:
    """Type-checks values read from one YAML file and raises DataError naming the field."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, field: str, problem: str) -> NoReturn:
        """Raise the DataError for ``field``."""
        raise DataError(self.file, field, problem)

    def mapping(
        self,
        value: object,
        field: str,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] | None = None,
    ) -> dict[str, object]:
        """A mapping with string keys; with ``optional`` given, unknown keys are typos and fail."""
        if not isinstance(value, dict):
            self.fail(field or "(top level)", f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                self.fail(field or "(top level)", f"keys must be text, got {key!r}")
        for key in required:
            if value.get(key) is None:
                self.fail(sub(field, key), "required field is missing")
        if optional is not None:
            allowed = set(required) | set(optional)
            for key in value:
                if key not in allowed:
                    self.fail(sub(field, key), f"unknown field; expected one of {', '.join(sorted(allowed))}")
        return value

    def sequence(self, value: object, field: str) -> list[object]:
        """A YAML sequence."""
        if not isinstance(value, list):
            self.fail(field, f"expected a list, got {_kind(value)}")
        return value

    def text(self, value: object, field: str) -> str:
        """A non-empty string (surrounding whitespace removed)."""
        if not isinstance(value, str):
            self.fail(field, f"expected text, got {_kind(value)}")
        if not value.strip():
            self.fail(field, "must not be empty")
        return value.strip()

    def texts(self, value: object, field: str) -> tuple[str, ...]:
        """A list of non-empty strings."""
        return tuple(self.text(item, sub(field, i)) for i, item in enumerate(self.sequence(value, field)))

    def localized(self, value: object, field: str, need: tuple[str, ...] = ()) -> dict[str, str]:
        """``{lang: text}``, e.g. ``{en: Aurora Buds, zh: 极光耳机}``; ``need`` lists required languages."""
        raw = self.mapping(value, field, required=need)
        if not raw:
            self.fail(field, "needs text in at least one language")
        return {lang: self.text(text, sub(field, lang)) for lang, text in raw.items()}

    def localized_lists(self, value: object, field: str) -> dict[str, tuple[str, ...]]:
        """``{lang: [text, ...]}``."""
        raw = self.mapping(value, field)
        return {lang: self.texts(items, sub(field, lang)) for lang, items in raw.items()}

    def integer(self, value: object, field: str, minimum: int | None = None) -> int:
        """A whole number (YAML ``true`` is not one)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"expected a whole number, got {_kind(value)}")
        if minimum is not None and value < minimum:
            self.fail(field, f"must be at least {minimum}, got {value}")
        return value

    def number(self, value: object, field: str) -> float:
        """A finite number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(field, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            self.fail(field, f"must be a finite number, got {value}")
        return float(value)

    def money(self, value: object, field: str) -> Decimal:
        """A non-negative amount with at most two decimals, as an exact Decimal."""
        self.number(value, field)
        try:
            # str() first: Decimal(49.99) would carry the float's binary error into the catalog.
            amount = Decimal(str(value))
        except InvalidOperation:  # pragma: no cover - number() already rejected non-numbers
            self.fail(field, f"not an amount: {value!r}")
        if amount < 0:
            self.fail(field, f"must not be negative, got {value}")
        if amount != amount.quantize(_CENT):
            self.fail(field, f"at most two decimal places, got {value}")
        return amount

    def timestamp(self, value: object, field: str) -> datetime:
        """An ISO date-time with a timezone offset (YAML may already have parsed it)."""
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            self.fail(field, "needs a time and timezone, e.g. 2026-12-31T23:59:00-08:00")
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                self.fail(field, f"not an ISO date-time: {value!r}")
        else:
            self.fail(field, f"expected an ISO date-time, got {_kind(value)}")
        # A naive time is ambiguous on a show streamed across timezones; make the author say.
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(field, "needs a timezone offset, e.g. 2026-12-31T23:59:00-08:00 or ...Z")
        return moment


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    names = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), type(value).__name__)


# --- products.yaml -----------------------------------------------------------------------------

_PRODUCT_REQUIRED = ("id", "names", "price")
_PRODUCT_OPTIONAL = (
    "stock",  # required unless every variant counts its own stock
    "aliases",
    "category",
    "promo",
    "specs",
    "selling_points",
    "faq",
    "shipping",
    "image",
    "unit",
    "url",
    "offers",
    "variant_label",
    "variants",
    "safety",
)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def load_catalog(path: Path, currency_code: str = "USD", currency_symbol: str = "$") -> Catalog:
    """Load and validate ``products.yaml``.

    The file holds ``products:`` (a list; a bare top-level list is accepted too). Image paths are
    resolved against the file's folder and must exist. Every problem raises
    :class:`~avatar.errors.DataError` naming the file and field, e.g. ``products[2].price``.
    """
    path = Path(path).absolute()
    reader = FieldReader(path)
    data = read_yaml(path)
    if isinstance(data, dict):
        top = reader.mapping(data, "", required=("products",), optional=())
        items = reader.sequence(top["products"], "products")
    elif isinstance(data, list):
        items = data
    else:
        reader.fail("products", f"expected a list of products, got {_kind(data)}")
    if not items:
        reader.fail("products", "the catalog has no products")

    products: list[Product] = []
    seen: dict[str, int] = {}
    skus: dict[str, str] = {}  # SKU -> where it was first given
    for index, item in enumerate(items):
        product = _read_product(reader, item, sub("products", index), path.parent)
        if product.id in seen:
            reader.fail(
                sub(sub("products", index), "id"),
                f"duplicate id {product.id!r} (also products[{seen[product.id]}])",
            )
        seen[product.id] = index
        for number, variant in enumerate(product.variants):
            where = sub(sub(sub("products", index), "variants"), number)
            if variant.sku in skus:
                reader.fail(sub(where, "sku"), f"duplicate SKU {variant.sku!r} (also {skus[variant.sku]})")
            skus[variant.sku] = where
        products.append(product)
    return Catalog(tuple(products), path, currency_code, currency_symbol)


def _read_product(reader: FieldReader, value: object, field: str, folder: Path) -> Product:
    raw = reader.mapping(value, field, required=_PRODUCT_REQUIRED, optional=_PRODUCT_OPTIONAL)
    product_id = reader.text(raw["id"], sub(field, "id"))
    if not _SLUG.match(product_id):
        reader.fail(sub(field, "id"), f"must be a lowercase slug like 'aurora-buds', got {product_id!r}")
    names = reader.localized(raw["names"], sub(field, "names"), need=("en",))
    price = reader.money(raw["price"], sub(field, "price"))
    variants = tuple(
        _read_variant(reader, item, sub(sub(field, "variants"), i), folder, price)
        for i, item in enumerate(
            reader.sequence(raw["variants"], sub(field, "variants"))
            if raw.get("variants") is not None
            else []
        )
    )
    if raw.get("stock") is not None:
        stock = reader.integer(raw["stock"], sub(field, "stock"), minimum=0)
    elif variants and all(v.stock is not None for v in variants):
        stock = sum(v.stock or 0 for v in variants)
    else:
        reader.fail(sub(field, "stock"), "required field is missing (or give every variant its own stock)")

    promo = None
    if raw.get("promo") is not None:
        promo = _read_promo(reader, raw["promo"], sub(field, "promo"), price)

    specs = _read_specs(reader, raw.get("specs"), sub(field, "specs"))
    safety = _read_specs(reader, raw.get("safety"), sub(field, "safety"))
    url = None
    if raw.get("url") is not None:
        url = reader.text(raw["url"], sub(field, "url"))
        if not _URL.match(url):
            reader.fail(sub(field, "url"), f"expected an http(s) address, got {url!r}")

    faq: list[FAQ] = []
    if raw.get("faq") is not None:
        for i, item in enumerate(reader.sequence(raw["faq"], sub(field, "faq"))):
            entry = reader.mapping(item, sub(sub(field, "faq"), i), required=("q", "a"), optional=())
            question = reader.localized(entry["q"], sub(sub(sub(field, "faq"), i), "q"))
            answer = reader.localized(entry["a"], sub(sub(sub(field, "faq"), i), "a"))
            for lang in question:
                if lang not in answer:
                    reader.fail(
                        sub(sub(sub(field, "faq"), i), "a"),
                        f"no answer in {lang!r} for the {lang!r} question",
                    )
            faq.append(FAQ(question, answer))

    return Product(
        id=product_id,
        names=names,
        aliases=_read_aliases(reader, raw.get("aliases"), sub(field, "aliases")),
        category=reader.text(raw["category"], sub(field, "category"))
        if raw.get("category") is not None
        else "",
        price=price,
        promo=promo,
        stock=stock,
        specs=specs,
        selling_points=(
            reader.localized_lists(raw["selling_points"], sub(field, "selling_points"))
            if raw.get("selling_points") is not None
            else {}
        ),
        faq=tuple(faq),
        shipping=(
            reader.localized(raw["shipping"], sub(field, "shipping"))
            if raw.get("shipping") is not None
            else {}
        ),
        image=_read_image(reader, raw.get("image"), sub(field, "image"), folder),
        unit=reader.localized(raw["unit"], sub(field, "unit")) if raw.get("unit") is not None else {},
        url=url,
        offers=tuple(
            reader.localized(item, sub(sub(field, "offers"), i))
            for i, item in enumerate(
                reader.sequence(raw["offers"], sub(field, "offers")) if raw.get("offers") is not None else []
            )
        ),
        variant_label=(
            reader.localized(raw["variant_label"], sub(field, "variant_label"))
            if raw.get("variant_label") is not None
            else {}
        ),
        variants=variants,
        safety=safety,
    )


def _read_image(reader: FieldReader, value: object, field: str, folder: Path) -> Path | None:
    if value is None:
        return None
    image = (folder / reader.text(value, field)).resolve()
    if not image.is_file():
        reader.fail(field, f"image file not found: {image}")
    return image


def _read_specs(reader: FieldReader, value: object, field: str) -> tuple[Spec, ...]:
    specs: list[Spec] = []
    if value is None:
        return ()
    for i, item in enumerate(reader.sequence(value, field)):
        spec = _read_spec(reader, item, sub(field, i))
        if any(s.key == spec.key for s in specs):
            reader.fail(sub(sub(field, i), "key"), f"duplicate key {spec.key!r}")
        specs.append(spec)
    return tuple(specs)


def _read_variant(
    reader: FieldReader, value: object, field: str, folder: Path, list_price: Decimal
) -> Variant:
    raw = reader.mapping(
        value, field, required=("sku", "name"), optional=("aliases", "price", "stock", "image")
    )
    price = reader.money(raw["price"], sub(field, "price")) if raw.get("price") is not None else None
    if price is not None and price > list_price:
        reader.fail(sub(field, "price"), f"variant price {price} is above the product's price {list_price}")
    return Variant(
        sku=reader.text(str(raw["sku"]) if isinstance(raw["sku"], int) else raw["sku"], sub(field, "sku")),
        names=reader.localized(raw["name"], sub(field, "name")),
        aliases=_read_aliases(reader, raw.get("aliases"), sub(field, "aliases")),
        price=price,
        stock=reader.integer(raw["stock"], sub(field, "stock"), minimum=0)
        if raw.get("stock") is not None
        else None,
        image=_read_image(reader, raw.get("image"), sub(field, "image"), folder),
    )


def _read_aliases(reader: FieldReader, value: object, field: str) -> tuple[str, ...]:
    # Aliases are matched in any language, so a flat list is all the brain needs; a per-language
    # mapping is accepted because it keeps long alias lists readable in the YAML.
    if value is None:
        return ()
    if isinstance(value, dict):
        lists = reader.localized_lists(value, field)
        return tuple(alias for items in lists.values() for alias in items)
    return reader.texts(value, field)


def _read_promo(reader: FieldReader, value: object, field: str, price: Decimal) -> Promo:
    raw = reader.mapping(value, field, required=("price", "label"), optional=("starts_at", "ends_at"))
    promo_price = reader.money(raw["price"], sub(field, "price"))
    if promo_price >= price:
        reader.fail(sub(field, "price"), f"promo price {promo_price} must be lower than the price {price}")
    label = reader.localized(raw["label"], sub(field, "label"))
    ends_at = (
        reader.timestamp(raw["ends_at"], sub(field, "ends_at")) if raw.get("ends_at") is not None else None
    )
    starts_at = (
        reader.timestamp(raw["starts_at"], sub(field, "starts_at"))
        if raw.get("starts_at") is not None
        else None
    )
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        reader.fail(sub(field, "ends_at"), "the promo ends before it starts")
    return Promo(promo_price, label, ends_at, starts_at)


def _read_spec(reader: FieldReader, value: object, field: str) -> Spec:
    raw = reader.mapping(value, field, required=("key", "label", "value"), optional=())
    key = reader.text(raw["key"], sub(field, "key"))
    if not _SPEC_KEY.match(key):
        reader.fail(
            sub(field, "key"),
            f"use lowercase letters, digits and _ (it appears in {{spec:{key}}}), got {key!r}",
        )
    label = reader.localized(raw["label"], sub(field, "label"))
    spec_value = reader.localized(raw["value"], sub(field, "value"))
    return Spec(key, label, spec_value)
