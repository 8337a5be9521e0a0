"""The run of show over the demo scene: lines in script order, looping, resuming cut lines.

Expected lines come from the scene itself (``script_lines``), so the tests follow the scene file.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from avatar.brain.catalog import Catalog
from avatar.brain.scene import Scene, load_scene
from avatar.brain.script import script_lines
from avatar.brain.show import RunOfShow, ScriptLine
from avatar.engines.tts.text import split_sentences
from tests.fakes import DEMO_SCENE


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


def scripted(scene: Scene, language: str | None = None) -> list[tuple[str, str]]:
    """(product id, line) for one pass through the whole show."""
    lang = language or scene.language
    return [
        (segment.product_id, line)
        for segment in scene.segments
        for line in script_lines(scene, segment, lang)
    ]


def test_walks_every_segment_in_order_then_loops(scene: Scene) -> None:
    show = RunOfShow(scene)
    one_pass = scripted(scene)
    assert len({product for product, _ in one_pass}) == len(scene.segments) > 1
    said = []
    for _ in range(2 * len(one_pass) + 3):
        line = show.next_line()
        said.append((line.product_id, line.text))
        assert show.current_product_id == line.product_id, "the product on air is the one talked about"
    assert said == (one_pass * 3)[: len(said)]


def test_line_positions_identify_segment_and_line(scene: Scene) -> None:
    show = RunOfShow(scene)
    first_segment = script_lines(scene, scene.segments[0], scene.language)
    positions = [
        (line.segment, line.line) for line in (show.next_line() for _ in range(len(first_segment) + 1))
    ]
    assert positions == [(0, i) for i in range(len(first_segment))] + [(1, 0)]


def test_starts_on_the_first_segments_product(scene: Scene) -> None:
    assert RunOfShow(scene).current_product_id == scene.segments[0].product_id


def test_resume_says_the_rest_of_the_line_then_moves_on(scene: Scene) -> None:
    show = RunOfShow(scene)
    one_pass = scripted(scene)
    index, (_, text) = next(
        (i, item) for i, item in enumerate(one_pass) if len(split_sentences(item[1])) >= 2
    )
    for _ in range(index):
        show.next_line()
    line = show.next_line()
    assert line.text == text
    sentences = split_sentences(text)

    show.resume(line, 1)  # the first sentence was heard, the second was cut
    rest = show.next_line()
    assert rest.text == " ".join(sentences[1:])
    assert (rest.product_id, rest.segment, rest.line) == (line.product_id, line.segment, line.line)
    assert show.current_product_id == line.product_id
    assert show.next_line().text == one_pass[index + 1][1], "then the show goes on where it was"


def test_resume_from_the_start_repeats_the_whole_line(scene: Scene) -> None:
    show = RunOfShow(scene)
    line = show.next_line()
    show.resume(line, 0)
    assert show.next_line().text == line.text
    assert show.next_line().text == scripted(scene)[1][1]


def test_resume_of_a_fully_heard_line_does_not_repeat_it(scene: Scene) -> None:
    show = RunOfShow(scene)
    line = show.next_line()
    show.resume(line, len(split_sentences(line.text)))
    assert show.next_line().text == scripted(scene)[1][1]


def test_resume_of_a_segments_last_line_stays_on_that_product(scene: Scene) -> None:
    show = RunOfShow(scene)
    first = script_lines(scene, scene.segments[0], scene.language)
    line = None
    for _ in first:
        line = show.next_line()
    assert line is not None and len(split_sentences(line.text)) >= 1
    show.resume(line, 0)
    again = show.next_line()
    assert again.text == line.text and show.current_product_id == scene.segments[0].product_id
    following = show.next_line()
    assert following.product_id == scene.segments[1].product_id == show.current_product_id


def test_a_resumed_line_cut_again_resumes_from_the_new_cut(scene: Scene) -> None:
    show = RunOfShow(scene)
    first = show.next_line()
    # A long line (the whole first segment in one), cut twice.
    text = " ".join(script_lines(scene, scene.segments[0], scene.language))
    long_line = ScriptLine(first.product_id, text, first.segment, first.line)
    sentences = split_sentences(text)
    assert len(sentences) >= 3
    show.resume(long_line, 1)
    rest = show.next_line()
    show.resume(rest, 1)
    assert show.next_line().text == " ".join(sentences[2:])
    assert show.next_line().text == scripted(scene)[1][1]


def test_other_language_uses_that_languages_lines(scene: Scene) -> None:
    show = RunOfShow(scene, language="zh")
    expected = scripted(scene, "zh")
    assert [show.next_line().text for _ in range(3)] == [text for _, text in expected[:3]]


def test_a_sold_out_products_segment_skips_itself(scene: Scene) -> None:
    sold_out = scene.segments[1].product_id
    catalog = scene.catalog
    product = replace(catalog.get(sold_out), stock=0)
    emptied = Catalog(
        tuple(product if p.id == sold_out else p for p in catalog.products),
        catalog.source,
        catalog.currency_code,
        catalog.currency_symbol,
    )
    show = RunOfShow(replace(scene, catalog=emptied))
    said = {show.next_line().product_id for _ in range(3 * len(scripted(scene)))}
    assert sold_out not in said
    assert said == {s.product_id for s in scene.segments} - {sold_out}
