"""Names found in comments for any catalog size, the parsed-catalog cache, and the brain bench."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from avatar.brain.brain_bench import bench_brain, generated_catalog
from avatar.brain.catalog import load_catalog, read_yaml
from avatar.brain.names import NameIndex

DEMO = Path(__file__).resolve().parents[2] / "scenes" / "demo"


def test_names_match_as_words_with_plurals_and_chinese_by_substring() -> None:
    index = NameIndex(
        [("desk lamp", "lamp"), ("bottle", "bottle"), ("极光耳机", "buds"), ("M", "m")], exact_case=True
    )
    found = {
        (m.start, m.end, next(iter(m.values))) for m in index.find("Two bottles, the DESK lamp and 极光耳机?")
    }
    assert found == {(4, 11, "bottle"), (17, 26, "lamp"), (31, 35, "buds")}
    assert not index.find("I'm in")  # a one-letter size counts only in capitals
    assert [next(iter(m.values)) for m in index.find("size M please")] == ["m"]
    assert not index.find("lampshade")  # whole words only


def test_the_longest_name_claims_its_words_first() -> None:
    index = NameIndex([("red bottle", "a"), ("bottle", "b"), ("lamp", "c")])
    claimed = index.claim("the red bottle or the lamp")
    assert [next(iter(m.values)) for m in claimed] == ["a", "c"]


def test_a_big_catalog_parses_once_then_from_its_cached_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVATAR_CACHE", str(tmp_path / "cache"))
    file = tmp_path / "products.yaml"
    file.write_text(yaml.safe_dump(generated_catalog(300), allow_unicode=True), encoding="utf-8")
    first = read_yaml(file)
    cached = list((tmp_path / "cache" / "parsed").glob("*.json"))
    assert len(cached) == 1 and read_yaml(file) == first
    cached[0].write_text("{not json", encoding="utf-8")  # a damaged entry is parsed again
    assert load_catalog(file).products[0].id == "product-0"


@pytest.mark.slow  # the bundled embeddings, cold and cached
def test_the_brain_bench_reports_answers_and_a_generated_catalog() -> None:
    report = bench_brain(DEMO, products=40)
    assert report["answer_ms"]["n"] >= 90 and 0 < report["meaning_share"] < 1
    catalog = report["catalog"]
    assert catalog["products"] == 40 and catalog["variants"] == 120
    assert set(catalog["load_and_index_s"]) == {"first", "cached"} and catalog["memory_mb"] > 0
    cost = catalog["embeddings"]["per_product_ms"]
    assert cost["cached"] < cost["cold"]  # a restart finds the vectors on disk
