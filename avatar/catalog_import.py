"""``avatar catalog import``: a shop's own product export becomes the scene's ``products.yaml``.

Reads a Shopify product export CSV (its public column layout: one row per variant, rows of a
product sharing its ``Handle``, the first carrying ``Title`` and ``Body (HTML)``) or any CSV/JSON
with a mapping file naming which column holds what. Writes products the catalog loader accepts:
variants kept (SKU, option values as the name, own price when it differs, stock, local image),
HTML stripped to plain selling points, a compare-at price as the list price with the selling
price as the promo. Every row it cannot use is reported (file, line, handle, why) and skipped;
one bad row never loses the others. Names and texts are written in one language: the second is
left for the shop to fill (the show works with one).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

import yaml

from avatar.brain.catalog import Catalog, load_catalog
from avatar.errors import DataError

CANONICAL: Final = (
    "handle",  # groups a product's rows; becomes its id
    "title",
    "body",  # description (HTML allowed)
    "type",  # category
    "sku",
    "price",  # what a buyer pays now
    "compare_at",  # the list price when the item is discounted
    "stock",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "image",  # the product's picture (a local path; web addresses are not fetched)
    "variant_image",
    "url",
)
SHOPIFY: Final = {
    "handle": "Handle",
    "title": "Title",
    "body": "Body (HTML)",
    "type": "Type",
    "sku": "Variant SKU",
    "price": "Variant Price",
    "compare_at": "Variant Compare At Price",
    "stock": "Variant Inventory Qty",
    "option1_name": "Option1 Name",
    "option1_value": "Option1 Value",
    "option2_name": "Option2 Name",
    "option2_value": "Option2 Value",
    "option3_name": "Option3 Name",
    "option3_value": "Option3 Value",
    "image": "Image Src",
    "variant_image": "Variant Image",
}
MAX_POINTS: Final = 3  # selling points taken from a description
MAX_POINT_CHARS: Final = 200
_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_DEFAULT_OPTION = {"title", "default title"}  # Shopify's name for "this product has no variants"
SALE: Final = {"en": "Sale", "zh": "特价"}  # the promo's spoken label until the shop names its deal
IMAGE_SUFFIXES: Final = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


@dataclass
class Report:
    """What the import did and what it could not use."""

    source: Path
    products: int = 0
    variants: int = 0
    rows: int = 0
    skipped_rows: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int | None, handle: str | None, message: str) -> None:
        where = f"{self.source.name}:{line}" if line is not None else self.source.name
        self.problems.append(f"{where}{f' ({handle})' if handle else ''}: {message}")


class _Text(HTMLParser):
    """Plain text of an HTML fragment, one paragraph per block element."""

    BLOCKS: Final = {"p", "br", "li", "div", "h1", "h2", "h3", "h4", "tr", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self.skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self.skip:
            self.skip -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def strip_html(fragment: str) -> list[str]:
    """The paragraphs of an HTML description as plain text (tags, scripts and entities gone)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    text = html.unescape("".join(parser.parts))
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def selling_points(body: str) -> list[str]:
    """Up to three short sentences from a description, to be spoken as written."""
    points: list[str] = []
    for paragraph in strip_html(body):
        for sentence in _SENTENCE.split(paragraph):
            sentence = sentence.strip()
            if len(sentence) >= 3 and sentence not in points:
                points.append(sentence[:MAX_POINT_CHARS].rstrip())
            if len(points) == MAX_POINTS:
                return points
    return points


def slug(text: str) -> str:
    """A catalog id from a handle or title ('Desk Lamp (Oak)' -> 'desk-lamp-oak')."""
    return _SLUG_DROP.sub("-", text.lower()).strip("-")[:80].strip("-")


def _money(value: str) -> Decimal | None:
    """A price from a cell ('39.99', '$1,299.00', '39,99' with a decimal comma); None if empty."""
    text = value.strip().replace("$", "").replace("¥", "").replace("€", "").replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text and re.fullmatch(r"\d+,\d{1,2}", text):
        text = text.replace(",", ".")
    text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a price: {value!r}")
    return amount.quantize(Decimal("0.01"))


def _count(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def read_rows(path: Path, report: Report) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` of a CSV (header first) or JSON file (a list, or ``{"products": [...]}``)."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise DataError(path, "(file)", f"not JSON: {error}") from error
        if isinstance(data, dict) and isinstance(data.get("products"), list):
            data = data["products"]
        if not isinstance(data, list):
            raise DataError(path, "(file)", 'expected a list of products or {"products": [...]}')
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                report.problem(index, None, "item is not an object; skipped")
                report.skipped_rows += 1
                continue
            yield index, {str(k): "" if v is None else str(v) for k, v in item.items()}
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(path, "(file)", f"not UTF-8 text: {error}") from error
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise DataError(path, "(header)", f"no CSV header row ({error})") from error
    header = [name.strip() for name in header]
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.problem(reader.line_num, None, f"broken CSV quoting ({error}); row skipped")
            report.skipped_rows += 1
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            report.problem(
                reader.line_num, None, f"{len(cells)} cells where the header has {len(header)}; row skipped"
            )
            report.skipped_rows += 1
            continue
        yield reader.line_num, dict(zip(header, cells, strict=True))


@dataclass
class _Variant:
    line: int
    sku: str
    options: list[str]
    price: Decimal
    compare_at: Decimal | None
    stock: int | None
    image: str


@dataclass
class _Product:
    line: int
    handle: str
    title: str = ""
    body: str = ""
    type: str = ""
    option_names: list[str] = field(default_factory=list)
    image: str = ""
    url: str = ""
    variants: list[_Variant] = field(default_factory=list)


def _gather(
    rows: Iterable[tuple[int, dict[str, str]]], mapping: Mapping[str, str], report: Report
) -> list[_Product]:
    products: dict[str, _Product] = {}
    closed: set[str] = set()  # handles whose rows ended: seen again later = a duplicate product
    previous: str | None = None
    for line, row in rows:
        report.rows += 1

        def cell(key: str, row: dict[str, str] = row) -> str:
            column = mapping.get(key)
            return row.get(column, "").strip() if column else ""

        handle = slug(cell("handle") or cell("title"))
        if not handle:
            report.problem(line, None, "no handle or title; row skipped")
            report.skipped_rows += 1
            continue
        if handle != previous and previous is not None:
            closed.add(previous)
        if handle in closed and handle != previous:
            report.problem(line, handle, "duplicate handle: another product already used it; row skipped")
            report.skipped_rows += 1
            continue
        previous = handle
        product = products.get(handle)
        if product is None:
            product = products[handle] = _Product(line, handle)
        elif cell("title") and product.title and cell("title") != product.title:
            report.problem(line, handle, "duplicate handle with a different title; row skipped")
            report.skipped_rows += 1
            continue
        product.title = product.title or cell("title")
        product.body = product.body or cell("body")
        product.type = product.type or cell("type")
        product.image = product.image or cell("image")
        product.url = product.url or cell("url")
        if not product.option_names:
            product.option_names = [n for n in (cell(f"option{i}_name") for i in (1, 2, 3)) if n]
        price_cell, sku = cell("price"), cell("sku")
        options = [v for v in (cell(f"option{i}_value") for i in (1, 2, 3)) if v]
        if not price_cell and not sku and not options:
            continue  # an image-only row (Shopify lists extra pictures this way)
        try:
            price = _money(price_cell)
            compare_at = _money(cell("compare_at"))
            stock = _count(cell("stock"))
        except ValueError as error:
            report.problem(line, handle, f"{error}; variant skipped")
            report.skipped_rows += 1
            continue
        if price is None:
            report.problem(line, handle, "missing price; variant skipped")
            report.skipped_rows += 1
            continue
        if price < 0:
            report.problem(line, handle, f"negative price {price}; variant skipped")
            report.skipped_rows += 1
            continue
        if stock is not None and stock < 0:
            # Shopify allows overselling into negative stock: for the host that is "sold out".
            report.problem(line, handle, f"negative stock {stock} written as 0 (sold out)")
            stock = 0
        if compare_at is not None and compare_at <= price:
            compare_at = None  # not a discount
        product.variants.append(_Variant(line, sku, options, price, compare_at, stock, cell("variant_image")))
    return list(products.values())


def _image(
    value: str, source_dir: Path, scene: Path, name: str, report: Report, line: int, handle: str
) -> str | None:
    """A local picture copied into ``scene/images/`` (its path as the catalog writes it)."""
    if not value:
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        report.problem(line, handle, f"image {value[:80]} is a web address; not fetched (local images only)")
        return None
    image = Path(value)
    image = image if image.is_absolute() else source_dir / image
    if not image.is_file() or image.suffix.lower() not in IMAGE_SUFFIXES:
        report.problem(line, handle, f"image {value[:80]} is not a local picture file; left out")
        return None
    target = scene / "images" / f"{name}{image.suffix.lower()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if image.resolve() != target.resolve():
        shutil.copyfile(image, target)
    return target.relative_to(scene).as_posix()


def _names(text: str, language: str) -> dict[str, str]:
    # The loader needs English names: a Chinese shop's title stands in until the shop translates it.
    return {"en": text} if language == "en" else {language: text, "en": text}


def _entry(
    product: _Product,
    language: str,
    source_dir: Path,
    scene: Path,
    shop_url: str | None,
    skus: set[str],
    report: Report,
) -> dict[str, Any] | None:
    handle = product.handle
    if not product.title:
        report.problem(product.line, handle, "no title; product skipped")
        return None
    if not product.variants:
        report.problem(product.line, handle, "no row with a usable price; product skipped")
        return None
    lists = [v.compare_at or v.price for v in product.variants]
    entry: dict[str, Any] = {"id": handle, "names": _names(product.title, language)}
    if product.type:
        entry["category"] = product.type
    price = max(lists)
    entry["price"] = float(price) if price != price.to_integral_value() else int(price)
    sales = {v.price for v in product.variants}
    discounted = all(v.compare_at is not None for v in product.variants)
    if discounted and len(sales) == 1 and len(set(lists)) == 1:
        entry["promo"] = {
            "price": _number(next(iter(sales))),
            "label": {language: SALE.get(language, "Sale")},
        }
    stocks = [v.stock for v in product.variants]
    names = product.option_names
    has_variants = bool(names) and names[0].lower() not in _DEFAULT_OPTION
    if not has_variants:
        stock = stocks[0]
        entry["stock"] = stock if stock is not None else 0
        if stock is None:
            report.problem(product.line, handle, "no inventory quantity; stock written as 0")
    else:
        if any(s is None for s in stocks):
            known = sum(s or 0 for s in stocks)
            entry["stock"] = known
            report.problem(
                product.line, handle, f"some variants have no inventory quantity; stock written as {known}"
            )
        entry["variant_label"] = {language: " / ".join(product.option_names)}
        variants: list[dict[str, Any]] = []
        for number, variant in enumerate(product.variants, start=1):
            sku = variant.sku or f"{handle}-{number}"
            if not variant.sku:
                report.problem(variant.line, handle, f"variant has no SKU; wrote {sku}")
            if sku in skus:
                report.problem(variant.line, handle, f"duplicate SKU {sku!r}; variant skipped")
                continue
            skus.add(sku)
            name = " / ".join(variant.options) or sku
            item: dict[str, Any] = {"sku": sku, "name": _names(name, language)}
            if (
                variant.price != (entry["promo"]["price"] if "promo" in entry else entry["price"])
                or len(sales) > 1
            ):
                item["price"] = _number(variant.price)
            if variant.stock is not None:
                item["stock"] = variant.stock
            picture = _image(
                variant.image, source_dir, scene, f"{handle}-{slug(sku)}", report, variant.line, handle
            )
            if picture:
                item["image"] = picture
            variants.append(item)
        if not variants:
            report.problem(product.line, handle, "no usable variant; product skipped")
            return None
        entry["variants"] = variants
        report.variants += len(variants)
    points = selling_points(product.body)
    if points:
        entry["selling_points"] = {language: points}
    picture = _image(product.image, source_dir, scene, handle, report, product.line, handle)
    if picture:
        entry["image"] = picture
    url = product.url or (f"{shop_url.rstrip('/')}/products/{handle}" if shop_url else "")
    if url:
        if re.match(r"^https?://\S+$", url, re.IGNORECASE):
            entry["url"] = url
        else:
            report.problem(product.line, handle, f"url {url[:80]!r} is not an http(s) address; left out")
    return entry


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def load_mapping(path: Path | None) -> dict[str, str]:
    """Shopify's columns, or a YAML/JSON mapping ``{handle: "Product ID", title: "Name", ...}``."""
    if path is None:
        return dict(SHOPIFY)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DataError(path, "(file)", f"cannot read the mapping: {error}") from error
    if not isinstance(data, dict):
        raise DataError(path, "(file)", f"expected field: column pairs, one of {', '.join(CANONICAL)}")
    mapping: dict[str, str] = {}
    for key, column in data.items():
        if key not in CANONICAL:
            raise DataError(path, str(key), f"unknown field; one of {', '.join(CANONICAL)}")
        if not isinstance(column, str) or not column.strip():
            raise DataError(path, str(key), "expected the column's name")
        mapping[key] = column.strip()
    for needed in ("title", "price"):
        if needed not in mapping:
            raise DataError(path, needed, "required: the column holding it")
    return mapping


def import_catalog(
    source: Path,
    scene: Path,
    *,
    mapping: Path | None = None,
    language: str = "en",
    shop_url: str | None = None,
    output: str = "products.yaml",
    force: bool = False,
) -> tuple[Report, Catalog]:
    """Write ``scene/output`` from ``source``; the written file is loaded back with the show's
    catalog loader (DataError if it would not load). An existing file is kept unless ``force``
    (then it is moved to ``<name>.bak``)."""
    source = source.absolute()
    if not source.is_file():
        raise DataError(source, "(file)", "file not found")
    columns = load_mapping(mapping)
    report = Report(source)
    products = _gather(read_rows(source, report), columns, report)
    scene.mkdir(parents=True, exist_ok=True)
    target = scene / output
    if target.exists() and not force:
        raise ValueError(f"{target} exists; pass --force to replace it (the old one is kept as .bak)")
    skus: set[str] = set()
    entries = []
    for product in products:
        entry = _entry(product, language, source.parent, scene, shop_url, skus, report)
        if entry is not None:
            entries.append(entry)
    if not entries:
        raise DataError(
            source, "(file)", "no product could be imported:\n  " + "\n  ".join(report.problems[:20])
        )
    report.products = len(entries)
    text = yaml.safe_dump({"products": entries}, allow_unicode=True, sort_keys=False, width=110)
    staged = target.with_name(target.name + ".new")
    staged.write_text(
        f"# Imported from {source.name} by `avatar catalog import`. Add the second language's names\n"
        "# and texts, specs, FAQ and shipping by hand; the show works with one language.\n" + text,
        encoding="utf-8",
    )
    try:
        catalog = load_catalog(staged)
    except DataError:
        staged.unlink()
        raise
    if target.exists():
        target.replace(target.with_name(target.name + ".bak"))
    staged.replace(target)
    return report, catalog
