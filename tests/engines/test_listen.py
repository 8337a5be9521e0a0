"""The listener on real models: Silero VAD and faster-whisper tiny.en on the espeak-ng clips."""

from __future__ import annotations

import asyncio
import importlib.util

import numpy as np
import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.scene import Scene, load_scene
from avatar.engines.asr import read_audio
from avatar.engines.asr.bundled import BUNDLED
from avatar.listen.listener import Listener, show_asr
from avatar.listen.vad import SileroVAD, VADSegmenter
from tests.conftest import require
from tests.fakes import DEMO_SCENE, REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
DATA = REPO / "tests" / "data"


def _frames(audio: np.ndarray, size: int = 320) -> list[np.ndarray]:
    return [audio[i : i + size] for i in range(0, audio.size, size)]


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


def test_silero_finds_one_utterance_in_a_spoken_question() -> None:
    require(importlib.util.find_spec("silero_vad") is not None, "silero-vad package")
    segmenter = VADSegmenter(SileroVAD())
    audio = read_audio(DATA / "en_lamp_price.wav")
    utterances = [
        u for f in _frames(np.concatenate([audio, np.zeros(16_000, np.float32)])) for u in segmenter.feed(f)
    ]
    assert len(utterances) == 1
    u = utterances[0]
    assert 0.0 <= u.start < 0.6 and u.end <= audio.size / 16_000 + 0.3
    assert u.seconds > 1.5  # the whole question, not a fragment


@pytest.mark.parametrize("clip", ["silence", "noise"])
def test_silero_finds_nothing_in_silence_or_noise(clip: str) -> None:
    require(importlib.util.find_spec("silero_vad") is not None, "silero-vad package")
    segmenter = VADSegmenter(SileroVAD())
    audio = read_audio(DATA / f"{clip}.wav")
    assert [u for f in _frames(audio) for u in segmenter.feed(f)] == []
    assert segmenter.flush() is None


async def test_listener_hears_a_price_question_from_48k_frames(scene: Scene) -> None:
    model = BUNDLED["tiny.en"]
    require(importlib.util.find_spec(model.package) is not None, f"tiny.en model package {model.package}")
    asr = show_asr(scene.catalog)
    finals: list[str] = []
    interims: list[str] = []
    listener = Listener(asr, on_final=finals.append, on_interim=interims.append)
    audio = np.concatenate([read_audio(DATA / "en_lamp_price.wav"), np.zeros(16_000, np.float32)])
    pcm = (np.repeat(audio, 3) * 32767).astype(np.int16)  # what a 48 kHz WebRTC track delivers
    for frame in _frames(pcm, 960):
        listener.feed(frame, 48_000)
    await listener.drain()
    await listener.close()
    asr.close()
    assert interims == [""]
    assert len(finals) == 1, finals
    assert Answerer(scene).answer(finals[0]).product_id == "lumen-lamp", finals[0]


async def test_interim_transcripts_come_while_the_question_is_spoken(scene: Scene) -> None:
    model = BUNDLED["tiny.en"]
    require(importlib.util.find_spec(model.package) is not None, f"tiny.en model package {model.package}")
    asr = show_asr(scene.catalog)
    assert await asr.warm_up()
    events: list[tuple[str, str]] = []
    listener = Listener(
        asr,
        on_final=lambda text: events.append(("final", text)),
        on_interim=lambda text: events.append(("interim", text)),
    )
    audio = np.concatenate([read_audio(DATA / "en_backpack_discount.wav"), np.zeros(16_000, np.float32)])
    pcm = (np.repeat(audio, 3) * 32767).astype(np.int16)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, frame in enumerate(_frames(pcm, 960)):  # in real time, as a browser sends it
        listener.feed(frame, 48_000)
        await asyncio.sleep(max(0.0, started + (index + 1) * 0.02 - loop.time()))
    await listener.drain()
    await listener.close()
    asr.close()
    interims = [text for kind, text in events if kind == "interim" and text]
    finals = [text for kind, text in events if kind == "final"]
    assert interims, events  # the words so far, while the question was still being spoken
    assert len(finals) == 1 and events[-1][0] == "final", events
    first_words = set(interims[0].lower().replace(",", "").split())
    assert first_words & set(finals[0].lower().replace(",", "").split()), (interims, finals)


async def test_bench_splits_a_spoken_question_to_its_first_answer_audio(scene: Scene) -> None:
    model = BUNDLED["tiny.en"]
    require(importlib.util.find_spec(model.package) is not None, f"tiny.en model package {model.package}")
    require(importlib.util.find_spec("piper") is not None, "piper-tts package (the scene's voice)")
    from avatar.listen.bench import bench_listen

    clips = ("en_backpack_discount",)  # one question, fed in real time: the split, not statistics
    report = await bench_listen(scene, DATA, rounds=1, clips=clips, modes=("words",), cutoffs=False)
    split = report["voice_to_first_audio"]["words"]
    for part in ("endpoint_ms", "asr_final_ms", "understanding_ms", "first_tts_ms", "playout_ms", "total_ms"):
        assert split[part]["n"] == len(clips), (part, split)
    # each question's parts add up to its whole; a voice takes some time to synthesise
    assert split["total_ms"]["max"] >= split["endpoint_ms"]["max"]
    assert split["first_tts_ms"]["p50"] > 0 and split["total_ms"]["p50"] > split["first_tts_ms"]["p50"]
    assert report["false_cutoffs"]["words"]["cut_off"] == 0  # plain questions are never cut
    assert "Ridgeline" in report["transcripts"]["words"]["en_backpack_discount"]


@pytest.mark.parametrize(("clip", "rest"), [("lamp_black", "black"), ("blue_one", "blue")])
async def test_a_question_said_in_two_parts_is_answered_whole(scene: Scene, clip: str, rest: str) -> None:
    """ "How much is the Lumen desk lamp?" ... "In black?": however the pause is judged, one final
    stands at the end, and it has the second part in it (merged, never answered by halves)."""
    model = BUNDLED["tiny.en"]
    require(importlib.util.find_spec(model.package) is not None, f"tiny.en model package {model.package}")
    from avatar.listen.bench import cut_off, listen_in_real_time, load_pause_clips
    from avatar.listen.endpoint import catalog_endpointing
    from avatar.listen.vad import COHOST_VAD

    audio, parts = load_pause_clips(DATA)[clip]
    asr = show_asr(scene.catalog)
    try:
        assert await asr.warm_up()
        events = await listen_in_real_time(asr, audio, COHOST_VAD, catalog_endpointing(lambda: scene.catalog))
    finally:
        asr.close()
    result = cut_off(clip, events, parts)
    assert not result.half_answered and len(result.finals) == 1, (result, events)
    assert rest in result.finals[0].lower(), result
