"""Settings, the ``avatar`` command and voice files: what an operator types and what they get back.

Configuration mistakes must come back as one readable line (``file: field: problem`` for data
files, the setting's name for settings) and exit code 2, never as a traceback.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from avatar.brain.scene import load_scene
from avatar.cli import main
from avatar.config import Settings, load_settings
from avatar.engines.tts.voices import BUNDLED_JOE, ENGINES, load_voice, voices_dir
from avatar.errors import DataError
from tests.fakes import DEMO_SCENE, REPO

ERROR_LINE = re.compile(r"^avatar: (?P<file>.+?): (?P<field>[^:]+): (?P<problem>.+)$")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AVATAR_* variable from the machine running the tests leaks into them."""
    for field in fields(Settings):
        monkeypatch.delenv(f"AVATAR_{field.name.upper()}", raising=False)
    monkeypatch.chdir(REPO)


# -- settings --------------------------------------------------------------------------------------


def test_defaults_without_environment() -> None:
    assert load_settings() == Settings()


def test_environment_variables_are_read_and_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AVATAR_PORT", "9123")
    monkeypatch.setenv("AVATAR_HOST", "127.0.0.1")
    monkeypatch.setenv("AVATAR_WIDTH", "1280")
    monkeypatch.setenv("AVATAR_HEIGHT", "720")
    monkeypatch.setenv("AVATAR_FPS", "30")
    monkeypatch.setenv("AVATAR_SCENE", str(tmp_path / "show"))
    monkeypatch.setenv("AVATAR_VOICES", str(tmp_path / "voices"))
    monkeypatch.setenv("AVATAR_ICE_LOOPBACK", "yes")
    monkeypatch.setenv("AVATAR_CONNECT_TIMEOUT_S", "7.5")
    settings = load_settings()
    assert (settings.port, settings.host) == (9123, "127.0.0.1")
    assert (settings.width, settings.height, settings.fps) == (1280, 720, 30)
    assert settings.scene == tmp_path / "show" and settings.voices == tmp_path / "voices"
    assert settings.ice_loopback is True
    assert settings.connect_timeout_s == 7.5


@pytest.mark.parametrize(("text", "expected"), [("1", True), ("true", True), ("0", False), ("no", False)])
def test_boolean_environment_values(monkeypatch: pytest.MonkeyPatch, text: str, expected: bool) -> None:
    monkeypatch.setenv("AVATAR_ICE_LOOPBACK", text)
    assert load_settings().ice_loopback is expected


def test_explicit_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_PORT", "9123")
    monkeypatch.setenv("AVATAR_FPS", "20")
    settings = load_settings(port=8000, fps=None)
    assert settings.port == 8000, "a flag beats the environment"
    assert settings.fps == 20, "an unset flag (None) leaves the environment's value"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"height": 100}, "height"),
        ({"height": 361}, "height"),
        ({"height": 1080}, "height"),
        ({"width": 320}, "width"),
        ({"width": 641}, "width"),
        ({"fps": 0}, "fps"),
        ({"fps": 60}, "fps"),
        ({"port": 70000}, "port"),
        ({"width": 720, "height": 720}, "height"),
        ({"width": 360, "height": 1280}, "height"),
        ({"width": 1440, "height": 2560}, "width"),
        ({"width": 540, "height": 1920}, "height"),
    ],
)
def test_invalid_settings_raise_naming_the_field(override: dict[str, int], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        load_settings(**override)


@pytest.mark.parametrize(("width", "height"), [(720, 1280), (540, 960), (360, 640), (1280, 720), (854, 480)])
def test_portrait_and_landscape_sizes_are_accepted(width: int, height: int) -> None:
    settings = load_settings(width=width, height=height)
    assert (settings.width, settings.height) == (width, height)


def test_invalid_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_FPS", "fast")
    with pytest.raises(ValueError, match="AVATAR_FPS"):
        load_settings()
    monkeypatch.setenv("AVATAR_FPS", "90")
    with pytest.raises(ValueError, match="^fps: "):
        load_settings()


# -- avatar ask ----------------------------------------------------------------------------------------


def test_ask_prints_the_answer_as_json_with_the_catalog_price(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_scene(DEMO_SCENE).catalog
    lamp = catalog.get("lumen-lamp")
    assert (
        main(["ask", "--json", "--llm", "none", "--scene", "scenes/demo", "how much is the desk lamp?"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["product"] == "lumen-lamp"
    assert out["intent"] == "price"
    assert out["language"] == "en"
    assert catalog.format_price(lamp.current_price()) in out["text"]
    assert out["facts"]["price"] == catalog.format_price(lamp.current_price())


def test_ask_in_chinese_answers_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_scene(DEMO_SCENE).catalog
    buds = catalog.get("aurora-buds")
    assert main(["ask", "--json", "--llm", "none", "--scene", "scenes/demo", "耳机多少钱？"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["language"] == "zh" and out["product"] == "aurora-buds"
    assert catalog.format_price(buds.current_price()) in out["text"]


def read_error(capsys: pytest.CaptureFixture[str]) -> re.Match[str]:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"one line, no traceback: {captured.err!r}"
    match = ERROR_LINE.match(lines[0])
    assert match is not None, lines[0]
    return match


def test_ask_with_an_unknown_scene_exits_2_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-show"
    assert main(["ask", "--scene", str(missing), "how much?"]) == 2
    error = read_error(capsys)
    assert error["file"] == str(missing)


def test_ask_with_malformed_scene_yaml_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scene.yaml").write_text("name: Broken\nsegments: [\n  - product: x\n", encoding="utf-8")
    assert main(["ask", "--scene", str(tmp_path), "how much?"]) == 2
    error = read_error(capsys)
    assert error["file"] == str(tmp_path / "scene.yaml")
    assert "yaml" in error["field"]
    assert "line" in error["problem"]


def test_ask_with_a_scene_missing_a_field_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = tmp_path / "show"
    shutil.copytree(DEMO_SCENE, scene)
    text = (scene / "scene.yaml").read_text(encoding="utf-8")
    (scene / "scene.yaml").write_text(text.replace("voice: joe", "# no voice"), encoding="utf-8")
    assert main(["ask", "--scene", str(scene), "how much?"]) == 2
    error = read_error(capsys)
    assert (error["file"], error["field"]) == (str(scene / "scene.yaml"), "voice")
    assert "missing" in error["problem"]


def test_ask_with_a_segment_naming_an_unknown_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = tmp_path / "show"
    shutil.copytree(DEMO_SCENE, scene)
    demo = load_scene(DEMO_SCENE)
    index = 1
    product = demo.segments[index].product_id
    text = (scene / "scene.yaml").read_text(encoding="utf-8")
    (scene / "scene.yaml").write_text(
        text.replace(f"product: {product}", f"product: {product}-typo"), encoding="utf-8"
    )
    assert main(["ask", "--scene", str(scene), "how much?"]) == 2
    error = read_error(capsys)
    assert error["field"] == f"segments[{index}].product"
    assert f"{product}-typo" in error["problem"]


def test_ask_about_an_unknown_product_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--scene", "scenes/demo", "--product", "nothing-like-it", "how much?"]) == 2
    error = read_error(capsys)
    assert error["file"].endswith("products.yaml") and "nothing-like-it" in error["problem"]


def test_live_with_an_invalid_size_exits_2_naming_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "--height", "100", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("avatar: height: ") and "Traceback" not in err


# -- voice files --------------------------------------------------------------------------------------


def test_the_repositorys_voices_load() -> None:
    names = sorted(p.stem for p in voices_dir().glob("*.yaml"))
    assert {"joe", "espeak-en", "mandarin"} <= set(names)
    for name in names:
        spec = load_voice(name)
        assert spec.engine in ENGINES and spec.source == voices_dir() / f"{name}.yaml"
    joe = load_voice("joe")
    assert (joe.engine, joe.model, joe.language) == ("piper", BUNDLED_JOE, "en")
    assert load_voice("mandarin").language == "zh"


def test_unknown_voice_names_the_file_and_the_known_voices(tmp_path: Path) -> None:
    (tmp_path / "alice.yaml").write_text("engine: espeak\nmodel: en-us\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_voice("bob", tmp_path)
    error = caught.value
    assert (error.file, error.field) == (str(tmp_path / "bob.yaml"), "voice")
    assert "alice" in error.problem
    assert str(error) == f"{tmp_path / 'bob.yaml'}: voice: {error.problem}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("engine: festival\nmodel: x\n", "engine"),
        ("engine: espeak\nmodel: en-us\nsped: 1.2\n", "sped"),
        ("engine: espeak\nmodel: en-us\npitch: 30\n", "pitch"),
        ("engine: espeak\nmodel: en-us\nvolume: -1\n", "volume"),
        ("engine: espeak\nmodel: en-us\nspeaker: [a]\n", "speaker"),
        ("model: x\n", "engine"),
        ("engine: espeak\n", "model"),
        ("engine: espeak\nmodel: ''\n", "model"),
        ("engine: espeak\nmodel: en-us\nspeed: 10\n", "speed"),
        ("engine: espeak\nmodel: en-us\nspeed: 0.1\n", "speed"),
        ("engine: espeak\nmodel: en-us\nspeed: fast\n", "speed"),
        ("engine: espeak\nmodel: en-us\nspeed: yes\n", "speed"),
        ("engine: espeak\nmodel: en-us\nlanguage: 5\n", "language"),
        ("engine: [espeak\n", "yaml"),
        ("- just\n- a list\n", "voice"),
    ],
)
def test_bad_voice_files_name_the_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_voice("bad", tmp_path)
    assert (caught.value.file, caught.value.field) == (str(path), field)
    assert str(caught.value).startswith(f"{path}: {field}: ")
    if field == "engine":
        assert all(engine in caught.value.problem for engine in ENGINES), "the choices are listed"


def test_a_good_voice_file_is_read_with_its_settings(tmp_path: Path) -> None:
    (tmp_path / "fast.yaml").write_text(
        "engine: espeak\nmodel: en-gb\nlanguage: en\nspeed: 1.5\n", encoding="utf-8"
    )
    spec = load_voice("fast", tmp_path)
    assert (spec.name, spec.engine, spec.model, spec.language, spec.speed) == (
        "fast",
        "espeak",
        "en-gb",
        "en",
        1.5,
    )
    assert spec.source == tmp_path / "fast.yaml"
