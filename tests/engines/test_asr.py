"""Whisper on its real bundled weights: the conversion from CTranslate2, both engines, English
product questions spoken by espeak-ng voices (not the host's), Chinese, and silence and noise.

The clips are made by scripts/make_speech_clips.py. Models load once per module (torch is slow on
two shared cores).
"""

from __future__ import annotations

import importlib.util
from typing import cast

import numpy as np
import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.scene import Scene, load_scene
from avatar.engines.asr import ASREngine, load_asr, read_audio
from avatar.engines.asr.bundled import BUNDLED
from avatar.engines.asr.convert import ensure_checkpoint, tensors_sha256
from avatar.engines.asr.metrics import word_error_rate
from avatar.engines.asr.options import DecodeOptions
from avatar.engines.asr.whisper_engine import WhisperEngine
from avatar.listen.prompt import scene_prompt
from tests.conftest import require
from tests.fakes import DEMO_SCENE, REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
DATA = REPO / "tests" / "data"

# clip -> (what the espeak-ng voice said, the product it is about)
ENGLISH = {
    "en_lamp_price": ("How much is the Lumen desk lamp?", "lumen-lamp"),
    "en_bottle_stock": ("Is the Summit bottle in stock?", "summit-bottle"),
    "en_backpack_discount": ("Is there a discount on the Ridgeline backpack?", "ridgeline-backpack"),
    "en_buds_battery": ("How long does the battery of the Aurora Buds last?", "aurora-buds"),
    "en_coffee_price": ("How much is the coffee set?", "kiln-pourover"),
}
MAX_WER = 0.15


def _require_models() -> None:
    for model in BUNDLED.values():
        require(importlib.util.find_spec(model.package) is not None, f"Whisper model package {model.package}")


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture(scope="module")
def tiny() -> ASREngine:
    _require_models()
    return load_asr("tiny.en")


@pytest.fixture(scope="module")
def tiny_faster() -> ASREngine:
    _require_models()
    return load_asr("tiny.en", engine="faster-whisper")


@pytest.fixture(scope="module")
def base() -> ASREngine:
    _require_models()
    return load_asr("base")


def test_conversion_is_exact_and_checked(tiny: ASREngine) -> None:
    import torch

    checkpoint, manifest = ensure_checkpoint("tiny.en")
    assert manifest["source_sha256"] == BUNDLED["tiny.en"].source_sha256()
    loaded = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = {k: v.numpy() for k, v in loaded["model_state_dict"].items()}
    assert tensors_sha256(state) == manifest["tensors_sha256"]
    # every tensor openai-whisper's model has is in the checkpoint, with its shape
    model = getattr(tiny, "model")  # noqa: B009 - the openai-whisper module behind the engine
    expected = model.state_dict()
    assert set(state) == set(expected)
    for name, tensor in expected.items():
        assert tuple(tensor.shape) == state[name].shape, name
    assert loaded["dims"]["n_vocab"] == 51864 and loaded["dims"]["n_text_layer"] == 4


@pytest.mark.parametrize("clip", sorted(ENGLISH))
def test_english_product_questions(tiny: ASREngine, scene: Scene, clip: str) -> None:
    said, product = ENGLISH[clip]
    transcript = tiny.transcribe(read_audio(DATA / f"{clip}.wav"), prompt=scene_prompt(scene.catalog))
    assert transcript.language == "en"
    assert word_error_rate(said, transcript.text) <= MAX_WER, transcript.text
    assert Answerer(scene).answer(transcript.text).product_id == product, transcript.text
    assert 1.5 < transcript.seconds < 4.5
    assert transcript.segments and transcript.segments[0].text


def test_both_engines_hear_the_same_words(tiny: ASREngine, tiny_faster: ASREngine, scene: Scene) -> None:
    prompt = scene_prompt(scene.catalog)
    for clip in ENGLISH:
        audio = read_audio(DATA / f"{clip}.wav")
        a = tiny.transcribe(audio, prompt=prompt).text
        b = tiny_faster.transcribe(audio, prompt=prompt).text
        assert word_error_rate(a, b) <= 0.1, (a, b)


def test_a_short_clip_is_encoded_in_a_short_window(tiny: ASREngine, scene: Scene) -> None:
    """The encoder sees a 3 s question in a 10 s window (500 positions, not Whisper's 1,500) and
    the words heard are those of the full 30 s window."""
    engine = cast(WhisperEngine, tiny)
    positions: list[int] = []
    hook = engine.model.encoder.register_forward_hook(lambda _m, _i, out: positions.append(out.shape[1]))
    prompt = scene_prompt(scene.catalog)
    try:
        for clip, (said, _) in ENGLISH.items():
            audio = read_audio(DATA / f"{clip}.wav")
            positions.clear()
            engine.options = DecodeOptions(window_s=10.0)
            short = tiny.transcribe(audio, prompt=prompt).text
            assert set(positions) == {500}, (clip, positions)
            engine.options = DecodeOptions(window_s=None)
            positions.clear()
            full = tiny.transcribe(audio, prompt=prompt).text
            engine.options = DecodeOptions()
            assert set(positions) == {1500}, (clip, positions)
            assert word_error_rate(said, short) <= MAX_WER and word_error_rate(full, short) <= MAX_WER, (
                full,
                short,
            )
    finally:
        hook.remove()
        engine.options = DecodeOptions()


def test_word_timestamps_fall_inside_the_clip(tiny: ASREngine) -> None:
    audio = read_audio(DATA / "en_coffee_price.wav")
    transcript = tiny.transcribe(audio, word_timestamps=True)
    words = [w for s in transcript.segments for w in s.words]
    assert [w.text.strip("?").lower() for w in words][-2:] == ["coffee", "set"]
    assert all(0.0 <= w.start <= w.end <= transcript.seconds + 0.05 for w in words)
    assert words == sorted(words, key=lambda w: w.start)


def test_chinese_question_with_the_multilingual_model(base: ASREngine, scene: Scene) -> None:
    transcript = base.transcribe(
        read_audio(DATA / "zh_lamp_price.wav"), prompt=scene_prompt(scene.catalog, "zh")
    )
    assert transcript.language == "zh"
    # "tai2 deng1 duo1 shao3 qian2": desk lamp, how much
    assert "多少" in transcript.text and "灯" in transcript.text, transcript.text
    answer = Answerer(scene).answer(transcript.text)
    assert answer.product_id == "lumen-lamp" and answer.language == "zh", transcript.text


def test_multilingual_model_detects_the_language(base: ASREngine) -> None:
    assert base.transcribe(read_audio(DATA / "zh_lamp_price.wav")).language == "zh"
    english = base.transcribe(read_audio(DATA / "en_coffee_price.wav"))
    assert english.language == "en" and "coffee" in english.text.lower()


@pytest.mark.parametrize("clip", ["silence", "noise"])
@pytest.mark.parametrize("language", [None, "zh"])
def test_silence_and_noise_give_no_text(
    tiny: ASREngine, base: ASREngine, clip: str, language: str | None
) -> None:
    audio = read_audio(DATA / f"{clip}.wav")
    assert tiny.transcribe(audio).text == ""
    transcript = base.transcribe(audio, language=language)
    assert transcript.text == "" and transcript.segments == ()


def test_quiet_room_noise_gives_no_text(base: ASREngine) -> None:
    hiss = np.random.default_rng(7).normal(0.0, 0.002, 32_000).astype(np.float32)
    assert base.transcribe(hiss, language="zh").text == ""
