"""A voice's rendering with fake engines: repeated lines come from a bounded cache, every engine comes
out at the same loudness (times the voice's volume), pitch shifts keep the tempo, and the ``voices``
and ``say`` commands report clearly."""

from __future__ import annotations

import shutil
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from avatar import speaker as speaker_module
from avatar.cli import main
from avatar.engines.tts.base import TTSCapabilities
from avatar.engines.tts.espeak_engine import mandarin_ssml
from avatar.engines.tts.say import voices_report
from avatar.engines.tts.voices import PitchShifted, VoiceSpec, load_voice, voice_status, voices_dir
from avatar.media.audio import (
    SAMPLE_RATE_HZ,
    SPEECH_LOUDNESS_DBFS,
    Pcm,
    active_rms_dbfs,
    normalise_loudness,
)
from avatar.speaker import PAUSE_AFTER_SENTENCE_S, Voice
from tests.fakes import FakeTTSEngine, fake_voice

PAUSE = round(PAUSE_AFTER_SENTENCE_S * SAMPLE_RATE_HZ)


class LevelEngine(FakeTTSEngine):
    """A fake engine whose hum has a chosen level and a short loud click (like a plosive)."""

    def __init__(self, amplitude: float, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.amplitude = amplitude

    def synthesize(self, text: str) -> Pcm:
        pcm = super().synthesize(text).astype(np.float64)
        scale = self.amplitude / max(1.0, float(np.abs(pcm).max()))
        out = pcm * scale
        out[len(out) // 2] = min(32767.0, self.amplitude * 3)  # a peak well above the speech
        return out.astype(np.int16)


def test_a_repeated_line_is_synthesised_once() -> None:
    engine = FakeTTSEngine()
    voice = fake_voice(engine)
    try:
        first = voice.render("Welcome to the show, everyone.")
        again = voice.render("Welcome to the show, everyone.")
        other = voice.render("Here is the next product.")
    finally:
        voice.worker.close()
    assert engine.calls == ["Welcome to the show, everyone.", "Here is the next product."]
    assert np.array_equal(first, again) and voice.cache_hits == 1
    assert not again.flags.writeable, "shared audio cannot be changed by one replay"
    assert other.size != first.size


def test_the_line_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speaker_module, "RENDER_CACHE_ENTRIES", 3)
    engine = FakeTTSEngine()
    voice = fake_voice(engine)
    try:
        for index in range(6):
            voice.render(f"Line number {index} of the script.")
        voice.render("Line number 0 of the script.")  # evicted: made again
        voice.render("Line number 5 of the script.")  # recent: from the cache
    finally:
        voice.worker.close()
    assert len(voice._cache) == 3
    assert engine.calls.count("Line number 0 of the script.") == 2
    assert engine.calls.count("Line number 5 of the script.") == 1


def test_the_cache_is_bounded_by_bytes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeTTSEngine(seconds_per_char=0.02)
    voice = fake_voice(engine)
    one_line = voice.render("A line of about one second.").nbytes
    monkeypatch.setattr(speaker_module, "RENDER_CACHE_BYTES", int(2.5 * one_line))
    try:
        for index in range(5):
            voice.render(f"A line of about one second {index}")
    finally:
        voice.worker.close()
    assert voice._cache_bytes <= int(2.5 * one_line)
    assert voice._cache_bytes == sum(s.pcm.nbytes for s in voice._cache.values())


@pytest.mark.parametrize("amplitude", [800.0, 6_000.0, 30_000.0])
def test_every_engine_comes_out_at_the_same_loudness(amplitude: float) -> None:
    voice = fake_voice(LevelEngine(amplitude, sample_rate=22_050))
    try:
        out = voice.render("Every voice at the same level, whatever the engine.")
    finally:
        voice.worker.close()
    assert active_rms_dbfs(out[:-PAUSE]) == pytest.approx(SPEECH_LOUDNESS_DBFS, abs=0.6)
    assert int(np.abs(out.astype(np.int32)).max()) <= 32767


def test_volume_scales_the_normalised_level() -> None:
    engine = LevelEngine(5_000.0)
    loud = Voice(replace(fake_voice(engine).spec, volume=1.0), engine=engine)
    quiet = Voice(replace(fake_voice(engine).spec, volume=0.5), engine=engine)
    try:
        difference = active_rms_dbfs(loud.render("Same words.")) - active_rms_dbfs(
            quiet.render("Same words.")
        )
    finally:
        loud.worker.close()
        quiet.worker.close()
    assert difference == pytest.approx(20 * np.log10(2), abs=0.3)


def test_loudness_limiter_keeps_a_loud_peak_from_lowering_the_line() -> None:
    rng = np.random.default_rng(1)
    speech = (rng.standard_normal(SAMPLE_RATE_HZ) * 1_500).astype(np.int16)
    speech[1000] = 32_000  # one click 27 dB over the speech
    out = normalise_loudness(speech)
    assert active_rms_dbfs(out) == pytest.approx(SPEECH_LOUDNESS_DBFS, abs=0.3)
    assert int(np.abs(out.astype(np.int32)).max()) <= 32767
    assert normalise_loudness(np.zeros(960, dtype=np.int16)).any() == np.False_, "silence stays silence"


def test_pitch_shift_reports_a_faster_rate_so_the_tempo_comes_back() -> None:
    engine = FakeTTSEngine(sample_rate=22_050)
    up = PitchShifted(engine, 2 ** (3 / 12))
    assert up.capabilities == TTSCapabilities(round(22_050 * 2 ** (3 / 12)), ("en",))
    assert np.array_equal(up.synthesize("hello"), engine.synthesize("hello"))


def test_mandarin_lines_speak_english_words_with_the_english_voice() -> None:
    ssml = mandarin_ssml("今天推荐 Aurora Buds 耳机 & more", "cmn-latn-pinyin")
    assert ssml == (
        '<speak><voice name="cmn-latn-pinyin">今天推荐 </voice><voice name="en-us">Aurora Buds</voice>'
        '<voice name="cmn-latn-pinyin"> 耳机 &amp; </voice><voice name="en-us">more</voice></speak>'
    )
    assert mandarin_ssml("只要99元。", "cmn-latn-pinyin") is None, "no Latin words: plain text"


def test_voice_files_take_pitch_volume_and_speaker(tmp_path: Path) -> None:
    (tmp_path / "mia.yaml").write_text(
        "engine: coqui\nmodel: tts_models/en/vctk/vits\nspeaker: p225\npitch: -2\nvolume: 0.8\n",
        encoding="utf-8",
    )
    spec = load_voice("mia", tmp_path)
    assert (spec.engine, spec.speaker, spec.pitch, spec.volume) == ("coqui", "p225", -2.0, 0.8)
    assert load_voice("joe-coqui").engine == "coqui"


def test_voices_lists_every_voice_with_a_status(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("engine: espeak\nmodel: en-us\n", encoding="utf-8")
    (tmp_path / "gone.yaml").write_text("engine: piper\nmodel: nowhere.onnx\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("engine: piper\n", encoding="utf-8")
    lines = voices_report(tmp_path)
    assert [line.split()[0] for line in lines] == ["bad", "gone", "good"]
    assert "INVALID" in lines[0] and "model" in lines[0]
    assert "MISSING" in lines[1] and "nowhere.onnx" in lines[1]
    assert lines[2].split()[1] in {"ok", "MISSING"}  # espeak-ng may be absent on a dev machine


def test_voices_command_lists_the_repository_voices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"joe", "joe-coqui", "espeak-en", "mandarin"} <= set(names)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["say", "--voice", "joe", ""], "nothing to say"),
        (["say", "--voice", "joe", "🔥 ✨ <b></b>"], "nothing to say"),
        (["say", "--voice", "nobody", "Hello there."], "no voice named 'nobody'"),
    ],
)
def test_say_rejects_bad_input_clearly(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args[:-1], "-o", str(tmp_path / "x.wav"), args[-1]]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()


def test_say_falls_back_to_espeak_when_the_voice_cannot_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from avatar.engines.tts import say as say_module

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    (tmp_path / "broken.yaml").write_text("engine: piper\nmodel: missing.onnx\n", encoding="utf-8")
    shutil.copy(voices_dir() / "espeak-en.yaml", tmp_path / "espeak-en.yaml")
    result = say_module.say(
        "Hello there, the show goes on.", "broken", tmp_path / "out.wav", directory=tmp_path
    )
    assert result.voice == "espeak-en" and result.seconds > 0.5
    with wave.open(str(tmp_path / "out.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE_HZ, 1, 2)
        assert wav.getnframes() == round(result.seconds * SAMPLE_RATE_HZ)


def test_a_voice_spec_without_new_fields_keeps_defaults(tmp_path: Path) -> None:
    spec = VoiceSpec("old", "espeak", "en", "en-us", 1.0, tmp_path / "old.yaml")
    assert (spec.pitch, spec.volume, spec.speaker, spec.config) == (0.0, 1.0, None, None)


def test_an_espeak_voice_with_a_variant_is_known_and_a_made_up_variant_is_not(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    assert voice_status(load_voice("espeak-en"))[0], "the shipped fallback voice (en-us+klatt) is there"
    (tmp_path / "odd.yaml").write_text("engine: espeak\nmodel: en-us+nosuchvariant\n", encoding="utf-8")
    ok, detail = voice_status(load_voice("odd", tmp_path))
    assert not ok and "en-us+nosuchvariant is not installed" in detail
