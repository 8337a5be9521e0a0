"""Issue 20, item 11: the rehearsal server under attack. Takes belong to the browser that started
them, other machines need the token, finished takes let go of their audio, the avatar captions
only the server's own lines, and bad JSON is a 400."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.media.clock import ManualClock
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.server import RehearsalServer, create_rehearsal_app
from avatar.rehearse.store import SessionStore
from tests.rehearse_fakes import quiet, tone
from tests.unit.test_rehearse_server import SCENE, LoudnessASR, pcm

TOKEN = "rehearsal-token-for-tests"


def make_server(tmp_path: Path, token: str | None = None) -> RehearsalServer:
    return RehearsalServer(
        load_scene(SCENE),
        SessionStore(tmp_path),
        LoudnessASR,
        schedule=AudienceSchedule(first_s=2.0, every_s=100.0),
        clock=ManualClock(),
        idle_timeout_s=30.0,
        token=token,
    )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], RehearsalServer]]:
    server = make_server(tmp_path)
    async with TestClient(TestServer(create_rehearsal_app(server), host="127.0.0.1")) as client:
        yield client, server


def outside_address() -> str | None:
    """An address of this machine that is not loopback (to be "another machine" to the server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_a_take_and_its_report_belong_to_the_browser_that_started_it(
    served: tuple[TestClient[Any, Any], RehearsalServer],
) -> None:
    client, _ = served
    started = await client.post("/api/rehearse/takes", json={"host": "ana", "product": "aurora-buds"})
    assert started.status == 200
    take_id = (await started.json())["id"]
    await client.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(3.5, 0.4)))
    async with aiohttp.ClientSession() as stranger:  # another browser that learned the 12-hex id
        base = str(client.make_url("")).rstrip("/")
        for method, path in [
            ("GET", f"/api/rehearse/takes/{take_id}"),
            ("POST", f"/api/rehearse/takes/{take_id}/audio"),
            ("GET", f"/api/rehearse/takes/{take_id}/questions/0.wav"),
            ("POST", f"/api/rehearse/takes/{take_id}/stop"),
        ]:
            async with stranger.request(method, base + path, data=b"\0\0") as response:
                assert response.status == 404, path
        stopped = await client.post(f"/api/rehearse/takes/{take_id}/stop", json={})
        assert stopped.status == 200
        for path in (f"/rehearse/report/{take_id}", f"/rehearse/report/{take_id}.json"):
            async with stranger.get(base + path) as response:
                assert response.status == 404, path
    own = await client.get(f"/rehearse/report/{take_id}")
    assert own.status == 200 and "style-src 'self' 'sha256-" in (own.headers["Content-Security-Policy"])


async def test_a_finished_take_lets_go_of_its_audio(
    served: tuple[TestClient[Any, Any], RehearsalServer],
) -> None:
    client, server = served
    take_id = (await (await client.post("/api/rehearse/takes", json={"product": "aurora-buds"})).json())["id"]
    for _ in range(3):
        await client.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(4.0, 0.4)))
    await client.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(quiet(1.0)))
    take = server.takes[take_id].take
    assert take.audio().size == 13 * 16_000
    await client.post(f"/api/rehearse/takes/{take_id}/stop", json={})
    assert take.audio().size == 0, "the saved take keeps no audio in memory"
    state = await (await client.get(f"/api/rehearse/takes/{take_id}")).json()
    assert state["finished"] and state["seconds"] == pytest.approx(13.0)
    assert server.store.status(take_id) == "finished"


async def test_the_avatar_only_captions_lines_the_server_generated(
    served: tuple[TestClient[Any, Any], RehearsalServer],
) -> None:
    client, server = served
    forged = await client.get("/api/rehearse/avatar/aurora-buds.png", params={"q": "Call 555 123 4567 now"})
    assert forged.status == 400
    take_id = (await (await client.post("/api/rehearse/takes", json={"product": "aurora-buds"})).json())["id"]
    state = await (await client.post(f"/api/rehearse/takes/{take_id}/audio", data=pcm(tone(3.5, 0.4)))).json()
    asked = state["questions"][0]["text"]
    assert asked in server.generated_lines(server.takes[take_id].owner)
    own = await client.get("/api/rehearse/avatar/aurora-buds.png", params={"q": asked})
    assert own.status == 503, "a line the server asked passes the check (no avatar configured here)"
    async with aiohttp.ClientSession() as stranger:
        url = str(client.make_url("/api/rehearse/avatar/aurora-buds.png"))
        async with stranger.get(url, params={"q": asked}) as response:
            assert response.status == 400, "another browser's questions are not its lines"


async def test_deeply_nested_json_on_the_rehearsal_api_is_a_400(
    served: tuple[TestClient[Any, Any], RehearsalServer],
) -> None:
    client, _ = served
    nested = "[" * 30000
    headers = {"Content-Type": "application/json"}
    assert (await client.post("/api/rehearse/takes", data=nested, headers=headers)).status == 400
    take_id = (await (await client.post("/api/rehearse/takes", json={"product": "aurora-buds"})).json())["id"]
    stop = await client.post(f"/api/rehearse/takes/{take_id}/stop", data=nested[:10000], headers=headers)
    assert stop.status == 400
    page = await client.get("/rehearse")
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


async def test_another_machine_needs_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = outside_address()
    if address is None:  # no network interface but loopback: count loopback as another machine
        monkeypatch.setattr("avatar.rehearse.server._is_loopback", lambda remote: False)
        address = "127.0.0.1"
    open_server = make_server(tmp_path / "open")
    async with TestClient(TestServer(create_rehearsal_app(open_server), host=address)) as client:
        assert (await client.get("/api/rehearse")).status == 403, "no token: this machine only"
    server = make_server(tmp_path / "token", token=TOKEN)
    async with TestClient(TestServer(create_rehearsal_app(server), host=address)) as client:
        assert (await client.get("/api/rehearse")).status == 401
        assert (await client.get("/api/rehearse", headers={"Authorization": "Bearer nope"})).status == 401
        page = await client.get("/rehearse")
        assert page.status == 401 and "<form" in await page.text()
        bearer = await client.get("/api/rehearse", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status == 200
        wrong = await client.post("/rehearse/login", data={"token": "guess"}, allow_redirects=False)
        assert wrong.status == 401
        right = await client.post("/rehearse/login", data={"token": TOKEN}, allow_redirects=False)
        assert right.status == 303
        assert (await client.get("/api/rehearse")).status == 200, "signed in by the session cookie"
        started = await client.post("/api/rehearse/takes", json={"product": "aurora-buds"})
        assert started.status == 200
