"""A viewer's microphone: received audio frames -> listener -> transcript messages and a comment."""

from __future__ import annotations

import asyncio
import importlib.util
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError

from avatar.engines.asr import read_audio
from avatar.listen.listener import mono_pcm
from avatar.web.viewers import ViewerSession
from tests.conftest import require
from tests.fakes import REPO, wait_until
from tests.unit.test_web_app import FakeChannel, Served, scene, served  # noqa: F401  (fixtures)

QUESTION = "How much is the desk lamp?"


class FakeMicTrack:
    """A received 48 kHz stereo audio track playing a clip once, then ending."""

    kind = "audio"

    def __init__(self, audio16k: np.ndarray) -> None:
        pcm = (np.repeat(audio16k, 3) * 32767).astype(np.int16)
        self.frames = [pcm[i : i + 960] for i in range(0, pcm.size - 959, 960)]
        self.sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.sent >= len(self.frames):
            raise MediaStreamError
        mono = self.frames[self.sent]
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48_000
        frame.pts = self.sent * 960
        frame.time_base = Fraction(1, 48_000)
        self.sent += 1
        await asyncio.sleep(0)
        return frame


class FixedASR:
    busy = False

    def __init__(self) -> None:
        self.heard: list[float] = []

    async def transcribe(self, audio: np.ndarray) -> str:
        self.heard.append(audio.size / 16_000)
        return QUESTION


def test_mono_pcm_averages_stereo_frames() -> None:
    left = np.full(960, 1000, np.int16)
    right = np.full(960, 3000, np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
    pcm = mono_pcm(frame)
    assert pcm is not None and pcm.dtype == np.int16 and pcm.shape == (960,)
    assert np.all(pcm == 2000)


async def ask_the_lamp_price_aloud(session: ViewerSession, channel: FakeChannel) -> None:
    """Open ``session``'s chat on ``channel``, play the recorded lamp question into its microphone
    (then a second of silence), and wait for the final transcript."""
    session.pc.emit("datachannel", channel)
    clip = np.concatenate([read_audio(REPO / "tests/data/en_lamp_price.wav"), np.zeros(16_000, np.float32)])
    session.pc.emit("track", FakeMicTrack(clip))
    await wait_until(
        lambda: any(m["type"] == "transcript" and m["final"] for m in channel.sent), 20, "a final transcript"
    )


async def test_spoken_question_becomes_transcripts_and_a_comment(served: Served) -> None:  # noqa: F811
    require(importlib.util.find_spec("silero_vad") is not None, "silero-vad package")
    show = served.show
    asr = FixedASR()
    made: list[int] = []

    def shared() -> FixedASR:
        made.append(1)
        return asr

    session = ViewerSession(show, 30.0, asr=shared)
    channel = FakeChannel()
    try:
        await ask_the_lamp_price_aloud(session, channel)
        lamp = show.scene.catalog.get("lumen-lamp")
        price = show.scene.catalog.format_price(lamp.current_price())
        await wait_until(
            lambda: any(m["type"] == "caption" and price in m["text"] for m in channel.sent), 10, "the price"
        )
    finally:
        await session.close()
    transcripts = [m for m in channel.sent if m["type"] == "transcript"]
    assert transcripts[0] == {"type": "transcript", "final": False, "text": ""}
    assert {"type": "transcript", "final": True, "text": QUESTION} in transcripts
    # about one interim per second of speech on the audio so far, then the final on the whole question
    assert made == [1] and 1.5 < asr.heard[-1] < 3.5
    assert 1 <= len(asr.heard) - 1 <= 2 and asr.heard[:-1] == sorted(asr.heard[:-1])
    assert {"type": "interim", "text": QUESTION} in channel.sent
    assert {"type": "chat", "name": "viewer", "text": QUESTION} in channel.sent
    assert session.listener is not None and session.listener.dropped == 0
