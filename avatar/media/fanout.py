"""Encode once, fan out: one encoder per codec and rendition, its packets sent to every viewer.

aiortc encodes a track separately for every peer connection, so each viewer costs a full VP8
encode (≈ 4 ms a frame at 360p). Here the programme is encoded once per (codec, rendition) on a
worker thread, and every viewer's track returns the same ``av.Packet`` objects. aiortc 1.16's
``RTCRtpSender`` sees a packet instead of a frame and only packetises it (``encoder.pack()``), so
what stays per viewer is cheap: RTP sequence numbers, SSRC, VP8 picture ids, SRTP and the socket.

Keyframes: a viewer gets one when it joins, when its decoder asks (PLI/FIR in RTCP), when it switches
rendition, and every few seconds regardless; forced keyframes are rate-limited per encoder, so a
flood of requests (or a bogus viewer) costs at most one extra keyframe per gap.

Sending: each encoded frame is also packetised once (VP8 payload descriptors, H.264 fragments), and
a viewer whose aiortc sender has started gets those payloads through a :class:`DirectSender`
(header, SRTP, socket) in the encoder's own pass over its viewers, instead of a wake-up of its
sender's coroutine and a packetisation of its own per frame (see :mod:`avatar.media.rtpsend`).

Codecs the shared encoders do not serve (anything but VP8/H.264 video and Opus audio) fall back to
raw frames, which aiortc encodes per viewer as before.

Adaptation: each video viewer picks a rendition from its own RTCP (REMB estimate, receiver-report
loss, its own send backlog) with hysteresis; see :class:`RenditionPolicy`.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import fractions
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError, convert_timebase
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from avatar.media.broadcaster import (
    AUDIO_TIME_BASE,
    VIDEO_TIME_BASE,
    Broadcaster,
    ProgrammeTrack,
    Subscription,
)
from avatar.media.clock import Clock
from avatar.media.rtpsend import DirectSender, direct_sender

log = logging.getLogger(__name__)

SHARED_VIDEO_CODECS: Final = {"video/vp8": "libvpx", "video/h264": "libx264"}
SHARED_AUDIO_CODECS: Final = {"audio/opus": "libopus"}
KEYFRAME_INTERVAL_S: Final = 4.0  # periodic keyframe: the longest a lost picture can stay broken
MIN_KEYFRAME_GAP_S: Final = 0.5  # forced keyframes at most this often per encoder (joins, PLI floods)
# A viewer's sender holds at most this many encoded frames (0.4 s at 25 fps). Past it the viewer is
# behind: its backlog is dropped, it waits for the next keyframe, and it steps down a rendition.
VIDEO_BACKLOG_FRAMES: Final = 10
AUDIO_BACKLOG_PACKETS: Final = 25  # 0.5 s of Opus; the oldest goes first
BIND_TIMEOUT_S: Final = 10.0  # a track never told its codec serves raw frames (any codec works)
OPUS_BITRATE_BPS: Final = 64_000
OPUS_CLOCK: Final = fractions.Fraction(1, 48_000)  # Opus RTP clock, whatever the sample rate
BITS_PER_PIXEL: Final = 0.1  # bits per pixel per frame for VP8/H.264 at "talking head" detail


@dataclass(frozen=True)
class Rendition:
    """One encoded size of the programme."""

    name: str  # "360p"
    width: int
    height: int
    bitrate_bps: int  # encoder target


def renditions_for(width: int, height: int, fps: int) -> tuple[Rendition, ...]:
    """The ladder for a programme size, best first: full size and half size.

    Half size is what a viewer on a poor link steps down to; the programme is never upscaled.
    """

    def rendition(w: int, h: int) -> Rendition:
        bitrate = int(min(2_500_000, max(150_000, w * h * fps * BITS_PER_PIXEL)))
        return Rendition(f"{min(w, h)}p", w, h, bitrate)  # a 720x1280 portrait is "720p" too

    half_w, half_h = (width // 2) & ~1, (height // 2) & ~1
    return (rendition(width, height), rendition(half_w, half_h))


@dataclass
class EncodedVideo:
    """One encoded picture, shared by every viewer of its encoder.

    ``payloads`` and ``timestamp`` are the picture packetised for RTP once for all direct senders
    (empty when made without a packetiser); ``packet`` is what aiortc's own loop packetises.
    """

    packet: av.Packet[Any]
    keyframe: bool
    payloads: list[bytes] = field(default_factory=list)
    timestamp: int = 0


@dataclass
class EncoderStats:
    """Counters of one shared encoder."""

    frames: int = 0
    keyframes: int = 0
    forced_keyframes: int = 0
    skipped: int = 0  # programme frames replaced by a newer one while the encoder was busy
    errors: int = 0
    encode_ms_total: float = 0.0
    bytes: int = 0


class _VideoSink(Protocol):
    """What a shared encoder delivers to (a viewer's video track)."""

    def deliver(self, item: EncodedVideo, source: SharedVideoEncoder) -> None: ...


def encode_thread(rendition: Rendition) -> concurrent.futures.ThreadPoolExecutor:
    """A single worker thread for one shared encoder at a time (encodes stay in order)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"encode-{rendition.name}")


class SharedVideoEncoder:
    """Encodes the programme's pictures once for one codec and rendition, for all its viewers.

    Encoding runs on its own thread (``thread``, lent by the hub, or one of its own). Pictures arrive
    latest-only: while one is being encoded a newer one replaces any waiting one, so a slow encoder
    skips frames instead of queueing them.
    """

    def __init__(
        self,
        mime: str,
        rendition: Rendition,
        fps: int,
        clock: Clock,
        thread: concurrent.futures.ThreadPoolExecutor | None = None,
    ) -> None:
        self.mime = mime.lower()
        self.rendition = rendition
        self.fps = fps
        self.clock = clock
        self.stats = EncoderStats()
        self._sinks: set[_VideoSink] = set()
        self._codec: Any = None
        self._pending: av.VideoFrame | None = None
        self._task: asyncio.Task[None] | None = None
        self._keyframe_wanted = False
        self._last_keyframe_at = -math.inf
        self._owns_thread = thread is None
        self._executor = thread or encode_thread(rendition)
        # Packetises for every direct sender (one VP8 picture id sequence for all of them).
        self._packer = Vp8Encoder() if self.mime == "video/vp8" else H264Encoder()
        self.closed = False

    @property
    def viewers(self) -> int:
        return len(self._sinks)

    def attach(self, sink: _VideoSink) -> None:
        self._sinks.add(sink)
        self.request_keyframe()  # the new viewer can decode nothing before one

    def detach(self, sink: _VideoSink) -> None:
        self._sinks.discard(sink)

    @property
    def sinks(self) -> frozenset[_VideoSink]:
        return frozenset(self._sinks)

    def request_keyframe(self) -> None:
        """Make an upcoming frame a keyframe (at most one forced keyframe per gap)."""
        self._keyframe_wanted = True

    def push(self, frame: av.VideoFrame) -> None:
        """A new programme picture (event loop)."""
        if self.closed:
            return
        if self._pending is not None:
            self.stats.skipped += 1
        self._pending = frame
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"encode-{self.mime}-{self.rendition.name}")

    async def close(self) -> None:
        """Stop encoding and release the codec and the thread (once; later calls do nothing)."""
        if self.closed:
            return
        self.closed = True
        self._pending = None
        # Not kept: a cancelled task holds its CancelledError, whose traceback holds _drain's frame
        # and so this encoder, a cycle that would keep the codec until a full garbage collection.
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The codec is let go on the worker, after an encode that may still be running there: its
        # native state (~11 MB for VP8 at 360p) goes now, not whenever this object is collected.
        with contextlib.suppress(RuntimeError):  # the hub's thread is already shut down: no encode runs
            self._executor.submit(self._release_codec)
        if self._owns_thread:
            self._executor.shutdown(wait=False)

    def _release_codec(self) -> None:
        self._codec = None

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        # Pipelined: the next picture is encoded on the worker while this one's packets go out to
        # the viewers on the loop. One after the other, a frame would cost its encode plus its
        # sends, and a busy machine would skip frames that it has the time to encode.
        running = self._submit(loop)
        while running is not None:
            try:
                encoded = await running
            except Exception:  # a bad frame must not end the stream: start a fresh encoder
                self.stats.errors += 1
                self._codec = None  # nothing is encoding now: the next one is submitted below
                log.exception("%s %s encode failed", self.mime, self.rendition.name)
                running = self._submit(loop)
                continue
            items = [self._account(packet, payloads, timestamp) for packet, (payloads, timestamp) in encoded]
            running = self._submit(loop)
            for item in items:
                for sink in list(self._sinks):
                    sink.deliver(item, self)

    def _submit(
        self, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[list[tuple[av.Packet[Any], tuple[list[bytes], int]]]] | None:
        """Start encoding the waiting picture, if any."""
        if self._pending is None or self.closed:
            return None
        frame, self._pending = self._pending, None
        return loop.run_in_executor(self._executor, self._encode, frame, self._take_keyframe_request())

    def _account(self, packet: av.Packet[Any], payloads: list[bytes], timestamp: int) -> EncodedVideo:
        keyframe = bool(packet.is_keyframe)
        if keyframe:
            self.stats.keyframes += 1
            self._last_keyframe_at = self.clock.now()
            self._keyframe_wanted = False
        self.stats.frames += 1
        self.stats.bytes += packet.size
        return EncodedVideo(packet, keyframe, payloads, timestamp)

    def _take_keyframe_request(self) -> bool:
        if not self._keyframe_wanted:
            return False
        if self.clock.now() - self._last_keyframe_at < MIN_KEYFRAME_GAP_S:
            return False  # deferred, not forgotten: a later frame within the gap's end gets it
        self._keyframe_wanted = False
        self._last_keyframe_at = self.clock.now()
        self.stats.forced_keyframes += 1
        return True

    # -- worker thread ---------------------------------------------------------------------------
    def _encode(
        self, frame: av.VideoFrame, keyframe: bool
    ) -> list[tuple[av.Packet[Any], tuple[list[bytes], int]]]:
        began = time.perf_counter()
        width, height = self.rendition.width, self.rendition.height
        pts = frame.pts
        if frame.width != width or frame.height != height or frame.format.name != "yuv420p":
            # One scaling thread, this one: swscale's default gives each scaler a pool of threads
            # (one per core) that stays for the rest of the show once a viewer needed the rendition.
            frame = frame.reformat(width=width, height=height, format="yuv420p", threads=1)
        else:
            # The programme's frame object is shared with other encoders and the snapshot: copy the
            # picture type flag onto a private frame instead of mutating it.
            frame = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p") if keyframe else frame
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        if self._codec is None:
            self._codec = self._open_codec()
        packets = list(self._codec.encode(frame))
        self.stats.encode_ms_total += (time.perf_counter() - began) * 1000.0  # only this thread adds
        for packet in packets:
            # RTP timestamps come from the programme's pts, whatever the encoder's internal delay.
            packet.pts = pts
            packet.time_base = VIDEO_TIME_BASE
        # Packetised here, off the event loop, in encode order (the VP8 picture id counts up).
        return [(packet, self._packer.pack(packet)) for packet in packets]

    def _open_codec(self) -> Any:
        codec: Any = av.CodecContext.create(SHARED_VIDEO_CODECS[self.mime], "w")
        codec.width = self.rendition.width
        codec.height = self.rendition.height
        codec.pix_fmt = "yuv420p"
        codec.bit_rate = self.rendition.bitrate_bps
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(self.fps, 1)
        codec.gop_size = max(1, round(KEYFRAME_INTERVAL_S * self.fps))
        codec.thread_count = 1  # one thread per encoder: predictable on a 2-core machine
        if self.mime == "video/vp8":
            codec.qmin, codec.qmax = 2, 56
            codec.options = {
                # aiortc's realtime settings (one encoder serves everyone, so the same quality).
                "bufsize": str(self.rendition.bitrate_bps),
                "cpu-used": "-6",
                "deadline": "realtime",
                "lag-in-frames": "0",
                "minrate": str(self.rendition.bitrate_bps),
                "maxrate": str(self.rendition.bitrate_bps),
                "noise-sensitivity": "4",
                "overshoot-pct": "15",
                "partitions": "0",
                "static-thresh": "1",
                "undershoot-pct": "100",
            }
        else:
            codec.profile = "Baseline"  # what browsers negotiate with aiortc (42e01f / 42001f)
            codec.options = {
                "level": "31",
                "preset": "veryfast",
                "tune": "zerolatency",
                "forced-idr": "1",
            }
        return codec


class SharedAudioEncoder:
    """Encodes the programme's audio to Opus once, for every viewer that negotiated Opus."""

    def __init__(self) -> None:
        self._sinks: set[FanoutAudioTrack] = set()
        self._codec: Any = None
        self._resampler: Any = None
        self.packets = 0
        self.encode_ms_total = 0.0

    @property
    def viewers(self) -> int:
        return len(self._sinks)

    def attach(self, sink: FanoutAudioTrack) -> None:
        self._sinks.add(sink)

    def detach(self, sink: FanoutAudioTrack) -> None:
        self._sinks.discard(sink)

    @property
    def sinks(self) -> frozenset[FanoutAudioTrack]:
        return frozenset(self._sinks)

    def push(self, frame: av.AudioFrame, now: Callable[[], float]) -> None:
        """Encode one 20 ms chunk and hand the packet to every Opus viewer.

        Runs on the event loop: one 20 ms Opus encode is ~0.1 ms, less than a thread hop costs, and
        chunks must stay in order.
        """
        if not self._sinks:
            return
        began = now()
        if self._codec is None:
            self._codec = av.CodecContext.create("libopus", "w")
            self._codec.bit_rate = OPUS_BITRATE_BPS
            self._codec.format = "s16"
            self._codec.layout = "stereo"  # the SDP says opus/48000/2
            self._codec.sample_rate = 48_000
            self._codec.time_base = AUDIO_TIME_BASE
            self._codec.options = {"application": "voip"}
        pts = frame.pts
        packets: list[av.Packet[Any]] = []
        for chunk in self._opus_chunks(frame):
            packets.extend(self._codec.encode(chunk))
        for packet in packets:
            packet.pts = pts
            packet.time_base = AUDIO_TIME_BASE
            self.packets += 1
            payloads = [bytes(packet)]  # one Opus packet is one RTP payload, for every viewer
            timestamp = convert_timebase(pts or 0, AUDIO_TIME_BASE, OPUS_CLOCK)  # programme pts are set
            for sink in list(self._sinks):
                sink.deliver(packet, payloads, timestamp)
        self.encode_ms_total += (now() - began) * 1000.0

    def _opus_chunks(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        """``frame`` as 20 ms chunks of 48 kHz stereo s16, what the Opus encoder takes.

        The programme's chunks are 20 ms of 48 kHz mono s16 already: duplicating the channel is
        all it takes. PyAV's resampler is an FFmpeg filter graph with a pool of threads of its own
        (one per core) for the rest of the show; it is made only for other audio, and once made it
        stays in use (it may hold samples of a partial chunk).
        """
        if (
            self._resampler is None
            and frame.format.name == "s16"
            and frame.layout.nb_channels == 1
            and frame.sample_rate == SAMPLE_RATE_HZ
            and frame.samples == CHUNK_SAMPLES
        ):
            mono = frame.to_ndarray().reshape(-1).astype(np.int16, copy=False)
            interleaved = np.repeat(mono, 2).reshape(1, -1)  # packed s16: left, right, left, ...
            stereo = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
            stereo.sample_rate = SAMPLE_RATE_HZ
            stereo.pts = frame.pts
            stereo.time_base = AUDIO_TIME_BASE
            return [stereo]
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="s16", layout="stereo", rate=SAMPLE_RATE_HZ, frame_size=CHUNK_SAMPLES
            )
        chunks: list[av.AudioFrame] = self._resampler.resample(frame)
        return chunks


# -- adaptation ----------------------------------------------------------------------------------
DOWN_LOSS_FRACTION: Final = 0.10  # receiver-report loss above this steps down at once
DOWN_REMB_RATIO: Final = 0.7  # REMB below 70 % of the rendition's bitrate ...
DOWN_REMB_REPORTS: Final = 3  # ... in this many reports in a row steps down
UP_REMB_RATIO: Final = 1.3  # step up when REMB covers the better rendition with 30 % spare ...
UP_AFTER_S: Final = 8.0  # ... and nothing went wrong for this long
MIN_DWELL_S: Final = 2.0  # at least this long on a rendition between switches


class RenditionPolicy:
    """Chooses one viewer's rendition from its bandwidth reports, with hysteresis.

    Down: heavy loss in a receiver report, a send backlog overflow, or a REMB estimate well below
    the current bitrate several reports in a row. Up: a REMB estimate comfortably above the better
    rendition's bitrate and a quiet spell. Index 0 is the best rendition.
    """

    def __init__(self, renditions: tuple[Rendition, ...], clock: Clock) -> None:
        self.renditions = renditions
        self.clock = clock
        self.index = 0
        self.switches = 0
        self.remb_bps: int | None = None
        self.loss_fraction = 0.0
        self._low_reports = 0
        self._last_change = -math.inf
        self._last_trouble = -math.inf

    @property
    def current(self) -> Rendition:
        return self.renditions[self.index]

    def on_remb(self, bitrate_bps: int) -> bool:
        """A REMB estimate; True when the rendition changed."""
        self.remb_bps = bitrate_bps
        if bitrate_bps < DOWN_REMB_RATIO * self.current.bitrate_bps:
            self._low_reports += 1
            self._last_trouble = self.clock.now()
            if self._low_reports >= DOWN_REMB_REPORTS:
                return self._step(+1)
            return False
        self._low_reports = 0
        if (
            self.index > 0
            and bitrate_bps >= UP_REMB_RATIO * self.renditions[self.index - 1].bitrate_bps
            and self.clock.now() - self._last_trouble >= UP_AFTER_S
        ):
            return self._step(-1)
        return False

    def on_loss(self, fraction_lost: float) -> bool:
        """A receiver report's loss fraction (0..1); True when the rendition changed."""
        self.loss_fraction = fraction_lost
        if fraction_lost > DOWN_LOSS_FRACTION:
            self._last_trouble = self.clock.now()
            return self._step(+1)
        return False

    def on_overflow(self) -> bool:
        """The viewer's sender fell a whole backlog behind; True when the rendition changed."""
        self._last_trouble = self.clock.now()
        return self._step(+1)

    def _step(self, direction: int) -> bool:
        target = self.index + direction
        if not 0 <= target < len(self.renditions):
            return False
        if self.clock.now() - self._last_change < MIN_DWELL_S:
            return False
        self.index = target
        self.switches += 1
        self._last_change = self.clock.now()
        self._low_reports = 0
        return True


# -- viewer tracks -------------------------------------------------------------------------------
@dataclass
class ViewerVideoStats:
    """What one viewer's video track did."""

    sent: int = 0
    overflows: int = 0  # backlogs dropped because the sender fell behind
    keyframe_requests: int = 0  # PLI/FIR from the viewer
    rtcp_ignored: int = 0  # RTCP we could not use (bad REMB and the like)
    renditions: list[str] = field(default_factory=list)  # the renditions it went through
    send_errors: int = 0  # frames a direct send failed on (dropped; the viewer recovers at a keyframe)


class _DirectLink:
    """A viewer track's way to its aiortc sender: sends directly once the sender has started.

    aiortc's sender calls the track's ``recv()`` for the first time right after ``send()`` has set
    up SSRC, header extensions and transport. From then on the track hands its packets to a
    :class:`DirectSender` as they are delivered, and that first ``recv()`` parks until the track
    stops, so aiortc's RTP loop never wakes again (its RTCP loop goes on).
    """

    def __init__(self) -> None:
        self.sender: weakref.ref[Any] | None = None
        self.payload_type = 0
        self.direct: DirectSender | None = None
        self.stopped = asyncio.Event()

    def use(self, sender: Any, payload_type: int) -> None:
        self.sender, self.payload_type = weakref.ref(sender), payload_type

    def start(self) -> bool:
        """Make the direct sender (in the first ``recv()``); False: aiortc keeps sending."""
        sender = self.sender() if self.sender is not None else None
        if sender is not None and self.direct is None and not self.stopped.is_set():
            self.direct = direct_sender(sender, self.payload_type)
        return self.direct is not None

    async def park(self) -> None:
        """Hold aiortc's RTP loop until the track stops, then end it as a stopped track does."""
        await self.stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self.direct = None  # drops the last references toward the connection
        self.stopped.set()


class _SentDirectly:
    """What both viewer tracks share: the hook to their aiortc sender (see :class:`_DirectLink`)."""

    _hub: FanoutHub
    _link: _DirectLink

    @property
    def direct(self) -> DirectSender | None:
        """The direct sender, once aiortc's sender has started (None: packets go through recv())."""
        return self._link.direct

    def use_sender(self, sender: Any, payload_type: int) -> None:
        """The aiortc sender that sends this track, and its payload type: send directly to it."""
        if self._hub.direct:
            self._link.use(sender, payload_type)


class FanoutVideoTrack(_SentDirectly, MediaStreamTrack):
    """One viewer's video: shared encoded packets, or raw frames for a codec we do not share."""

    kind = "video"

    def __init__(self, hub: FanoutHub, subscription: Subscription | None = None) -> None:
        super().__init__()
        self._hub = hub
        self._subscription = subscription
        self._bound = asyncio.Event()
        self._raw: ProgrammeTrack | None = None
        self._mime: str | None = None
        self._encoder: SharedVideoEncoder | None = None
        self._switch_to: SharedVideoEncoder | None = None  # waits for its keyframe before we switch
        self._queue: collections.deque[EncodedVideo] = collections.deque()
        self._ready = asyncio.Event()
        self._waiting_keyframe = True
        self.policy = RenditionPolicy(hub.renditions, hub.clock)
        self.stats = ViewerVideoStats()
        self._link = _DirectLink()

    @property
    def shared(self) -> bool:
        """Whether this viewer gets the shared encoder's packets (False: per-viewer fallback)."""
        return self._encoder is not None

    @property
    def rendition(self) -> Rendition | None:
        return self._encoder.rendition if self._encoder is not None else None

    def bind(self, mime: str) -> None:
        """The codec negotiated with the viewer: shared encoder if we have one, else raw frames."""
        if self._bound.is_set():
            return
        self._mime = mime.lower()
        if self._mime in SHARED_VIDEO_CODECS and self.readyState == "live":
            self._encoder = self._hub.video_encoder(self._mime, self.policy.current)
            self._encoder.attach(self)
            self.stats.renditions.append(self.policy.current.name)
        else:
            self._raw = self._hub.raw_track("video", self._subscription)
        self._bound.set()

    def deliver(self, item: EncodedVideo, source: SharedVideoEncoder) -> None:
        if source is self._switch_to and item.keyframe:
            self._finish_switch(source)
        if source is not self._encoder:
            return
        if self._waiting_keyframe:
            if not item.keyframe:
                return
            self._waiting_keyframe = False
        direct = self._link.direct
        if direct is not None:
            # The socket's own backlog stands for the queue: 10 frames' worth at this bitrate.
            limit = source.rendition.bitrate_bps * VIDEO_BACKLOG_FRAMES // (8 * source.fps)
            if direct.backlog_bytes() > limit:
                self._overflow(source)
                return
            try:
                sent = direct.send(item.payloads, item.timestamp)
            except Exception:  # one viewer's broken transport must not stop the others' frames
                sent = False
                self.stats.send_errors += 1
                log.debug("direct send failed", exc_info=True)
            if sent:
                self.stats.sent += 1
            return
        if len(self._queue) >= VIDEO_BACKLOG_FRAMES:
            self._overflow(source)
            return
        self._queue.append(item)
        self._ready.set()

    def _overflow(self, source: SharedVideoEncoder) -> None:
        # This viewer's sender is not keeping up. Its backlog is useless (every later frame depends
        # on the dropped ones): drop it, resume at a keyframe, and try a smaller size.
        self._queue.clear()
        self._waiting_keyframe = True
        self.stats.overflows += 1
        source.request_keyframe()
        if self.policy.on_overflow():
            self._start_switch()

    async def recv(self) -> av.Packet[Any] | av.AudioFrame | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._bound.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound.wait(), BIND_TIMEOUT_S)
            if not self._bound.is_set():
                self.bind("unknown")  # raw frames: aiortc encodes them for whatever was negotiated
        if self._raw is not None:
            return await self._raw.recv()
        if self._link.start():
            self._send_backlog()
            await self._link.park()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.stats.sent += 1
        return self._queue.popleft().packet

    def _send_backlog(self) -> None:
        # What came between the answer and aiortc's first recv() (the first keyframe, usually).
        queued, self._queue = self._queue, collections.deque()
        for item in queued:
            if self._encoder is not None:
                self.deliver(item, self._encoder)

    def request_keyframe(self) -> None:
        """The viewer's decoder asked for a keyframe (PLI/FIR)."""
        self.stats.keyframe_requests += 1
        if self._encoder is not None:
            self._encoder.request_keyframe()

    def observe_rtcp(self, packet: object) -> None:
        """Feed one RTCP packet addressed to this viewer's sender to the rendition policy."""
        if self._encoder is None:
            return
        changed = False
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ = unpack_remb_fci(packet.fci)
            except ValueError:
                self.stats.rtcp_ignored += 1
                return
            changed = self.policy.on_remb(bitrate)
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                changed = self.policy.on_loss(report.fraction_lost / 256.0) or changed
        if changed:
            self._start_switch()

    def stop(self) -> None:
        super().stop()
        self._ready.set()
        self._link.stop()
        for encoder in (self._encoder, self._switch_to):
            if encoder is not None:
                self._hub.release(encoder, self)
        self._encoder = self._switch_to = None
        if self._raw is not None:
            self._raw.stop()

    def _start_switch(self) -> None:
        assert self._mime is not None
        target = self._hub.video_encoder(self._mime, self.policy.current)
        if target is self._encoder:
            return
        if self._switch_to is not None and self._switch_to is not target:
            self._hub.release(self._switch_to, self)
        self._switch_to = target
        target.attach(self)  # asks it for a keyframe; we switch when it comes

    def _finish_switch(self, target: SharedVideoEncoder) -> None:
        if self._encoder is not None:
            self._hub.release(self._encoder, self)
        self._encoder, self._switch_to = target, None
        self._queue.clear()  # the old rendition's frames would break the new decoder state
        self._waiting_keyframe = True
        self.stats.renditions.append(target.rendition.name)
        log.info("viewer video switched to %s", target.rendition.name)


class FanoutAudioTrack(_SentDirectly, MediaStreamTrack):
    """One viewer's audio: the shared Opus packets, or raw frames for another codec."""

    kind = "audio"

    def __init__(self, hub: FanoutHub, subscription: Subscription | None = None) -> None:
        super().__init__()
        self._hub = hub
        self._subscription = subscription
        self._bound = asyncio.Event()
        self._raw: ProgrammeTrack | None = None
        self._queue: collections.deque[tuple[av.Packet[Any], list[bytes], int]] = collections.deque(
            maxlen=AUDIO_BACKLOG_PACKETS
        )
        self._ready = asyncio.Event()
        self._link = _DirectLink()
        self.dropped = 0
        self.send_errors = 0

    @property
    def shared(self) -> bool:
        return self._bound.is_set() and self._raw is None

    def bind(self, mime: str) -> None:
        """The negotiated audio codec: shared Opus, or raw frames (PCMU/PCMA) for aiortc to encode."""
        if self._bound.is_set():
            return
        if mime.lower() in SHARED_AUDIO_CODECS and self.readyState == "live":
            self._hub.audio_encoder().attach(self)
            self._hub.ensure_pump()
        else:
            self._raw = self._hub.raw_track("audio", self._subscription)
        self._bound.set()

    def deliver(self, packet: av.Packet[Any], payloads: list[bytes], timestamp: int) -> None:
        """One Opus packet, and its RTP payload and timestamp (the same for every viewer)."""
        direct = self._link.direct
        if direct is not None:
            try:
                direct.send(payloads, timestamp)
            except Exception:  # one viewer's broken transport must not stop the others' sound
                self.send_errors += 1
                log.debug("direct send failed", exc_info=True)
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append((packet, payloads, timestamp))
        self._ready.set()

    async def recv(self) -> av.Packet[Any] | av.AudioFrame | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._bound.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound.wait(), BIND_TIMEOUT_S)
            if not self._bound.is_set():
                self.bind("unknown")
        if self._raw is not None:
            return await self._raw.recv()
        if self._link.start():
            queued, self._queue = self._queue, collections.deque(maxlen=AUDIO_BACKLOG_PACKETS)
            for item in queued:
                self.deliver(*item)
            await self._link.park()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()[0]

    def stop(self) -> None:
        super().stop()
        self._ready.set()
        self._link.stop()
        self._hub.audio_encoder().detach(self)
        if self._raw is not None:
            self._raw.stop()


# -- the hub -------------------------------------------------------------------------------------
class FanoutHub:
    """Owns the shared encoders of one programme and makes viewer tracks that read them.

    Encoders start when their first viewer attaches and stop when their last one leaves. The hub
    reads the programme through an ordinary broadcaster subscription, so the programme does not
    know it exists.
    """

    def __init__(
        self,
        broadcaster: Broadcaster,
        clock: Clock,
        width: int,
        height: int,
        fps: int,
        *,
        direct: bool = True,
    ) -> None:
        self.broadcaster = broadcaster
        # Shared tracks send straight to their viewers' transports (False: through aiortc's own RTP
        # loop, one coroutine per viewer and track, as before; the bench compares the two).
        self.direct = direct
        self.clock = clock
        self.fps = fps
        self.renditions = renditions_for(width, height, fps)
        self._video: dict[tuple[str, Rendition], SharedVideoEncoder] = {}
        # One long-lived thread per (codec, rendition), lent to each encoder made for it. An encoder
        # is made when a first viewer comes and dropped when the last leaves. A fresh thread each
        # time got the next of glibc's malloc arenas (16 on 2 cores, all in use in `avatar live`),
        # and each arena kept the ~15 MB of libvpx state freed in it as its top chunk, which
        # malloc_trim does not return for thread arenas: `avatar live` grew ~13 MB per round of
        # viewers. On one thread the next encoder reuses what the last one freed.
        self._threads: dict[tuple[str, Rendition], concurrent.futures.ThreadPoolExecutor] = {}
        self._audio = SharedAudioEncoder()
        self._subscription: Subscription | None = None
        self._pumps: list[asyncio.Task[None]] = []
        self.closed_encoders: list[EncoderStats] = []

    def track(
        self, kind: str, subscription: Subscription | None = None
    ) -> FanoutVideoTrack | FanoutAudioTrack:
        """A viewer's track of ``kind``; ``subscription`` (the viewer's own) feeds the raw fallback."""
        if kind == "video":
            return FanoutVideoTrack(self, subscription)
        return FanoutAudioTrack(self, subscription)

    def raw_track(self, kind: str, subscription: Subscription | None) -> ProgrammeTrack:
        """The per-viewer fallback: raw programme frames that aiortc encodes for this viewer."""
        return ProgrammeTrack(kind, self.broadcaster, subscription or self.broadcaster.subscribe())

    def video_encoder(self, mime: str, rendition: Rendition) -> SharedVideoEncoder:
        key = (mime.lower(), rendition)
        encoder = self._video.get(key)
        if encoder is None:
            thread = self._threads.get(key)
            if thread is None:
                thread = self._threads[key] = encode_thread(rendition)
            encoder = SharedVideoEncoder(mime, rendition, self.fps, self.clock, thread)
            self._video[key] = encoder
            if self.broadcaster.last_video is not None:
                encoder.push(self.broadcaster.last_video)  # a first picture without waiting a frame
            self.ensure_pump()
        return encoder

    def audio_encoder(self) -> SharedAudioEncoder:
        return self._audio

    def release(self, encoder: SharedVideoEncoder, sink: _VideoSink) -> None:
        """A viewer leaves an encoder; the last one out closes it."""
        encoder.detach(sink)
        if encoder.viewers == 0 and self._video.get((encoder.mime, encoder.rendition)) is encoder:
            del self._video[(encoder.mime, encoder.rendition)]
            self.closed_encoders.append(encoder.stats)
            task = asyncio.get_running_loop().create_task(encoder.close())
            self._pumps.append(task)  # tracked so close() can wait for it
            task.add_done_callback(self._forget)

    def ensure_pump(self) -> None:
        """Start reading the programme (once)."""
        if self._subscription is not None:
            return
        self._subscription = self.broadcaster.subscribe(audience=False)
        self._pumps.append(asyncio.create_task(self._pump_video(self._subscription), name="fanout-video"))
        self._pumps.append(asyncio.create_task(self._pump_audio(self._subscription), name="fanout-audio"))

    def stats(self) -> dict[str, Any]:
        """Encoder counters, for /healthz and the bench."""
        return {
            "video_encoders": {
                f"{mime}@{rendition.name}": {
                    "viewers": encoder.viewers,
                    "frames": encoder.stats.frames,
                    "keyframes": encoder.stats.keyframes,
                    "forced_keyframes": encoder.stats.forced_keyframes,
                    "skipped": encoder.stats.skipped,
                    "errors": encoder.stats.errors,
                    "encode_ms_per_frame": round(
                        encoder.stats.encode_ms_total / max(1, encoder.stats.frames), 2
                    ),
                    "kbps": round(encoder.stats.bytes * 8 / 1000 / max(1, encoder.stats.frames) * self.fps),
                }
                for (mime, rendition), encoder in self._video.items()
            },
            "opus_viewers": self._audio.viewers,
            # Viewer tracks sending directly (video and audio; the rest go through aiortc's loop).
            "direct_tracks": sum(track.direct is not None for track in self._audio.sinks)
            + sum(
                isinstance(sink, FanoutVideoTrack) and sink.direct is not None
                for e in self._video.values()
                for sink in e.sinks
            ),
            "opus_packets": self._audio.packets,
            "opus_ms_per_packet": round(self._audio.encode_ms_total / max(1, self._audio.packets), 3),
        }

    async def close(self) -> None:
        """Stop pumps and encoders (server shutdown)."""
        if self._subscription is not None:
            self.broadcaster.unsubscribe(self._subscription)
        for task in self._pumps:
            task.cancel()
        for task in list(self._pumps):
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await task
        self._pumps.clear()
        for encoder in list(self._video.values()):
            await encoder.close()
        self._video.clear()
        for thread in self._threads.values():
            thread.shutdown(wait=False)  # after each encoder's last encode and codec release
        self._threads.clear()

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._pumps.remove(task)

    async def _pump_video(self, subscription: Subscription) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                self._push_video(await subscription.next_video())

    def _push_video(self, frame: av.VideoFrame) -> None:
        # Its own frame: a loop variable in the pump's never-ending frame would keep the last
        # encoder (its libvpx/x264 context, ~11 MB at 360p) alive after its last viewer left.
        for encoder in list(self._video.values()):
            encoder.push(frame)

    async def _pump_audio(self, subscription: Subscription) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await subscription.next_audio()
                self._audio.push(frame, self.clock.now)


def negotiated_mime(pc: RTCPeerConnection, track: MediaStreamTrack) -> str | None:
    """The codec aiortc will send ``track`` with, once the answer is set (``None`` if unknown)."""
    for transceiver in pc.getTransceivers():
        if transceiver.sender.track is track:
            codecs = getattr(transceiver, "_codecs", None) or []  # aiortc 1.16 keeps them here
            return str(codecs[0].mimeType) if codecs else None
    return None


def bind_fanout_tracks(pc: RTCPeerConnection) -> None:
    """After the local answer is set: tell each fan-out track its codec and sender, hook its RTCP.

    A shared track sends straight to its sender's transport once the sender starts (see
    :class:`_DirectLink`). The RTCP hook wraps the sender's own handler (aiortc keeps handling RTT
    and stats): NACKs are answered from the direct sender's history, PLI/FIR become keyframe
    requests to the shared encoder (the sender's own flag only affects its per-viewer encoder, which
    packets bypass), and REMB and receiver reports steer the viewer's rendition.
    """
    for transceiver in pc.getTransceivers():
        sender = transceiver.sender
        track = sender.track
        if not isinstance(track, (FanoutVideoTrack, FanoutAudioTrack)):
            continue
        mime = negotiated_mime(pc, track)
        track.bind(mime or "unknown")
        codecs = getattr(transceiver, "_codecs", None) or []
        if not track.shared or not codecs:
            continue
        track.use_sender(sender, int(codecs[0].payloadType))
        if "_handle_rtcp_packet" not in vars(sender):
            # An instance attribute shadows the method for this one sender (the transport calls it).
            setattr(sender, "_handle_rtcp_packet", _rtcp_hook(sender._handle_rtcp_packet, track))  # noqa: B010


def _rtcp_hook(
    original: Callable[[Any], Awaitable[None]], track: FanoutVideoTrack | FanoutAudioTrack
) -> Callable[[Any], Awaitable[None]]:
    # The hook is stored on the sender whose bound method ``original`` is: holding it strongly would
    # be a cycle (sender -> hook -> method -> sender) keeping every departed viewer's sender, RTP
    # history and transports alive until a full garbage collection. Held weakly, they stay on
    # reference counting; while the transport calls the hook, the sender is alive by definition.
    handler = weakref.WeakMethod(original)

    async def handle(packet: Any) -> None:
        try:
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                direct = track.direct
                if direct is not None:
                    direct.retransmit(packet.lost)
                    return  # aiortc's history is empty while the direct sender sends
            elif not isinstance(track, FanoutVideoTrack):
                pass
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_FIR, RTCP_PSFB_PLI):
                track.request_keyframe()
            else:
                track.observe_rtcp(packet)
        except Exception:  # a viewer's odd RTCP must never reach the transport's loop
            if isinstance(track, FanoutVideoTrack):
                track.stats.rtcp_ignored += 1
            log.debug("ignored RTCP %r", packet, exc_info=True)
        method = handler()
        if method is not None:
            await method(packet)

    return handle
