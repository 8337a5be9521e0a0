"""The ASR parts that need no model: the CTranslate2 reader and name mapping, audio file reading,
the hallucination filter, the scene prompt and the word error rate."""

from __future__ import annotations

import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from avatar.brain.scene import load_scene
from avatar.cli import main
from avatar.engines.asr import SAMPLE_RATE_HZ, ASRError, load_asr, read_audio
from avatar.engines.asr.convert import ct2_to_whisper
from avatar.engines.asr.ct2 import read_ct2
from avatar.engines.asr.hallucination import is_hallucination
from avatar.engines.asr.metrics import word_error_rate
from avatar.engines.asr.options import DecodeOptions
from avatar.listen.prompt import scene_prompt
from tests.fakes import DEMO_SCENE


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<H", len(raw) + 1) + raw + b"\0"


def ct2_file(variables: dict[str, np.ndarray], aliases: dict[str, str] | None = None) -> bytes:
    """A CTranslate2 model.bin as ctranslate2.specs writes it (binary version 6)."""
    type_ids = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.float16): 4}
    out = struct.pack("<I", 6) + _string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, value in variables.items():
        out += (
            _string(name)
            + struct.pack("<B", value.ndim)
            + b"".join(struct.pack("<I", d) for d in value.shape)
        )
        out += struct.pack("<BI", type_ids[value.dtype], value.nbytes) + value.tobytes()
    aliases = aliases or {}
    out += struct.pack("<I", len(aliases)) + b"".join(_string(a) + _string(t) for a, t in aliases.items())
    return out


def tiny_whisper_spec(d: int = 4, layers: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)

    def t(*shape: int) -> np.ndarray:
        return rng.normal(size=shape).astype(np.float16)

    v: dict[str, np.ndarray] = {
        "encoder/conv1/weight": t(d, 3, 3),
        "encoder/conv1/bias": t(d),
        "encoder/conv2/weight": t(d, d, 3),
        "encoder/conv2/bias": t(d),
        "encoder/position_encodings/encodings": t(6, d),
        "encoder/num_heads": np.array(2, np.int16),
        "encoder/layer_norm/gamma": t(d),
        "encoder/layer_norm/beta": t(d),
        "decoder/embeddings/weight": t(10, d),
        "decoder/position_encodings/encodings": t(5, d),
        "decoder/num_heads": np.array(2, np.int16),
        "decoder/layer_norm/gamma": t(d),
        "decoder/layer_norm/beta": t(d),
    }
    zero_key = np.zeros(d, np.float16)
    for side in ("encoder", "decoder"):
        for i in range(layers):
            p = f"{side}/layer_{i}"
            attentions = ["self_attention"] + (["attention"] if side == "decoder" else [])
            for a in attentions:
                v[f"{p}/{a}/layer_norm/gamma"], v[f"{p}/{a}/layer_norm/beta"] = t(d), t(d)
            v[f"{p}/self_attention/linear_0/weight"] = t(3 * d, d)
            q, _, val = t(d), t(d), t(d)
            v[f"{p}/self_attention/linear_0/bias"] = np.concatenate([q, zero_key, val])
            v[f"{p}/self_attention/linear_1/weight"], v[f"{p}/self_attention/linear_1/bias"] = t(d, d), t(d)
            if side == "decoder":
                v[f"{p}/attention/linear_0/weight"], v[f"{p}/attention/linear_0/bias"] = t(d, d), t(d)
                v[f"{p}/attention/linear_1/weight"] = t(2 * d, d)
                v[f"{p}/attention/linear_1/bias"] = np.concatenate([zero_key, t(d)])
                v[f"{p}/attention/linear_2/weight"], v[f"{p}/attention/linear_2/bias"] = t(d, d), t(d)
            v[f"{p}/ffn/layer_norm/gamma"], v[f"{p}/ffn/layer_norm/beta"] = t(d), t(d)
            v[f"{p}/ffn/linear_0/weight"], v[f"{p}/ffn/linear_0/bias"] = t(4 * d, d), t(4 * d)
            v[f"{p}/ffn/linear_1/weight"], v[f"{p}/ffn/linear_1/bias"] = t(d, 4 * d), t(d)
    return v


def test_ct2_reader_round_trips_tensors_and_aliases() -> None:
    spec = tiny_whisper_spec()
    model = read_ct2(ct2_file(spec, {"decoder/projection/weight": "decoder/embeddings/weight"}))
    assert model.spec == "WhisperSpec" and model.revision == 3
    for name, value in spec.items():
        assert np.array_equal(model.variables[name], value), name
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]


def test_ct2_reader_rejects_truncated_and_unknown_files() -> None:
    data = ct2_file(tiny_whisper_spec())
    with pytest.raises(ValueError, match="truncated"):
        read_ct2(data[:-40])
    with pytest.raises(ValueError, match="binary version 99"):
        read_ct2(struct.pack("<I", 99) + data[4:])


def test_whisper_names_split_the_fused_attention_exactly() -> None:
    spec = tiny_whisper_spec(d=4, layers=2)
    dims, state = ct2_to_whisper(read_ct2(ct2_file(spec)).variables)
    assert dims == {
        "n_mels": 3, "n_audio_ctx": 6, "n_audio_state": 4, "n_audio_head": 2, "n_audio_layer": 2,
        "n_vocab": 10, "n_text_ctx": 5, "n_text_state": 4, "n_text_head": 2, "n_text_layer": 2,
    }  # fmt: skip
    fused = spec["encoder/layer_1/self_attention/linear_0/weight"]
    assert np.array_equal(state["encoder.blocks.1.attn.query.weight"], fused[0:4])
    assert np.array_equal(state["encoder.blocks.1.attn.key.weight"], fused[4:8])
    assert np.array_equal(state["encoder.blocks.1.attn.value.weight"], fused[8:12])
    assert "encoder.blocks.1.attn.key.bias" not in state
    kv = spec["decoder/layer_0/attention/linear_1/weight"]
    assert np.array_equal(state["decoder.blocks.0.cross_attn.key.weight"], kv[:4])
    assert np.array_equal(state["decoder.blocks.0.cross_attn.value.weight"], kv[4:])
    assert np.array_equal(state["decoder.blocks.0.mlp.2.bias"], spec["decoder/layer_0/ffn/linear_1/bias"])
    assert np.array_equal(state["decoder.ln.weight"], spec["decoder/layer_norm/gamma"])
    # convs, pos, ln_post: 7 | encoder block: 15 | token emb, pos, ln: 4 | decoder block: 24 (+ cross attn)
    assert len(state) == 7 + 2 * 15 + 4 + 2 * 24


def test_a_nonzero_key_bias_is_refused() -> None:
    spec = tiny_whisper_spec()
    spec["encoder/layer_0/self_attention/linear_0/bias"][5] = 1.0
    with pytest.raises(ASRError, match="key bias"):
        ct2_to_whisper(read_ct2(ct2_file(spec)).variables)


def _write_wav(path: Path, pcm: np.ndarray, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype(np.int16).tobytes())


def test_read_audio_resamples_and_mixes_to_16k_mono(tmp_path: Path) -> None:
    t = np.arange(44_100) / 44_100
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    _write_wav(tmp_path / "stereo.wav", np.stack([tone, tone], axis=1).reshape(-1), 44_100, channels=2)
    audio = read_audio(tmp_path / "stereo.wav")
    assert audio.dtype == np.float32 and abs(audio.size - SAMPLE_RATE_HZ) < 200
    assert 0.2 < float(np.max(np.abs(audio))) <= 1.0


def test_read_audio_decodes_compressed_formats(tmp_path: Path) -> None:
    t = np.arange(16_000) / 16_000
    _write_wav(tmp_path / "a.wav", (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16), 16_000)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(tmp_path / "a.wav"), str(tmp_path / "a.ogg")],
        check=True,
    )
    audio = read_audio(tmp_path / "a.ogg")
    assert abs(audio.size - 16_000) < 1_000 and float(np.max(np.abs(audio))) > 0.1


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such audio file"), (b"", "not a readable"), (b"hello, not audio", "not a readable")],
)
def test_read_audio_bad_files_say_what_is_wrong(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "clip.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_audio(path)


def test_read_audio_refuses_a_wav_without_samples(tmp_path: Path) -> None:
    _write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 16_000)
    with pytest.raises(ValueError, match="no audio"):
        read_audio(tmp_path / "empty.wav")


def test_transcribe_command_reports_bad_files_without_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.wav").write_text("not audio")
    assert main(["transcribe", str(tmp_path / "x.wav")]) == 2
    assert "not a readable audio file" in capsys.readouterr().err


def test_unknown_engine_and_missing_model_path_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ASRError, match="unknown ASR engine"):
        load_asr("tiny.en", engine="vosk")
    with pytest.raises(ASRError, match="no such Whisper model"):
        load_asr(str(tmp_path / "missing.pt"))


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching!",
        " Thank you for watching. ",
        "字幕由Amara.org社区提供",
        "...",
        "",
        "Subtitles by the community",
    ],
)
def test_silence_phrases_are_hallucinations(text: str) -> None:
    assert is_hallucination(text)


def test_real_questions_are_kept_and_lone_fillers_only_when_alone() -> None:
    assert not is_hallucination("How much is the desk lamp?")
    assert not is_hallucination("台灯多少钱？")
    assert not is_hallucination("Thank you.")
    assert is_hallucination("Thank you.", alone=True)
    # Whisper echoing a piece of its Simplified-Chinese prompt on noise (base, a short window)
    assert is_hallucination("用简体中文。", alone=True)
    assert not is_hallucination("简体中文的说明书有吗？", alone=True)


def test_scene_prompt_names_the_products() -> None:
    catalog = load_scene(DEMO_SCENE).catalog
    assert "Lumen LED Desk Lamp" in scene_prompt(catalog, "en")
    assert "流明LED台灯" in scene_prompt(catalog, "zh")
    both = scene_prompt(catalog, None)
    assert "Aurora Buds" in both and "极光真无线耳机" in both


def test_word_error_rate() -> None:
    assert word_error_rate("How much is the desk lamp?", "how much is the desk lamp") == 0.0
    assert word_error_rate("How much is the desk lamp?", "How much is the best lamp?") == pytest.approx(1 / 6)
    assert word_error_rate("a b", "a b c d") == 1.0


def test_a_short_clip_gets_a_short_encoder_window() -> None:
    options = DecodeOptions(window_s=10.0)  # a 10 s window for a clip that leaves 1 s of it silent
    assert options.window_frames(3 * SAMPLE_RATE_HZ) == 1000  # 100 log-mel frames a second
    assert options.window_frames(9 * SAMPLE_RATE_HZ) == 1000
    assert options.window_frames(9 * SAMPLE_RATE_HZ + 5) is None  # longer: Whisper's own 30 s
    assert DecodeOptions(window_s=7.01).window_frames(SAMPLE_RATE_HZ) == 702  # an even count
    assert DecodeOptions(window_s=None).window_frames(3 * SAMPLE_RATE_HZ) is None


@pytest.mark.parametrize(("window_s", "margin_s"), [(0.5, 1.0), (31.0, 1.0), (10.0, -0.1)])
def test_bad_window_options_are_refused(window_s: float, margin_s: float) -> None:
    with pytest.raises(ValueError, match="window"):
        DecodeOptions(window_s=window_s, window_margin_s=margin_s)


def test_the_full_window_is_the_default() -> None:
    assert DecodeOptions().window_s is None  # the short window is measured in the bench, not on by default


def test_a_decode_may_write_tokens_in_proportion_to_its_audio() -> None:
    # A loop ("大红袍袍袍…") ran to Whisper's 224 tokens on a 3 s clip, at each retry temperature.
    assert DecodeOptions().max_tokens(3 * 16_000) == 52
    assert DecodeOptions().max_tokens(60 * 16_000) == 224  # never above Whisper's own limit
    assert DecodeOptions(tokens_per_s=None).max_tokens(3 * 16_000) is None
