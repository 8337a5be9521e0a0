"""Offers that never connect, against a real ``avatar live`` on loopback: what each pattern leaves.

``python scripts/dead_offers.py [--offers 200] [--patterns bare,candidates,closed,concurrent]``
starts ``avatar live --ice-loopback`` (connect timeout ``--connect-timeout``), posts offers that
will never complete ICE in each pattern, waits until the server has closed them, and prints one
JSON line per step with the server's threads, open files, RSS and viewer count (from /proc):

- ``bare``: sequential offers whose SDP carries no candidates (the server has nobody to check);
- ``candidates``: sequential offers with a candidate at an address nobody answers (checks go out
  and time out);
- ``closed``: sequential offers with the candidate of a client that has gone (ICMP unreachable);
- ``concurrent``: the ``candidates`` offer, ``--concurrency`` at once.

Offers made over the cap get 503 and are counted as ``refused``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiortc import RTCPeerConnection

from avatar.web.ice import use_loopback_only

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def offer_sdp() -> tuple[str, str]:
    """A real browser-like offer (its candidates, then the client goes) and its candidate line."""
    use_loopback_only()
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    candidate = next(line for line in sdp.splitlines() if line.startswith("a=candidate:"))
    return sdp, candidate


def variants(sdp: str) -> dict[str, str]:
    bare = "\r\n".join(line for line in sdp.splitlines() if not line.startswith("a=candidate:")) + "\r\n"
    # 198.51.100.0/24 is TEST-NET-2: nothing answers, checks go out and time out.
    silent = re.sub(r"(a=candidate:\S+ \d+ udp \d+ )\S+ \d+", r"\g<1>198.51.100.1 9", sdp)
    return {"bare": bare, "candidates": silent, "closed": sdp, "concurrent": silent}


def sample(process: psutil.Process) -> dict[str, Any]:
    with process.oneshot():
        return {
            "threads": process.num_threads(),
            "open_files": len(os.listdir(f"/proc/{process.pid}/fd")),
            "rss_mb": round(process.memory_info().rss / 2**20, 1),
        }


async def viewers(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(base + "/healthz") as response:
        return int((await response.json())["viewers"])


async def post(session: aiohttp.ClientSession, base: str, sdp: str) -> int:
    async with session.post(base + "/offer", json={"sdp": sdp, "type": "offer"}) as response:
        await response.read()
        return response.status


def start_show(scene: str, port: int, connect_timeout_s: float) -> subprocess.Popen[str]:
    """``avatar live`` on loopback, with every offer from this one address allowed."""
    env = {**os.environ, "AVATAR_CONNECT_TIMEOUT_S": str(connect_timeout_s)}
    # Every offer comes from this one address: lift the per-address limit (not the viewer cap) so
    # the server really holds the dead sessions this probe makes.
    env.setdefault("AVATAR_OFFERS_PER_MINUTE", "1000000")
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "avatar"), "live", "--ice-loopback", "--operator-token", "T",
         "--scene", scene, "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=200, help="offers per pattern and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    parser.add_argument("--patterns", default="bare,candidates,closed,concurrent")
    parser.add_argument("--scene", default="scenes/demo")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds of show before the first offer")
    args = parser.parse_args()
    port = free_port()
    server = start_show(args.scene, port, args.connect_timeout)
    base = f"http://127.0.0.1:{port}"
    try:
        assert server.stdout is not None
        while "is live" not in server.stdout.readline():
            if server.poll() is not None:
                raise SystemExit("avatar live did not start")
        process = psutil.Process(server.pid)
        sdp, _ = await offer_sdp()
        offers = variants(sdp)
        # Connections closed after each request: the server's open files are then its own.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            await asyncio.sleep(args.settle)  # the show settles (speech model loaded, voices warm)
            print(json.dumps({"step": "idle", **sample(process)}), flush=True)
            await asyncio.gather(*(post(session, base, offers["candidates"]) for _ in range(50)))
            await asyncio.sleep(args.connect_timeout + 5)
            print(json.dumps({"step": "after first 50", **sample(process)}), flush=True)
            for round_no in range(1, args.rounds + 1):
                for pattern in args.patterns.split(","):
                    began = time.monotonic()
                    statuses: list[int] = []
                    if pattern == "concurrent":
                        for _ in range(0, args.offers, args.concurrency):
                            batch = [post(session, base, offers[pattern]) for _ in range(args.concurrency)]
                            statuses += await asyncio.gather(*batch)
                    else:
                        for _ in range(args.offers):
                            statuses.append(await post(session, base, offers[pattern]))
                    peak = {"viewers": await viewers(session, base), **sample(process)}
                    await asyncio.sleep(args.connect_timeout + 5)
                    after = {"viewers": await viewers(session, base), **sample(process)}
                    print(json.dumps({
                        "step": f"round {round_no} {pattern}", "offers": len(statuses),
                        "accepted": statuses.count(200), "refused": statuses.count(503),
                        "other": len(statuses) - statuses.count(200) - statuses.count(503),
                        "seconds": round(time.monotonic() - began, 1), "peak": peak, "after": after,
                    }), flush=True)  # fmt: skip
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(30)
        if server.poll() is None:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
