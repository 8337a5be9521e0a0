"""The catalog: the demo data is complete and lawful, money is exact, bad files name the field."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cv2
import pytest
import yaml

from avatar.brain.catalog import Catalog, load_catalog
from avatar.errors import DataError

DEMO = Path(__file__).resolve().parents[2] / "scenes" / "demo"


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog(DEMO / "products.yaml")


# --- the demo data ---------------------------------------------------------------------------


def test_demo_catalog_is_complete(demo: Catalog) -> None:
    assert len(demo.products) >= 5
    for product in demo.products:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", product.id)
        assert product.names.keys() >= {"en", "zh"}
        assert any(re.search(r"[a-z]", a) for a in product.aliases), product.id
        assert any(re.search(r"[\u4e00-\u9fff]", a) for a in product.aliases), product.id
        assert product.category
        assert product.stock >= 0
        assert len(product.specs) >= 2
        for lang in ("en", "zh"):
            assert len(product.selling_points[lang]) == 3, product.id
            assert product.shipping[lang]
        assert len(product.faq) >= 2
        for entry in product.faq:
            assert entry.question.keys() == entry.answer.keys() == {"en", "zh"}
        assert product.image is not None and product.image.is_absolute()


def test_demo_has_colour_aliases_and_promos(demo: Catalog) -> None:
    assert "the red one" in demo.get("summit-bottle").aliases
    promos = [p for p in demo.products if p.promo is not None]
    assert len(promos) >= 2
    for product in promos:
        assert product.promo is not None
        assert product.promo.price < product.price
        assert product.promo.label.keys() >= {"en", "zh"}


def test_demo_prices_are_exact_decimals(demo: Catalog) -> None:
    buds = demo.get("aurora-buds")
    assert buds.price == Decimal("49.99")
    assert buds.promo is not None and buds.promo.price == Decimal("39.99")
    assert demo.get("summit-bottle").price == Decimal("24.5")
    assert demo.get("ridgeline-backpack").promo is not None
    assert demo.get("ridgeline-backpack").promo.ends_at == datetime(2027, 4, 1, 6, 59, tzinfo=UTC)  # type: ignore[union-attr]


def test_demo_images_are_small_square_pngs(demo: Catalog) -> None:
    for product in demo.products:
        assert product.image is not None
        assert product.image == (DEMO / "images" / f"{product.id}.png").resolve()
        assert product.image.stat().st_size < 40 * 1024
        image = cv2.imread(str(product.image), cv2.IMREAD_UNCHANGED)
        assert image is not None and image.shape[:2] == (256, 256)


# Advertising law for live commerce bans absolute and medical claims; the show data must not
# carry them (the compliance filter is a second line of defence, not the first).
BANNED = re.compile(
    r"\bbest\b|\bno\.? ?1\b|number one|\bcures?\b|\bheals?\b|最|第一|国家级|治疗|治愈|护眼", re.I
)


def strings(value: object) -> list[str]:
    """Every text value in parsed YAML (comments are not data and may quote the banned words)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.mark.parametrize("name", ["products.yaml", "scene.yaml"])
def test_demo_data_has_no_banned_claims(name: str) -> None:
    texts = strings(yaml.safe_load((DEMO / name).read_text(encoding="utf-8")))
    assert len(texts) > 50
    assert [t for t in texts if BANNED.search(t)] == []


# --- money and names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("49.99", "$49.99"),
        ("89", "$89"),
        ("89.00", "$89"),
        ("24.5", "$24.50"),
        ("0.5", "$0.50"),
        ("1299", "$1,299"),
        ("0", "$0"),
    ],
)
def test_format_price(demo: Catalog, amount: str, said: str) -> None:
    assert demo.format_price(Decimal(amount)) == said


def test_format_price_uses_the_catalog_currency_symbol(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, [product()]), "EUR", "€")
    assert (catalog.currency_code, catalog.currency_symbol) == ("EUR", "€")
    assert catalog.format_price(Decimal("9.9")) == "€9.90"


def test_name_falls_back_to_english_then_any(demo: Catalog) -> None:
    buds = demo.get("aurora-buds")
    assert buds.name("zh") == "极光真无线耳机"
    assert buds.name("fr") == "Aurora Buds"


def test_get_unknown_product_raises_key_error(demo: Catalog) -> None:
    with pytest.raises(KeyError):
        demo.get("no-such-thing")
    assert "aurora-buds" in demo and "no-such-thing" not in demo


def test_current_price_follows_the_promo_end(demo: Catalog) -> None:
    pack = demo.get("ridgeline-backpack")
    assert pack.current_price(datetime(2027, 3, 1, tzinfo=UTC)) == Decimal("74")
    assert pack.current_price(datetime(2027, 4, 2, tzinfo=UTC)) == Decimal("89")
    assert demo.get("aurora-buds").current_price() == Decimal("39.99")  # no end date
    assert demo.get("summit-bottle").current_price() == Decimal("24.5")  # no promo


# --- validation: every problem names file and field ----------------------------------------


def product(**changes: Any) -> dict[str, Any]:
    """A minimal valid product, with ``changes`` applied (None removes a key)."""
    data: dict[str, Any] = {
        "id": "test-mug",
        "names": {"en": "Test Mug", "zh": "测试杯"},
        "price": 12.5,
        "stock": 3,
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def write(folder: Path, products: list[dict[str, Any]]) -> Path:
    path = folder / "products.yaml"
    path.write_text(yaml.safe_dump({"products": products}, allow_unicode=True), encoding="utf-8")
    return path


def problem(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        load_catalog(path)
    return caught.value


def test_minimal_product_loads_with_empty_optionals(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, [product()]))
    mug = catalog.get("test-mug")
    assert (mug.promo, mug.image, mug.aliases, mug.faq, mug.category) == (None, None, (), (), "")


def test_missing_file(tmp_path: Path) -> None:
    err = problem(tmp_path / "nope.yaml")
    assert str(err) == f"{tmp_path / 'nope.yaml'}: (file): file not found"


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "products.yaml"
    path.write_text("products:\n  - id: a\n    names: {en: A\n    price: 1\n", encoding="utf-8")
    err = problem(path)
    assert str(err).startswith(f"{path}: (yaml): invalid YAML at line ")
    assert re.search(r"line [45]\b", err.problem)


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"id": None}, "products[1].id", "required field is missing"),
        ({"names": {"zh": "杯子"}}, "products[1].names.en", "required field is missing"),
        ({"price": None}, "products[1].price", "required field is missing"),
        ({"stock": None}, "products[1].stock", "required field is missing"),
        ({"price": "cheap"}, "products[1].price", "expected a number, got text"),
        ({"price": True}, "products[1].price", "expected a number"),
        ({"stock": 2.5}, "products[1].stock", "expected a whole number"),
        ({"names": ["Test Mug"]}, "products[1].names", "expected a mapping, got a list"),
        ({"aliases": "mug"}, "products[1].aliases", "expected a list, got text"),
        ({"price": -1}, "products[1].price", "must not be negative"),
        ({"price": 1.999}, "products[1].price", "at most two decimal places"),
        ({"stock": -4}, "products[1].stock", "must be at least 0"),
        ({"id": "Test Mug"}, "products[1].id", "must be a lowercase slug"),
        ({"colour": "red"}, "products[1].colour", "unknown field"),
        (
            {"promo": {"price": 12.5, "label": {"en": "deal"}}},
            "products[1].promo.price",
            "must be lower than",
        ),
        ({"promo": {"price": 20, "label": {"en": "deal"}}}, "products[1].promo.price", "must be lower than"),
        ({"promo": {"price": 10}}, "products[1].promo.label", "required field is missing"),
        (
            {"promo": {"price": 10, "label": {"en": "deal"}, "ends_at": "2027-01-01T00:00:00"}},
            "products[1].promo.ends_at",
            "needs a timezone offset",
        ),
        (
            {"promo": {"price": 10, "label": {"en": "deal"}, "ends_at": "soon"}},
            "products[1].promo.ends_at",
            "not an ISO date-time",
        ),
        ({"specs": [{"key": "size", "label": {"en": "Size"}}]}, "products[1].specs[0].value", "required"),
        (
            {"faq": [{"q": {"en": "Why?", "zh": "为什么？"}, "a": {"en": "Because."}}]},
            "products[1].faq[0].a",
            "'zh'",
        ),
        ({"image": "images/missing.png"}, "products[1].image", "image file not found"),
    ],
)
def test_bad_product_names_file_and_field(
    tmp_path: Path, changes: dict[str, Any], field: str, text: str
) -> None:
    # The bad product is second, so the index in the field path is checked too.
    other = product(id="good-one")
    path = write(tmp_path, [other, product(**copy.deepcopy(changes))])
    err = problem(path)
    assert str(err).startswith(f"{path}: {field}: "), str(err)
    assert text in err.problem
    assert (err.file, err.field) == (str(path), field)


def test_duplicate_ids(tmp_path: Path) -> None:
    path = write(tmp_path, [product(), product(stock=9)])
    assert str(problem(path)) == f"{path}: products[1].id: duplicate id 'test-mug' (also products[0])"


def test_empty_catalog(tmp_path: Path) -> None:
    path = write(tmp_path, [])
    assert str(problem(path)) == f"{path}: products: the catalog has no products"


def test_top_level_must_hold_products(tmp_path: Path) -> None:
    path = tmp_path / "products.yaml"
    path.write_text("items: []\n", encoding="utf-8")
    assert str(problem(path)).startswith(f"{path}: products: required field is missing")


def test_promo_end_parsed_with_timezone(tmp_path: Path) -> None:
    promo = {"price": 10, "label": {"en": "deal"}, "ends_at": "2027-01-01T00:00:00+08:00"}
    catalog = load_catalog(write(tmp_path, [product(promo=promo)]))
    mug = catalog.get("test-mug")
    assert mug.promo is not None and mug.promo.ends_at == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert mug.promo_active(datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert not mug.promo_active(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
