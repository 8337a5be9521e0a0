"""Viewer sessions: one WebRTC peer connection per browser, fed from the running programme.

A session owns everything it creates (peer connection, programme subscription, event forwarding)
and releases all of it when the browser leaves, fails, or never finishes connecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import aioice
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdatachannel import RTCDataChannel

from avatar.brain.triage import Verdict
from avatar.config import Settings
from avatar.events import Caption, ChatPosted, Event, Notice, ProductShown
from avatar.hygiene import NameRefused, display_name, for_log
from avatar.listen.endpoint import catalog_endpointing
from avatar.listen.listener import Listener, SharedASR, Transcriber, mono_pcm, show_asr
from avatar.listen.vad import COHOST_VAD
from avatar.media.broadcaster import ProgrammeTrack
from avatar.media.fanout import FanoutHub, bind_fanout_tracks
from avatar.media.peer import release_peer_connection, return_free_memory
from avatar.modes.live import NOTICES, LiveShow
from avatar.web.guard import RateLimiter, parse_json, parse_list

log = logging.getLogger(__name__)

MAX_CHANNEL_BUFFER_BYTES = 256 * 1024  # a viewer whose data channel backs up misses events, not memory
ROLES = ("viewer", "studio")
"""Who a browser is: a viewer (push-to-talk questions) or the co-host on /studio (barges in)."""
MAX_CANDIDATES = 64  # a browser sends a handful; each one is a connectivity check to run
CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})
# Chat per address, over all of its connections (a fresh connection is not a fresh allowance):
# a little more than one viewer's own limit, so a household behind one address can still talk.
CHAT_BURST = 5
CHAT_REFILL_S = 2.0
# After this many sessions closed, the C heap's free pages go back to the system (see
# return_free_memory): a burst of dead offers otherwise leaves RSS at its high-water mark.
TRIM_AFTER_CLOSED = 20


class SignalingError(ValueError):
    """The browser's offer cannot be used (reported to it as HTTP 400)."""


class RegistryFull(RuntimeError):
    """As many viewer sessions as allowed are open or connecting (reported as HTTP 503)."""


def ice_configuration(settings: Settings) -> RTCConfiguration:
    """The server side's ICE setup: the configured STUN servers, none on loopback.

    Left to itself aiortc asks stun.l.google.com for every peer connection: a resolver thread and
    an outside packet per offer, even for a show that never leaves the machine.
    """
    urls = () if settings.ice_loopback else parse_list(settings.stun_servers)
    return RTCConfiguration(iceServers=[RTCIceServer(url) for url in urls])


def check_candidates(sdp: str) -> None:
    """Raise SignalingError unless every ICE candidate in ``sdp`` is one aiortc can safely use.

    aiortc takes a candidate's port as given: port -1 reached the socket and ended in asyncio's
    "Fatal write error" instead of a 400. Hostnames other than a browser's mDNS ``.local`` name
    would make the server resolve names it was handed.
    """
    lines = [line.strip() for line in sdp.splitlines() if line.strip().startswith("a=candidate:")]
    if len(lines) > MAX_CANDIDATES:
        raise SignalingError(f"too many ICE candidates ({len(lines)}; at most {MAX_CANDIDATES})")
    for line in lines:
        try:
            candidate = aioice.Candidate.from_sdp(line[len("a=") :])
        except (ValueError, IndexError) as error:
            raise SignalingError(f"malformed ICE candidate: {error}") from None
        if not 1 <= candidate.port <= 65535:
            raise SignalingError(f"ICE candidate port {candidate.port} out of range 1-65535")
        if not 1 <= candidate.component <= 256 or candidate.type not in CANDIDATE_TYPES:
            raise SignalingError("ICE candidate has a bad component or type")
        if candidate.transport.lower() not in {"udp", "tcp"}:
            raise SignalingError("ICE candidate transport must be udp or tcp")
        try:
            ipaddress.ip_address(candidate.host)
        except ValueError:
            if not candidate.host.endswith(".local") or len(candidate.host) > 64:
                raise SignalingError("ICE candidate address must be an IP address or an mDNS name") from None


def event_message(event: Event) -> dict[str, Any]:
    """The JSON a viewer page receives for an event."""
    if isinstance(event, Caption):
        return {"type": "caption", "text": event.text, "turn": event.turn_id}
    if isinstance(event, ProductShown):
        return {"type": "product", "id": event.product_id}
    if isinstance(event, ChatPosted):
        message = {"type": "chat", "name": event.name, "text": event.text}
        if event.platform:  # platform chat (avatar.sources): the page shows where it was written
            message["platform"] = event.platform
        return message
    return {"type": "notice", "text": event.text}


def _weakly(method: Callable[[str], None]) -> Callable[[str], None]:
    """``method`` (bound), called only while its object is alive; holds it weakly."""
    ref = weakref.WeakMethod(method)

    def call(text: str) -> None:
        alive = ref()
        if alive is not None:
            alive(text)

    return call


class ViewerSession:
    """One browser watching the show."""

    def __init__(
        self,
        show: LiveShow,
        connect_timeout_s: float,
        fanout: FanoutHub | None = None,
        asr: Callable[[], Transcriber] | None = None,
        role: str = "viewer",
        address: str = "",
        chat_limit: RateLimiter | None = None,
    ) -> None:
        if role not in ROLES:
            raise SignalingError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        self.role = role
        self.id = uuid.uuid4().hex[:12]
        self._asr = asr  # the show's shared recogniser, asked for only when a microphone arrives
        self.listener: Listener | None = None
        self.show = show
        self.name = "co-host" if role == "studio" else "viewer"
        self.address = address  # where the offer came from: the key of the per-address chat limit
        self._chat_limit = chat_limit
        self._refused_name: str | None = None
        self.pc = RTCPeerConnection(ice_configuration(show.settings))
        self.subscription = show.broadcaster.subscribe()
        self.channel: RTCDataChannel | None = None
        self.closed = asyncio.Event()
        self.joined = False  # connected at least once (its join and leave are recorded)
        self._events = show.bus.subscribe()
        self._tasks = [
            asyncio.create_task(self._forward_events()),
            asyncio.create_task(self._close_if_not_connected(connect_timeout_s)),
        ]
        # Shared encoders when there is a hub (packets encoded once for everyone); raw frames that
        # aiortc encodes for this viewer alone otherwise.
        self._tracks: list[MediaStreamTrack] = [
            fanout.track(kind, self.subscription)
            if fanout is not None
            else ProgrammeTrack(kind, show.broadcaster, self.subscription)
            for kind in ("audio", "video")
        ]
        for track in self._tracks:
            self.pc.addTrack(track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        """Apply the browser's offer and return our answer (ICE candidates included)."""
        check_candidates(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            bind_fanout_tracks(self.pc)
        except Exception as error:  # aiortc raises many kinds for bad SDP; all mean "bad offer"
            raise SignalingError(f"offer could not be applied: {error or type(error).__name__}") from error
        description = self.pc.localDescription
        return RTCSessionDescription(sdp=description.sdp, type=description.type)

    async def close(self) -> None:
        """Release the connection, the subscription and the event queue; safe to call twice."""
        if self.closed.is_set():
            return
        self.closed.set()
        current = asyncio.current_task()
        # Forget the tasks as well as cancelling them: a cancelled task keeps its CancelledError,
        # whose traceback holds the task's frame and so this session; kept in self._tasks, that is
        # a cycle that only a full garbage collection would free (with the connection behind it).
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if task is not current:
                task.cancel()
        self.show.broadcaster.unsubscribe(self.subscription)
        self.show.bus.unsubscribe(self._events)
        if self.joined:
            self.show.ops.viewer_event(self.id, "leave")
        if self.listener is not None:
            await self.listener.close()
            if self.role == "studio":
                self.show.cohost_done()  # a co-host who leaves mid-sentence does not hold the floor
        with contextlib.suppress(Exception):
            await self.pc.close()
        # aiortc stops a sender's track only if that sender started, i.e. the viewer got as far as
        # connecting. A viewer who left before (a closed tab, failed ICE, a bad offer) stayed
        # attached to the shared encoders for good: the Opus encoder kept its track and queue, and
        # the video encoder went on encoding for nobody. Stopping twice is harmless.
        for track in self._tracks:
            track.stop()
        # Freed by reference counting as soon as the registry forgets us, not at the next full GC.
        release_peer_connection(self.pc)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if self.closed.is_set():
            return  # its receiver stops with the connection; a task made now would never be cancelled
        if track.kind == "audio" and self._asr is not None and self.listener is None:
            self._tasks.append(asyncio.create_task(self._listen(track, self._asr())))
            return
        # A received track that is never read keeps buffering decoded frames: drain it until it ends.
        self._tasks.append(asyncio.create_task(self._drain(track)))

    async def _listen(self, track: MediaStreamTrack, asr: Transcriber) -> None:
        try:
            # The listener calls back through weak references: we hold it, so strong ones would be
            # a cycle (session -> listener -> bound method -> session) outliving the close.
            on_final, on_interim = _weakly(self._on_transcript), _weakly(self._on_speech)
            on_retract = _weakly(self._on_retract)
            # A complete question ends the turn after a short pause (the scene's catalog, read
            # at each question, so a reloaded scene counts at once).
            show = self.show
            endpointing = catalog_endpointing(lambda: show.scene.catalog)
            if self.role == "studio":
                listener = Listener(
                    asr,
                    on_final=on_final,
                    on_interim=on_interim,
                    on_retract=on_retract,
                    on_speech_start=self.show.cohost_speech_started,
                    on_done=self.show.cohost_done,
                    vad=COHOST_VAD,
                    endpointing=endpointing,
                )
            else:  # a viewer's push-to-talk question waits its turn: it never stops the host
                listener = Listener(
                    asr,
                    on_final=on_final,
                    on_interim=on_interim,
                    on_retract=on_retract,
                    endpointing=endpointing,
                )
            self.listener = listener
        except Exception:  # no VAD model: the microphone is ignored, the show goes on
            log.exception("viewer %s: cannot listen to the microphone", self.id)
            await self._drain(track)
            return
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                pcm = mono_pcm(frame)
                if pcm is not None:
                    listener.feed(pcm, frame.sample_rate)
        listener.end()

    def _on_speech(self, text: str) -> None:
        if text:  # what was understood so far, shown greyed until the final replaces it
            self._send({"type": "interim", "text": text})
        else:  # speech started
            self._send({"type": "transcript", "final": False, "text": ""})

    def _on_transcript(self, text: str) -> None:
        self._send({"type": "transcript", "final": True, "text": text})
        if self.role == "studio":
            self.show.cohost_said(self.name, text)
        elif self._address_allows():
            self.show.submit_comment(self.id, self.name, text)

    def _on_retract(self, text: str) -> None:
        # The speaker went on after a pause taken for the end: the first part is not a question.
        self._send({"type": "interim", "text": text})  # greyed again: more is coming
        self.show.retract_spoken("studio" if self.role == "studio" else self.id, text)

    def _address_allows(self) -> bool:
        """One more message from this viewer's address is within the per-address limit; if not,
        the viewer is told so (the same notice as their own limit)."""
        limit = self._chat_limit
        if limit is None or limit.take(self.address or self.id, asyncio.get_running_loop().time()) == 0.0:
            return True
        self._send({"type": "notice", "text": NOTICES[Verdict.RATE_LIMITED]})
        return False

    @staticmethod
    async def _drain(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on("message", self._on_message)

    def _on_message(self, message: object) -> None:
        if not isinstance(message, str) or len(message) > 4096:
            self._send({"type": "notice", "text": "Unsupported message."})
            return
        try:
            data = parse_json(message)
        except ValueError:
            self._send({"type": "notice", "text": "Messages must be JSON."})
            return
        if not isinstance(data, dict) or data.get("type") != "chat" or not isinstance(data.get("text"), str):
            self._send({"type": "notice", "text": 'Send {"type": "chat", "text": "..."}.'})
            return
        name = data.get("name")
        if isinstance(name, str) and name.strip() and name != self._refused_name:
            try:
                self.name = display_name(name, (self.show.scene.persona.name,))
            except NameRefused as why:
                self._refused_name = name  # told once, not on every message
                log.info("viewer %s: name refused: %s", self.id, for_log(name, 80))
                notice = f"That name can't be used: {why}. You appear as {self.name}."
                self._send({"type": "notice", "text": notice})
        if self._address_allows():
            self.show.submit_comment(self.id, self.name, data["text"])

    def _send(self, payload: dict[str, Any]) -> None:
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return
        if channel.bufferedAmount > MAX_CHANNEL_BUFFER_BYTES:
            return
        channel.send(json.dumps(payload, ensure_ascii=False))

    async def _forward_events(self) -> None:
        while True:
            event = await self._events.get()
            if isinstance(event, Notice) and event.viewer_id != self.id:
                continue
            self._send(event_message(event))

    async def _close_if_not_connected(self, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)
        if self.pc.connectionState != "connected":
            log.info("viewer %s did not connect within %.0f s; closing", self.id, timeout_s)
            await self.close()

    async def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            if not self.joined:
                self.joined = True
                self.show.ops.viewer_event(self.id, "join")
            self.show.viewer_joined(self.name)  # greeted when chat is quiet
        if self.pc.connectionState in {"failed", "closed"}:
            await self.close()


class ViewerRegistry:
    """All current viewer sessions."""

    def __init__(
        self,
        show: LiveShow,
        connect_timeout_s: float,
        asr: Callable[[], SharedASR] | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.show = show
        self.connect_timeout_s = connect_timeout_s
        self.max_sessions = max_sessions if max_sessions is not None else show.settings.max_viewers
        self.chat_limit = RateLimiter(CHAT_BURST, CHAT_REFILL_S)
        self._joining = 0  # offers being answered now: they count against the cap too
        self._closed_since_trim = 0
        self._trimming = False
        s = show.settings
        self.fanout = FanoutHub(show.broadcaster, show.clock, s.width, s.height, s.fps) if s.fanout else None
        self.sessions: dict[str, ViewerSession] = {}
        scene = show.scene
        self._make_asr = asr or (
            lambda: show_asr(scene.catalog, model=s.asr_model, engine=s.asr_engine, spoken=scene.language)
        )
        self.asr: SharedASR | None = None  # one recogniser for every microphone, made on first use
        self._watchers: set[asyncio.Task[None]] = set()

    @property
    def open_sessions(self) -> int:
        """Sessions connected or connecting, offers being answered included."""
        return len(self.sessions) + self._joining

    def counts(self) -> dict[str, int]:
        """Sessions by state, for /healthz: a never-connecting offer is "connecting", not a viewer."""
        connected = sum(1 for s in self.sessions.values() if s.pc.connectionState == "connected")
        connecting = self.open_sessions - connected
        return {"connected": connected, "connecting": connecting, "max": self.max_sessions}

    async def join(
        self, sdp: str, kind: str, role: str = "viewer", address: str = ""
    ) -> tuple[ViewerSession, RTCSessionDescription]:
        """Create a session for an offer; nothing is left behind if the offer is bad.

        Raises :class:`RegistryFull` when :attr:`max_sessions` are open or connecting (a session
        that never connects holds its place until the connect timeout closes it).
        """
        if self.open_sessions >= self.max_sessions:
            raise RegistryFull(f"{self.max_sessions} viewers are watching or connecting")
        self._joining += 1
        try:
            session = ViewerSession(
                self.show,
                self.connect_timeout_s,
                self.fanout,
                asr=self.shared_asr,
                role=role,
                address=address,
                chat_limit=self.chat_limit,
            )
            try:
                answer = await session.answer(sdp, kind)
            except BaseException:  # a bad offer, or the client went away while it was applied
                await session.close()
                raise
        finally:
            self._joining -= 1
        self.sessions[session.id] = session
        watcher = asyncio.create_task(self._forget_when_closed(session))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return session, answer

    async def _forget_when_closed(self, session: ViewerSession) -> None:
        await session.closed.wait()
        self.sessions.pop(session.id, None)
        self._closed_since_trim += 1
        # One trim at a time: a burst of closes would otherwise start overlapping trims, each
        # keeping one more idle thread in the loop's executor for the rest of the show.
        if self._closed_since_trim >= TRIM_AFTER_CLOSED and not self._trimming:
            self._closed_since_trim = 0
            self._trimming = True
            try:
                await asyncio.get_running_loop().run_in_executor(None, return_free_memory)
            finally:
                self._trimming = False

    async def close_all(self) -> None:
        """Close every session (server shutdown)."""
        await asyncio.gather(*(s.close() for s in list(self.sessions.values())))
        if self.fanout is not None:
            await self.fanout.close()
        if self.asr is not None:
            self.asr.close()

    def shared_asr(self) -> SharedASR:
        """The show's recogniser (its model loads on the first utterance)."""
        if self.asr is None:
            self.asr = self._make_asr()
        return self.asr
