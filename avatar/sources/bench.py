"""``avatar bench --chat-only``: how fast platform chat reaches the brain, on local servers.

For each source the clock starts when the comment leaves its sender (the IRC client's PRIVMSG to a
real ngircd, the bridge's signed POST, the local API's response to a poll) and stops when the
show's triage has taken it. Triage cost alone is measured over a burst of distinct viewers.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from avatar.brain.scene import load_scene
from avatar.brain.triage import CommentQueue
from avatar.sources.hub import SourceHub
from avatar.sources.ingest import IngestConfig, IngestSource, add_ingest, sign
from avatar.sources.twitch import TwitchChat, TwitchConfig
from avatar.sources.youtube import YouTubeChat, YouTubeConfig

NGIRCD_CONFIG = """\
[Global]
Name = irc.bench.local
Info = avatar bench
Listen = 127.0.0.1
Ports = {port}
[Limits]
MaxNickLength = 30
MaxConnectionsIP = 0
[Options]
DNS = no
Ident = no
PAM = no
[SSL]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


class _Clocked:
    """The triage, timing each comment from its send time (looked up by text) to being taken."""

    def __init__(self, queue: CommentQueue) -> None:
        self.queue = queue
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []

    def __call__(self, viewer_id: str, name: str, text: str, platform: str) -> object:
        verdict = self.queue.submit(viewer_id, name, text, time.monotonic())
        taken = time.perf_counter()
        if text in self.sent:
            self.latencies.append(taken - self.sent.pop(text))
        while self.queue.pop(time.monotonic()) is not None:  # the host answers: keep the queue short
            pass
        return verdict


async def _wait(predicate: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench timed out waiting for comments")
        await asyncio.sleep(0.005)


async def _twitch(clocked: _Clocked, count: int, port: int) -> dict[str, Any]:
    source = TwitchChat(TwitchConfig("bench", host="127.0.0.1", port=port, tls=False))
    hub = SourceHub([source], clocked)
    hub.start()
    try:
        await _wait(lambda: source.connected, 10)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NICK sender\r\nUSER sender 0 * :s\r\nJOIN #bench\r\n")
        while b" 366 " not in await reader.readline():  # end of NAMES: joined
            pass

        async def answer_pings() -> None:
            while line := await reader.readline():
                if line.startswith(b"PING"):
                    writer.write(b"PONG" + line[4:])

        pings = asyncio.create_task(answer_pings())
        clocked.latencies.clear()
        for i in range(count):
            text = f"twitch question {i}?"
            clocked.sent[text] = time.perf_counter()
            writer.write(f"PRIVMSG #bench :{text}\r\n".encode())
            await writer.drain()
            await _wait(lambda text=text: text not in clocked.sent, 10)  # type: ignore[misc]
            await asyncio.sleep(0.2)  # ngircd throttles a client that sends lines in bulk
        pings.cancel()
        writer.close()
        return _ms(clocked.latencies)
    finally:
        await hub.stop()


async def _ingest(clocked: _Clocked, count: int) -> dict[str, Any]:
    secret = "bench-secret-0123456789abcdef"
    os.environ["AVATAR_INGEST_SECRET_BENCH"] = secret
    source = IngestSource(IngestConfig("bench", rate_per_s=10_000, burst=10_000))
    hub = SourceHub([source], clocked)
    hub.start()
    app = web.Application()
    add_ingest(app, hub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await _wait(lambda: source.connected, 5)
        clocked.latencies.clear()
        async with aiohttp.ClientSession() as session:
            for i in range(count):
                text = f"ingest question {i}?"
                body = json.dumps({"user_id": f"u{i}", "text": text}).encode()
                stamp = str(int(time.time()))
                headers = {
                    "X-Avatar-Source": "bench",
                    "X-Avatar-Timestamp": stamp,
                    "X-Avatar-Signature": sign(secret, stamp, body),
                }
                clocked.sent[text] = time.perf_counter()
                async with session.post(
                    f"http://127.0.0.1:{port}/api/comments", data=body, headers=headers
                ) as r:
                    await r.read()
        return _ms(clocked.latencies)
    finally:
        await hub.stop()
        await runner.cleanup()


async def _youtube(clocked: _Clocked, count: int) -> dict[str, Any]:
    served = 0

    async def messages(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        text = f"youtube question {served}?"
        item = {
            "id": f"m{served}",
            "snippet": {"type": "textMessageEvent", "textMessageDetails": {"messageText": text}},
            "authorDetails": {"channelId": f"UC{served}", "displayName": f"viewer {served}"},
        }
        clocked.sent[text] = time.perf_counter()
        body = {"pollingIntervalMillis": 0, "nextPageToken": f"p{served}", "items": [item]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/youtube/v3/liveChat/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    os.environ.setdefault("YOUTUBE_API_KEY", "bench")
    source = YouTubeChat(
        YouTubeConfig(live_chat_id="bench", api_base=f"http://127.0.0.1:{port}/youtube/v3", min_poll_s=0.05)
    )
    hub = SourceHub([source], clocked)
    clocked.latencies.clear()
    hub.start()
    try:
        await _wait(lambda: len(clocked.latencies) >= count, 60)
        return _ms(clocked.latencies[:count])
    finally:
        await hub.stop()
        await runner.cleanup()


def _triage_cost(queue: CommentQueue, count: int) -> dict[str, Any]:
    texts = ["how much is the lamp?", "does it come in black?", "hello!", "is the bottle leak-proof?"]
    started = time.perf_counter()
    for i in range(count):
        queue.submit(f"bench:{i}", "viewer", f"{texts[i % len(texts)]} {i}", time.monotonic())
    spent = time.perf_counter() - started
    return {
        "comments": count,
        "us_per_comment": round(spent / count * 1e6, 1),
        "max_per_s": int(count / spent),
    }


def bench_chat(scene: Path, count: int = 50) -> dict[str, Any]:
    """Send ``count`` comments through each source on local servers; p50/p95 to the brain's triage."""
    catalog = load_scene(scene).catalog
    binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
    if not Path(binary).exists():
        raise ValueError("ngircd is not installed (scripts/setup.sh installs it)")
    port = _free_port()
    folder = tempfile.TemporaryDirectory()
    config = Path(folder.name) / "ngircd.conf"
    config.write_text(NGIRCD_CONFIG.format(port=port))
    server = subprocess.Popen(
        [binary, "--nodaemon", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    async def run() -> dict[str, Any]:
        return {
            "twitch_ngircd": await _twitch(_Clocked(CommentQueue(catalog)), count, port),
            "ingest_post": await _ingest(_Clocked(CommentQueue(catalog)), count),
            "youtube_poll_response": await _youtube(_Clocked(CommentQueue(catalog)), count),
            "triage": _triage_cost(CommentQueue(catalog), 2000),
        }

    try:
        return asyncio.run(run())
    finally:
        server.terminate()
        server.wait(5)
        folder.cleanup()
