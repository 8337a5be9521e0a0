"""The web app on a real aiohttp server (127.0.0.1, free port) around a show with fake voices.

Pages, product data and health are served; bad or hostile requests get a clean JSON error and leave
nothing behind; a real aiortc viewer (``ProbeViewer``) connects, receives picture and sound, chats,
and is forgotten when it leaves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aioice.ice
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCPeerConnection

from avatar.brain.answerer import Answerer
from avatar.brain.scene import Scene, load_scene
from avatar.brain.triage import RATE_BURST
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.web.app import MAX_OFFER_BYTES, STATIC_DIR, VIEWERS_KEY, create_app
from avatar.web.ice import use_loopback_only
from avatar.web.probe import ProbeViewer
from avatar.web.viewers import ViewerSession
from tests.fakes import DEMO_SCENE, REPO, FakeTTSEngine, fake_speaker, wait_until


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@dataclass
class Served:
    """A running app: its HTTP client, the show behind it, and its base URL."""

    client: TestClient[Any, Any]
    show: LiveShow

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def health(self) -> dict[str, Any]:
        response = await self.client.get("/healthz")
        assert response.status == 200
        data: dict[str, Any] = await response.json()
        return data

    async def raw_get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` exactly as written (no client-side normalising of ``..`` or escapes)."""
        server = self.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body


@pytest.fixture
async def served(scene: Scene) -> AsyncIterator[Served]:
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005)
    show = LiveShow(scene, Settings(scene=DEMO_SCENE), speaker=fake_speaker(Playout(), engine))
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Served(client, show)
    finally:
        await client.close()


async def error_of(response: ClientResponse) -> str:
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
    message: str = body["error"]
    return message


async def test_index_serves_the_viewer_page(served: Served) -> None:
    response = await served.client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert page == (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert '<video id="video"' in page
    script = await served.client.get("/static/viewer.js")
    assert script.status == 200 and "RTCPeerConnection" in await script.text()


async def test_healthz_reports_the_running_show(served: Served, scene: Scene) -> None:
    health = await served.health()
    assert health["status"] == "ok"
    assert health["viewers"] == 0
    assert health["current_product"] == scene.segments[0].product_id
    assert health["queue_depth"] == 0
    assert isinstance(health["uptime_s"], float)
    assert health["listen"]["speech_model"] == "idle", "nobody spoke and nothing warmed the model"
    await wait_until(lambda: served.show.programme.stats.frames > 0, 2, "the programme to run")
    assert (await served.health())["frames"] > 0, "the show runs with nobody watching"


async def test_products_lists_the_catalog_with_formatted_prices(served: Served, scene: Scene) -> None:
    response = await served.client.get("/api/products")
    assert response.status == 200
    data = await response.json()
    catalog = scene.catalog
    assert data["current"] == scene.segments[0].product_id
    assert [item["id"] for item in data["products"]] == [p.id for p in catalog.products]
    for item, product in zip(data["products"], catalog.products, strict=True):
        assert item["price"] == catalog.format_price(product.price)
        promo = (
            catalog.format_price(product.promo.price) if product.promo and product.promo_active() else None
        )
        assert item["promo_price"] == promo
        assert item["name"] == product.names
        assert item["stock"] == product.stock
        assert item["image"] == f"/products/{product.id}/image"


async def test_product_image_is_the_png_from_the_catalog(served: Served, scene: Scene) -> None:
    product = scene.catalog.products[0]
    assert product.image is not None
    response = await served.client.get(f"/products/{product.id}/image")
    assert response.status == 200
    body = await response.read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert body == product.image.read_bytes()


async def test_unknown_product_image_is_a_json_404(served: Served) -> None:
    response = await served.client.get("/products/no-such-thing/image")
    assert response.status == 404
    assert "unknown product" in await error_of(response)


@pytest.mark.parametrize(
    "path",
    [
        "/products/..%2F..%2Fetc%2Fpasswd/image",
        "/products/..%2F..%2F..%2Favatar%2Fcli.py/image",
        "/products/%2e%2e/image",
        "/static/../avatar/cli.py",
        "/static/../../cli.py",
        "/static/../app.py",
        "/static/..%2F..%2Fcli.py",
        "/static/%2e%2e/%2e%2e/cli.py",
        "/static/..%5C..%5Ccli.py",
        "/static//etc/passwd",
    ],
)
async def test_path_traversal_never_returns_file_content(served: Served, path: str) -> None:
    status, body = await served.raw_get(path)
    assert status in {400, 403, 404}, f"{path} -> {status}"
    for secret in (REPO / "avatar" / "cli.py", REPO / "avatar" / "web" / "app.py"):
        assert secret.read_bytes()[:200] not in body
    assert b"root:" not in body
    assert (await served.health())["status"] == "ok"


async def test_offer_that_is_not_json_is_a_400(served: Served) -> None:
    response = await served.client.post("/offer", data=b"this is not json {")
    assert response.status == 400
    assert "JSON" in await error_of(response)
    binary = await served.client.post("/offer", data=b"\xff\xfe\x00garbage")
    assert binary.status == 400
    await error_of(binary)


@pytest.mark.parametrize(
    "body",
    [
        {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "answer"},
        {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"},
        {"sdp": 42, "type": "offer"},
        {"type": "offer"},
        ["sdp", "offer"],
        "offer",
    ],
)
async def test_offer_with_wrong_fields_is_a_400(served: Served, body: object) -> None:
    response = await served.client.post("/offer", json=body)
    assert response.status == 400
    await error_of(response)
    assert not served.client.app[VIEWERS_KEY].sessions


@pytest.mark.parametrize(
    "sdp",
    [
        "garbage",
        "m=garbage\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\n",
    ],
)
async def test_garbage_sdp_is_a_400_and_leaves_no_viewer(served: Served, sdp: str) -> None:
    response = await served.client.post("/offer", json={"sdp": sdp, "type": "offer"})
    assert response.status == 400
    await error_of(response)
    assert not served.client.app[VIEWERS_KEY].sessions
    assert served.show.broadcaster.viewers == 0
    health = await served.health()
    assert health["viewers"] == 0 and health["status"] == "ok"


async def test_oversize_offer_is_refused(served: Served) -> None:
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + "a=x-padding:" + "x" * MAX_OFFER_BYTES
    body = json.dumps({"sdp": sdp, "type": "offer"}).encode()
    assert len(body) > 64 * 1024
    response = await served.client.post("/offer", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 413
    await error_of(response)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    # Without a Content-Length (chunked), the body is still cut off at the limit.
    chunked = await served.client.post("/offer", data=chunks())
    assert chunked.status == 413
    await error_of(chunked)
    assert not served.client.app[VIEWERS_KEY].sessions
    assert (await served.health())["status"] == "ok"


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback-only ICE for this test; the real address lookup comes back afterwards."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    use_loopback_only()
    yield


async def test_an_offer_that_arrives_in_pieces_is_read_whole(served: Served, loopback_ice: None) -> None:
    # On a real network a ~4 KB offer spans several TCP segments; the server must wait for all of them.
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        body = json.dumps({"sdp": pc.localDescription.sdp, "type": "offer"}).encode()
        server = served.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        head = (
            "POST /offer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        third = len(body) // 3
        writer.write(head.encode() + body[:third])
        await writer.drain()
        for piece in (body[third : 2 * third], body[2 * third :]):
            await asyncio.sleep(0.05)
            writer.write(piece)
            await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await writer.wait_closed()
    finally:
        await pc.close()
    status_line, _, rest = response.partition(b"\r\n")
    answer = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert status_line.split()[1] == b"200", answer
    assert answer["type"] == "answer" and "m=video" in answer["sdp"]
    assert answer["viewer_id"] in served.client.app[VIEWERS_KEY].sessions


class FakeChannel:
    """Stands in for a viewer's open data channel: records what the server sends on it."""

    def __init__(self) -> None:
        self.readyState = "open"
        self.bufferedAmount = 0
        self.sent: list[dict[str, Any]] = []
        self._handlers: dict[str, Callable[[object], None]] = {}

    def on(self, event: str, handler: Callable[[object], None]) -> None:
        self._handlers[event] = handler

    def send(self, data: str) -> None:
        self.sent.append(json.loads(data))

    def receive(self, message: object) -> None:
        self._handlers["message"](message)


async def test_data_channel_chat_and_notices_reach_only_their_viewer(served: Served) -> None:
    show = served.show
    alice, bob = ViewerSession(show, 30.0), ViewerSession(show, 30.0)
    channels = {alice.id: FakeChannel(), bob.id: FakeChannel()}
    try:
        for session in (alice, bob):
            session.pc.emit("datachannel", channels[session.id])
        for i in range(RATE_BURST + 1):
            channels[alice.id].receive(
                json.dumps({"type": "chat", "name": " Alice  W ", "text": f"stock {i}?"})
            )
        channels[bob.id].receive("not json")
        channels[bob.id].receive(json.dumps({"type": "hello"}))
        await asyncio.sleep(0.05)
    finally:
        await alice.close()
        await bob.close()

    def of(session: ViewerSession, kind: str) -> list[dict[str, Any]]:
        return [m for m in channels[session.id].sent if m["type"] == kind]

    assert len(of(alice, "notice")) == 1 and "too fast" in of(alice, "notice")[0]["text"]
    assert [m["text"] for m in of(bob, "notice")][0] == "Messages must be JSON."
    assert len(of(bob, "notice")) == 2, "bob sees his own notices only, not alice's rate limit"
    chats = [(m["name"], m["text"]) for m in of(bob, "chat")]
    assert chats == [("Alice W", f"stock {i}?") for i in range(RATE_BURST)], "everyone sees accepted chat"
    assert show.broadcaster.viewers == 0, "closed sessions leave the programme"


@pytest.mark.slow
async def test_probe_viewer_gets_picture_and_sound_then_is_forgotten(
    served: Served, loopback_ice: None
) -> None:
    probe = ProbeViewer(served.url)
    try:
        await asyncio.wait_for(probe.connect(), 10)
        await wait_until(
            lambda: probe.stats.video_frames >= 10 and probe.stats.audio_frames >= 25, 10, "media"
        )
        assert (probe.stats.width, probe.stats.height) == (640, 360)
        assert (await served.health())["viewers"] == 1
        assert len(served.client.app[VIEWERS_KEY].sessions) == 1
    finally:
        await probe.close()

    async def viewers() -> int:
        count: int = (await served.health())["viewers"]
        return count

    for _ in range(100):
        if await viewers() == 0:
            break
        await asyncio.sleep(0.1)
    assert await viewers() == 0, "the viewer's session was released after it left"
    await wait_until(lambda: not served.client.app[VIEWERS_KEY].sessions, 2, "the session to be forgotten")


@pytest.mark.slow
async def test_chat_over_the_data_channel_gets_the_price_in_a_caption(
    served: Served, scene: Scene, loopback_ice: None
) -> None:
    probe = ProbeViewer(served.url)
    try:
        await asyncio.wait_for(probe.connect(), 10)
        await wait_until(lambda: probe.channel.readyState == "open", 10, "the data channel")
        question = "How much is the desk lamp?"
        answer = Answerer(scene).answer(question, scene.segments[0].product_id)
        lamp = scene.catalog.get("lumen-lamp")
        price = scene.catalog.format_price(lamp.current_price())
        assert price in answer.text
        probe.chat(question, name="Ann")

        def captions() -> list[str]:
            return [str(m.get("text")) for m in probe.stats.messages if m.get("type") == "caption"]

        await wait_until(lambda: any(price in c for c in captions()), 5, f"a caption with {price}")
        chats = [m for m in probe.stats.messages if m.get("type") == "chat"]
        assert {"type": "chat", "name": "Ann", "text": question} in chats
        products = [m.get("id") for m in probe.stats.messages if m.get("type") == "product"]
        assert "lumen-lamp" in products

        # A flood earns this viewer a notice (other viewers would not see it).
        for i in range(5):
            probe.chat(f"is the bottle in stock {i}?", name="Ann")
        await wait_until(
            lambda: any(m.get("type") == "notice" for m in probe.stats.messages), 5, "a rate-limit notice"
        )
        probe.channel.send("not json")
        await wait_until(
            lambda: any("JSON" in str(m.get("text")) for m in probe.stats.messages), 5, "a format notice"
        )
    finally:
        await probe.close()
