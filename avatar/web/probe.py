"""A headless aiortc viewer: connects to a show like a browser does and consumes its media.

The bench uses it as "one viewer"; load tests can start many. It decodes everything it receives
(as a real viewer would), counts frames, and can send chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

import aiohttp
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from avatar.media.peer import release_peer_connection


@dataclass
class ProbeStats:
    """What one probe viewer received."""

    video_frames: int = 0
    audio_frames: int = 0
    width: int = 0
    height: int = 0
    messages: list[dict[str, object]] = field(default_factory=list)


class ProbeViewer:
    """One WebRTC viewer without a browser."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.stats = ProbeStats()
        self.pc = RTCPeerConnection()
        self.channel = self.pc.createDataChannel("chat")
        self.channel.on("message", self._on_message)
        self._consumers: list[asyncio.Task[None]] = []
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.on("track", self._on_track)

    async def connect(self) -> None:
        """Offer, get the answer, and wait until media flows."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/offer", json=offer) as response,
        ):
            if response.status != 200:
                raise RuntimeError(f"offer refused: {response.status} {await response.text()}")
            answer = await response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))

    def chat(self, text: str, name: str = "probe") -> None:
        """Send a chat message over the data channel."""
        self.channel.send(json.dumps({"type": "chat", "name": name, "text": text}))

    async def close(self) -> None:
        # Forgotten as well as cancelled, and the connection's cycles broken: freed at once.
        consumers, self._consumers = self._consumers, []
        for task in consumers:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()
        release_peer_connection(self.pc)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.stats.video_frames += 1
                    self.stats.width, self.stats.height = frame.width, frame.height
                else:
                    self.stats.audio_frames += 1

    def _on_message(self, message: object) -> None:
        if isinstance(message, str):
            with contextlib.suppress(json.JSONDecodeError):
                self.stats.messages.append(json.loads(message))
                del self.stats.messages[:-200]


async def _watch(url: str, seconds: float) -> ProbeStats:
    viewer = ProbeViewer(url)
    await viewer.connect()
    await asyncio.sleep(seconds)
    await viewer.close()
    return viewer.stats


def main() -> None:
    """``python -m avatar.web.probe URL SECONDS``: watch, then print what arrived as JSON."""
    import sys

    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    stats = asyncio.run(_watch(sys.argv[1], float(sys.argv[2])))
    print(
        json.dumps(
            {
                "video_frames": stats.video_frames,
                "audio_frames": stats.audio_frames,
                "width": stats.width,
                "height": stats.height,
            }
        )
    )


if __name__ == "__main__":
    main()
