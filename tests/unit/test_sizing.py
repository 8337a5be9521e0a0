"""Which option fits a viewer's own measure, from the ranges the catalog states."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar.brain.catalog import load_catalog
from avatar.brain.sizing import Measure, fitting_options, viewer_measures

_SHOP = """
products:
  - id: diapers
    names: {en: Cloud Diapers, zh: 云柔纸尿裤}
    price: 109
    variants:
      - {sku: NB, name: {en: NB (up to 5 kg), zh: NB码（5公斤以内）}, stock: 4}
      - {sku: S, name: {en: S (4-8 kg), zh: S码（4-8公斤）}, stock: 9}
      - {sku: M, name: {en: M (6-11 kg), zh: M码（6-11公斤）}, stock: 0}
  - id: bag
    names: {en: Ember Sleeping Bag}
    price: 99
    variants:
      - {sku: REG, name: {en: Regular}, stock: 3}
      - {sku: LNG, name: {en: Long}, stock: 3}
    specs:
      - key: fits
        label: {en: Fits}
        value: {en: "Regular up to 6 ft (183 cm), Long up to 6 ft 6 in (198 cm)"}
  - id: shoes
    names: {en: Stride Sneakers}
    price: 59
    variants:
      - {sku: "38", name: {en: EU 38}, aliases: {en: ["38"]}, stock: 3}
      - {sku: "40", name: {en: EU 40}, aliases: {en: ["40"]}, stock: 3}
    specs:
      - {key: foot, label: {en: Foot length}, value: {en: "foot length 38 = 24 cm, 40 = 25 cm"}}
  - id: quilt
    names: {en: Silk Quilt, zh: 蚕丝被}
    price: 599
    variants:
      - {sku: Q150, name: {en: 150 x 200 cm, zh: 150×200厘米}, stock: 3}
      - {sku: Q200, name: {en: 200 x 230 cm, zh: 200×230厘米}, stock: 3}
  - id: strap
    names: {en: Strap Set}
    price: 39
    variants:
      - {sku: S20, name: {en: 20 mm}, stock: 3}
      - {sku: S22, name: {en: 22 mm}, stock: 3}
    specs:
      - {key: wrist, label: {en: Wrist}, value: {en: "the 20 mm and 22 mm straps fit wrists 15-20 cm"}}
  - id: heater
    names: {en: ThermoSafe Heater}
    price: 25
    variants:
      - {sku: W50, name: {en: 50 W (tanks up to 10 gal)}, stock: 3}
      - {sku: W100, name: {en: 100 W (tanks 10-25 gal)}, stock: 3}
  - id: guitar
    names: {en: Trail Guitar, zh: 远径吉他}
    price: 129
    variants:
      - {sku: HALF, name: {en: 1/2 size, zh: 1/2尺寸}, aliases: {en: ["1/2"], zh: ["1/2"]}, stock: 3}
      - {sku: 3Q, name: {en: 3/4 size, zh: 3/4尺寸}, aliases: {en: ["3/4"], zh: ["3/4"]}, stock: 3}
    specs:
      - key: guide
        label: {en: Size guide, zh: 尺寸选择}
        value: {en: "1/2 for ages 5-8, 3/4 for ages 8-12", zh: "1/2适合5-8岁，3/4适合8-12岁"}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> object:
    path = tmp_path_factory.mktemp("sizing") / "products.yaml"
    path.write_text(_SHOP, encoding="utf-8")
    return load_catalog(path)


def test_a_viewer_states_weights_and_heights_in_their_own_units() -> None:
    assert viewer_measures("my baby weighs 10 kg") == [Measure("kg", 10.0)]
    assert viewer_measures("宝宝20斤") == [Measure("kg", 10.0)]
    (tall,) = viewer_measures("im 6'4")
    assert tall.kind == "cm" and round(tall.value) == 193
    assert viewer_measures("how much is it") == []
    assert viewer_measures("孩子7岁") == viewer_measures("my son is 7 years old") == [Measure("age", 7.0)]


@pytest.mark.parametrize(
    ("product", "said", "fits"),
    [
        ("diapers", "10 kg", ("M",)),
        ("diapers", "7 kg", ("S", "M")),  # both ranges hold it: both are said
        ("diapers", "3公斤", ("NB",)),
        ("bag", "5'9", ("REG",)),  # "up to": the smallest that still fits
        ("bag", "190 cm", ("LNG",)),
        ("shoes", "24.5 cm", ("40",)),  # a chart of single values: the next one up
        ("strap", "15 cm", ()),  # one range for every strap is no chart
        ("quilt", "1.8米", ()),  # the quilt's own size is not the bed it fits
        ("diapers", "30 kg", ()),
        ("guitar", "孩子7岁", ("HALF",)),  # "适合5-8岁" / "for ages 5-8"
        ("guitar", "a 10 yo", ("3Q",)),
        ("guitar", "3岁", ()),
        ("heater", "my tank is 20 gallons", ("W100",)),  # volumes: gallons and litres
        ("heater", "30升的缸", ("W50",)),
    ],
)
def test_the_options_whose_stated_range_holds_the_measure(
    shop: object, product: str, said: str, fits: tuple[str, ...]
) -> None:
    assert fitting_options(shop.get(product), viewer_measures(said)) == fits  # type: ignore[attr-defined]


def test_the_host_names_the_fitting_option_and_says_when_it_is_sold_out(tmp_path: Path) -> None:
    from avatar.brain.brain import Brain
    from avatar.brain.scene import load_scene

    (tmp_path / "products.yaml").write_text(_SHOP, encoding="utf-8")
    (tmp_path / "scene.yaml").write_text(
        "name: Test Shop\nlanguage: en\nvoice: joe\ncurrency: {code: CNY, symbol: '¥'}\n"
        "products: products.yaml\n"
        "persona: {name: Mia, style: friendly, greeting: {en: Hi}, sign_off: {en: Bye}}\n"
        "segments:\n  - {product: diapers, duration_s: 60, lines: {en: ['{name}']}}\n",
        encoding="utf-8",
    )
    brain = Brain(load_scene(tmp_path))
    answer = brain.respond("my baby weighs 10 kg what size should i get", "diapers")
    assert answer.intent == "recommendation" and "M (6-11 kg)" in answer.text and "Sold out" in answer.text
    chinese = brain.respond("宝宝3公斤穿几码", "diapers")
    assert "NB码（5公斤以内）" in chinese.text, chinese.text
