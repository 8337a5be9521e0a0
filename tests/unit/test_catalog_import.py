"""avatar catalog import: a generated Shopify export of 200 products with variants (and bad rows)
becomes a products.yaml the show's catalog loader accepts; a generic JSON file with a mapping too."""

from __future__ import annotations

import csv
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from avatar.brain.catalog import load_catalog
from avatar.catalog_import import import_catalog, selling_points, strip_html
from avatar.cli import main
from avatar.errors import DataError

# Shopify's product export columns (the public layout), in its order.
SHOPIFY_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
    "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty",
    "Variant Inventory Policy", "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price",
    "Variant Requires Shipping", "Variant Taxable", "Variant Barcode", "Image Src", "Image Position",
    "Image Alt Text", "Gift Card", "SEO Title", "SEO Description", "Variant Image", "Variant Weight Unit",
    "Variant Tax Code", "Cost per item", "Status",
]  # fmt: skip
COLOURS = ["Black", "Oak", "Red", "Blue"]


def row(**cells: str) -> list[str]:
    return [cells.get(column, "") for column in SHOPIFY_HEADER]


def shopify_export(folder: Path, products: int = 200) -> tuple[Path, int]:
    """A Shopify-format export: products with 1-4 colour variants, some discounted, extra image rows,
    HTML descriptions; local pictures for some, web addresses for others. Returns (file, variants)."""
    rng = random.Random(7)
    (folder / "pics").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(folder / "pics" / "lamp.png")
    rows: list[list[str]] = []
    variants = 0
    for n in range(products):
        handle = f"desk-lamp-{n}"
        count = 1 + n % 4
        price = Decimal(rng.randint(1000, 9000)) / 100
        discounted = n % 3 == 0
        body = (
            f"<p><strong>Lamp {n}</strong> lights a whole desk &amp; more.</p>"
            "<ul><li>Three colour temperatures.</li><li>USB-C power.</li></ul><script>track()</script>"
        )
        for v in range(count):
            first = v == 0
            rows.append(
                row(
                    Handle=handle,
                    Title=f"Desk Lamp {n}" if first else "",
                    **{
                        "Body (HTML)": body if first else "",
                        "Type": "Lighting" if first else "",
                        "Option1 Name": ("Color" if count > 1 else "Title") if first else "",
                        "Option1 Value": COLOURS[v] if count > 1 else "Default Title",
                        "Variant SKU": f"DL-{n}-{v}",
                        "Variant Inventory Qty": str(rng.randint(0, 50)),
                        "Variant Price": f"{price:.2f}",
                        "Variant Compare At Price": f"{price + 10:.2f}" if discounted else "",
                        "Image Src": ("pics/lamp.png" if n % 2 else f"https://cdn.shop.example/{handle}.jpg")
                        if first
                        else "",
                        "Status": "active",
                    },
                )
            )
            variants += count > 1
        rows.append(
            row(
                Handle=handle,
                **{"Image Src": f"https://cdn.shop.example/{handle}-2.jpg", "Image Position": "2"},
            )
        )
    # What real exports contain now and then.
    rows.append(row(Handle="no-price", Title="No Price", **{"Variant SKU": "NP-1", "Option1 Name": "Title"}))
    rows.append(
        row(Handle="oversold", Title="Oversold Mug", **{"Variant SKU": "OM-1", "Variant Price": "9.50",
            "Variant Inventory Qty": "-3", "Option1 Name": "Title", "Option1 Value": "Default Title"})
    )  # fmt: skip
    rows.append(
        row(Handle="desk-lamp-5", Title="Another Lamp", **{"Variant SKU": "X-1", "Variant Price": "5"})
    )
    path = folder / "products_export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle_file:
        writer = csv.writer(handle_file)
        writer.writerow(SHOPIFY_HEADER)
        writer.writerows(rows)
        handle_file.write('broken-quote,"Broken "Lamp" 12",<p>x</p>\n')  # unescaped quotes in a quoted cell
        handle_file.write("short-row,Short Row,only three cells\n")
        writer.writerow(
            row(Handle="last-one", Title="Last One", **{"Variant Price": "12", "Variant Inventory Qty": "4"})
        )
    return path, variants


def test_a_shopify_export_of_200_products_imports_and_loads(tmp_path: Path) -> None:
    export, variant_count = shopify_export(tmp_path / "shop")
    scene = tmp_path / "scene"
    report, catalog = import_catalog(export, scene, shop_url="https://shop.example")
    assert load_catalog(scene / "products.yaml").products == catalog.products  # the show's loader reads it
    ids = {p.id for p in catalog.products}
    assert {f"desk-lamp-{n}" for n in range(200)} <= ids and "oversold" in ids
    assert "no-price" not in ids and "broken-quote" not in ids and "last-one" in ids
    assert len(catalog.products) == 202 and report.products == 202
    assert report.variants == variant_count == sum(len(p.variants) for p in catalog.products)

    lamp = catalog.get("desk-lamp-3")  # four colours, discounted (n % 3 == 0)
    assert [v.sku for v in lamp.variants] == ["DL-3-0", "DL-3-1", "DL-3-2", "DL-3-3"]
    assert [v.name("en") for v in lamp.variants] == COLOURS
    assert lamp.variant_label == {"en": "Color"}
    assert lamp.promo is not None and lamp.price - lamp.promo.price == Decimal(10)
    assert lamp.stock == sum(v.stock or 0 for v in lamp.variants)
    assert lamp.url == "https://shop.example/products/desk-lamp-3"
    assert lamp.image is not None and lamp.image.parent == (scene / "images").resolve()
    assert lamp.selling_points["en"] == (
        "Lamp 3 lights a whole desk & more.",
        "Three colour temperatures.",
        "USB-C power.",
    )
    single = catalog.get("desk-lamp-4")  # one "Default Title" variant: a plain product
    assert single.variants == () and single.promo is None and single.image is None
    assert catalog.get("oversold").stock == 0

    problems = "\n".join(report.problems)
    assert "(no-price): missing price" in problems
    assert "(oversold): negative stock -3 written as 0" in problems
    assert "(desk-lamp-5): duplicate handle" in problems
    assert "broken CSV quoting" in problems and "(short-row)" not in problems
    assert "3 cells where the header has 36; row skipped" in problems
    assert "https://cdn.shop.example/desk-lamp-0.jpg is a web address; not fetched" in problems
    assert all(p.startswith("products_export.csv:") for p in report.problems)


def test_html_is_stripped_to_sentences() -> None:
    assert strip_html("<p>A &lt;b&gt; &amp; c</p><style>p{}</style><br>d") == ["A <b> & c", "d"]
    assert selling_points("<p>One. Two! Three? Four.</p>") == ["One.", "Two!", "Three?"]


def test_a_generic_json_file_with_a_mapping(tmp_path: Path) -> None:
    data = {
        "products": [
            {
                "ID": "tea-01",
                "Name": "绿茶礼盒",
                "Price": "128",
                "Was": "168",
                "Qty": 30,
                "Desc": "明前龙井。",
            },
            {"ID": "tea-02", "Name": "红茶", "Price": "free", "Qty": 3},
            {"ID": "tea-03", "Name": "花茶", "Price": 58, "Qty": None},
        ]
    }
    source = tmp_path / "feed.json"
    source.write_text(json.dumps(data, ensure_ascii=False))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("handle: ID\ntitle: Name\nprice: Price\ncompare_at: Was\nstock: Qty\nbody: Desc\n")
    scene = tmp_path / "scene"
    report, catalog = import_catalog(source, scene, mapping=mapping, language="zh")
    tea = catalog.get("tea-01")
    assert tea.names == {"zh": "绿茶礼盒", "en": "绿茶礼盒"} and tea.price == 168 and tea.promo is not None
    assert tea.promo.price == 128 and tea.selling_points == {"zh": ("明前龙井。",)}
    assert "tea-02" not in catalog and "not a price: 'free'" in "\n".join(report.problems)
    assert catalog.get("tea-03").stock == 0
    with pytest.raises(ValueError, match="--force"):
        import_catalog(source, scene, mapping=mapping)
    import_catalog(source, scene, mapping=mapping, force=True)
    assert (scene / "products.yaml.bak").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: Name\nprize: Price\n")
    with pytest.raises(DataError, match="prize: unknown field"):
        import_catalog(source, tmp_path / "other", mapping=bad)


def test_the_command_reports_rows_it_could_not_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, _ = shopify_export(tmp_path / "shop", products=5)
    assert main(["catalog", "import", str(export), "--scene", str(tmp_path / "scene")]) == 0
    out, err = capsys.readouterr()
    assert "products" in out and "written to" in out
    assert "missing price" in err and "negative stock" in err
    assert main(["catalog", "import", str(tmp_path / "nothing.csv"), "--scene", str(tmp_path / "s")]) == 2
