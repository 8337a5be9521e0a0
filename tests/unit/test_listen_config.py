"""Choosing the speech model and the barge-in mode: scene.yaml, settings and the command line."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from avatar.brain.scene import load_scene
from avatar.cli import main
from avatar.config import Settings, load_settings
from avatar.engines.asr.factory import check_asr_choice
from avatar.errors import DataError
from avatar.listen.listener import show_asr
from tests.fakes import DEMO_SCENE, REPO


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in fields(Settings):
        monkeypatch.delenv(f"AVATAR_{field.name.upper()}", raising=False)
    monkeypatch.chdir(REPO)


def scene_with(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, folder)
    with (folder / "scene.yaml").open("a", encoding="utf-8") as file:
        file.write(extra)
    return folder


def test_scenes_default_to_sentence_barge_in_and_read_the_listen_section(tmp_path: Path) -> None:
    assert load_scene(DEMO_SCENE).barge_in == "sentence"
    assert load_scene(scene_with(tmp_path / "a", "\nlisten: {barge_in: immediate}\n")).barge_in == "immediate"
    assert load_scene(scene_with(tmp_path / "b", "\nlisten:\n  barge_in: off\n")).barge_in == "off"


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("\nlisten: {barge_in: later}\n", "listen.barge_in", "must be one of sentence, immediate, off"),
        ("\nlisten: {barge: off}\n", "listen", "barge"),
        ("\nlisten: loud\n", "listen", "expected a mapping"),
    ],
)
def test_a_bad_listen_section_names_the_field(tmp_path: Path, extra: str, field: str, problem: str) -> None:
    with pytest.raises(DataError) as caught:
        load_scene(scene_with(tmp_path, extra))
    message = str(caught.value)
    assert "scene.yaml" in message and field in message and problem in message


def test_settings_take_the_asr_choice_and_barge_in_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AVATAR_ASR_MODEL", "base")
    monkeypatch.setenv("AVATAR_ASR_ENGINE", "faster")
    monkeypatch.setenv("AVATAR_BARGE_IN", "immediate")
    settings = load_settings()
    assert (settings.asr_model, settings.asr_engine, settings.barge_in) == (
        "base",
        "faster-whisper",
        "immediate",
    )
    assert (Settings().asr_model, Settings().asr_engine) == ("tiny.en", "whisper")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"asr_model": "tiny-en"}, "asr_model: unknown Whisper model 'tiny-en'"),
        ({"asr_model": "/nowhere/model.pt"}, "asr_model: /nowhere/model.pt: no such Whisper model"),
        ({"asr_engine": "vosk"}, "asr_engine: unknown ASR engine 'vosk'"),
        ({"barge_in": "sometimes"}, "barge_in: must be one of sentence, immediate, off"),
    ],
)
def test_bad_asr_or_barge_in_settings_fail_at_once(override: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_settings(**override)


def test_model_paths_and_hub_names_are_accepted_without_loading(tmp_path: Path) -> None:
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"not loaded here")
    assert check_asr_choice(str(checkpoint), "whisper") == (str(checkpoint), "whisper")
    assert check_asr_choice("small", "faster-whisper") == ("small", "faster-whisper")
    with pytest.raises(ValueError, match="faster-whisper needs a CTranslate2 folder"):
        check_asr_choice(str(tmp_path), "faster")


@pytest.mark.parametrize("command", ["live", "bench"])
def test_the_cli_refuses_an_unknown_asr_model_before_starting(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [command, "--asr-model", "tinyy.en", "--port", "0"]
            if command == "live"
            else [command, "--asr-model", "tinyy.en"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("avatar: asr_model: unknown Whisper model 'tinyy.en'") and "tiny.en" in err


@pytest.mark.parametrize(
    ("model", "spoken", "language"),
    [("tiny.en", "zh", "en"), ("base", "zh", "zh"), ("base", "en", None)],
)
def test_a_multilingual_model_is_told_chinese_in_a_chinese_show(
    model: str, spoken: str, language: str | None
) -> None:
    asr = show_asr(load_scene(REPO / "scenes/demo-zh").catalog, model=model, spoken=spoken)
    assert asr.language == language  # left to guess, base once took a Mandarin question for Thai
    assert asr.prompt is not None and "，" not in asr.prompt  # the full-width comma primed "４" loops
