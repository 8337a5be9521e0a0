"""The /rehearse API with a scripted ASR: live takes, two hosts at once, silence, abandoned takes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.media.clock import ManualClock
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.server import RehearsalServer, create_rehearsal_app
from avatar.rehearse.store import SessionStore
from tests.rehearse_fakes import FakeTranscript, quiet, spoken, tone

SCENE = Path(__file__).resolve().parents[2] / "scenes" / "demo"


class LoudnessASR:
    """Says a sentence that tells which take it heard: loud pieces are "Ana", quiet ones "Bo"."""

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> FakeTranscript:
        self.calls += 1
        who = "Ana" if float(np.max(np.abs(audio))) > 0.2 else "Bo"
        return spoken((2.5, f"{who} says the Aurora Buds are $39.99 today."))


def pcm(audio: npt.NDArray[np.float32]) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], RehearsalServer, ManualClock]]:
    scene = load_scene(SCENE)
    clock = ManualClock()
    server = RehearsalServer(
        scene,
        SessionStore(tmp_path),
        LoudnessASR,
        schedule=AudienceSchedule(first_s=2.0, every_s=100.0),
        clock=clock,
        idle_timeout_s=30.0,
    )
    async with TestClient(TestServer(create_rehearsal_app(server))) as test_client:
        yield test_client, server, clock


async def _start(c: TestClient[Any, Any], host: str) -> str:
    response = await c.post("/api/rehearse/takes", json={"host": host, "product": "aurora-buds"})
    assert response.status == 200
    take_id: str = (await response.json())["id"]
    return take_id


async def test_page_and_info(client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock]) -> None:
    c, _, _ = client
    page = await c.get("/rehearse")
    assert page.status == 200 and 'id="transcript"' in await page.text()
    info = await (await c.get("/api/rehearse")).json()
    assert info["language"] == "en" and info["products"][0] == {"id": "aurora-buds", "name": "Aurora Buds"}
    assert (await c.get("/rehearse/static/rehearse.js")).status == 200


async def test_a_take_runs_and_reports(
    client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock],
) -> None:
    c, server, _ = client
    take_id = await _start(c, "ana")
    state = await (await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(3.5, 0.4)))).json()
    assert state["lines"] == [] and state["questions"][0]["text"] == "How much is the Aurora Buds?"
    await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(quiet(0.6)))
    transcriber = server.takes[take_id].transcriber
    assert transcriber is not None
    await transcriber  # the piece cut at the pause is transcribed in the background
    state = await (await c.get(f"/api/rehearse/takes/{take_id}")).json()
    assert state["lines"][0]["text"].startswith("Ana says")
    assert state["meters"]["pace"] > 0 and state["meters"]["unit"] == "wpm"
    stopped = await (await c.post(f"/api/rehearse/takes/{take_id}/stop", json={})).json()
    assert stopped["report_url"] == f"/rehearse/report/{take_id}"
    assert stopped["report"]["status"] == "finished"
    assert stopped["report"]["audience"][0]["verdict"] == "correct"
    page = await c.get(stopped["report_url"])
    assert page.status == 200 and "Ana says" in await page.text()
    as_json = await (await c.get(f"/rehearse/report/{take_id}.json")).json()
    assert as_json == stopped["report"]
    assert server.store.status(take_id) == "finished"
    # A second stop returns the same report; audio after the end changes nothing.
    again = await (await c.post(f"/api/rehearse/takes/{take_id}/stop", json={})).json()
    assert again["report"] == stopped["report"]
    late = await (await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(4.0)))).json()
    assert late["finished"] and late["seconds"] == pytest.approx(4.1)


async def test_two_hosts_at_once_never_mix(
    client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock],
) -> None:
    c, _, _ = client
    ana, bo = await _start(c, "ana"), await _start(c, "bo")
    assert ana != bo

    async def speak(take_id: str, level: float) -> None:
        for _ in range(3):
            await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(1.5, level)))
        await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(quiet(0.6)))

    await asyncio.gather(speak(ana, 0.5), speak(bo, 0.1))
    reports = [
        (await (await c.post(f"/api/rehearse/takes/{t}/stop", json={})).json())["report"] for t in (ana, bo)
    ]
    assert reports[0]["host"] == "ana" and reports[1]["host"] == "bo"
    assert all(line["text"].startswith("Ana") for line in reports[0]["transcript"])
    assert all(line["text"].startswith("Bo") for line in reports[1]["transcript"])


async def test_a_silent_mic_is_reported(
    client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock],
) -> None:
    c, server, _ = client
    take_id = await _start(c, "ana")
    for _ in range(3):
        state = await (await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(quiet(2.0)))).json()
    assert any("No sound from your microphone" in m for m in state["messages"])
    report = (await (await c.post(f"/api/rehearse/takes/{take_id}/stop", json={})).json())["report"]
    assert report["transcript"] == [] and "No sound reached the microphone" in report["messages"][0]
    asr = server._asr
    assert asr is None or isinstance(asr, LoudnessASR) and asr.calls == 0  # silence never reaches Whisper


async def test_an_abandoned_take_is_kept(
    client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock],
) -> None:
    c, server, clock = client
    take_id = await _start(c, "ana")
    await c.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(3.5, 0.4)))
    await clock.advance(10.0)
    await server.reap()
    assert server.store.status(take_id) == "running"
    await clock.advance(25.0)
    await server.reap()
    report = server.store.report(take_id)
    assert report is not None and report["status"] == "abandoned"
    assert report["transcript"][0]["text"].startswith("Ana says")  # the unfinished piece was transcribed


async def test_the_page_leaving_marks_the_take_abandoned(
    client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock],
) -> None:
    c, server, _ = client
    take_id = await _start(c, "ana")
    # navigator.sendBeacon posts text/plain
    await c.post(f"/api/rehearse/takes/{take_id}/stop", data='{"status": "abandoned"}')
    assert server.store.status(take_id) == "abandoned"


async def test_bad_requests(client: tuple[TestClient[Any, Any], RehearsalServer, ManualClock]) -> None:
    c, _, _ = client
    assert (await c.post("/api/rehearse/takes", json={"product": "laptop"})).status == 400
    assert (await c.post("/api/rehearse/takes", data="nope")).status == 400
    assert (await c.post("/api/rehearse/takes/0123456789ab/audio", data=b"\0\0")).status == 404
    assert (await c.get("/api/rehearse/takes/../../etc")).status == 404
    assert (await c.get("/rehearse/report/0123456789ab")).status == 404
    take_id = await _start(c, "ana")
    big = (await c.post(f"/api/rehearse/takes/{take_id}/audio", data=b"\0" * (16_000 * 2 * 6))).status
    assert big == 413
    assert (await c.get("/api/rehearse/model-answer/laptop.wav")).status == 404
    assert (await c.get("/api/rehearse/model-answer/aurora-buds.wav")).status == 503  # no voice here
