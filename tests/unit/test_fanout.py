"""Encode once, fan out: shared encoders, viewer tracks, keyframes, adaptation and bad viewers.

The end-to-end tests use real aiortc viewers on loopback against the real web app (fake voices):
they decode what arrives and compare it with the programme's own picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aioice.ice
import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtpPacket,
    pack_remb_fci,
)

from avatar.brain.scene import Scene, load_scene
from avatar.config import Settings
from avatar.media.broadcaster import VIDEO_TIME_BASE, Broadcaster
from avatar.media.clock import ManualClock
from avatar.media.fanout import (
    MIN_DWELL_S,
    MIN_KEYFRAME_GAP_S,
    UP_AFTER_S,
    VIDEO_BACKLOG_FRAMES,
    EncodedVideo,
    FanoutAudioTrack,
    FanoutHub,
    FanoutVideoTrack,
    RenditionPolicy,
    SharedVideoEncoder,
    renditions_for,
)
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.web.app import VIEWERS_KEY, create_app
from avatar.web.ice import use_loopback_only
from avatar.web.probe import ProbeViewer
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until


def i420(width: int, height: int, value: int) -> av.VideoFrame:
    """A flat test picture with a moving bar (so frames differ), in the programme's format."""
    image = np.full((height * 3 // 2, width), 128, np.uint8)
    image[:height] = value
    image[: height // 4, (value * 3) % width :][:, :16] = 255
    return av.VideoFrame.from_ndarray(image, format="yuv420p")


def frame_at(index: int, width: int = 640, height: int = 360) -> av.VideoFrame:
    frame = i420(width, height, 60 + index % 100)
    frame.pts = index * 3600
    frame.time_base = VIDEO_TIME_BASE
    return frame


async def encode_frames(encoder: SharedVideoEncoder, clock: ManualClock, count: int, start: int = 0) -> None:
    """Push ``count`` frames 40 ms apart, letting each encode finish (the encoder is latest-only)."""
    for index in range(start, start + count):
        before = encoder.stats.frames
        encoder.push(frame_at(index))
        await wait_until(lambda b=before: encoder.stats.frames > b, 10, f"frame {index} encoded")  # type: ignore[misc]
        await clock.advance(0.04)


class Collector:
    """A video sink that records what it is given."""

    def __init__(self) -> None:
        self.items: list[EncodedVideo] = []

    def deliver(self, item: EncodedVideo, source: SharedVideoEncoder) -> None:
        self.items.append(item)


# -- the shared encoder --------------------------------------------------------------------------
async def test_the_encoder_forces_a_keyframe_on_request_and_rate_limits_floods() -> None:
    clock = ManualClock()
    encoder = SharedVideoEncoder("video/VP8", renditions_for(640, 360, 25)[0], 25, clock)
    sink = Collector()
    try:
        encoder.attach(sink)  # a new viewer: the first frame is a keyframe
        await encode_frames(encoder, clock, 20)
        assert sink.items[0].keyframe
        assert [i for i, item in enumerate(sink.items) if item.keyframe] == [0], "no keyframe unasked for"

        encoder.request_keyframe()  # 0.8 s after the last one: honoured at once
        await encode_frames(encoder, clock, 1, start=20)
        assert sink.items[-1].keyframe

        # A flood of requests (a bogus viewer's PLIs) within one gap: deferred, not multiplied.
        count = len(sink.items)
        for index in range(21, 21 + round(2 * MIN_KEYFRAME_GAP_S / 0.04)):
            for _ in range(10):
                encoder.request_keyframe()
            await encode_frames(encoder, clock, 1, start=index)
        flood = [item.keyframe for item in sink.items[count:]]
        assert 1 <= sum(flood) <= 2, "at most one forced keyframe per gap"
        assert encoder.stats.frames == len(sink.items)
    finally:
        await encoder.close()


async def test_a_smaller_rendition_is_scaled_and_decodes_at_its_size() -> None:
    clock = ManualClock()
    small = renditions_for(640, 360, 25)[1]
    encoder = SharedVideoEncoder("video/VP8", small, 25, clock)
    sink = Collector()
    try:
        encoder.attach(sink)
        await encode_frames(encoder, clock, 5)
        decoder = av.CodecContext.create("vp8", "r")
        frames = [f for item in sink.items for f in decoder.decode(av.Packet(bytes(item.packet)))]
        assert frames and (frames[0].width, frames[0].height) == (small.width, small.height) == (320, 180)
    finally:
        await encoder.close()


async def test_h264_is_shared_too_and_starts_with_an_idr() -> None:
    clock = ManualClock()
    encoder = SharedVideoEncoder("video/H264", renditions_for(640, 360, 25)[0], 25, clock)
    sink = Collector()
    try:
        encoder.attach(sink)
        await encode_frames(encoder, clock, 5)
        assert sink.items[0].keyframe
        decoder = av.CodecContext.create("h264", "r")
        frames = [f for item in sink.items for f in decoder.decode(av.Packet(bytes(item.packet)))]
        frames += list(decoder.decode(None))
        assert len(frames) == 5 and frames[0].width == 640
    finally:
        await encoder.close()


# -- viewer tracks -------------------------------------------------------------------------------
async def test_a_viewer_that_never_reads_is_degraded_alone() -> None:
    clock = ManualClock()
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, clock, 640, 360, 25)
    reader, stuck = hub.track("video"), hub.track("video")
    assert isinstance(reader, FanoutVideoTrack) and isinstance(stuck, FanoutVideoTrack)
    reader.bind("video/VP8")
    stuck.bind("video/VP8")
    received: list[object] = []

    async def read() -> None:
        while True:
            received.append(await reader.recv())

    task = asyncio.create_task(read())
    try:
        for index in range(3 * VIDEO_BACKLOG_FRAMES):
            broadcaster.publish_video(frame_at(index))
            await wait_until(lambda i=index: len(received) > i, 10, f"frame {index} delivered")  # type: ignore[misc]
            await clock.advance(0.04)
        assert len(received) == 3 * VIDEO_BACKLOG_FRAMES, "the reading viewer got every frame"
        assert stuck.stats.overflows >= 1, "the stuck viewer's backlog was dropped"
        assert len(stuck._queue) <= VIDEO_BACKLOG_FRAMES, "its memory stays bounded"
        assert stuck.stats.renditions == ["360p", "180p"], "it stepped down to the smaller rendition"
        assert reader.rendition is not None and reader.rendition.name == "360p", (
            "the other viewer is untouched"
        )
    finally:
        task.cancel()
        reader.stop()
        stuck.stop()
        await hub.close()


class StuckSocket:
    """Stands for a direct sender whose socket has stopped taking datagrams (asyncio buffers them)."""

    def __init__(self) -> None:
        self.backlog = 0
        self.frames: list[int] = []

    def backlog_bytes(self) -> int:
        return self.backlog

    def send(self, payloads: list[bytes], timestamp: int) -> bool:
        self.frames.append(timestamp)
        return True


async def test_a_direct_viewer_whose_socket_backs_up_drops_to_a_keyframe_and_steps_down() -> None:
    clock = ManualClock()
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, clock, 640, 360, 25)
    track = hub.track("video")
    assert isinstance(track, FanoutVideoTrack)
    track.bind("video/VP8")
    socket = StuckSocket()
    track._link.direct = socket  # type: ignore[assignment]
    try:
        for index in range(5):
            broadcaster.publish_video(frame_at(index))
            await wait_until(lambda i=index: len(socket.frames) > i, 10, f"frame {index} sent")  # type: ignore[misc]
            await clock.advance(0.04)
        assert socket.frames == [i * 3600 for i in range(5)], "every frame, in order, with its own timestamp"
        socket.backlog = 10**6  # more than 10 frames' worth at 576 kbps
        await clock.advance(MIN_DWELL_S)
        broadcaster.publish_video(frame_at(5))
        await wait_until(lambda: track.stats.overflows == 1, 10, "the overflow")
        assert len(socket.frames) == 5, "nothing more is piled onto a backed-up socket"
        socket.backlog = 0  # the socket drains
        for index in range(6, 200):  # until the smaller encoder's first keyframe switches it over
            broadcaster.publish_video(frame_at(index))
            await clock.advance(0.04)
            await asyncio.sleep(0.05)
            if track.rendition is not None and track.rendition.name == "180p":
                break
        sent_before_switch = len(socket.frames)
        broadcaster.publish_video(frame_at(200))
        await wait_until(lambda: len(socket.frames) > sent_before_switch, 10, "a frame at the smaller size")
        assert track.stats.renditions == ["360p", "180p"], "it stepped down to the smaller rendition"
        assert track.rendition is not None and track.rendition.name == "180p", "and sends from there"
    finally:
        track.stop()
        await hub.close()


async def test_a_codec_the_shared_encoders_do_not_serve_gets_raw_frames() -> None:
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, ManualClock(), 640, 360, 25)
    subscription = broadcaster.subscribe()
    video, audio = hub.track("video", subscription), hub.track("audio", subscription)
    video.bind("video/VP9")
    audio.bind("audio/PCMU")
    try:
        assert not video.shared and not audio.shared
        broadcaster.publish_video(frame_at(0))
        frame = await asyncio.wait_for(video.recv(), 2)
        assert isinstance(frame, av.VideoFrame), "aiortc encodes this viewer's frames itself"
    finally:
        video.stop()
        audio.stop()
        await hub.close()


async def test_opus_is_encoded_once_for_all_viewers() -> None:
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, ManualClock(), 640, 360, 25)
    tracks = [hub.track("audio") for _ in range(3)]
    for track in tracks:
        track.bind("audio/opus")
    try:
        for index in range(10):
            pcm = (np.sin(np.arange(960) / 8) * 8000).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48_000, index * 960
            broadcaster.publish_audio(frame)
        packets = [[await asyncio.wait_for(t.recv(), 2) for _ in range(5)] for t in tracks]
        assert all(isinstance(p, av.Packet) for row in packets for p in row)
        assert packets[0][0] is packets[1][0] is packets[2][0], "one packet object shared by every viewer"
        assert hub.audio_encoder().packets <= 10
        assert isinstance(tracks[0], FanoutAudioTrack)
    finally:
        for track in tracks:
            track.stop()
        await hub.close()


async def test_opus_carries_the_programme_audio_on_both_channels() -> None:
    """The programme's 20 ms mono chunks go to Opus as stereo without a resampler filter graph
    (its pool of threads would stay for the rest of the show); decoded, both channels are the tone."""
    broadcaster = Broadcaster()
    hub = FanoutHub(broadcaster, ManualClock(), 640, 360, 25)
    track = hub.track("audio")
    track.bind("audio/opus")
    tone = (np.sin(2 * np.pi * 440 * np.arange(960 * 50) / 48_000) * 8000).astype(np.int16)
    packets = []
    try:
        for index in range(50):  # one chunk at a time: the backlog is bounded
            frame = av.AudioFrame.from_ndarray(
                tone[index * 960 : (index + 1) * 960].reshape(1, -1), "s16", "mono"
            )
            frame.sample_rate, frame.pts = 48_000, index * 960
            broadcaster.publish_audio(frame)
            packets.append(await asyncio.wait_for(track.recv(), 2))
        assert hub.audio_encoder()._resampler is None  # noqa: SLF001 - no filter graph was needed
        decoder = av.CodecContext.create("libopus", "r")
        decoded = np.concatenate(
            [
                f.to_ndarray().reshape(-1, 2)
                for p in packets
                if isinstance(p, av.Packet)
                for f in decoder.decode(p)
            ]
        )
        assert len(decoded) >= 30 * 960
        left, right = decoded[960 * 5 :, 0].astype(float), decoded[960 * 5 :, 1].astype(float)
        assert np.allclose(left, right, atol=0.02 * np.abs(left).max()), "the same voice on both channels"
        spectrum = np.abs(np.fft.rfft(left))
        peak_hz = np.argmax(spectrum) * 48_000 / len(left)
        assert abs(peak_hz - 440) < 5, f"decoded tone at {peak_hz:.0f} Hz"
    finally:
        track.stop()
        await hub.close()


async def test_bogus_rtcp_is_ignored_and_keyframe_requests_reach_the_encoder() -> None:
    clock = ManualClock()
    hub = FanoutHub(Broadcaster(), clock, 640, 360, 25)
    track = hub.track("video")
    assert isinstance(track, FanoutVideoTrack)
    track.bind("video/VP8")
    try:
        track.observe_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=b"REMB\x01"))
        track.observe_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=b"junk junk junk"))
        track.observe_rtcp(object())
        assert (
            track.stats.rtcp_ignored == 2 and track.rendition is not None and track.rendition.name == "360p"
        )
        track.request_keyframe()
        assert track.stats.keyframe_requests == 1
        assert RTCP_PSFB_PLI  # the hook routes PLI/FIR to request_keyframe (end-to-end test below)
    finally:
        track.stop()
        await hub.close()


# -- adaptation ----------------------------------------------------------------------------------
async def test_rendition_policy_steps_down_on_loss_or_low_remb_and_up_after_a_quiet_spell() -> None:
    clock = ManualClock()
    ladder = renditions_for(640, 360, 25)
    policy = RenditionPolicy(ladder, clock)
    assert policy.current is ladder[0]
    assert not policy.on_loss(0.02), "a little loss is normal"
    assert policy.on_loss(0.3) and policy.current is ladder[1], "heavy loss steps down at once"
    assert not policy.on_loss(0.5), "nothing below the smallest rendition"

    await clock.advance(MIN_DWELL_S + UP_AFTER_S)
    assert policy.on_remb(int(ladder[0].bitrate_bps * 1.5)), "plenty of bandwidth: back up"
    assert policy.current is ladder[0]

    await clock.advance(MIN_DWELL_S)
    low = int(ladder[0].bitrate_bps * 0.5)
    assert not policy.on_remb(low) and not policy.on_remb(low), "one or two low estimates are noise"
    assert policy.on_remb(low) and policy.current is ladder[1], "three in a row step down"
    await clock.advance(1.0)
    assert not policy.on_remb(int(ladder[0].bitrate_bps * 2)), "no flapping right after a switch"
    assert policy.switches == 3


def test_renditions_are_full_and_half_size_with_even_dimensions() -> None:
    full, half = renditions_for(1280, 720, 25)
    assert (full.width, full.height, half.width, half.height) == (1280, 720, 640, 360)
    assert full.bitrate_bps > half.bitrate_bps
    assert renditions_for(640, 360, 25)[1].name == "180p"


# -- end to end: real aiortc viewers on loopback -------------------------------------------------
@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scene(DEMO_SCENE)


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    use_loopback_only()
    yield


@dataclass
class Served:
    client: TestClient[Any, Any]
    show: LiveShow

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    @property
    def hub(self) -> FanoutHub:
        hub = self.client.app[VIEWERS_KEY].fanout
        assert hub is not None
        return hub


@pytest.fixture
async def served(scene: Scene, loopback_ice: None) -> AsyncIterator[Served]:
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005)
    show = LiveShow(scene, Settings(scene=DEMO_SCENE), speaker=fake_speaker(Playout(), engine))
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Served(client, show)
    finally:
        await client.close()


class PictureProbe(ProbeViewer):
    """A probe viewer that also keeps its last decoded picture and when its first one came."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.last: av.VideoFrame | None = None
        self.connected_at: float | None = None
        self.first_frame_at: float | None = None
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = asyncio.get_running_loop().time()

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    if self.first_frame_at is None:
                        self.first_frame_at = asyncio.get_running_loop().time()
                    self.last = frame
                    self.stats.video_frames += 1
                    self.stats.width, self.stats.height = frame.width, frame.height
                else:
                    self.stats.audio_frames += 1
        except MediaStreamError:
            return


def luma(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray").astype(np.float32)


@pytest.mark.slow
async def test_several_viewers_decode_the_one_shared_encoding(served: Served) -> None:
    probes = [PictureProbe(served.url) for _ in range(3)]
    try:
        await asyncio.gather(*(asyncio.wait_for(p.connect(), 10) for p in probes))
        await wait_until(
            lambda: all(p.stats.video_frames >= 25 and p.stats.audio_frames >= 50 for p in probes),
            20,
            "media",
        )
        encoders = served.hub.stats()["video_encoders"]
        assert list(encoders) == ["video/vp8@360p"], "one encoder for everyone"
        assert encoders["video/vp8@360p"]["viewers"] == 3
        assert served.hub.stats()["opus_viewers"] == 3
        encoded = encoders["video/vp8@360p"]["frames"]
        decoded = sum(p.stats.video_frames for p in probes)
        assert encoded < decoded, "each picture was encoded once and decoded by every viewer"
        programme = served.show.broadcaster.last_video
        assert programme is not None
        for probe in probes:
            assert (probe.stats.width, probe.stats.height) == (640, 360)
            assert probe.last is not None
            # The programme moved on a frame or two meanwhile; the host and background are the same.
            difference = np.abs(luma(probe.last) - luma(programme)).mean()
            assert difference < 12, f"decoded picture differs from the programme by {difference:.1f}"
            assert luma(probe.last).std() > 10, "a real picture, not a flat frame"
    finally:
        await asyncio.gather(*(p.close() for p in probes))
    await wait_until(lambda: not served.hub.stats()["video_encoders"], 10, "the idle encoder to stop")


@pytest.mark.slow
async def test_a_viewer_joining_mid_stream_gets_a_keyframe_within_a_second(served: Served) -> None:
    first = PictureProbe(served.url)
    late = PictureProbe(served.url)
    try:
        await asyncio.wait_for(first.connect(), 10)
        await wait_until(lambda: first.stats.video_frames >= 30, 20, "the first viewer's frames")
        forced = served.hub._video[("video/vp8", served.hub.renditions[0])].stats.forced_keyframes
        await asyncio.wait_for(late.connect(), 10)
        await wait_until(lambda: late.first_frame_at is not None, 10, "the late viewer's first picture")
        assert late.connected_at is not None and late.first_frame_at is not None
        # The periodic keyframe is 4 s apart: a picture within 1 s means one was forced for the join.
        assert late.first_frame_at - late.connected_at < 1.0
        encoder = served.hub._video[("video/vp8", served.hub.renditions[0])]
        assert encoder.stats.forced_keyframes > forced
        assert first.stats.video_frames > 30, "the first viewer kept playing"
    finally:
        await first.close()
        await late.close()


@pytest.mark.slow
async def test_a_viewer_flooding_pli_and_garbage_rtcp_leaves_the_others_untouched(served: Served) -> None:
    good, bad = PictureProbe(served.url), PictureProbe(served.url)
    try:
        await asyncio.gather(asyncio.wait_for(good.connect(), 10), asyncio.wait_for(bad.connect(), 10))
        await wait_until(lambda: good.stats.video_frames >= 10 and bad.stats.video_frames >= 10, 20, "media")
        receiver: RTCRtpReceiver = next(t.receiver for t in bad.pc.getTransceivers() if t.kind == "video")
        transport = receiver.transport
        senders = [
            t.sender
            for s in served.client.app[VIEWERS_KEY].sessions.values()
            for t in s.pc.getTransceivers()
            if t.kind == "video"
        ]
        ssrcs = [sender._ssrc for sender in senders]
        encoder = next(iter(served.hub._video.values()))
        forced_before, good_before = encoder.stats.forced_keyframes, good.stats.video_frames
        loop = asyncio.get_running_loop()
        began = loop.time()
        for _ in range(50):  # 2 s of abuse: PLI storms, a REMB of 1 bps, undecodable RTCP
            for ssrc in ssrcs:
                await transport._send_rtp(bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=ssrc)))
            await transport._send_rtp(
                bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(1, ssrcs)))
            )
            await transport._send_rtp(b"\x80\xc9\x00\x07" + bytes(range(28)))
            await transport._send_rtp(
                bytes(RtcpRrPacket(ssrc=1, reports=[RtcpReceiverInfo(ssrcs[0], 255, 9, 1, 0, 0, 0)]))
            )
            await asyncio.sleep(0.04)
        elapsed = loop.time() - began
        await asyncio.sleep(0.5)
        assert good.stats.video_frames - good_before >= 20, "the other viewer kept receiving"
        forced = encoder.stats.forced_keyframes - forced_before
        assert forced <= elapsed / MIN_KEYFRAME_GAP_S + 2, f"{forced} forced keyframes in {elapsed:.1f} s"
        assert served.show.programme.stats.frames > 0 and len(served.client.app[VIEWERS_KEY].sessions) == 2
    finally:
        await good.close()
        await bad.close()


class RtpRecorder(PictureProbe):
    """A picture probe that also records the RTP packets of its video and audio as they arrive."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.rtp: dict[str, list[RtpPacket]] = {"video": [], "audio": []}
        for transceiver in self.pc.getTransceivers():
            self._record(transceiver.receiver, self.rtp[transceiver.kind])

    @staticmethod
    def _record(receiver: RTCRtpReceiver, packets: list[RtpPacket]) -> None:
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            packets.append(packet)
            await original(packet, arrival_time_ms)

        setattr(receiver, "_handle_rtp_packet", handle)  # noqa: B010


def assert_one_whole_stream(packets: list[RtpPacket], ssrc: int, tick: int) -> None:
    """Consecutive sequence numbers, one SSRC, one timestamp per frame, frames ``tick`` apart."""
    assert packets and {p.ssrc for p in packets} == {ssrc}
    for before, after in zip(packets, packets[1:], strict=False):
        assert after.sequence_number == (before.sequence_number + 1) % 65536, "no gap, no reordering"
        step = (after.timestamp - before.timestamp) % 2**32
        if before.marker:
            assert step > 0 and step % tick == 0, f"the next frame's timestamp moved by {step}"
        else:
            assert step == 0, "one timestamp for all packets of a frame"


@pytest.mark.slow
async def test_direct_senders_keep_each_viewers_rtp_stream_whole_and_answer_nacks(served: Served) -> None:
    viewers = [RtpRecorder(served.url) for _ in range(2)]
    try:
        await asyncio.gather(*(asyncio.wait_for(v.connect(), 10) for v in viewers))
        await wait_until(
            lambda: all(v.stats.video_frames >= 25 and v.stats.audio_frames >= 50 for v in viewers),
            20,
            "media",
        )
        sessions = served.client.app[VIEWERS_KEY].sessions.values()
        tracks = [t.sender.track for s in sessions for t in s.pc.getTransceivers()]
        assert all(track.direct is not None for track in tracks), "every shared track sends directly"
        assert served.hub.stats()["direct_tracks"] == 4
        ssrcs: set[int] = set()
        for viewer in viewers:
            video_pts = {p.payload_type for p in viewer.rtp["video"]}
            assert len(video_pts) == 1, "no retransmissions yet on loopback"
            for kind, tick in (("video", 3600), ("audio", 960)):
                packets = list(viewer.rtp[kind])
                assert_one_whole_stream(packets, packets[0].ssrc, tick)
                ssrcs.add(packets[0].ssrc)
        assert len(ssrcs) == 4, "each viewer's streams have their own SSRC"

        # A NACK for a packet the first viewer got: it comes again, wrapped in RTX (RFC 4588).
        viewer = viewers[0]
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        lost = viewer.rtp["video"][-3]
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=lost.ssrc, lost=[lost.sequence_number])
        await receiver.transport._send_rtp(bytes(nack))

        def retransmitted() -> RtpPacket | None:
            return next((p for p in viewer.rtp["video"] if p.payload_type != lost.payload_type), None)

        await wait_until(lambda: retransmitted() is not None, 5, "the retransmission")
        rtx = retransmitted()
        assert rtx is not None and rtx.ssrc != lost.ssrc
        assert rtx.timestamp == lost.timestamp
        assert rtx.payload == lost.sequence_number.to_bytes(2, "big") + lost.payload
    finally:
        await asyncio.gather(*(v.close() for v in viewers))
