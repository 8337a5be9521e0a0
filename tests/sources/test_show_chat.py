"""Platform chat in a running show: Twitch (real ngircd) and the signed ingest API reach the same
triage as viewer-page chat, show their platform, and a failing source degrades nothing else."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.errors import DataError
from avatar.events import ChatPosted, Event
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.store import Store
from avatar.sources.config import parse_spec, scene_sources, show_sources
from avatar.sources.ingest import MAX_BODY_BYTES, sign
from avatar.web.app import create_app
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until
from tests.sources.ircd import IrcClient, IrcServer, free_port, irc_server

SECRET = "douyin-bridge-secret-0123456789"


@dataclass
class Running:
    client: TestClient[Any, Any]
    show: LiveShow
    events: asyncio.Queue[Event]

    async def posted(self, platform: str, count: int = 1, wait_s: float = 5.0) -> list[ChatPosted]:
        """The next ``count`` chat events from ``platform``."""
        found: list[ChatPosted] = []
        async with asyncio.timeout(wait_s):
            while len(found) < count:
                event = await self.events.get()
                if isinstance(event, ChatPosted) and event.platform == platform:
                    found.append(event)
        return found


def write_scene(tmp_path: Path, chat: list[object]) -> Path:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, folder)
    scene_file = folder / "scene.yaml"
    data = yaml.safe_load(scene_file.read_text())
    data["chat"] = chat
    scene_file.write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


async def start_show(folder: Path) -> AsyncIterator[Running]:
    scene = load_scene(folder)
    show = LiveShow(
        scene,
        Settings(scene=folder),
        speaker=fake_speaker(Playout(), FakeTTSEngine(delay_s=0.002)),
        store=Store(folder.parent / "show.sqlite3"),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    events = show.bus.subscribe()
    await client.start_server()
    try:
        yield Running(client, show, events)
    finally:
        await client.close()


@pytest.fixture
def ircd(tmp_path: Path) -> Any:
    with irc_server(tmp_path) as server:
        yield server


@pytest.fixture
async def running(tmp_path: Path, ircd: IrcServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    monkeypatch.setenv("AVATAR_INGEST_SECRET_DOUYIN", SECRET)
    folder = write_scene(
        tmp_path,
        [
            {"twitch": {"channel": "shop", "host": "127.0.0.1", "port": ircd.port, "tls": False}},
            {"ingest": {"name": "douyin", "rate_per_s": 5, "burst": 20}},
        ],
    )
    async for value in start_show(folder):
        yield value


def signed(
    body: bytes, *, source: str = "douyin", secret: str = SECRET, at: float | None = None
) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    return {
        "X-Avatar-Source": source,
        "X-Avatar-Timestamp": timestamp,
        "X-Avatar-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


async def post(running: Running, payload: object, **kwargs: Any) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    response = await running.client.post("/api/comments", data=body, headers=signed(body, **kwargs))
    return response.status, await response.json()


async def test_twitch_and_ingest_comments_reach_triage_with_their_platform(
    running: Running, ircd: IrcServer
) -> None:
    show = running.show
    show.ops.control.set_paused(True)  # comments wait in the queue, where the operator sees them
    sources = show.sources.states
    await wait_until(lambda: sources["ingest:douyin"].state == "running", 5, "the ingest source")
    status, answer = await post(
        running, {"comments": [{"id": "c1", "user_id": "u1", "name": "小美", "text": "这个多少钱？"}]}
    )
    assert status == 200 and answer == {"accepted": 1, "results": [{"status": "accepted"}]}
    (event,) = await running.posted("douyin")
    assert (event.viewer_id, event.name, event.text) == ("douyin:u1", "小美", "这个多少钱？")
    assert any(line.startswith("[douyin] 小美") for line in show.stage.comments)
    assert [(q["platform"], q["name"]) for q in show.ops.queue()] == [("douyin", "小美")]

    twitch = show.sources.sources[0]
    await wait_until(lambda: getattr(twitch, "connected", False), 10, "the Twitch source to join")
    async with IrcClient(ircd.port, "viewer1") as client:
        await client.join("shop")
        await client.wait_for_member("shop", "justinfan")
        client.send("PRIVMSG #shop :how much is the lamp?")
        (event,) = await running.posted("twitch")
    assert (event.viewer_id, event.text) == ("twitch:viewer1", "how much is the lamp?")

    health = await (await running.client.get("/healthz")).json()
    chat = health["chat_sources"]
    assert chat["sources"]["twitch:#shop"]["accepted"] == 1
    assert chat["sources"]["ingest:douyin"]["accepted"] == 1
    assert chat["latency_p50_ms"] is not None and health["status"] == "ok"
    assert show.ops.store is not None
    await show.ops.store.flush()
    per_source = (await show.ops.store.analytics())["comments_per_source"]
    assert sorted((c["source"], c["count"]) for c in per_source) == [("douyin", 1), ("twitch", 1)]

    # The same id again (a bridge retrying): taken once. The same user flooding: triage's per-user limit.
    status, answer = await post(running, [{"id": "c1", "user_id": "u1", "text": "这个多少钱？"}])
    assert answer["results"] == [{"status": "duplicate"}]
    status, answer = await post(running, [{"user_id": "u1", "text": f"question {i}"} for i in range(5)])
    assert [r["status"] for r in answer["results"]].count("rate_limited") >= 2


async def test_bad_ingest_requests_are_refused_and_nothing_else_breaks(running: Running) -> None:
    show = running.show
    await wait_until(lambda: show.sources.states["ingest:douyin"].state == "running", 5, "the ingest source")
    client = running.client
    body = json.dumps({"user_id": "u2", "text": "hello"}).encode()

    async def status(data: bytes, headers: dict[str, str]) -> int:
        response = await client.post("/api/comments", data=data, headers=headers)
        assert "error" in await response.json()
        return response.status

    assert await status(body, signed(body, secret="wrong-secret-wrong-secret")) == 401
    assert await status(body, signed(body, at=time.time() - 3600)) == 401  # an old timestamp
    assert await status(body, signed(body, source="nobody")) == 401
    assert await status(body, {k: v for k, v in signed(body).items() if k != "X-Avatar-Signature"}) == 401
    headers = signed(body)
    assert (await client.post("/api/comments", data=body, headers=headers)).status == 200
    assert await status(body, headers) == 409  # the very same request again: a replay
    big = b'{"user_id": "u", "text": "' + b"x" * (1024 * 1024) + b'"}'
    assert await status(big, signed(big)) == 413
    assert await status(b"{not json", signed(b"{not json")) == 400
    deep = b"[" * 60_000 + b"]" * 60_000
    deep = deep[: MAX_BODY_BYTES // 2] + deep[-MAX_BODY_BYTES // 2 :]
    assert await status(deep, signed(deep)) == 400
    code, answer = await post(running, [{"user_id": "u3"}, "text", {"user_id": "u4", "text": "hi there"}])
    assert code == 200 and [r["status"] for r in answer["results"]] == ["invalid", "invalid", "accepted"]

    # 1,000 comments in a burst from one source: the source's rate lets some in, refuses the rest.
    statuses: list[str] = []
    for batch in range(10):
        comments = [{"user_id": f"f{batch}-{i}", "text": f"flood {batch} {i}"} for i in range(100)]
        code, answer = await post(running, comments)
        assert code in {200, 429}
        statuses += [r["status"] for r in answer["results"]]
    assert statuses.count("rate_limited") >= 900 and len(statuses) == 1000
    # The viewer page's chat still gets in, and the show is healthy.
    assert show.submit_comment("page-viewer", "Ann", "does the lamp dim?") == "accepted"
    assert (await client.get("/healthz")).status == 200


async def test_the_websocket_takes_signed_streams(running: Running) -> None:
    await wait_until(lambda: running.show.sources.states["ingest:douyin"].state == "running", 5, "ingest")
    refused = await running.client.get("/api/comments/ws", headers=signed(b"", secret="x" * 20))
    assert refused.status == 401
    refused.release()
    async with running.client.ws_connect("/api/comments/ws", headers=signed(b"")) as ws:
        await ws.send_str(json.dumps({"comments": [{"user_id": "w1", "name": "Wu", "text": "有黑色的吗？"}]}))
        reply = await ws.receive_json()
        assert reply["accepted"] == 1 and reply["status"] == 200
        await ws.send_str("not json")
        assert (await ws.receive_json())["status"] == 400
    (event,) = await running.posted("douyin")
    assert event.viewer_id == "douyin:w1"


async def test_a_source_that_cannot_connect_degrades_health_and_the_show_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AVATAR_INGEST_SECRET_SHOP", raising=False)
    folder = write_scene(
        tmp_path,
        [
            {"twitch": {"channel": "shop", "host": "127.0.0.1", "port": free_port(), "tls": False}},
            "ingest:shop",
        ],
    )
    async for running in start_show(folder):
        await _degraded_but_on_air(running)


async def _degraded_but_on_air(running: Running) -> None:
    states = running.show.sources.states
    await wait_until(lambda: all(s.state == "retrying" for s in states.values()), 5, "both to fail")
    health = await (await running.client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert "cannot connect" in health["chat_sources"]["sources"]["twitch:#shop"]["last_error"]
    assert "AVATAR_INGEST_SECRET_SHOP" in health["chat_sources"]["sources"]["ingest:shop"]["last_error"]
    body = b'{"user_id": "u", "text": "hi"}'
    response = await running.client.post("/api/comments", data=body, headers=signed(body, source="shop"))
    assert response.status == 503
    assert running.show.submit_comment("v", "Ann", "how much is the lamp?") == "accepted"
    frames = running.show.programme.stats.frames
    await wait_until(lambda: running.show.programme.stats.frames > frames + 5, 5, "frames")


def test_chat_config_errors_name_the_field(tmp_path: Path) -> None:
    for index, (chat, field) in enumerate(
        [
            ({"twitch": "x"}, "chat"),
            ([{"telegram": "x"}], "chat[0]"),
            ([{"twitch": {"channel": "x", "port": "six"}}], "chat[0].port"),
            ([{"youtube": {"video": "x"}}], "chat[0].video"),
            (["twitch"], "chat[0]"),
            ([{"ingest": "Not A Name!"}], "chat[0]"),
        ]
    ):
        folder = write_scene(tmp_path / str(index), chat)  # type: ignore[arg-type]
        with pytest.raises(DataError) as error:
            scene_sources(folder / "scene.yaml")
        assert error.value.field == field, chat
    assert parse_spec("youtube:dQw4w9WgXcQ").name == "youtube:dQw4w9WgXcQ"
    assert parse_spec("youtube:Cg0KC2RRdzR3OVdnWGNRKicKGFVD").name.startswith("youtube:Cg0K")
    assert parse_spec("twitch:#MyShop").name == "twitch:#myshop"
    with pytest.raises(ValueError, match="listed twice"):
        show_sources(write_scene(tmp_path / "dup", ["twitch:shop"]) / "scene.yaml", ["twitch:shop"])
    with pytest.raises(ValueError, match="KIND:VALUE"):
        parse_spec("twitch")
    assert MAX_BODY_BYTES == 64 * 1024
