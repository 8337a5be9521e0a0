"""The operator console on a real aiohttp server: only the operator gets in, every action works,
bad input is refused cleanly and the show goes on; /metrics and /readyz for monitoring."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCPeerConnection

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.store import Store
from avatar.web.app import VIEWERS_KEY, create_app
from avatar.web.console import CONSOLE_KEY, COOKIE, MAX_BODY_BYTES, MAX_WS_BAD_MESSAGES
from avatar.web.guard import TokenThrottle
from tests.fakes import DEMO_SCENE, REPO, FakeTTSEngine, fake_speaker, wait_until
from tests.unit.test_web_app import loopback_ice  # noqa: F401  (fixture)

TOKEN = "op-secret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Console:
    client: TestClient[Any, Any]
    show: LiveShow
    folder: Path

    async def post(self, path: str, body: object = None, headers: dict[str, str] | None = None) -> Any:
        return await self.client.post(path, json=body or {}, headers=headers if headers is not None else AUTH)

    async def raw_get(self, path: str, headers: str = "") -> tuple[int, bytes]:
        """GET ``path`` exactly as written (no client-side normalising)."""
        server = self.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, folder)
    scene = load_scene(folder)
    store = Store(tmp_path / "show.sqlite3")
    settings = Settings(scene=folder, operator_token=TOKEN)
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.002)
    show = LiveShow(scene, settings, speaker=fake_speaker(Playout(), engine), store=store)
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Console(client, show, folder)
    finally:
        await client.close()


OPERATOR_GETS = [
    "/console",
    "/console/analytics",
    "/console/static/console.js",
    "/console/api/state",
    "/console/api/analytics",
    "/console/api/export/questions.csv",
    "/console/ws",
    "/console/nothing-here",
]
OPERATOR_POSTS = [
    "/console/api/pause",
    "/console/api/mute",
    "/console/api/say",
    "/console/api/product",
    "/console/api/promotion",
    "/console/api/reload",
    "/console/api/queue/abc/skip",
    "/console/api/queue/abc/pin",
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Cookie": f"{COOKIE}=forged"},
        {"Cookie": f"{COOKIE}={TOKEN}"},  # the raw token is not a session value
    ],
    ids=["none", "wrong", "longer", "basic", "forged-cookie", "token-as-cookie"],
)
async def test_operator_endpoints_refuse_missing_and_forged_tokens(
    console: Console, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    show = console.show
    # About refusals, not pacing (tests/unit/test_hardening.py throttles): no waits between tries.
    console.client.app[CONSOLE_KEY].throttle = TokenThrottle(free_failures=1000)
    paused_before = show.ops.control.paused
    for path in OPERATOR_GETS:
        response = await console.client.get(path, headers=headers)
        assert response.status == 401, path
        body = await response.text()
        assert "Question queue" not in body and "current_product" not in body
    for path in OPERATOR_POSTS:
        response = await console.client.post(
            path, json={"paused": True, "muted": True, "text": "hi"}, headers=headers
        )
        assert response.status == 401, path
    assert show.ops.control.paused == paused_before and not show.ops.control.muted
    assert "console: refused" in caplog.text
    # Viewer routes are untouched by the guard.
    assert (await console.client.get("/healthz")).status == 200
    assert (await console.client.get("/")).status == 200


async def test_console_files_are_not_served_by_the_viewer_static_route(console: Console) -> None:
    for name in ("console.html", "console.js", "analytics.html", "analytics.js"):
        status, _ = await console.raw_get(f"/static/{name}")
        assert status == 404, name


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/..%2F..%2Fcli.py",
        "/console/static/../app.py",
        "/console/static/%2e%2e%2fconsole.py",
        "/console/static/..%5Cconsole.py",
        "/console/api/export/..%2F..%2Fetc%2Fpasswd.csv",
        "/console/api/export/sqlite_master.csv",
        "/snapshot.png/../avatar/cli.py",
        "/snapshot.png%2F..%2F..%2Favatar%2Fcli.py",
        "/console/../console/api/state",
    ],
)
async def test_path_traversal_in_console_and_snapshot_routes_is_refused(console: Console, path: str) -> None:
    for headers in ("", f"Authorization: Bearer {TOKEN}\r\n"):
        status, body = await console.raw_get(path, headers)
        assert status in {400, 401, 403, 404}, f"{path} -> {status}"
        for secret in (REPO / "avatar" / "cli.py", REPO / "avatar" / "web" / "console.py"):
            assert secret.read_bytes()[:200] not in body
        assert b"root:" not in body and b"CREATE TABLE" not in body


async def test_login_form_sets_a_session_cookie_that_opens_the_console(console: Console) -> None:
    client = console.client
    page = await client.get("/console")
    assert page.status == 401 and "<form" in await page.text()
    wrong = await client.post("/console/login", data={"token": "nope"}, allow_redirects=False)
    assert wrong.status == 401
    right = await client.post("/console/login", data={"token": TOKEN}, allow_redirects=False)
    assert right.status == 303
    cookie = right.cookies[COOKIE]
    assert cookie.value != TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await client.get("/console")  # the client keeps the cookie
    assert page.status == 200 and "Question queue" in await page.text()
    script = await client.get("/console/static/console.js")
    assert script.status == 200 and "WebSocket" in await script.text()
    assert "http" not in re.sub(r"location\.protocol|https?:\"|wss?://", "", await script.text()).replace(
        "http://www.w3.org", ""
    ), "no external scripts or CDNs"


async def studio_offer() -> dict[str, str]:
    """A browser's offer as the studio page makes it (receive the show, send the microphone)."""
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="sendrecv")
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp, "type": "offer", "role": "studio"}
    finally:
        await pc.close()


async def test_the_studio_page_and_its_offers_need_the_operator_sign_in(
    console: Console,
    loopback_ice: None,  # noqa: F811
) -> None:
    # A co-host's voice stops the host: only the operator may open the studio's microphone.
    client = console.client
    registry = client.app[VIEWERS_KEY]
    moved = await client.get("/studio", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == "/console/studio"
    page = await client.get("/console/studio")
    assert page.status == 401 and "name=next value='/console/studio'" in await page.text()
    offer = await studio_offer()
    refused = await client.post("/offer", json=offer)
    assert refused.status == 403 and "/console/studio" in (await refused.json())["error"]
    assert (await client.post("/console/offer", json=offer)).status == 401
    assert registry.sessions == {}
    wrong = await client.post("/console/login", data={"token": "nope", "next": "/console/studio"})
    assert wrong.status == 401 and "name=next value='/console/studio'" in await wrong.text()
    signed_in = await client.post(
        "/console/login", data={"token": TOKEN, "next": "/console/studio"}, allow_redirects=False
    )
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/console/studio"
    page = await client.get("/console/studio")  # the client keeps the cookie
    assert page.status == 200 and "viewer.js" in await page.text()
    script = await (await client.get("/static/viewer.js")).text()
    assert '"/console/studio"' in script and '"/console/offer"' in script and "getUserMedia" in script
    admitted = await client.post("/console/offer", json=offer)
    assert admitted.status == 200, await admitted.text()
    answer = await admitted.json()
    assert answer["type"] == "answer" and registry.sessions[answer["viewer_id"]].role == "studio"


@pytest.mark.parametrize("after", ["//evil.example/", "https://evil.example/", "/console/api/pause", ""])
async def test_a_sign_in_returns_only_to_a_console_page(console: Console, after: str) -> None:
    response = await console.client.post(
        "/console/login", data={"token": TOKEN, "next": after}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/console"


async def test_the_sign_in_page_never_writes_the_requested_path_into_the_form(console: Console) -> None:
    status, body = await console.raw_get("/console/x'%3E%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 401 and b"<script" not in body and b"name=next value='/console'" in body


async def test_repeated_failed_logins_are_throttled(console: Console) -> None:
    # A burst of guesses: a few are checked, the rest wait their turn or get 429 unchecked.
    responses = await asyncio.gather(
        *(console.client.post("/console/login", data={"token": f"guess{i}"}) for i in range(20))
    )
    statuses = [r.status for r in responses]
    assert set(statuses) == {401, 429} and statuses.count(401) < 15
    assert (await console.client.get("/console/api/state", headers=AUTH)).status == 200


async def test_state_lists_queue_products_and_stage_health(console: Console) -> None:
    show = console.show
    assert show.submit_comment("v1", "Ann", "is the bottle in stock?").value == "accepted"
    response = await console.client.get("/console/api/state", headers=AUTH)
    assert response.status == 200
    state = await response.json()
    assert {p["id"] for p in state["products"]} == {p.id for p in show.scene.catalog.products}
    assert state["persistence"] is True
    assert "programme" in state["health"]["stages"] and "host" in state["health"]["stages"]
    # The comment may already be answered; when it waits, it is listed with an id.
    for item in state["queue"]:
        assert re.fullmatch(r"[0-9a-f]{12}", item["id"])


async def test_pause_resume_and_mute(console: Console) -> None:
    show = console.show
    stats = show.programme.stats
    await wait_until(lambda: stats.frames > 5, 5, "frames")
    assert (await console.post("/console/api/pause", {"paused": True})).status == 200
    assert show.ops.control.paused and show.health()["paused"]
    ticks = stats.ticks
    await wait_until(lambda: stats.ticks > ticks + 10, 5, "the programme to keep running while paused")
    assert (await console.post("/console/api/pause", {"paused": False})).status == 200
    assert not show.ops.control.paused
    assert (await console.post("/console/api/mute", {"muted": True})).status == 200
    assert show.programme.muted and show.ops.control.muted
    subscription = show.broadcaster.subscribe()
    try:
        frames = [await asyncio.wait_for(subscription.next_audio(), 2) for _ in range(10)]
    finally:
        show.broadcaster.unsubscribe(subscription)
    assert all(not frame.to_ndarray().any() for frame in frames), "muted: silence goes out"
    assert (await console.post("/console/api/mute", {"muted": False})).status == 200
    assert not show.programme.muted
    assert (await console.post("/console/api/pause", {"paused": "yes"})).status == 400


async def test_injected_line_is_spoken_and_a_banned_one_is_refused(console: Console) -> None:
    show = console.show
    captions: list[str] = []
    events = show.bus.subscribe()
    response = await console.post("/console/api/say", {"text": "Hello from the studio team."})
    assert response.status == 200
    for _ in range(500):
        event = await asyncio.wait_for(events.get(), 5)
        if getattr(event, "text", None) and type(event).__name__ == "Caption":
            captions.append(event.text)  # type: ignore[union-attr]
            if "studio team" in event.text:  # type: ignore[union-attr]
                break
    show.bus.unsubscribe(events)
    assert any("studio team" in c for c in captions)
    blocked = await console.post("/console/api/say", {"text": "This lamp cures headaches, guaranteed."})
    assert blocked.status == 422 and (await blocked.json())["actions"]
    assert (await console.post("/console/api/say", {"text": 5})).status == 400


async def test_switch_product_and_trigger_a_promotion(console: Console) -> None:
    show = console.show
    target = show.scene.segments[-1].product_id
    assert target != show.product_id
    assert (await console.post("/console/api/product", {"id": target})).status == 200
    await wait_until(lambda: show.product_id == target, 5, "the product to switch")
    assert show.run_of_show.current_product_id == target
    promo = await console.post("/console/api/promotion", {"id": target})
    assert promo.status == 200
    product = show.scene.catalog.get(target)
    assert product.name(show.scene.language) in (await promo.json())["text"]
    assert (await console.post("/console/api/product", {"id": "../../etc"})).status == 400
    assert (await console.post("/console/api/promotion", {"id": "nope"})).status == 400


async def test_pin_and_skip_questions(console: Console) -> None:
    show = console.show
    await console.post("/console/api/pause", {"paused": True})  # questions wait while paused
    for viewer, text in [("a", "is the bottle in stock?"), ("b", "how heavy is the backpack?")]:
        assert show.submit_comment(viewer, viewer, text).value == "accepted"
    queue = (await (await console.client.get("/console/api/state", headers=AUTH)).json())["queue"]
    assert [q["text"] for q in queue] == ["is the bottle in stock?", "how heavy is the backpack?"]
    assert (await console.post(f"/console/api/queue/{queue[0]['id']}/skip")).status == 200
    assert (await console.post(f"/console/api/queue/{queue[1]['id']}/pin")).status == 200
    assert show.ops.control.pinned is not None and len(show.comments) == 0
    assert (await console.post(f"/console/api/queue/{queue[0]['id']}/skip")).status == 404
    await console.post("/console/api/pause", {"paused": False})
    await wait_until(lambda: show.ops.control.pinned is None, 5, "the pinned question to be answered")


async def test_reload_refuses_a_corrupt_scene_and_keeps_the_show(console: Console) -> None:
    show = console.show
    scene = show.scene
    (console.folder / "scene.yaml").write_text("persona: [unclosed", encoding="utf-8")
    response = await console.post("/console/api/reload")
    assert response.status == 400 and "scene.yaml" in (await response.json())["error"]
    assert show.scene is scene
    ticks = show.programme.stats.ticks
    await wait_until(lambda: show.programme.stats.ticks > ticks + 10, 5, "the programme to go on")
    shutil.copy(DEMO_SCENE / "scene.yaml", console.folder / "scene.yaml")
    assert (await console.post("/console/api/reload")).status == 200
    assert show.scene is not scene


async def test_bad_bodies_are_refused(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    client = console.client
    huge = json.dumps({"text": "x" * (MAX_BODY_BYTES + 10)})
    response = await client.post(
        "/console/api/say", data=huge, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status == 413
    offer = await client.post("/offer", data=b"x" * (70 * 1024), headers={"Content-Type": "application/json"})
    assert offer.status == 413
    form = await client.post("/console/api/pause", data={"paused": "true"}, headers=AUTH)
    assert form.status == 415, "a cross-site form post cannot act"
    broken = await client.post(
        "/console/api/pause", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert broken.status == 400
    listed = await client.post(
        "/console/api/pause", data=b"[1, 2]", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert listed.status == 400
    assert (await client.get("/console/api/analytics?days=abc", headers=AUTH)).status == 400
    assert (await client.get("/healthz")).status == 200


async def test_websocket_pushes_state_and_refuses_malformed_messages(console: Console) -> None:
    async with console.client.ws_connect("/console/ws", headers=AUTH) as ws:
        first = await asyncio.wait_for(ws.receive_json(), 5)
        assert first["type"] in {"state", "caption", "chat", "product"}
        await ws.send_str(json.dumps({"type": "ping"}))
        for _ in range(50):
            message = await asyncio.wait_for(ws.receive_json(), 5)
            if message["type"] == "pong":
                break
        else:
            pytest.fail("no pong")
        for bad in ["not json", "[]", '{"type": 3}', '{"type": "drop tables"}']:
            await ws.send_str(bad)
        errors = 0
        for _ in range(100):
            message = await asyncio.wait_for(ws.receive_json(), 5)
            errors += message["type"] == "error"
            if errors == 4:
                break
        assert errors == 4
        for _ in range(MAX_WS_BAD_MESSAGES):
            await ws.send_str("bad")
        for _ in range(200):
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING}:
                break
        assert msg.type != aiohttp.WSMsgType.TEXT and ws.close_code == 1008
    async with console.client.ws_connect("/console/ws", headers=AUTH) as ws:
        await ws.send_bytes(b"\x00\x01")
        for _ in range(200):
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
        assert msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
        assert ws.close_code == 1003
    assert (await console.client.get("/healthz")).status == 200


async def test_metrics_are_prometheus_text(console: Console) -> None:
    show = console.show
    await wait_until(lambda: show.programme.stats.frames > 5, 5, "frames")
    response = await console.client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) [a-z_]+ .+", line), line
            continue
        match = re.fullmatch(r'([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\S+)', line)
        assert match, line
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(4))
    assert samples["avatar_viewers"] == 0
    assert samples["avatar_video_frames_total"] > 5
    assert samples['avatar_stage_restarts_total{stage="programme"}'] == 0
    assert 'avatar_queue_depth{queue="comments"}' in samples
    assert samples['avatar_stage_latency_seconds_count{stage="render"}'] > 5
    assert (
        samples['avatar_stage_latency_seconds_bucket{le="+Inf",stage="render"}']
        == samples['avatar_stage_latency_seconds_count{stage="render"}']
    )


async def test_readyz_once_the_picture_is_up(console: Console) -> None:
    show = console.show
    await wait_until(lambda: show.broadcaster.last_video is not None, 5, "a frame")
    for _ in range(50):  # the supervisor marks the pump ok on its start
        response = await console.client.get("/readyz")
        if response.status == 200:
            break
        await asyncio.sleep(0.05)
    assert response.status == 200 and (await response.json())["ready"] is True


async def test_analytics_and_csv_export_after_questions(console: Console) -> None:
    show = console.show
    assert show.submit_comment("v1", "Ann", "How much is the desk lamp?").value == "accepted"
    store = show.ops.store
    assert store is not None
    for _ in range(100):  # recorded once the answer has been spoken
        if await store.count("answers"):
            break
        await asyncio.sleep(0.05)
    data = await (await console.client.get("/console/api/analytics?days=1", headers=AUTH)).json()
    assert data["totals"]["questions"] >= 1 and data["totals"]["answers"] >= 1
    assert any(p["product"] == "lumen-lamp" for p in data["questions_per_product"])
    assert data["answer_latency"]["count"] >= 1
    csv_response = await console.client.get("/console/api/export/questions.csv", headers=AUTH)
    assert csv_response.status == 200 and csv_response.content_type == "text/csv"
    rows = (await csv_response.text()).splitlines()
    assert rows[0].startswith("ts,qkey,viewer,name,text") and any("desk lamp" in r for r in rows[1:])
    transcripts = await (await console.client.get("/console/api/export/transcripts.csv", headers=AUTH)).text()
    assert len(transcripts.splitlines()) > 1, "what the host said is recorded"
