"""Rehearsals of recorded takes on the real bundled Whisper (tests/data/rehearse, made by
scripts/make_rehearse_clips.py with the Piper joe voice and espeak-ng).

Whisper drops hesitations it was not shown: on mistakes.wav tiny.en writes no "um" or "uh" without
a prompt, and keeps them when prompted with fillers (what the rehearsal does). The tests check
that honestly, on the same clip, instead of assuming it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from avatar.brain.scene import Scene, load_scene
from avatar.rehearse.metrics import FILLER_PROMPT, count_fillers
from avatar.rehearse.runner import rehearse_audio
from avatar.rehearse.timed import lines_from_transcript, words_of

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "rehearse"


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(REPO / "scenes" / "demo")


@pytest.fixture(scope="module")
def asr() -> Iterator[Any]:
    from avatar.engines.asr import load_asr

    yield load_asr("tiny.en")


def _audio(name: str) -> Any:
    from avatar.engines.asr import read_audio

    return read_audio(DATA / name)


@pytest.mark.timeout(300)
def test_clean_take_raises_no_false_alarm(scene: Scene, asr: Any, tmp_path: Path) -> None:
    report = rehearse_audio(
        scene, "aurora-buds", _audio("clean.wav"), asr, report_path=tmp_path / "clean.html"
    )
    assert report["flags"] == [], report["transcript"]
    assert all(p["covered"] for p in report["selling_points"]), report["selling_points"]
    assert report["delivery"]["fillers"] == []
    assert report["delivery"]["pauses"] == []
    assert [a["verdict"] for a in report["audience"]] == ["correct"], report["audience"]
    assert report["messages"] == []
    assert (tmp_path / "clean.html").read_text().count('class="flagged"') == 0


@pytest.mark.timeout(300)
def test_every_planted_mistake_is_flagged(scene: Scene, asr: Any) -> None:
    report = rehearse_audio(scene, "aurora-buds", _audio("mistakes.wav"), asr)
    flags = {(f["rule"], f["found"].lower()) for f in report["flags"]}
    assert ("price", "29.99") in flags, report["flags"]  # the wrong price
    assert {("absolute", "the best"), ("absolute", "in the world")} <= flags  # banned words
    missed = [p["point"] for p in report["selling_points"] if not p["covered"]]
    assert missed == ["Active noise cancelling that quiets a busy commute"]  # the missed point
    fillers = {f["text"] for f in report["delivery"]["fillers"]}
    assert {"um", "uh", "you know"} <= fillers, report["transcript"]  # planted fillers
    assert [a["verdict"] for a in report["audience"]] == ["wrong"]  # the price answer
    price_flag = next(f for f in report["flags"] if f["rule"] == "price")
    assert "$39.99" in price_flag["suggestion"]


@pytest.mark.timeout(300)
def test_whisper_keeps_fillers_only_when_prompted(asr: Any) -> None:
    audio = _audio("mistakes.wav")

    def fillers(prompt: str | None) -> set[str]:
        transcript = asr.transcribe(audio, language="en", prompt=prompt, word_timestamps=True)
        return {f.text for f in count_fillers(words_of(lines_from_transcript(transcript)), "en")}

    prompted, plain = fillers(FILLER_PROMPT["en"]), fillers(None)
    assert {"um", "uh"} <= prompted
    assert not {"um", "uh"} & plain  # what happens without the prompt: the reason it is there


@pytest.mark.timeout(600)
def test_an_unclear_chinese_take_is_asked_about_not_refused(scene: Any, asr: Any) -> None:
    from avatar.engines.asr import MULTILINGUAL_MODEL, load_asr

    # espeak-ng's plain cmn voice reads its tone digits as English numbers: Whisper base hears Thai
    # or English. The demo scene is bilingual, so the take is not refused: the report asks.
    report = rehearse_audio(
        scene, "aurora-buds", _audio("chinese.wav"), asr, language_asr=load_asr(MULTILINGUAL_MODEL)
    )
    assert not any(m.startswith("You spoke") for m in report["messages"]), report["messages"]
    assert any("could not tell" in m for m in report["messages"]), report["messages"]


@pytest.mark.timeout(600)
def test_a_mandarin_take_is_judged_and_coached_in_chinese(scene: Any, asr: Any) -> None:
    from avatar.engines.asr import MULTILINGUAL_MODEL, load_asr

    report = rehearse_audio(
        scene, "aurora-buds", _audio("mandarin.wav"), asr, language_asr=load_asr(MULTILINGUAL_MODEL)
    )
    assert report["language"] == "zh" and report["messages"] == [], report["messages"]
    text = "".join(line["text"] for line in report["transcript"])
    assert "主动降噪" in text and "39.99" in text, text  # Simplified, as the catalog writes it
    assert report["audience"][0]["question"] == "这个多少钱？"
    assert report["audience"][0]["verdict"] == "correct", report["audience"]
    assert all(p["point"][:1] >= "\u4e00" for p in report["selling_points"]), "Chinese selling points"


@pytest.mark.timeout(600)
def test_the_avatars_model_answer_passes_its_own_coach(scene: Scene, asr: Any, tmp_path: Path) -> None:
    import asyncio

    from avatar.engines.asr import read_audio
    from avatar.rehearse.presenter import Presenter

    presenter = Presenter(scene, tmp_path)
    try:
        wav = asyncio.run(presenter.model_answer("aurora-buds"))
    finally:
        presenter.close()
    report = rehearse_audio(scene, "aurora-buds", read_audio(wav), asr)
    assert report["flags"] == [], report["transcript"]
    assert all(p["covered"] for p in report["selling_points"]), report["selling_points"]


@pytest.mark.timeout(300)
def test_cli_writes_the_report_and_saves_the_session(tmp_path: Path) -> None:
    html = tmp_path / "out" / "report.html"
    command = [sys.executable, "-m", "avatar.cli", "rehearse", "--scene", "scenes/demo"]
    command += ["--product", "aurora-buds", "--audio", str(DATA / "mistakes.wav"), "--report", str(html)]
    command += ["--data-dir", str(tmp_path / "data"), "--name", "ana", "--no-language-check"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert json.loads(html.with_suffix(".json").read_text()) == report
    assert "Flagged lines" in html.read_text()
    assert (tmp_path / "data" / "rehearse.sqlite3").is_file()
    bad = subprocess.run(
        [*command[:8], "--audio", str(tmp_path / "missing.wav"), "--data-dir", str(tmp_path / "data")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "missing.wav" in bad.stderr
