"""Viewers who vanish without a goodbye leave nothing behind (issue 20: connected-then-dropped).

Rounds of real WebRTC viewers (the load client's ``LoadViewer`` in a child process, as
``scripts/drop_churn.py viewers`` runs them: ICE, DTLS, SRTP, RTP, RTCP, a chat data channel, one
decoding) watch a show with fake voices until video arrives; then the child is killed (``SIGKILL``:
no DTLS close, no SCTP ABORT, no RTCP BYE; its sockets are gone) or frozen (``SIGSTOP``: the network
went silent). The server learns of it only from ICE consent freshness (RFC 7675), whose timers are
shortened here from 5 s x 6 checks to 0.5 s x 6 so a round takes seconds, not half a minute.

The test asserts what a 24/7 show needs: every dropped session is closed and freed by reference
counting (the cyclic collector is off during the churn), nothing stays attached to the shared
encoders, and threads, open files and RSS come back to where they stood after the first round.
``scripts/drop_churn.py`` is the full measurement (1,000 dropped viewers against ``avatar live``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import signal
import sys
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioice.ice
import psutil
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCPeerConnection

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.fanout import FanoutAudioTrack, FanoutVideoTrack
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.web.app import VIEWERS_KEY, create_app
from avatar.web.ice import use_loopback_only
from avatar.web.viewers import ViewerRegistry, ViewerSession
from tests.fakes import DEMO_SCENE, REPO, FakeTTSEngine, fake_speaker, wait_until

VIEWERS_PER_ROUND = 8
CONSENT_INTERVAL_S = 0.5  # aioice: 5 s between consent checks; a dropped viewer is given up after 6
TRACKED = (RTCPeerConnection, ViewerSession, FanoutVideoTrack, FanoutAudioTrack)
MAX_RSS_GROWTH_MB = 15.0  # over the 16 viewers after the reference rounds (measured: +1 to +2 MB)


@pytest.fixture
def quick_consent(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback ICE, and consent checks ten times as often (dropped viewers found in ~3 s)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", CONSENT_INTERVAL_S)
    use_loopback_only()
    yield


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[TestClient[Any, Any]]:
    """The web app around a show with fake voices (host paused), on a free port of 127.0.0.1."""
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.002)
    # The connect timeout would also close a session that failed before it fired: set it out of
    # reach, so only the server's reaction to the failed connection is tested.
    settings = Settings(scene=DEMO_SCENE, offers_per_minute=100_000, connect_timeout_s=600.0)
    show = LiveShow(load_scene(DEMO_SCENE), settings, speaker=fake_speaker(Playout(), engine))
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    # New sentences fill the render caches for minutes after a start (see test_session_memory):
    # the host is paused, the programme still renders and streams every frame.
    show.ops.control.set_paused(True)
    try:
        yield client
    finally:
        await client.close()


async def a_round(url: str, started: list[asyncio.subprocess.Process]) -> asyncio.subprocess.Process:
    """A child process whose viewers are connected and receiving video (it waits to be killed)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "scripts" / "drop_churn.py"), "viewers", url,
        "--count", str(VIEWERS_PER_ROUND), "--decode", "1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    started.append(child)  # killed at the end whatever happens (a frozen one would stay)
    assert child.stdout is not None
    result = json.loads(await child.stdout.readline())
    assert result["receiving"] == VIEWERS_PER_ROUND, result
    return child


def session_refs(registry: ViewerRegistry) -> list[weakref.ref[Any]]:
    refs: list[weakref.ref[Any]] = []
    for session in registry.sessions.values():
        tracks = [t.sender.track for t in session.pc.getTransceivers()]
        refs += [weakref.ref(x) for x in (session, session.pc, *tracks) if x is not None]
    return refs


def counts(process: psutil.Process) -> tuple[int, int, float]:
    """Threads, open files and RSS (after glibc hands back its free pages, where it can)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    return process.num_threads(), process.num_fds(), process.memory_info().rss / 2**20


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_viewers_killed_or_frozen_mid_stream_are_closed_and_leave_nothing(quick_consent: None) -> None:
    started: list[asyncio.subprocess.Process] = []
    try:
        await churn_dropped_viewers(started)
    finally:
        for child in started:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()


async def churn_dropped_viewers(started: list[asyncio.subprocess.Process]) -> None:
    async with serving() as client:
        registry = client.app[VIEWERS_KEY]
        hub = registry.fanout
        assert hub is not None
        url = str(client.make_url("/")).rstrip("/")
        process = psutil.Process()

        async def drop(children: list[asyncio.subprocess.Process], how: list[signal.Signals]) -> None:
            refs = session_refs(registry)
            assert len(refs) >= 3 * VIEWERS_PER_ROUND * len(children)
            assert hub.audio_encoder().viewers == VIEWERS_PER_ROUND * len(children)
            for child, sig in zip(children, how, strict=True):
                child.send_signal(sig)  # gone without a word
            await wait_until(lambda: not registry.sessions, 30, "the server to give up on them")
            assert (await (await client.get("/healthz")).json())["sessions"]["connected"] == 0
            await wait_until(lambda: all(r() is None for r in refs), 5, "their sessions freed")
            for child in children:
                with contextlib.suppress(ProcessLookupError):  # the killed one is gone already
                    child.kill()
                await child.wait()
            assert hub.audio_encoder().viewers == 0, "the Opus encoder still delivers to dropped viewers"
            assert hub.stats()["video_encoders"] == {}, "a video encoder still encodes for nobody"
            assert registry.show.broadcaster.viewers == 0

        async def two_rounds() -> None:  # one round killed, one frozen, at the same time
            children = list(await asyncio.gather(a_round(url, started), a_round(url, started)))
            await drop(children, [signal.SIGKILL, signal.SIGSTOP])

        await two_rounds()  # first encoders, lazy imports, this test's own threads: the reference
        threads, files, rss = counts(process)
        gc.collect()
        gc.disable()  # what a dropped viewer held must be freed by reference counting
        try:
            await two_rounds()
            left = Counter(type(o).__name__ for o in gc.get_objects() if issubclass(type(o), TRACKED))
            assert not left, f"still alive after the viewers dropped: {left}"
        finally:
            gc.enable()
        after_threads, after_files, after_rss = counts(process)
        print(f"\nthreads {threads} -> {after_threads}, files {files} -> {after_files}, "
              f"RSS {rss:.0f} -> {after_rss:.0f} MB")  # fmt: skip
        assert abs(after_threads - threads) <= 2, (threads, after_threads)
        assert abs(after_files - files) <= 2, (files, after_files)
        grown = after_rss - rss
        assert grown < MAX_RSS_GROWTH_MB, f"RSS +{grown:.0f} MB over {2 * VIEWERS_PER_ROUND} dropped viewers"
