"""RTMP egress against a real local nginx with the RTMP module, and WHIP against a real aiortc peer.

nginx runs as a subprocess on a free loopback port with its own config in a temp dir (``daemon
off;``), recording what it receives. The programme is pushed faster than real time: the test drives
the broadcaster itself, frame by frame, as fast as the egress encodes, with flashes in the picture
and beeps in the sound at the same programme instants, then reads the stream back and checks that
every flash and its beep stay within 80 ms over 10 minutes of stream time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from avatar.media.broadcaster import AUDIO_TIME_BASE, VIDEO_TIME_BASE, Broadcaster
from avatar.media.clock import LoopClock
from avatar.media.egress import Backoff, RtmpEgress, WhipEgress
from avatar.render.compositor import Renderer
from avatar.render.frame import FrameState, ProductCard
from tests.conftest import require
from tests.fakes import wait_until

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
WIDTH, HEIGHT, FPS = 160, 96, 25  # a small picture: the test is about timing, not pixels
CHUNK = 960  # 20 ms at 48 kHz
EVENT_EVERY_S = 2.0
EVENT_AT_S = 0.48  # within each period; a multiple of both 20 ms and 40 ms
BEEP_S = 0.1
MAX_SKEW_S = 0.08


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Nginx:
    """A private nginx-rtmp on loopback; records every published stream into its folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/test"

    def start(self) -> None:
        (self.folder / "logs").mkdir(exist_ok=True)
        config = self.folder / "nginx.conf"
        config.write_text(
            f"""
load_module {RTMP_MODULE};
daemon off;
master_process off;
worker_processes 1;
pid {self.folder}/nginx.pid;
error_log {self.folder}/logs/error.log info;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{self.port};
        application live {{
            live on;
            record all;
            record_path {self.folder};
            record_unique off;
        }}
    }}
}}
"""
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(self.folder), "-c", str(config), "-e", str(self.folder / "logs/stderr.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.1):
                return
            if self.process.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"], check=False)
        raise AssertionError(
            f"nginx did not start: {(self.folder / 'logs/error.log').read_text(errors='replace')}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    @property
    def recording(self) -> Path:
        return self.folder / "test.flv"


@pytest.fixture
def nginx_installed() -> None:
    require(shutil.which("nginx") is not None and RTMP_MODULE.is_file(), "nginx with libnginx-mod-rtmp")


@pytest.fixture
def nginx(tmp_path: Path, nginx_installed: None) -> Iterator[Nginx]:
    server = Nginx(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def video_frame(index: int, flash: bool) -> av.VideoFrame:
    image = np.full((HEIGHT * 3 // 2, WIDTH), 128, np.uint8)
    image[:HEIGHT] = 235 if flash else 30
    frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
    frame.pts = index * 90_000 // FPS
    frame.time_base = VIDEO_TIME_BASE
    return frame


def audio_frame(index: int) -> av.AudioFrame:
    t = (index * CHUNK + np.arange(CHUNK)) / 48_000
    beeping = ((t % EVENT_EVERY_S) >= EVENT_AT_S) & ((t % EVENT_EVERY_S) < EVENT_AT_S + BEEP_S)
    pcm = np.where(beeping, np.sin(2 * np.pi * 1000 * t) * 12_000, 0).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 48_000
    frame.pts = index * CHUNK
    frame.time_base = AUDIO_TIME_BASE
    return frame


async def push_programme(broadcaster: Broadcaster, egress: RtmpEgress, seconds: float) -> None:
    """Publish ``seconds`` of programme as fast as the egress takes it (a driven clock, not the wall)."""
    chunks = 0
    for index in range(round(seconds * FPS)):
        t = index / FPS
        period_t = t % EVENT_EVERY_S
        flash = EVENT_AT_S <= period_t < EVENT_AT_S + BEEP_S - 1e-9
        while chunks * CHUNK / 48_000 < (index + 1) / FPS:
            broadcaster.publish_audio(audio_frame(chunks))
            chunks += 1
        broadcaster.publish_video(video_frame(index, flash))
        taken = egress.stats.video_frames + egress.stats.dropped
        # Each frame is handed over before the next (the subscription keeps only the latest picture),
        # and the encoder queue stays short: as fast as the encoder goes, never dropping.
        while egress.stats.video_frames + egress.stats.dropped <= taken or egress.pending > 50:  # noqa: ASYNC110
            await asyncio.sleep(0.0005 if egress.pending > 50 else 0)
    await wait_until(lambda: egress.pending == 0, 30, "the encoder to catch up")


async def _stopped(task: asyncio.Task[None], egress: RtmpEgress) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    egress.close()


async def _recorded(nginx: Nginx) -> None:
    """Wait until nginx wrote the recording, then stop it (which closes the file)."""
    await wait_until(
        lambda: nginx.recording.is_file() and nginx.recording.stat().st_size > 0, 10, "recording"
    )
    nginx.stop()


def event_times(recording: Path) -> tuple[list[float], list[float]]:
    """Flash onsets (video) and beep onsets (audio), in stream seconds."""
    flashes: list[float] = []
    beeps: list[float] = []
    was_bright = was_loud = False
    with av.open(str(recording)) as container:
        for frame in container.decode(container.streams.video[0], container.streams.audio[0]):
            when = float(frame.pts * frame.time_base)
            if isinstance(frame, av.VideoFrame):
                bright = frame.to_ndarray(format="gray").mean() > 128
                if bright and not was_bright:
                    flashes.append(when)
                was_bright = bright
            else:
                samples = np.abs(frame.to_ndarray().astype(np.float32)).max(axis=0)
                threshold = 0.1 if frame.format.name.startswith("flt") else 3000  # AAC decodes to float
                loud = np.flatnonzero(samples > threshold)
                if loud.size and not was_loud:
                    beeps.append(when + loud[0] / frame.sample_rate)
                was_loud = bool(loud.size) and samples[-64:].max() > threshold
    return flashes, beeps


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_rtmp_egress_keeps_audio_and_video_within_80_ms_over_ten_minutes(nginx: Nginx) -> None:
    broadcaster = Broadcaster()
    egress = RtmpEgress(nginx.url, broadcaster, LoopClock(), width=WIDTH, height=HEIGHT, fps=FPS)
    task = asyncio.create_task(egress.run())
    try:
        await asyncio.wait_for(egress.connected.wait(), 20)
        await push_programme(broadcaster, egress, 600.0)
        assert egress.stats.dropped == 0 and egress.stats.failures == 0
    finally:
        await _stopped(task, egress)
    await _recorded(nginx)

    # Pulled back with ffprobe too: the ingest got H.264 + AAC in FLV.
    probe = subprocess.run(  # noqa: ASYNC221 (a short ffprobe after the stream)
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            str(nginx.recording),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(probe.stdout.split()) == ["aac", "h264"]
    flashes, beeps = await asyncio.get_running_loop().run_in_executor(None, event_times, nginx.recording)
    assert len(flashes) >= 295 and len(beeps) >= 295, (len(flashes), len(beeps))
    assert flashes[-1] > 590, "the whole ten minutes arrived"
    skews = [min(abs(b - f) for b in beeps) for f in flashes]
    assert max(skews) < MAX_SKEW_S, f"worst A/V skew {max(skews) * 1000:.0f} ms"


@pytest.mark.slow
async def test_rtmp_egress_retries_an_unreachable_ingest_then_reconnects_after_a_drop(
    tmp_path: Path, nginx_installed: None
) -> None:
    server = Nginx(tmp_path)  # chosen port, not started yet: the ingest is unreachable
    broadcaster = Broadcaster()
    backoff = Backoff(first_s=0.2, max_s=0.8, healthy_after_s=60)
    egress = RtmpEgress(
        server.url, broadcaster, LoopClock(), width=WIDTH, height=HEIGHT, fps=FPS, backoff=backoff
    )
    task = asyncio.create_task(egress.run())
    show_frames = 0

    async def show() -> None:  # the programme keeps going whatever the egress does
        nonlocal show_frames
        while True:
            broadcaster.publish_audio(audio_frame(2 * show_frames))
            broadcaster.publish_audio(audio_frame(2 * show_frames + 1))
            broadcaster.publish_video(video_frame(show_frames, False))
            show_frames += 1
            await asyncio.sleep(0.04)

    programme = asyncio.create_task(show())
    try:
        await wait_until(lambda: egress.stats.failures >= 3, 20, "three failed connects")
        assert egress.stats.delays_s[:3] == [0.2, 0.4, 0.8], "exponential backoff"
        assert egress.stats.delays_s[3:4] in ([], [0.8]), "capped"
        server.start()
        await asyncio.wait_for(egress.connected.wait(), 20)
        await wait_until(lambda: egress.stats.video_frames >= 25, 10, "frames streamed")
        frames_before = show_frames
        server.stop()  # the ingest drops mid-stream
        await wait_until(lambda: not egress.connected.is_set(), 20, "the drop to be noticed")
        server.start()
        await asyncio.wait_for(egress.connected.wait(), 20)
        streamed = egress.stats.video_frames
        await wait_until(lambda: egress.stats.video_frames >= streamed + 25, 10, "streaming again")
        assert egress.stats.connects == 2
        assert show_frames > frames_before + 25, "the show never waited for the egress"
        # Pull the live stream back from nginx while it runs.
        probe = await asyncio.create_subprocess_exec(
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            server.url,
            stdout=subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(probe.communicate(), 30)
        assert sorted(out.decode().split()) == ["aac", "h264"]
    finally:
        programme.cancel()
        task.cancel()
        for pending in (programme, task):
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        egress.close()
        server.stop()


@pytest.mark.slow
async def test_a_portrait_programme_is_pushed_over_rtmp_as_drawn(nginx: Nginx) -> None:
    """``avatar live --width 540 --height 960`` for phone-first platforms: the ingest gets 9:16 H.264
    + AAC, and the picture it records is the portrait layout the renderer drew."""
    width, height, seconds = 540, 960, 2.0
    renderer = Renderer(width, height)
    card = ProductCard("Ridgeline 30L Backpack", "$89", "$74", "45 left")
    state = FrameState(
        t=1.0, mouth_open=0.3, eyes_closed=0.0, caption="Tonight only: $74.", product=card, title="Mia"
    )
    drawn = renderer.render(state)
    picture = renderer.render_i420(state)
    broadcaster = Broadcaster()
    egress = RtmpEgress(nginx.url, broadcaster, LoopClock(), width=width, height=height, fps=FPS)
    task = asyncio.create_task(egress.run())
    try:
        await asyncio.wait_for(egress.connected.wait(), 20)
        chunks = 0
        for index in range(round(seconds * FPS)):
            while chunks * CHUNK / 48_000 < (index + 1) / FPS:
                broadcaster.publish_audio(audio_frame(chunks))
                chunks += 1
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts, frame.time_base = index * 90_000 // FPS, VIDEO_TIME_BASE
            taken = egress.stats.video_frames + egress.stats.dropped
            broadcaster.publish_video(frame)
            while egress.stats.video_frames + egress.stats.dropped <= taken:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        await wait_until(lambda: egress.pending == 0, 30, "the encoder to catch up")
        assert egress.stats.dropped == 0 and egress.stats.failures == 0
    finally:
        await _stopped(task, egress)
    await _recorded(nginx)
    with av.open(str(nginx.recording)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", width, height)
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video)]
    assert len(frames) >= seconds * FPS * 0.9
    received = frames[len(frames) // 2].astype(np.int32)
    assert float(np.abs(received - drawn.astype(np.int32)).mean()) < 6.0, "the portrait arrives as drawn"


def test_bad_egress_urls_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rtmp://"):
        RtmpEgress("http://example/live", Broadcaster(), LoopClock(), width=640, height=360, fps=25)
    with pytest.raises(ValueError, match="http"):
        WhipEgress("rtmp://example/live", Broadcaster(), LoopClock())


class WhipServer:
    """A minimal WHIP endpoint on a real aiortc peer: answers offers and counts received frames."""

    def __init__(self) -> None:
        self.video_frames = 0
        self.audio_frames = 0
        self.deleted = 0
        self.peers: list[RTCPeerConnection] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def offer(self, request: web.Request) -> web.Response:
        pc = RTCPeerConnection()
        self.peers.append(pc)
        pc.on("track", lambda track: self.tasks.append(asyncio.create_task(self.consume(track))))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=await request.text(), type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(
            status=201,
            text=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Location": "/whip/1"},
        )

    async def delete(self, request: web.Request) -> web.Response:
        self.deleted += 1
        return web.Response(status=200)

    async def consume(self, track: object) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()  # type: ignore[attr-defined]
                if isinstance(frame, av.VideoFrame):
                    self.video_frames += 1
                else:
                    self.audio_frames += 1


@pytest.fixture
async def whip_server() -> AsyncIterator[tuple[WhipServer, str]]:
    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    server = WhipServer()
    app = web.Application()
    app.router.add_post("/whip", server.offer)
    app.router.add_delete("/whip/1", server.delete)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}/whip"
    finally:
        for task in server.tasks:
            task.cancel()
        for pc in server.peers:
            await pc.close()
        await runner.cleanup()


@pytest.mark.slow
async def test_whip_egress_publishes_the_programme_to_an_sfu(
    whip_server: tuple[WhipServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    server, url = whip_server
    broadcaster = Broadcaster()
    egress = WhipEgress(url, broadcaster, LoopClock(), backoff=Backoff(first_s=0.2, max_s=0.4))
    task = asyncio.create_task(egress.run())

    async def show() -> None:
        index = 0
        while True:
            broadcaster.publish_audio(audio_frame(2 * index))
            broadcaster.publish_audio(audio_frame(2 * index + 1))
            broadcaster.publish_video(video_frame(index, index % 50 == 0))
            index += 1
            await asyncio.sleep(0.04)

    programme = asyncio.create_task(show())
    try:
        await wait_until(
            lambda: server.video_frames >= 20 and server.audio_frames >= 40, 20, "media at the SFU"
        )
        assert egress.stats.connects == 1 and broadcaster.viewers == 0, "egress is not counted as a viewer"
    finally:
        programme.cancel()
        task.cancel()
        for pending in (programme, task):
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    await wait_until(lambda: server.deleted == 1, 5, "the WHIP resource to be deleted")
