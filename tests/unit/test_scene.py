"""Scenes: the demo show loads and fills; a broken scene names the file and field."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar.brain.brain import Brain
from avatar.brain.scene import Scene, load_scene
from avatar.brain.script import check_template, fill, idle_lines, script_lines
from avatar.errors import DataError

DEMO = Path(__file__).resolve().parents[2] / "scenes" / "demo"
DURING_PROMOS = datetime(2026, 12, 1, tzinfo=UTC)
AFTER_BACKPACK_DEAL = datetime(2027, 4, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> Scene:
    return load_scene(DEMO)


def test_demo_scene_loads(demo: Scene) -> None:
    assert demo.name and demo.root == DEMO
    assert demo.language == "en"
    assert demo.voice == "joe"
    assert (demo.catalog.currency_code, demo.catalog.currency_symbol) == ("USD", "$")
    assert demo.persona.name == "Mia" and demo.persona.style
    assert demo.persona.greeting.keys() >= {"en", "zh"} and demo.persona.sign_off.keys() >= {"en", "zh"}
    assert demo.idle_lines.keys() >= {"en", "zh"}
    assert all(isinstance(v, str) for v in demo.theme.values()) and demo.theme["background"] == "#1d2333"


def test_load_scene_accepts_the_yaml_file_and_a_string(demo: Scene) -> None:
    assert load_scene(str(DEMO / "scene.yaml")).segments == demo.segments


def test_every_product_has_a_segment_with_lively_lines(demo: Scene) -> None:
    assert {s.product_id for s in demo.segments} == {p.id for p in demo.catalog.products}
    for segment in demo.segments:
        assert segment.duration_s > 0
        for lang in ("en", "zh"):
            assert 4 <= len(segment.lines[lang]) <= 6, (segment.product_id, lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_line_fills_without_leftover_braces(demo: Scene, lang: str) -> None:
    for segment in demo.segments:
        product = demo.catalog.get(segment.product_id)
        lines = script_lines(demo, segment, lang, DURING_PROMOS)
        assert len(lines) == len(segment.lines[lang])
        for line in lines:
            assert "{" not in line and "}" not in line, line
        # The facts came from the catalog: the name is said somewhere in the segment.
        assert any(product.name(lang) in line for line in lines)
    for product in demo.catalog.products:
        for line in idle_lines(demo, product, lang, DURING_PROMOS):
            assert "{" not in line and "}" not in line


def test_lines_quote_catalog_prices(demo: Scene) -> None:
    segment = next(s for s in demo.segments if s.product_id == "aurora-buds")
    text = " ".join(script_lines(demo, segment, "en", DURING_PROMOS))
    assert "$39.99" in text and "$49.99" in text and "120" in text


def test_promo_lines_are_dropped_once_the_promo_ends(demo: Scene) -> None:
    segment = next(s for s in demo.segments if s.product_id == "ridgeline-backpack")
    during = script_lines(demo, segment, "en", DURING_PROMOS)
    after = script_lines(demo, segment, "en", AFTER_BACKPACK_DEAL)
    assert any("$74" in line for line in during)
    assert len(after) == len(during) - 1
    assert not any("$74" in line or "trail season deal" in line for line in after)


def test_script_falls_back_to_the_show_language(demo: Scene) -> None:
    segment = demo.segments[0]
    assert script_lines(demo, segment, "fr", DURING_PROMOS) == script_lines(
        demo, segment, "en", DURING_PROMOS
    )


def test_idle_lines_without_a_product_skip_placeholders(demo: Scene) -> None:
    lines = idle_lines(demo, None, "en")
    assert lines and all("{" not in line for line in lines)
    assert len(lines) < len(demo.idle_lines["en"])


def test_fill_rejects_an_unchecked_template(demo: Scene) -> None:
    buds = demo.catalog.get("aurora-buds")
    assert fill("{name} at {price}", buds, demo.catalog, "en") == "Aurora Buds at $49.99"
    assert fill("{spec:battery}", buds, demo.catalog, "zh") == "单次8小时，配合充电盒共32小时"
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill("{colour}", buds, demo.catalog, "en")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{name}", None),
        ("{point:3}", None),
        ("{point:4}", "has 3 selling points"),
        ("{point:0}", "has 3 selling points"),
        ("{spec:battery}", None),
        ("{spec:lumens}", "has no spec 'lumens'"),
        ("{promo_price}", None),
        ("{discount}", "unknown placeholder {discount}"),
        ("Only 39.99 today", "hard-coded number"),
        ("Only ３ left", "hard-coded number"),
        ("{name", "unbalanced"),
    ],
)
def test_check_template(demo: Scene, template: str, problem: str | None) -> None:
    result = check_template(template, demo.catalog.get("aurora-buds"), "en")
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


# --- validation -------------------------------------------------------------------------------


def scene_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The demo scene copied to ``tmp_path`` with ``edit`` applied to its scene.yaml data."""
    folder = tmp_path / "show"
    shutil.copytree(DEMO, folder)
    path = folder / "scene.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def problem(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        load_scene(path)
    return caught.value


def test_missing_scene_folder(tmp_path: Path) -> None:
    assert str(problem(tmp_path / "nope")) == f"{tmp_path / 'nope'}: (file): scene folder not found"


def test_folder_without_scene_yaml(tmp_path: Path) -> None:
    assert str(problem(tmp_path)) == f"{tmp_path / 'scene.yaml'}: (file): file not found"


def test_malformed_scene_yaml_reports_the_line(tmp_path: Path) -> None:
    (tmp_path / "scene.yaml").write_text("name: x\nsegments:\n  - product: [a\n", encoding="utf-8")
    err = problem(tmp_path)
    assert err.field == "(yaml)" and "invalid YAML at line" in err.problem


def test_missing_products_file(tmp_path: Path) -> None:
    folder = scene_copy(tmp_path, lambda d: d.update(products="other.yaml"))
    assert str(problem(folder)) == f"{folder / 'other.yaml'}: (file): file not found"


def test_catalog_errors_name_the_catalog_file(tmp_path: Path) -> None:
    folder = scene_copy(tmp_path, lambda d: None)
    (folder / "images" / "lumen-lamp.png").unlink()
    err = problem(folder)
    assert err.file == str(folder / "products.yaml")
    assert err.field == "products[3].image" and "image file not found" in err.problem


def _segment(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["segments"][index].update(changes)

    return edit


def _line(index: int, lang: str, line: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["segments"][index]["lines"][lang][1] = line

    return edit


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


@pytest.mark.parametrize(
    ("edit", "field", "text"),
    [
        (_drop("voice"), "voice", "required field is missing"),
        (_drop("segments"), "segments", "required field is missing"),
        (lambda d: d.update(language="fr"), "language", "must be one of en, zh"),
        (lambda d: d.update(voice=7), "voice", "expected text, got a number"),
        (lambda d: d.update(segments=[]), "segments", "at least one segment"),
        (lambda d: d.update(colour="red"), "colour", "unknown field"),
        (lambda d: d["persona"]["greeting"].pop("en"), "persona.greeting.en", "required field is missing"),
        (lambda d: d["persona"]["greeting"].update(en="Hi {name}!"), "persona.greeting.en", "placeholders"),
        (_segment(2, product="flux-capacitor"), "segments[2].product", "unknown product 'flux-capacitor'"),
        (_segment(0, duration_s=-5), "segments[0].duration_s", "must be more than 0 seconds"),
        (_segment(0, duration_s="long"), "segments[0].duration_s", "expected a number"),
        (_segment(1, lines={"zh": ["{name}"]}), "segments[1].lines.en", "needs at least one line"),
        (_line(0, "en", "Get the {nmae} now!"), "segments[0].lines.en[1]", "unknown placeholder {nmae}"),
        (_line(1, "zh", "只要{promo_price}！"), "segments[1].lines.zh[1]", "has no promo"),
        (_line(3, "en", "{spec:battery} of light"), "segments[3].lines.en[1]", "has no spec 'battery'"),
        (_line(0, "en", "Only $39.99 today!"), "segments[0].lines.en[1]", "hard-coded number"),
        (
            lambda d: d["idle_lines"]["en"].append("{spec:battery}"),
            "idle_lines.en[4]",
            "has no spec 'battery'",
        ),
        (lambda d: d["theme"].update(accent=None), "theme.accent", "quote colours"),
        (lambda d: d["currency"].pop("symbol"), "currency.symbol", "required field is missing"),
    ],
)
def test_bad_scene_names_file_and_field(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], field: str, text: str
) -> None:
    folder = scene_copy(tmp_path, edit)
    err = problem(folder)
    assert str(err).startswith(f"{folder / 'scene.yaml'}: {field}: "), str(err)
    assert text in err.problem


def test_error_message_format_is_file_field_problem(tmp_path: Path) -> None:
    folder = scene_copy(tmp_path, _segment(0, product="nope"))
    message = str(problem(folder))
    assert re.fullmatch(
        re.escape(f"{folder / 'scene.yaml'}: segments[0].product: unknown product 'nope'")
        + r" \(products: .*\)",
        message,
    )


def _with_platform(tmp_path: Path, platform: str | None) -> Scene:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO, folder)
    raw = yaml.safe_load((folder / "scene.yaml").read_text(encoding="utf-8"))
    if platform is not None:
        raw["platform"] = platform
    raw["call_to_action"] = {
        "default": {"en": "Tap the link below", "zh": "点击下方链接"},
        "douyin": {"zh": "点击下方小黄车"},
    }
    raw["segments"][0]["lines"]["zh"][0] = "{cta}，就是它！"
    (folder / "scene.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_scene(folder)


def test_the_platform_picks_the_call_to_action_in_lines_and_answers(tmp_path: Path) -> None:
    douyin = _with_platform(tmp_path / "a", "douyin")
    assert douyin.segments[0].lines["zh"][0] == "点击下方小黄车，就是它！"
    assert douyin.cta("en") == "Tap the link below"  # no English words for douyin: the default's
    assert Brain(douyin).respond("怎么买", "lumen-lamp").text.startswith("点击下方小黄车")
    plain = _with_platform(tmp_path / "b", None)
    assert plain.segments[0].lines["zh"][0] == "点击下方链接，就是它！"
    assert load_scene(DEMO).cta("en") == "Tap the cart"  # a scene without any: the built-in words
