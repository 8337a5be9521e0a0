"""A load generator: many headless aiortc viewers in one process, measuring what each receives.

``python -m avatar.web.load URL --viewers N --seconds S [--decode K]`` connects N real WebRTC viewers
(ICE, DTLS, SRTP, RTP reassembly, RTCP: everything a browser's network stack does), watches for S
seconds and prints one JSON report. Decoding 50 video streams would cost this process more CPU than
the server being measured, so only the first K viewers decode (and report picture size and decoded
frames); the others observe complete frames at the RTP level, which is where delivery is judged.

Per video frame (the packet with the RTP marker bit):

- **late**: it arrived more than ``LATE_S`` after its slot, where the slot is its RTP timestamp plus
  the best (smallest) arrival offset this viewer saw in the last 5 s. Same machine, same clock: no clock skew.
- **missing**: RTP timestamps skipped (frames the programme or the encoder dropped, or the network
  lost), counted in frame intervals.
- **latency**: arrival time minus the server's send time for that RTP timestamp, from the sender's
  RTCP sender reports (NTP time ↔ RTP timestamp, both from this machine's wall clock).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import statistics
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtcpSrPacket, RtpPacket

from avatar.media.peer import release_peer_connection

LATE_S: Final = 0.1  # 2.5 frame intervals at 25 fps
BEST_WINDOW_S: Final = 5.0  # lateness is judged against the best delivery of the last 5 s
VIDEO_CLOCK_HZ: Final = 90_000
NTP_UNIX_OFFSET_S: Final = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
CONNECT_BATCH: Final = 5  # viewers offered at once while ramping up


@dataclass
class ClientStats:
    """What one load viewer received during the measured window."""

    frames: int = 0
    late: int = 0
    missing: int = 0
    audio_packets: int = 0
    keyframes_requested_by_us: int = 0
    decoded: int = 0
    width: int = 0
    height: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    first_frame_after_s: float | None = None  # from connect() to the first complete frame

    def reset(self) -> None:
        """Start the measured window (after the ramp-up)."""
        self.frames = self.late = self.missing = self.audio_packets = self.decoded = 0
        self.latencies_ms.clear()


class LoadViewer:
    """One viewer of the load: a real aiortc peer connection observed at the RTP level."""

    def __init__(self, url: str, *, decode: bool, chat: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.decode = decode
        self.stats = ClientStats()
        self.pc = RTCPeerConnection()
        # With ``chat`` (the viewer's name), a data channel as the viewer page opens: say() sends
        # on it, and what the server sends back is kept in ``received`` (bounded).
        self.name = chat
        self.channel = self.pc.createDataChannel("chat") if chat is not None else None
        self.received: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        if self.channel is not None:
            self.channel.on("message", self._on_message)
        self._tasks: list[asyncio.Task[None]] = []
        self._offsets: collections.deque[tuple[float, float]] = collections.deque()  # window minimum
        self._last_ts: int | None = None
        self._frame_step: int | None = None
        self._sender_report: tuple[float, int] | None = None  # (unix send time, rtp timestamp)
        self._video_pts: set[int] = set()
        self._connected_at = 0.0
        video = self.pc.addTransceiver("video", direction="recvonly")
        audio = self.pc.addTransceiver("audio", direction="recvonly")
        _wrap(video.receiver, "_handle_rtp_packet", self._on_video_rtp, call_original=decode)
        _wrap(audio.receiver, "_handle_rtp_packet", self._on_audio_rtp, call_original=decode)
        _wrap(video.receiver, "_handle_rtcp_packet", self._on_video_rtcp, call_original=True)
        self.pc.on("track", self._on_track)

    async def connect(self, session: aiohttp.ClientSession) -> None:
        """Offer and apply the answer; media starts flowing once ICE and DTLS finish."""
        self._connected_at = time.monotonic()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}
        async with session.post(f"{self.url}/offer", json=offer) as response:
            if response.status != 200:
                raise RuntimeError(f"offer refused: {response.status} {await response.text()}")
            answer = await response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                codecs = getattr(transceiver, "_codecs", None) or []
                self._video_pts = {c.payloadType for c in codecs if c.name.lower() != "rtx"}

    async def close(self) -> None:
        # Cancelled tasks are forgotten, and the connection's cycles broken, so a departed viewer
        # is freed at once: churn runs (tests/unit/test_session_memory.py) keep thousands in turn.
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()
        if self.channel is not None:
            self.channel.remove_all_listeners()  # its handler is ours: a cycle through the connection
        release_peer_connection(self.pc)

    def say(self, text: str) -> bool:
        """Send a chat message (False when the channel is not open yet or any more)."""
        if self.channel is None or self.channel.readyState != "open":
            return False
        self.channel.send(json.dumps({"type": "chat", "name": self.name, "text": text}))
        return True

    def _on_message(self, message: object) -> None:
        with contextlib.suppress(ValueError, TypeError):
            data = json.loads(message) if isinstance(message, str) else None
            if isinstance(data, dict):
                self.received.append(data)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if self.decode:  # the decoder thread fills the track's queue: read it or it grows
            self._tasks.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.stats.decoded += 1
                    self.stats.width, self.stats.height = frame.width, frame.height

    def _on_audio_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        self.stats.audio_packets += 1

    def _on_video_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if packet.payload_type not in self._video_pts or not packet.marker:
            return  # RTX, or not the last packet of a frame
        now_unix = time.time()
        now = time.monotonic()
        if self.stats.first_frame_after_s is None:
            self.stats.first_frame_after_s = now - self._connected_at
        ts = packet.timestamp
        if self._last_ts is not None:
            step = (ts - self._last_ts) % 2**32
            if step == 0 or step > 2**31:
                return  # a duplicate or reordered end of frame: not a new frame
            if self._frame_step is None or step < self._frame_step:
                self._frame_step = step
            self.stats.missing += max(0, round(step / self._frame_step) - 1)
        self._last_ts = ts
        self.stats.frames += 1
        # Unwrap the 32-bit timestamp relative to this stream's origin: offsets only compare.
        offset = now - ts / VIDEO_CLOCK_HZ
        # The best offset of the last few seconds: a programme resync shifts every later frame once,
        # which a receiver's jitter buffer absorbs; only lateness against recent delivery counts.
        while self._offsets and (self._offsets[-1][1] >= offset or now - self._offsets[0][0] > BEST_WINDOW_S):
            if self._offsets[-1][1] >= offset:
                self._offsets.pop()
            else:
                self._offsets.popleft()
        self._offsets.append((now, offset))
        if offset - self._offsets[0][1] > LATE_S:
            self.stats.late += 1
        if self._sender_report is not None:
            sent_unix, sent_ts = self._sender_report
            delta = ((ts - sent_ts + 2**31) % 2**32 - 2**31) / VIDEO_CLOCK_HZ
            self.stats.latencies_ms.append((now_unix - (sent_unix + delta)) * 1000.0)

    def _on_video_rtcp(self, packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            ntp = packet.sender_info.ntp_timestamp
            unix = (ntp >> 32) - NTP_UNIX_OFFSET_S + (ntp & 0xFFFFFFFF) / 2**32
            self._sender_report = (unix, packet.sender_info.rtp_timestamp)


def _wrap(target: object, name: str, observer: Callable[..., None], *, call_original: bool) -> None:
    """Observe an aiortc receiver's packet handler (and skip it for viewers that do not decode).

    The handler is stored on ``target`` itself, so it holds the original method and the observer
    (both bound to objects that lead back to ``target``) weakly: strong references would be cycles
    that keep every closed viewer's connection until a full garbage collection.
    """
    original: weakref.WeakMethod[Callable[..., Awaitable[None]]] = weakref.WeakMethod(getattr(target, name))
    observe: weakref.WeakMethod[Callable[..., None]] = weakref.WeakMethod(observer)

    async def handler(*args: Any, **kwargs: Any) -> None:
        see = observe()
        if see is not None:
            see(*args, **kwargs)
        method = original() if call_original else None
        if method is not None:
            await method(*args, **kwargs)

    setattr(target, name, handler)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95 of a sample (NaN when empty)."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan")}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
    }


async def run_load(
    url: str, viewers: int, seconds: float, decode: int, warmup_s: float = 3.0
) -> dict[str, Any]:
    """Connect ``viewers`` load viewers, measure for ``seconds``, and report."""
    clients = [LoadViewer(url, decode=index < decode) for index in range(viewers)]
    failed = 0
    async with aiohttp.ClientSession() as session:
        for start in range(0, viewers, CONNECT_BATCH):
            batch = clients[start : start + CONNECT_BATCH]
            results = await asyncio.gather(
                *(asyncio.wait_for(client.connect(session), 30) for client in batch), return_exceptions=True
            )
            failed += sum(1 for result in results if isinstance(result, BaseException))
    try:
        await asyncio.sleep(warmup_s)  # ICE/DTLS finish and the first keyframes arrive
        for client in clients:
            client.stats.reset()
        began = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - began
        return summarise(clients, elapsed, failed)
    finally:
        await asyncio.gather(*(client.close() for client in clients))


def summarise(clients: list[LoadViewer], elapsed: float, failed: int) -> dict[str, Any]:
    """The JSON report over all viewers."""
    frames = sum(c.stats.frames for c in clients)
    late = sum(c.stats.late for c in clients)
    missing = sum(c.stats.missing for c in clients)
    latencies = [ms for c in clients for ms in c.stats.latencies_ms]
    receiving = [c for c in clients if c.stats.frames > 0]
    decoders = [c for c in clients if c.decode]
    firsts = [c.stats.first_frame_after_s for c in clients if c.stats.first_frame_after_s is not None]
    return {
        "viewers": len(clients),
        "failed_to_connect": failed,
        "receiving_video": len(receiving),
        "seconds": round(elapsed, 1),
        "fps_per_viewer": round(frames / max(1, len(clients)) / elapsed, 1),
        "audio_packets_per_viewer_s": round(
            sum(c.stats.audio_packets for c in clients) / max(1, len(clients)) / elapsed, 1
        ),
        "frames": frames,
        "late_percent": round(100.0 * late / max(1, frames), 2),
        "missing_percent": round(100.0 * missing / max(1, frames + missing), 2),
        "latency_ms": percentiles(latencies),
        "first_frame_s": percentiles(firsts),
        "decoded": {
            "viewers": len(decoders),
            "frames": sum(c.stats.decoded for c in decoders),
            "sizes": sorted({f"{c.stats.width}x{c.stats.height}" for c in decoders if c.stats.width}),
        },
    }


def main() -> None:
    """``python -m avatar.web.load URL --viewers N --seconds S``: print the load report as JSON."""
    parser = argparse.ArgumentParser(prog="python -m avatar.web.load", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--decode", type=int, default=2, help="how many viewers also decode video")
    parser.add_argument("--any-address", action="store_true", help="do not restrict ICE to loopback")
    args = parser.parse_args()
    if not args.any_address:
        from avatar.web.ice import use_loopback_only

        use_loopback_only()
    report = asyncio.run(run_load(args.url, args.viewers, args.seconds, args.decode))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
