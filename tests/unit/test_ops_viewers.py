"""Viewer connections that go wrong release everything they held, and the show goes on.

- an offer whose browser vanishes before ICE completes: closed after the connect timeout;
- a connected viewer whose network drops (its sockets close without a word): closed when ICE
  consent fails (about 30 s in aioice), while another viewer keeps receiving.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioice.ice
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCPeerConnection

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.web.app import VIEWERS_KEY, create_app
from avatar.web.ice import use_loopback_only
from avatar.web.probe import ProbeViewer
from avatar.web.viewers import ViewerSession
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    use_loopback_only()
    yield


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    scene = load_scene(DEMO_SCENE)
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.002)
    settings = Settings(
        scene=DEMO_SCENE, connect_timeout_s=1.0, operator_token="t", offers_per_minute=100_000
    )
    show = LiveShow(scene, settings, speaker=fake_speaker(Playout(), engine))
    test_client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


def show_of(client: TestClient[Any, Any]) -> LiveShow:
    registry = client.app[VIEWERS_KEY]
    return registry.show


async def test_a_viewer_that_vanishes_before_connecting_is_released(
    client: TestClient[Any, Any], loopback_ice: None
) -> None:
    registry = client.app[VIEWERS_KEY]
    show = show_of(client)
    subscribers = len(show.bus._queues)  # noqa: SLF001
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    response = await client.post("/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"})
    assert response.status == 200
    viewer_id = (await response.json())["viewer_id"]
    await pc.close()  # the browser is gone before ICE ever completed
    session: ViewerSession = registry.sessions[viewer_id]
    ref = weakref.ref(session)
    del session
    assert show.broadcaster.viewers == 1
    ticks = show.programme.stats.ticks
    await wait_until(lambda: viewer_id not in registry.sessions, 5, "the stuck session to be closed")
    assert show.broadcaster.viewers == 0 and len(show.bus._queues) == subscribers  # noqa: SLF001
    assert show.programme.stats.ticks > ticks, "the programme never waited for it"
    for _ in range(20):
        gc.collect()
        if ref() is None:
            break
        await asyncio.sleep(0.05)
    assert ref() is None, "nothing holds on to the closed session"


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_viewer_whose_network_drops_is_released_and_others_keep_watching(
    client: TestClient[Any, Any], loopback_ice: None
) -> None:
    registry = client.app[VIEWERS_KEY]
    show = show_of(client)
    url = str(client.make_url("/")).rstrip("/")
    dropped, watcher = ProbeViewer(url), ProbeViewer(url)
    try:
        await asyncio.wait_for(dropped.connect(), 10)
        await asyncio.wait_for(watcher.connect(), 10)
        await wait_until(
            lambda: dropped.stats.video_frames > 5 and watcher.stats.video_frames > 5, 15, "both viewers"
        )
        assert len(registry.sessions) == 2
        # Pull the plug: close the ICE sockets of one viewer without any goodbye (no DTLS/SCTP close).
        for transceiver in dropped.pc.getTransceivers():
            ice = transceiver.receiver.transport.transport
            await ice._connection.close()  # noqa: SLF001 - aioice's sockets, to simulate a dead network
            break
        before = watcher.stats.video_frames
        await wait_until(lambda: len(registry.sessions) == 1, 90, "the dropped viewer's session to close")
        assert show.broadcaster.viewers == 1
        assert watcher.stats.video_frames > before + 100, "the other viewer kept receiving"
    finally:
        await dropped.close()
        await watcher.close()
