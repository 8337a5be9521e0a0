"""A take from audio to report with scripted transcripts: pieces, language, partial takes, storage."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from avatar.brain.scene import Scene, load_scene
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.metrics import FILLER_PROMPT
from avatar.rehearse.report import render_html, write_report
from avatar.rehearse.runner import rehearse_audio
from avatar.rehearse.session import Take, language_problem
from avatar.rehearse.store import SessionStore
from avatar.rehearse.timed import TimedLine
from tests.rehearse_fakes import ScriptedASR, quiet, spoken, tone

SCENE = Path(__file__).resolve().parents[2] / "scenes" / "demo"

CLEAN = spoken(
    (0.3, "Hi everyone, these are the Aurora Buds."),
    (3.0, "Active noise cancelling quiets a busy commute."),
    (6.0, "You get 8 hours of music per charge, and 32 hours with the pocket case."),
    (11.0, "At 4.6 grams, they are a light fit that stays put at the gym."),
    (15.6, "They are $39.99 today with our launch deal."),
)
MISTAKES = spoken(
    (0.3, "Um, hi everyone, uh, these are the Aurora Buds."),
    (3.8, "They are, like, the best earbuds in the world."),
    (7.0, "You get 8 hours of music per charge, and 32 hours with the pocket case."),
    (11.6, "You know, at 4.6 grams, they are a light fit that stays put at the gym."),
    (15.8, "They are only $29.99 today."),
)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(SCENE)


def _clock() -> datetime:
    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_clean_take_report_has_no_alarm(scene: Scene, tmp_path: Path) -> None:
    asr = ScriptedASR(CLEAN)
    report = rehearse_audio(
        scene, "aurora-buds", tone(20.0), asr, report_path=tmp_path / "r.html", now=_clock
    )
    assert asr.calls[0]["prompt"] == FILLER_PROMPT["en"] and asr.calls[0]["word_timestamps"] is True
    assert report["flags"] == []
    assert all(p["covered"] for p in report["selling_points"])
    assert report["delivery"]["fillers"] == []
    assert [a["verdict"] for a in report["audience"]] == ["correct"]
    assert report["scores"]["overall"] == 100.0
    assert report["messages"] == []
    assert json.loads((tmp_path / "r.json").read_text())["session_id"] == report["session_id"]


def test_every_planted_mistake_is_flagged(scene: Scene) -> None:
    report = rehearse_audio(scene, "aurora-buds", tone(20.0), ScriptedASR(MISTAKES), now=_clock)
    flags = {(f["rule"], f["found"]) for f in report["flags"]}
    assert ("price", "29.99") in flags
    assert ("absolute", "the best") in flags and ("absolute", "in the world") in flags
    missed = [p["point"] for p in report["selling_points"] if not p["covered"]]
    assert missed == ["Active noise cancelling that quiets a busy commute"]
    assert [f["text"] for f in report["delivery"]["fillers"]] == ["um", "uh", "like", "you know"]
    assert [a["verdict"] for a in report["audience"]] == ["wrong"]
    assert report["scores"]["overall"] < 70


def test_a_silent_recording_is_not_transcribed_and_says_why(scene: Scene) -> None:
    asr = ScriptedASR(CLEAN)
    report = rehearse_audio(scene, "aurora-buds", quiet(20.0), asr, now=_clock)
    assert asr.calls == []
    assert report["transcript"] == []
    assert "No sound reached the microphone" in report["messages"][0]
    assert report["scores"]["delivery"] == 0.0


def test_another_language_than_the_scene_is_reported(scene: Scene) -> None:
    chinese = spoken((0.5, "大家好，这款耳机有主动降噪。"), language="zh")
    report = rehearse_audio(scene, "aurora-buds", tone(5.0), ScriptedASR(chinese), now=_clock)
    assert any("this scene is in English" in m for m in report["messages"])
    detected = language_problem([TimedLine(0, 1, "wo men", ())], "zh", "en")
    assert detected is not None and "You spoke zh" in detected
    assert language_problem([TimedLine(0, 1, "hello there", ())], "en", "en") is None


def test_the_multilingual_check_reports_a_language_the_scene_does_not_have(scene: Scene) -> None:
    gibberish = spoken((0.5, "Number four, I won here three."))
    detector = ScriptedASR(spoken((0.5, "Bonjour à tous"), language="fr"))
    report = rehearse_audio(
        scene, "aurora-buds", tone(5.0), ScriptedASR(gibberish), language_asr=detector, now=_clock
    )
    assert detector.calls[0]["language"] is None
    assert any(
        m.startswith("You spoke fr, but this scene is in English / Chinese") for m in report["messages"]
    )


def test_an_unknown_product_is_refused(scene: Scene) -> None:
    with pytest.raises(ValueError, match="no product 'laptop'"):
        Take(scene, "laptop")


def test_live_audio_is_cut_into_pieces_at_pauses(scene: Scene) -> None:
    take = Take(scene, "aurora-buds")
    take.add_audio(tone(2.0))
    assert take.next_piece() is None  # too short to transcribe yet
    take.add_audio(tone(2.0))
    assert take.next_piece() is None  # still talking: wait for a pause
    take.add_audio(quiet(0.6))
    take.add_audio(tone(1.0))
    start, piece = take.next_piece() or (None, None)
    assert start == 0.0 and piece is not None and 4.3 <= piece.size / 16_000 <= 4.6
    take.add_audio(tone(12.5))
    start2, piece2 = take.next_piece() or (None, None)
    assert start2 == pytest.approx(piece.size / 16_000) and piece2 is not None
    assert piece2.size / 16_000 == pytest.approx(12.0)  # never longer than PIECE_MAX_S
    rest = take.next_piece(final=True)
    assert rest is not None and rest[1].size > 0
    assert take.next_piece(final=True) is None


def test_pieces_are_placed_at_their_time_in_the_take(scene: Scene) -> None:
    take = Take(scene, "aurora-buds")
    asr = ScriptedASR(spoken((0.2, "Hi everyone.")), spoken((0.1, "They are $39.99 today.")))
    take.transcribe_piece(asr, 0.0, tone(3.0))
    take.transcribe_piece(asr, 14.0, tone(3.0))
    take.transcribe_piece(asr, 17.0, quiet(3.0))  # silent: never reaches the ASR
    assert len(asr.calls) == 2
    assert [round(line.start, 2) for line in take.lines] == [0.2, 14.1]


def test_questions_come_on_schedule_once_each(scene: Scene) -> None:
    take = Take(scene, "aurora-buds", schedule=AudienceSchedule(first_s=5, every_s=10))
    assert take.due_question(4.9) is None
    first = take.due_question(5.2)
    assert first is not None and first[0] == 0 and "How much" in first[1].text
    assert take.due_question(6.0) is None
    second = take.due_question(15.0)
    assert second is not None and second[0] == 1
    assert take.asked_at == [5.0, 15.0]  # the scheduled times


def test_a_partial_take_keeps_what_was_said(scene: Scene) -> None:
    take = Take(scene, "aurora-buds")
    take.add_audio(tone(6.0))
    take.add_transcript(spoken((0.3, "Hi everyone, these are the Aurora Buds.")))
    result = take.result("abandoned").as_dict()
    assert result["status"] == "abandoned"
    assert result["transcript"][0]["text"].startswith("Hi everyone")
    assert any("abandoned after 6 s" in m for m in result["messages"])


def test_store_keeps_sessions_and_progress(scene: Scene, tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    first = rehearse_audio(scene, "aurora-buds", tone(20.0), ScriptedASR(MISTAKES), host="ana", store=store)
    second = rehearse_audio(scene, "aurora-buds", tone(20.0), ScriptedASR(CLEAN), host="ana", store=store)
    rehearse_audio(scene, "aurora-buds", tone(20.0), ScriptedASR(CLEAN), host="bo", store=store)
    history = store.history("ana", scene.name)
    assert [row.id for row in history] == [first["session_id"], second["session_id"]]
    assert history[0].overall is not None and history[1].overall == 100.0
    assert store.report(second["session_id"]) == second
    assert store.status(first["session_id"]) == "finished"
    store.start("0123456789ab", "ana", scene.name, "aurora-buds", "2026-11-23T10:00:00+00:00")
    assert store.status("0123456789ab") == "running"
    assert len(store.history("ana")) == 2  # a running take has no score yet


def test_html_report_is_self_contained(scene: Scene, tmp_path: Path) -> None:
    report = rehearse_audio(scene, "aurora-buds", tone(20.0), ScriptedASR(MISTAKES), now=_clock)
    history = [{"started_at": "a", "overall": 40.0}, {"started_at": "b", "overall": 80.0}]
    page = render_html(report, history)
    for chart in ("timeline", "pace", "progress"):
        assert f'<svg id="{chart}"' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from elsewhere
    assert "<script src" not in page and "<link" not in page
    assert page.count('class="flagged"') == 3
    assert "Say the catalog price: Aurora Buds is $39.99" in page
    assert 'class="missed"' in page
    embedded = re.search(r'<script type="application/json" id="report-json">(.*?)</script>', page, re.S)
    assert embedded is not None and json.loads(embedded.group(1))["session_id"] == report["session_id"]
    write_report(report, tmp_path / "sub" / "take.html")
    assert (tmp_path / "sub" / "take.json").is_file()


def test_report_escapes_what_the_host_said(scene: Scene) -> None:
    script = spoken((0.5, "<script>alert(1)</script> hi"))
    report = rehearse_audio(scene, "aurora-buds", tone(3.0), ScriptedASR(script), now=_clock)
    page = render_html(report)
    assert "<script>alert" not in page
    assert np.isfinite(report["delivery"]["pace"])


def test_a_bilingual_scene_takes_a_chinese_take_and_coaches_it_in_chinese(scene: Scene) -> None:
    from avatar.rehearse.language import scene_languages

    assert scene_languages(scene) == ("en", "zh"), "the demo has English and Chinese lines"
    chinese = spoken((0.5, "大家好，这款耳机有主动降噪。"), (15.5, "今天只要29.99美元。"), language="zh")
    detector = ScriptedASR(spoken((0.5, "大家好"), language="zh"))
    report = rehearse_audio(
        scene, "aurora-buds", tone(20.0), ScriptedASR(chinese), language_asr=detector, now=_clock
    )
    assert report["language"] == "zh" and report["messages"] == []
    price = next(f for f in report["flags"] if f["rule"] == "price")
    assert price["suggestion"].startswith("请说目录里的价格"), price
    assert report["audience"][0]["question"] == "这个多少钱？"


def test_an_unsure_language_call_asks_instead_of_refusing() -> None:
    from avatar.rehearse.language import call_language

    # Whisper base on a synthetic Mandarin take: Thai first, the scene's languages far behind.
    unsure = call_language({"th": 0.41, "en": 0.29, "vi": 0.1, "zh": 0.03}, ("en", "zh"))
    assert not unsure.sure and not unsure.refused and unsure.language == "en"
    assert unsure.message is not None and "could not tell" in unsure.message
    sure = call_language({"zh": 0.9, "en": 0.05}, ("en", "zh"))
    assert sure.sure and sure.language == "zh" and sure.message is None
    other = call_language({"fr": 0.95, "en": 0.03}, ("en", "zh"))
    assert other.refused and other.message is not None and other.message.startswith("You spoke fr,")
    assert call_language(None, ("zh",)).language == "zh"
