"""The meaning check's rules, each on the kind of sentence the bundled model really wrote.

The embedding similarity is stood in by a fake that scores by shared words (the real model's
threshold is calibrated in tests/engines/test_meaning_calibration.py); the rules before it need no
model.
"""

from __future__ import annotations

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.meaning import MeaningCheck, repeats, self_introduction
from avatar.brain.phrasing import Phraser
from avatar.brain.scene import Scene, load_scene
from tests.fakes import DEMO_SCENE
from tests.fakes_llm import FakeLLM, WordEmbedder


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture
def check(scene: Scene) -> MeaningCheck:
    return MeaningCheck(scene.catalog, WordEmbedder(), threshold=0.8, extra_names=("Mia",))


LAMP = "Flicker-free light in five brightness levels."


@pytest.mark.parametrize(
    ("output", "template", "language", "reason"),
    [
        ("I'm Mia, a live shopping host.", "Warm, neutral or daylight tone at a touch.", "en", "introduces"),
        ("看到你，我是一个美好的食喽！", "只要$24.50，现在还有340个现货。", "zh", "introduces"),
        ("美好艺！美女美女美女美女美女", "套装优惠价：整套只要$49，原价$59。", "zh", "repeats"),
        (
            "In the box: a dripper, a 600 ml server, and two cups of a dripper.",
            "In the box: a dripper, a 600 ml server and two cups.",
            "en",
            "repeats",
        ),
        ("Ridgeline 30L Backpack!", "Adventure time: this is the Ridgeline 30L Backpack!", "en", "line out"),
        ("Yes, either Mia works on her own.", "Yes, either bud works on its own.", "en", "changes the line"),
        (
            "游明LED台灯：无频闪光源，5档亮度随心调。",
            "流明LED台灯：无频闪光源，5档亮度随心调。",
            "zh",
            "changes",
        ),
        (
            "真无线耳机的续航：单次8小时，配合充电盒共32小时。",
            "极光真无线耳机的续航：单次8小时，配合充电盒共32小时。",
            "zh",
            "cuts the product name",
        ),
        (
            "Today I have the Aurora Buds, the Summit Steel Bottle and the Lumen LED Desk Lamp.",
            "Which product do you mean? Today I have the Aurora Buds, the Summit Steel Bottle and the "
            "Lumen LED Desk Lamp.",
            "en",
            "leaves out the sentence",
        ),
        # Issue 17's 30-minute run: the bundled model dropped who speaks, twice.
        (
            "Mia, AI主播，说的都来自今天的商品资料。",
            "我是Mia，AI主播，说的都来自今天的商品资料。",
            "zh",
            "drops the self",
        ),
        (
            "文明聊天哦，有商品问题随时问我！",
            "咱们文明聊天哦，有商品问题随时问我！",
            "zh",
            "line out: '咱们'",
        ),
        (
            "The Summit Steel Bottle: ice-cold water for 24 hours, hot tea for 12.",
            "For the outdoors, I'd suggest the Summit Steel Bottle: ice-cold water for 24 hours, "
            "hot tea for 12.",
            "en",
            "drops the speaker",
        ),
        # The served SmolLM2 (whole answers), spoken by the check before it looked for the speaker.
        (
            "The plan is to sell 120 of the Aurora Buds.",
            "We have 120 left of the Aurora Buds.",
            "en",
            "speaker",
        ),
        (
            "The Aurora Buds: 8 hours per charge, 32 hours with the case.",
            "The battery life of the Aurora Buds: 8 hours per charge, 32 hours with the case.",
            "en",
            "line out: 'battery life'",
        ),
        (
            "A leak-proof lid you can toss in a bag, so more soggy backpacks.",
            "A leak-proof lid you can toss in a bag, so no more soggy backpacks.",
            "en",
            "line out: 'no'",
        ),
        ("Flicker-free light, as good as Dyson.", LAMP, "en", "new name: dyson"),
        ("The Summit Steel Bottle has flicker-free light.", LAMP, "en", "new name: summit-bottle"),
        ("Flicker-free light in five brightness levels, says Joe.", LAMP, "en", "new name: Joe"),
        ("无频闪光源，五档亮度。", LAMP, "en", "not in en"),
        ("Our cheapest deal ever, buy now before it ends.", LAMP, "en", "meaning changed"),
    ],
)
def test_each_rule_refuses_what_the_bundled_model_wrote(
    check: MeaningCheck, output: str, template: str, language: str, reason: str
) -> None:
    verdict = check.check(output, template, language)
    assert not verdict.ok and reason in verdict.reason, verdict


@pytest.mark.parametrize(
    ("output", "template", "language"),
    [
        (LAMP, LAMP, "en"),
        (
            "A starter pack of 40 paper filters is in the box.",
            "Yes, a starter pack of 40 paper filters is in the box.",
            "en",
        ),
        ("看这款极光真无线耳机！", "先来看这款极光真无线耳机！", "zh"),
        (
            "The Summit Steel Bottle, and yes, it's the red one everyone asks about!",
            "Next, the Summit Steel Bottle, and yes, it's the red one everyone asks about!",
            "en",
        ),
        (
            "You can get the Kiln Pour-Over Coffee Set for $49 with our bundle price, down from $59.",
            "You can get the Kiln Pour-Over Coffee Set for $49 right now with our bundle price, "
            "down from $59.",
            "en",
        ),
        (
            "我是Mia，AI主播，我说的都来自今天的商品资料。",
            "我是Mia，AI主播，说的都来自今天的商品资料。",
            "zh",
        ),
    ],
)
def test_faithful_rewordings_pass(check: MeaningCheck, output: str, template: str, language: str) -> None:
    verdict = check.check(output, template, language)
    assert verdict.ok, verdict


def test_an_introduction_is_fine_when_the_viewer_asked_who_the_host_is(check: MeaningCheck) -> None:
    template = "Everything I tell you comes from today's product catalog."
    assert not check.check(
        "I'm Mia, and everything I tell you comes from today's product catalog.", template, "en"
    ).ok
    assert check.check(
        "I'm Mia, and everything I tell you comes from today's product catalog.",
        template,
        "en",
        asked_identity=True,
    ).ok


def test_without_an_embedding_model_nothing_passes(scene: Scene) -> None:
    check = MeaningCheck(scene.catalog, None)
    verdict = check.check(LAMP, LAMP, "en")
    assert not verdict.ok and "no embedding model" in verdict.reason


def test_a_sentence_being_written_is_doomed_only_when_no_ending_can_save_it(check: MeaningCheck) -> None:
    assert check.doomed("I'm Mia, and", LAMP) == "introduces itself"
    assert check.doomed("Flicker-free flicker-free flicker-free", LAMP)
    assert check.doomed("Flicker-free light in", LAMP) is None
    assert check.doomed("美女美女", "套装优惠价：整套只要$49，原价$59。") is None, (
        "a pair twice may still be Chinese"
    )


def test_helpers() -> None:
    assert repeats("a man who is a man who is a man")
    assert not repeats("A padded sleeve for a laptop up to 15 inches.")
    assert self_introduction("I'm Mia, a live shopping host.") and self_introduction("我叫小美")
    assert not self_introduction("I'm so glad the lamp arrived.")


async def test_the_phraser_speaks_the_template_when_the_meaning_check_refuses(scene: Scene) -> None:
    answerer = Answerer(scene)
    check = MeaningCheck(scene.catalog, WordEmbedder(), threshold=0.8, extra_names=("Mia",))
    engine = FakeLLM("I'm Mia, you can get the Lumen LED Desk Lamp for $39.99.")
    phraser = Phraser(engine, answerer.compliance, persona="Mia", meaning=check)
    assert await phraser.load()
    answer = answerer.answer("how much is the desk lamp?", "aurora-buds")
    phrased = await phraser.phrase(answer)
    phraser.close()
    assert phrased.by == "template" and phrased.answer.text == answer.text
    assert phrased.fallback is not None and phrased.fallback.startswith("meaning: introduces itself")
