"""The catalog tools a served model may call: catalog data out, errors as results, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from avatar.brain.scene import Scene, load_scene
from avatar.brain.tools import TOOLS, run_tool
from avatar.engines.llm import ToolCall, engine_from_spec
from avatar.engines.llm.openai_engine import OpenAIEngine
from tests.fakes import DEMO_SCENE

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall("call_1", name, dict(arguments))


def test_the_four_tools_are_offered_in_the_openai_format() -> None:
    assert [t["function"]["name"] for t in TOOLS] == ["get_product", "search_catalog", "compare", "recommend"]
    assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in TOOLS)


def test_get_product_gives_the_catalog_facts(scene: Scene) -> None:
    facts = json.loads(run_tool(call("get_product", product_id="aurora-buds"), scene.catalog, "en", NOW))
    assert facts["name"] == "Aurora Buds" and facts["price"] == "$49.99"
    assert facts["deal"]["price"] == "$39.99" and facts["stock"] == 120


def test_search_compare_and_recommend_read_the_catalog(scene: Scene) -> None:
    found = json.loads(run_tool(call("search_catalog", query="desk lamp"), scene.catalog, "en", NOW))
    assert [p["id"] for p in found] == ["lumen-lamp"]
    pair = json.loads(run_tool(call("compare", a="lumen-lamp", b="summit-bottle"), scene.catalog, "zh", NOW))
    assert [p["id"] for p in pair] == ["lumen-lamp", "summit-bottle"] and pair[0]["name"] == "流明LED台灯"
    every = json.loads(run_tool(call("recommend", need="a gift"), scene.catalog, "en", NOW))
    assert {p["id"] for p in every} == {p.id for p in scene.catalog.products}


@pytest.mark.parametrize(
    "bad",
    [
        call("get_product", product_id="nope"),
        call("get_product"),
        call("compare", a=1, b=None),
        call("rm_rf"),
    ],
)
def test_bad_calls_are_error_results(scene: Scene, bad: ToolCall) -> None:
    assert "error" in json.loads(run_tool(bad, scene.catalog, "en", NOW))


def test_llm_specs_name_the_engines() -> None:
    served = engine_from_spec("http://127.0.0.1:9/v1#qwen")
    assert isinstance(served, OpenAIEngine) and served.model == "qwen" and served.supports_tools
    assert engine_from_spec("off") is None
