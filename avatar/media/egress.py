"""Egress: the programme pushed to media servers and platforms, past what one machine serves.

- :class:`RtmpEgress` muxes FLV (H.264 + AAC) to any RTMP ingest (nginx-rtmp, SRS, a platform's
  ``rtmp://.../app/key``). Encoding and network writes run on the egress's own thread.
- :class:`WhipEgress` publishes over WebRTC to an SFU's WHIP endpoint (an aiortc client: HTTP POST of
  the SDP offer, answer in the reply, DELETE of the resource to stop).

Both read the programme through an internal broadcaster subscription, never block the show, and
reconnect with exponential backoff when the ingest is unreachable or drops mid-stream.

A/V sync: both streams keep the programme's own pts (audio from sample counts, video from frame
counts, one clock), rebased to one common origin, so the ingest sees them exactly as produced.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fractions
import logging
import queue
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import av

from avatar.media.broadcaster import (
    AUDIO_TIME_BASE,
    VIDEO_TIME_BASE,
    Broadcaster,
    ProgrammeTrack,
    Subscription,
)
from avatar.media.clock import Clock
from avatar.media.peer import release_peer_connection

log = logging.getLogger(__name__)

EGRESS_QUEUE_ITEMS: Final = 200  # ≈ 1.3 s of audio + video waiting for the encoder thread
AAC_BITRATE_BPS: Final = 128_000
RTMP_OPEN_TIMEOUT_S: Final = 5.0  # a silent ingest fails instead of hanging the egress thread


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``first_s``, doubling to ``max_s``; back to ``first_s`` after a good run."""

    first_s: float = 1.0
    max_s: float = 30.0
    healthy_after_s: float = 10.0  # a connection that lasted this long resets the delay

    def next(self, previous_s: float | None) -> float:
        return self.first_s if previous_s is None else min(self.max_s, previous_s * 2)


@dataclass
class EgressStats:
    """What an egress did: for /healthz, logs and tests."""

    connects: int = 0
    failures: int = 0
    video_frames: int = 0  # handed to the encoder
    audio_frames: int = 0
    dropped: int = 0  # frames dropped because the encoder thread was behind
    last_error: str | None = None
    delays_s: list[float] = field(default_factory=list)  # the backoff delays waited


class _Disconnected(Exception):
    """The ingest went away (or never came): reconnect after a delay."""


async def _reconnecting(
    name: str,
    session: Callable[[], Awaitable[None]],
    clock: Clock,
    backoff: Backoff,
    stats: EgressStats,
    connected: asyncio.Event,
) -> None:
    """Run ``session`` until cancelled, retrying after each disconnect with ``backoff``.

    A session that stayed up for ``backoff.healthy_after_s`` resets the delay, so one drop after an
    hour of streaming is retried after the first, short delay rather than the last, long one.
    """
    delay: float | None = None
    while True:
        started = clock.now()
        try:
            await session()
        except _Disconnected as error:
            stats.failures += 1
            stats.last_error = str(error)
        finally:
            connected.clear()
        if clock.now() - started >= backoff.healthy_after_s:
            delay = None
        delay = backoff.next(delay)
        stats.delays_s.append(delay)
        log.warning("%s: %s; retrying in %.1f s", name, stats.last_error, delay)
        await clock.sleep_until(clock.now() + delay)


class RtmpEgress:
    """Pushes the programme to one RTMP ingest as FLV (H.264 + AAC), reconnecting with backoff."""

    def __init__(
        self,
        url: str,
        broadcaster: Broadcaster,
        clock: Clock,
        *,
        width: int,
        height: int,
        fps: int,
        video_bitrate_bps: int = 1_500_000,
        backoff: Backoff | None = None,
    ) -> None:
        if not url.startswith(("rtmp://", "rtmps://")):
            raise ValueError(f"--rtmp: expected an rtmp:// or rtmps:// URL, got {url!r}")
        self.url = url
        self.broadcaster = broadcaster
        self.clock = clock
        self.width, self.height, self.fps = width, height, fps
        self.video_bitrate_bps = video_bitrate_bps
        self.backoff = backoff or Backoff()
        self.stats = EgressStats()
        self.connected = asyncio.Event()
        self._queue: queue.Queue[av.AudioFrame | av.VideoFrame | None] = queue.Queue(EGRESS_QUEUE_ITEMS)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtmp")

    @property
    def pending(self) -> int:
        """Frames waiting for the encoder thread (an accelerated test paces itself with it)."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Stream until cancelled, reconnecting after every failure."""
        loop = asyncio.get_running_loop()
        await _reconnecting(
            f"rtmp egress {_redact(self.url)}",
            lambda: self._session(loop),
            self.clock,
            self.backoff,
            self.stats,
            self.connected,
        )

    def close(self) -> None:
        """Release the encoder thread (after :meth:`run` was cancelled)."""
        self._drain_queue()
        self._queue.put_nowait(None)  # a writer still waiting for frames ends (else exit waits on it)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _session(self, loop: asyncio.AbstractEventLoop) -> None:
        self._drain_queue()
        try:
            container = await loop.run_in_executor(self._executor, self._open)
        except Exception as error:  # FFmpeg raises OSError subclasses and av errors alike
            raise _Disconnected(f"cannot connect: {error}") from error
        self.stats.connects += 1
        self.connected.set()
        log.info("rtmp egress connected to %s", _redact(self.url))
        subscription = self.broadcaster.subscribe(audience=False)
        writer = loop.run_in_executor(self._executor, self._write_loop, container)
        feeders = [
            asyncio.create_task(self._feed(subscription.next_audio)),
            asyncio.create_task(self._feed(subscription.next_video)),
        ]
        try:
            outcome = await writer
        finally:
            self.broadcaster.unsubscribe(subscription)
            for task in feeders:
                task.cancel()
            await asyncio.gather(*feeders, return_exceptions=True)
            if not writer.done():  # cancelled while streaming: stop the writer and wait for it
                self._drain_queue()
                self._queue.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.shield(writer)
        raise _Disconnected(f"ingest dropped: {outcome}")

    async def _feed(self, next_frame: Any) -> None:
        while True:
            frame = await next_frame()
            try:
                self._queue.put_nowait(frame)
            except queue.Full:
                self.stats.dropped += 1  # the encoder is behind: drop here, never stall the show
                continue
            if isinstance(frame, av.VideoFrame):
                self.stats.video_frames += 1
            else:
                self.stats.audio_frames += 1

    def _drain_queue(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    # -- encoder thread --------------------------------------------------------------------------
    def _open(self) -> Any:
        container = av.open(
            self.url,
            mode="w",
            format="flv",
            timeout=RTMP_OPEN_TIMEOUT_S,
        )
        video = container.add_stream("libx264", rate=self.fps)
        video.width, video.height = self.width, self.height
        video.pix_fmt = "yuv420p"
        video.bit_rate = self.video_bitrate_bps
        video.codec_context.time_base = VIDEO_TIME_BASE
        video.codec_context.gop_size = self.fps * 2  # platforms ask for a keyframe every 2 s
        video.codec_context.options = {"preset": "veryfast", "tune": "zerolatency", "profile": "main"}
        audio = container.add_stream("aac", rate=48_000)
        audio.layout = "mono"
        audio.bit_rate = AAC_BITRATE_BPS
        audio.codec_context.time_base = AUDIO_TIME_BASE
        try:
            # Connects and sends the FLV header now, so "connected" means the ingest accepted us.
            container.start_encoding()
        except Exception:
            container.close()
            raise
        return container

    def _write_loop(self, container: Any) -> str:
        """Encode and mux until told to stop (returns "stopped") or the ingest fails (the error)."""
        video, audio = container.streams.video[0], container.streams.audio[0]
        origin_s: float | None = None  # programme time of the first frame: both streams start there
        try:
            while True:
                frame = self._queue.get()
                if frame is None:
                    return "stopped"
                if origin_s is None:
                    origin_s = _seconds(frame)
                if isinstance(frame, av.VideoFrame):
                    if (frame.width, frame.height) != (self.width, self.height):
                        frame = frame.reformat(width=self.width, height=self.height, format="yuv420p")
                    packets = video.encode(_rebased(frame, origin_s, VIDEO_TIME_BASE))
                else:
                    packets = audio.encode(_rebased(frame, origin_s, AUDIO_TIME_BASE))
                container.mux(packets)
        except Exception as error:  # the ingest closed the connection, or refused our data
            return f"{type(error).__name__}: {error}"
        finally:
            with contextlib.suppress(Exception):
                container.close()


def _seconds(frame: av.AudioFrame | av.VideoFrame) -> float:
    assert frame.pts is not None and frame.time_base is not None, "programme frames carry pts"
    return float(frame.pts * frame.time_base)


def _rebased(frame: av.AudioFrame | av.VideoFrame, origin_s: float, time_base: fractions.Fraction) -> Any:
    """A copy of ``frame`` whose pts counts from ``origin_s`` (the programme's frame is shared)."""
    pts = round((_seconds(frame) - origin_s) / time_base)
    copy: Any
    if isinstance(frame, av.VideoFrame):
        copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
    else:
        copy = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
    copy.pts = max(0, pts)
    copy.time_base = time_base
    return copy


def _redact(url: str) -> str:
    """The URL without its stream key (logs are shared; keys are secrets)."""
    head, _, _ = url.rpartition("/")
    return f"{head}/***" if head else "***"


class WhipEgress:
    """Publishes the programme to a WHIP endpoint (an SFU) as one WebRTC sender, with reconnects."""

    def __init__(
        self,
        url: str,
        broadcaster: Broadcaster,
        clock: Clock,
        *,
        token: str | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"--whip: expected an http(s):// URL, got {url!r}")
        self.url = url
        self.broadcaster = broadcaster
        self.clock = clock
        self.token = token
        self.backoff = backoff or Backoff()
        self.stats = EgressStats()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Publish until cancelled; a failed or dropped session is retried after a delay."""
        await _reconnecting(
            f"whip egress {self.url}", self._session, self.clock, self.backoff, self.stats, self.connected
        )

    async def _session(self) -> None:
        import aiohttp
        import yarl
        from aiortc import RTCPeerConnection, RTCSessionDescription

        pc = RTCPeerConnection()
        subscriptions: list[Subscription] = []
        failed = asyncio.Event()
        resource: str | None = None

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            if pc.connectionState in {"failed", "closed"}:
                failed.set()

        headers = {"Content-Type": "application/sdp"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            for kind in ("audio", "video"):
                subscription = self.broadcaster.subscribe(audience=False)
                subscriptions.append(subscription)
                pc.addTransceiver(ProgrammeTrack(kind, self.broadcaster, subscription), direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                try:
                    async with http.post(self.url, data=pc.localDescription.sdp, headers=headers) as response:
                        if response.status not in (200, 201):
                            raise _Disconnected(f"offer refused: HTTP {response.status}")
                        answer = await response.text()
                        location = response.headers.get("Location")
                        resource = str(response.url.join(yarl.URL(location))) if location else None
                except (aiohttp.ClientError, TimeoutError) as error:
                    raise _Disconnected(f"cannot reach the WHIP endpoint: {error}") from error
                await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
                self.stats.connects += 1
                self.connected.set()
                try:
                    await failed.wait()
                finally:
                    if resource is not None:
                        with contextlib.suppress(Exception):
                            await http.delete(resource, headers=headers)
            raise _Disconnected("the SFU connection failed")
        finally:
            for subscription in subscriptions:
                self.broadcaster.unsubscribe(subscription)
            with contextlib.suppress(Exception):
                await pc.close()
            release_peer_connection(pc)  # each reconnect's connection freed now, not at a full GC
