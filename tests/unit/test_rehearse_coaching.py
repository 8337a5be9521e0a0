"""Content coaching and the simulated audience, on the demo catalog with scripted lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.scene import Scene, load_scene
from avatar.rehearse.audience import AudienceSchedule, questions_for, score_answers
from avatar.rehearse.coaching import coach, key_terms, point_coverage
from avatar.rehearse.timed import TimedLine

SCENE = Path(__file__).resolve().parents[2] / "scenes" / "demo"


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(SCENE)


@pytest.fixture(scope="module")
def checker(scene: Scene) -> ComplianceChecker:
    return ComplianceChecker.for_scene(scene)


def _lines(*texts: str, step: float = 4.0) -> list[TimedLine]:
    return [TimedLine(i * step, i * step + 3.0, t, ()) for i, t in enumerate(texts)]


CLEAN = (
    "Hi everyone, these are the Aurora Buds.",
    "Active noise canceling quiets a busy commute.",
    "You get 8 hours of music per charge, and 32 hours with the pocket case.",
    "At 4.6 grams, they are a light fit that stays put at the gym.",
    "They are $39.99 today with our launch deal, down from $49.99.",
    "We have 120 pairs ready to ship.",
)


def test_key_terms_drop_stop_words_and_stem() -> None:
    assert key_terms("A leak-proof lid you can toss in a bag") == ("leak", "proof", "lid", "toss", "bag")
    assert key_terms("Eight hours of music per charge, 32 with the pocket case")[:2] == ("8", "hour")
    assert "降噪" in key_terms("主动降噪，通勤路上更安静")


def test_a_clean_take_covers_every_point_and_raises_no_flag(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(_lines(*CLEAN), product, scene.catalog, checker, "en")
    assert [p.covered for p in result.points] == [True, True, True]
    assert result.points[0].said == CLEAN[1]
    assert result.flags == ()


def test_a_missed_point_names_what_was_not_said(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    lines = _lines(CLEAN[0], CLEAN[2], CLEAN[3])
    result = coach(lines, product, scene.catalog, checker, "en")
    missed = [p for p in result.points if not p.covered]
    assert [p.point for p in missed] == ["Active noise cancelling that quiets a busy commute"]
    assert set(missed[0].missing) >= {"noise", "commute"}
    assert result.covered == 2


def test_asr_spelling_slips_still_count() -> None:
    lines = _lines("Active noise cancellation, quite a busy commute.")
    assert point_coverage("Active noise cancelling that quiets a busy commute", lines).covered


def test_a_wrong_price_is_flagged_with_the_catalog_price(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(_lines("They are only $29.99 today."), product, scene.catalog, checker, "en")
    (flag,) = result.flags
    assert (flag.kind, flag.rule, flag.found) == ("fact", "price", "29.99")
    assert "$39.99" in flag.suggestion and "launch deal" in flag.suggestion


def test_a_wrong_spec_and_stock_are_flagged(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(
        _lines("You get 12 hours per charge.", "Only 5 pairs left!"), product, scene.catalog, checker, "en"
    )
    assert [(f.rule, f.found) for f in result.flags] == [("number", "12"), ("stock", "5")]
    assert "8 hours per charge" in result.flags[0].suggestion
    assert "120 in stock" in result.flags[1].suggestion


def test_banned_words_get_the_checkers_rewrite(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(_lines("They are the best earbuds in the world."), product, scene.catalog, checker, "en")
    assert [(f.kind, f.found) for f in result.flags] == [
        ("compliance", "the best"),
        ("compliance", "in the world"),
    ]
    suggestion = result.flags[0].suggestion
    assert suggestion.startswith("They are great earbuds.")
    assert "best" not in suggestion and "world" not in suggestion
    assert not ComplianceChecker(scene.catalog).check(suggestion.split(" (")[0], "en", product.id).changed


def test_a_rewrite_only_line_suggests_the_clean_wording(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(_lines("It is a perfect gift."), product, scene.catalog, checker, "en")
    assert [f.suggestion for f in result.flags] == ["It is a great gift."]


def test_medical_claims_get_a_template(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    result = coach(_lines("They cure headaches."), product, scene.catalog, checker, "en")
    (flag,) = result.flags
    assert flag.rule == "medical"
    assert "Drop the health claim" in flag.suggestion and "noise cancelling" in flag.suggestion


def test_chinese_take(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    lines = _lines("这款耳机主动降噪，通勤路上更安静。", "这是最好的耳机，只要29.99美元！")
    result = coach(lines, product, scene.catalog, checker, "zh")
    assert result.points[0].covered and not result.points[1].covered
    rules = {(f.kind, f.rule) for f in result.flags}
    assert ("compliance", "absolute") in rules and ("fact", "price") in rules


# --- audience --------------------------------------------------------------------------------


def test_questions_start_with_the_price_then_the_faq(scene: Scene) -> None:
    questions = questions_for(scene.catalog.get("aurora-buds"), scene.catalog, "en")
    assert questions[0].text == "How much is the Aurora Buds?"
    assert set(questions[0].numbers) == {"39.99", "49.99"}
    assert questions[1].text == "Do they work with iPhone and Android?"
    assert questions[-1].numbers == ("120",)
    zh = questions_for(scene.catalog.get("aurora-buds"), scene.catalog, "zh")
    assert zh[0].text == "这个多少钱？"


def test_schedule_times() -> None:
    schedule = AudienceSchedule(first_s=15, every_s=20)
    assert schedule.times(60.0, 10) == [15, 35, 55]
    assert schedule.times(10.0, 10) == []
    assert schedule.times(60.0, 2) == [15, 35]


def test_answers_are_scored_against_the_catalog(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    questions = questions_for(product, scene.catalog, "en")[:4]
    lines = [
        TimedLine(16.0, 18.0, "They are $39.99 today.", ()),  # price: right
        TimedLine(36.0, 39.0, "Yes, they work with any iPhone or Android phone.", ()),  # faq: right
        TimedLine(56.0, 58.0, "Around 12 hours.", ()),  # battery: a wrong number
    ]
    schedule = AudienceSchedule(first_s=15, every_s=20, answer_window_s=15)
    answers = score_answers(lines, questions, [15, 35, 55, 75], product, checker, "en", schedule, 90.0)
    assert [a.verdict for a in answers] == ["correct", "correct", "wrong", "unanswered"]
    assert "12" in answers[2].why


def test_an_answer_without_the_number_is_incomplete(scene: Scene, checker: ComplianceChecker) -> None:
    product = scene.catalog.get("aurora-buds")
    questions = questions_for(product, scene.catalog, "en")[:1]
    lines = [TimedLine(16.0, 18.0, "It's really affordable right now.", ())]
    (answer,) = score_answers(lines, questions, [15], product, checker, "en", AudienceSchedule(), 30.0)
    assert answer.verdict == "incomplete" and "39.99" in answer.why
