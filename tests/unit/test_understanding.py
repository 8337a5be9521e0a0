"""The typed turn: catalog variants, per-viewer memory, and understanding any shop's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar.brain.brain import Brain
from avatar.brain.catalog import load_catalog
from avatar.brain.evaluation import load_cases, run_eval
from avatar.brain.memory import Memory, Topic
from avatar.brain.scene import load_scene
from avatar.brain.understanding import read, read_budget, understand
from avatar.errors import DataError

SCENES = Path(__file__).resolve().parents[2] / "scenes"

_PRODUCT = """
products:
  - id: lip
    names: {en: Velvet Lipstick}
    price: 99
    variants:
      - {sku: A1, name: {en: Ruby}, stock: 2}
      - {sku: %s, name: {en: Nude}, price: %s, stock: 3}
"""


def _catalog(tmp_path: Path, sku: str = "A2", price: str = "89") -> Path:
    file = tmp_path / "products.yaml"
    file.write_text(_PRODUCT % (sku, price), encoding="utf-8")
    return file


def test_variants_give_the_stock_and_a_bad_variant_names_the_field(tmp_path: Path) -> None:
    product = load_catalog(_catalog(tmp_path)).get("lip")
    assert product.stock == 5 and product.variant("A2") is not None
    with pytest.raises(DataError, match=r"products\[0\]\.variants\[1\]\.price: variant price 120"):
        load_catalog(_catalog(tmp_path, price="120"))
    with pytest.raises(DataError, match=r"variants\[1\]\.sku: duplicate SKU 'A1'"):
        load_catalog(_catalog(tmp_path, sku="A1"))


def test_memory_is_bounded_and_forgets_old_topics() -> None:
    memory = Memory(ttl_s=300, capacity=2)
    for viewer in ("a", "b", "c"):
        memory.remember(viewer, Topic("p", None, "price", None, None, 0.0))
    assert len(memory) == 2 and memory.recall("a", 1.0) is None
    assert memory.recall("c", 299.0) is not None and memory.recall("c", 301.0) is None


def test_budgets_keep_their_currency() -> None:
    assert read_budget("anything under ¥70?") is not None
    budget = read_budget("一百块以内推荐啥")
    assert budget is not None and budget.amount == 100 and budget.currency == "¥"
    dollars = read_budget("under $40??")
    assert dollars is not None and dollars.currency == "$"


def test_a_spec_word_no_demo_had_finds_the_shops_own_field() -> None:
    scene = load_scene(SCENES / "gadgets")
    reading = read("hw many watts", scene.catalog)
    understood = understand(reading, scene.catalog, "voltcore-20k")
    assert understood.intent.value == "spec" and (understood.attribute or "").startswith("spec:")


def test_a_follow_up_asks_the_last_question_about_the_named_size() -> None:
    scene = load_scene(SCENES / "fashion")
    brain = Brain(scene)
    first = brain.respond("is the hoodie in stock?", None, "v1", 0.0)
    assert first.product_id == "cloud-hoodie"
    follow = brain.respond("and L?", None, "v1", 5.0)
    assert follow.product_id == "cloud-hoodie" and "9" in follow.text  # the L size's own stock


@pytest.mark.parametrize("name", ["fashion", "gadgets", "snacks"])
def test_every_new_shops_question_set_runs_through_the_live_path(name: str) -> None:
    scene = load_scene(SCENES / name)
    report = run_eval(scene, load_cases(SCENES / name / "eval.yaml", scene.catalog))
    assert report.as_dict()["cases"] >= 100
    assert report.hallucination_rate <= 0.01  # no invented numbers, whatever else is missed
