"""The ``send`` section of ``avatar bench``: CPU per viewer of the shared encoder's send path alone.

The viewer curve (``avatar bench --viewers``) runs a whole show, so on a busy machine its added CPU
per viewer moves with everything else: programme frames dropped, encoder frames skipped, a starved
load generator. This section keeps only the fan-out: a bare :class:`~avatar.media.fanout.FanoutHub`
fed a fixed test picture sequence (25 fps) and a tone (50 Opus packets/s), and real aiortc viewers in
a load generator process (``avatar.web.load``, no decoding). The cost is counted per packet actually
sent, from the process's CPU time, with one viewer's window as the baseline (it carries the encoders):

    per packet = (CPU at N viewers - CPU at 1) / (packets at N - packets at 1)

and scaled to a viewer's full rate (the packets per second of the one-viewer window), which stays
comparable however many frames a busy machine skipped. The sending modes take turns, round after round.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Final

import av
import numpy as np
import psutil

from avatar.bench import poll_until
from avatar.media.broadcaster import AUDIO_TIME_BASE, VIDEO_TIME_BASE, Broadcaster
from avatar.media.clock import LoopClock
from avatar.media.fanout import FanoutHub, FanoutVideoTrack, bind_fanout_tracks
from avatar.media.peer import release_peer_connection

WIDTH: Final = 640
HEIGHT: Final = 360
FPS: Final = 25
SEND_MODES: Final = ("aiortc", "direct")


def _pictures(count: int = 50) -> list[np.ndarray]:
    """I420 pictures like a talking-head show's: smooth background, a little grain, a moving block.

    At 640x360 they encode near the 576 kbps target, about what the demo scene's programme does.
    """
    rng = np.random.default_rng(1)
    rows = np.linspace(60, 190, HEIGHT, dtype=np.float32)[:, None]
    columns = np.linspace(0, 40, WIDTH, dtype=np.float32)[None, :]
    pictures = []
    for index in range(count):
        picture = np.full((HEIGHT * 3 // 2, WIDTH), 128, np.uint8)
        luma = rows + columns + rng.normal(0, 2, (HEIGHT, WIDTH))
        left = (index * 9) % (WIDTH - 60)
        luma[40:120, left : left + 60] = 235
        picture[:HEIGHT] = np.clip(luma, 0, 255).astype(np.uint8)
        pictures.append(picture)
    return pictures


async def _feed(broadcaster: Broadcaster) -> None:
    """Publish 25 pictures and 50 20-ms tone chunks a second, catching up after a late wake-up."""
    pictures = _pictures()
    tone = (np.sin(np.arange(960) / 10) * 8000).astype(np.int16).reshape(1, -1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    video = audio = 0
    while True:
        elapsed = loop.time() - began
        while audio * 0.02 <= elapsed:
            chunk = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
            chunk.sample_rate = 48_000
            chunk.pts, chunk.time_base = audio * 960, AUDIO_TIME_BASE
            broadcaster.publish_audio(chunk)
            audio += 1
        while video / FPS <= elapsed:
            frame = av.VideoFrame.from_ndarray(pictures[video % len(pictures)], format="yuv420p")
            frame.pts, frame.time_base = video * 90_000 // FPS, VIDEO_TIME_BASE
            broadcaster.publish_video(frame)
            video += 1
        await asyncio.sleep(0.005)


async def bench_send_path(count: int, seconds: float, modes: tuple[str, ...], rounds: int) -> dict[str, Any]:
    """Added CPU per viewer of each sending mode at ``count`` viewers (see the module docstring)."""
    from aiohttp import web
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, LoopClock(), WIDTH, HEIGHT, FPS)
    connections: set[RTCPeerConnection] = set()

    async def offer(request: web.Request) -> web.Response:
        params = await request.json()
        pc = RTCPeerConnection()
        connections.add(pc)
        for kind in ("audio", "video"):
            pc.addTrack(hub.track(kind))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=params["sdp"], type=params["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        bind_fanout_tracks(pc)
        return web.json_response({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})

    def packets_sent() -> int:
        # aiortc's own count, which direct senders keep up to date as well (for its sender reports).
        return sum(
            int(vars(t.sender).get("_RTCRtpSender__packet_count", 0))
            for pc in connections
            for t in pc.getTransceivers()
        )

    def overflows() -> int:
        tracks = [t.sender.track for pc in connections for t in pc.getTransceivers()]
        return sum(t.stats.overflows for t in tracks if isinstance(t, FanoutVideoTrack))

    def connected() -> int:
        return sum(pc.connectionState == "connected" for pc in connections)

    async def window(viewers: int) -> dict[str, Any]:
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "avatar.web.load",
            f"http://127.0.0.1:{port}",
            "--viewers",
            str(viewers),
            "--seconds",
            str(seconds),
            "--decode",
            "0",
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # A busy machine may not finish every handshake in time: measure those that did.
        await poll_until(lambda: connected() >= viewers, 120, 0.1)
        await asyncio.sleep(3.5)  # the load generator's warm-up
        cpu_start, packets_start, began = process.cpu_times(), packets_sent(), time.monotonic()
        await asyncio.sleep(seconds - 1)
        cpu_end, packets_end, wall = process.cpu_times(), packets_sent(), time.monotonic() - began
        dropped_backlogs, connected_viewers = overflows(), connected()
        kbps = [encoder["kbps"] for encoder in hub.stats()["video_encoders"].values()]
        out, _ = await asyncio.wait_for(load.communicate(), seconds + 120)
        for pc in list(connections):
            await pc.close()
            release_peer_connection(pc)
        connections.clear()
        report: dict[str, Any] = json.loads(out.decode() or "{}")
        return {
            "cpu_s": (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system),
            "packets": packets_end - packets_start,
            "wall_s": wall,
            "late_percent": report.get("late_percent"),
            "fps_per_viewer": report.get("fps_per_viewer"),
            "missing_percent": report.get("missing_percent"),
            "overflows": dropped_backlogs,
            "connected": connected_viewers,
            "video_kbps": kbps,
        }

    app = web.Application()
    app.router.add_post("/offer", offer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    process = psutil.Process()
    feed = asyncio.create_task(_feed(broadcaster))
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    try:
        for _ in range(rounds):
            for mode in modes:
                hub.direct = mode == "direct"
                one, many = await window(1), await window(count)
                per_packet = (many["cpu_s"] - one["cpu_s"]) / max(1, many["packets"] - one["packets"])
                full_rate = one["packets"] / one["wall_s"]  # one viewer's packets per second
                results[mode].append(
                    {
                        "added_cpu_percent_per_viewer": round(100 * per_packet * full_rate, 3),
                        "cpu_us_per_packet": round(1e6 * per_packet, 1),
                        "packets_per_viewer_s": round(full_rate, 1),
                        "viewers_connected": many["connected"],
                        "cpu_percent_at_count": round(100 * many["cpu_s"] / many["wall_s"], 1),
                        "late_percent_at_count": many["late_percent"],
                        "fps_per_viewer_at_count": many["fps_per_viewer"],
                        "missing_percent_at_count": many["missing_percent"],
                        "backlog_overflows_at_count": many["overflows"],
                        "video_kbps": many["video_kbps"],
                        "load_average_1min": round(os.getloadavg()[0], 2),
                    }
                )
                print(json.dumps({"mode": mode, **results[mode][-1]}), file=sys.stderr, flush=True)
    finally:
        feed.cancel()
        await hub.close()
        await runner.cleanup()
    return {
        "viewers": count,
        "seconds": seconds,
        "video": {"width": WIDTH, "height": HEIGHT, "fps": FPS},
        "rounds": results,
        "median_added_cpu_percent_per_viewer": {
            mode: statistics.median(row["added_cpu_percent_per_viewer"] for row in rows)
            for mode, rows in results.items()
        },
        "target_added_cpu_percent_per_viewer": 0.4,
    }
