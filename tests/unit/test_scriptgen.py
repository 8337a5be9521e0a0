"""Scripts reworded by a (scripted) LLM: fact-locked line by line, cached per product data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.phrasing import Phraser
from avatar.brain.scene import Scene, load_scene
from avatar.brain.script import script_lines
from avatar.brain.scriptgen import ScriptWriter, write_all
from avatar.brain.show import RunOfShow
from tests.fakes import DEMO_SCENE
from tests.fakes_llm import FakeLLM, template_of


def cheerful_but_lying_about_prices(prompt: str) -> str:
    """Rewords every line with "Hey there!"; lines with a price get a made-up one."""
    line = template_of(prompt)
    if "$" in line:
        return "Hey there! Today only $1.00, the best deal!"
    return f"Hey there! {line}"


async def ready_phraser(scene: Scene, reply: object = cheerful_but_lying_about_prices) -> Phraser:
    engine = FakeLLM(reply)  # type: ignore[arg-type]
    phraser = Phraser(engine, ComplianceChecker.for_scene(scene), persona=scene.persona.name)
    assert await phraser.load()
    return phraser


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


async def test_each_line_is_reworded_or_stays_the_template(scene: Scene, tmp_path: Path) -> None:
    writer = ScriptWriter(await ready_phraser(scene), tmp_path, pause_s=0)
    segment = scene.segments[0]
    script = await writer.write(scene, segment, "en")
    templates = script_lines(scene, segment, "en")
    assert list(script.templates) == templates
    for template, line, by_llm in zip(templates, script.lines, script.by_llm, strict=True):
        if "$" in template:  # the invented price and "best" never get through
            assert (line, by_llm) == (template, False)
        else:
            assert (line, by_llm) == (f"Hey there! {template}", True)
    assert writer.written == sum(script.by_llm) and writer.fallbacks == len(templates) - writer.written


async def test_scripts_are_cached_until_the_product_changes(scene: Scene, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = await ScriptWriter(await ready_phraser(scene), cache, pause_s=0).write(
        scene, scene.segments[3], "en"
    )
    phraser = await ready_phraser(scene)
    again = await ScriptWriter(phraser, cache, pause_s=0).write(scene, scene.segments[3], "en")
    assert again.lines == first.lines
    assert phraser.engine is not None and phraser.engine.prompts == []  # type: ignore[attr-defined]

    # Change the lamp's stock: its script is written again, with the new number.
    root = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, root)
    products = root / "products.yaml"
    text = products.read_text(encoding="utf-8")
    assert "    stock: 8\n" in text
    products.write_text(text.replace("    stock: 8\n", "    stock: 7\n"), encoding="utf-8")
    changed = load_scene(root)
    phraser = await ready_phraser(changed)
    rewritten = await ScriptWriter(phraser, cache, pause_s=0).write(changed, changed.segments[3], "en")
    assert phraser.engine is not None and phraser.engine.prompts  # type: ignore[attr-defined]
    assert any("7 left" in line for line in rewritten.lines)


async def test_the_run_of_show_says_the_written_lines(scene: Scene, tmp_path: Path) -> None:
    show = RunOfShow(scene)
    assert await write_all(ScriptWriter(await ready_phraser(scene), tmp_path, pause_s=0), scene, show) > 0
    said = [show.next_line().text for _ in scene.segments[0].lines["en"]]
    assert said[0] == "Hey there! " + script_lines(scene, scene.segments[0], "en")[0]
    assert any(line.startswith("Normally $49.99") for line in said)  # the price line stayed a template


async def test_without_a_loaded_model_nothing_is_written(scene: Scene, tmp_path: Path) -> None:
    phraser = Phraser(FakeLLM("x", fail_load=True), ComplianceChecker.for_scene(scene))
    await phraser.load()
    show = RunOfShow(scene)
    assert await write_all(ScriptWriter(phraser, tmp_path, pause_s=0), scene, show) == 0
    assert show.next_line().text == script_lines(scene, scene.segments[0], "en")[0]
    assert not files_in(tmp_path)


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def test_a_configured_model_writes_lines_from_the_product_data(scene: Scene, tmp_path: Path) -> None:
    phraser = await ready_phraser(scene)
    assert phraser.whole_answers and phraser.rewrites_scripts
    await ScriptWriter(phraser, tmp_path, pause_s=0).write(scene, scene.segments[0], "en")
    engine = phraser.engine
    assert isinstance(engine, FakeLLM)
    prompt = engine.prompts[0][-1]["content"]
    assert "No viewer asked: this is a line of the show's script." in prompt
    assert "- price: $49.99" in prompt and "- name: Aurora Buds" in prompt, "the product's data is given"
    assert "\nPlan:\n- First up, the Aurora Buds!\n" in prompt
