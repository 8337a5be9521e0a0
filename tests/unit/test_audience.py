"""Viewers per interval from joins and leaves: five viewers who watch for 40 seconds between two
one-minute samples are counted, not missed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.audience import audience_series
from avatar.ops.store import Store
from avatar.web.app import VIEWERS_KEY, create_app
from avatar.web.probe import ProbeViewer
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until
from tests.unit.test_web_app import loopback_ice  # noqa: F401  (fixture)


def test_a_short_visit_between_samples_is_counted() -> None:
    events = [(10.0 + i, f"v{i}", "join") for i in range(5)] + [
        (50.0 + i, f"v{i}", "leave") for i in range(5)
    ]
    (minute,) = audience_series(events, since=0.0, until=60.0, bucket_s=60.0)
    assert minute["max"] == 5 and minute["unique"] == 5
    assert abs(minute["avg"] - 5 * 40 / 60) < 1e-3


def test_viewers_span_buckets_and_a_start_closes_stale_sessions() -> None:
    events = [
        (-30.0, "old", "join"),  # joined before the window: present when it opens
        (20.0, "a", "join"),
        (70.0, "a", "leave"),
        (90.0, "", "start"),  # the show restarted: "old" never left, but is gone now
        (100.0, "b", "join"),
    ]
    first, second = audience_series(events, since=0.0, until=120.0, bucket_s=60.0)
    assert (first["t"], first["max"], first["unique"]) == (0.0, 2, 2)
    assert abs(first["avg"] - (60 + 40) / 60) < 1e-3
    assert (second["t"], second["max"], second["unique"]) == (60.0, 2, 3)
    # old: 60-90 (30 s); a: 60-70 (10 s); b: 100-120 (20 s)
    assert abs(second["avg"] - (30 + 10 + 20) / 60) < 1e-3


async def test_the_store_reports_joins_and_leaves_per_interval(tmp_path: Path) -> None:
    clock = [1_000_000.0]
    store = Store(tmp_path / "show.sqlite3", wall=lambda: clock[0])
    try:
        store.viewer_event("", "start")
        store.viewers(0)  # the minute sample sees nobody
        for i in range(5):
            clock[0] += 1
            store.viewer_event(f"v{i}", "join")
        clock[0] += 40
        for i in range(5):
            store.viewer_event(f"v{i}", "leave")
        clock[0] += 10
        store.viewers(0)  # nor does the next one
        await store.flush()
        analytics = await store.analytics(since_s=3600, bucket_s=60)
        assert analytics["unique_viewers"] == 5
        assert max(item["max"] for item in analytics["viewers_series"]) == 5
        assert sum(item["unique"] for item in analytics["viewers_series"]) >= 5
    finally:
        store.close()


@pytest.mark.usefixtures("loopback_ice")
async def test_a_real_viewer_connection_records_its_join_and_leave(tmp_path: Path) -> None:
    store = Store(tmp_path / "show.sqlite3")
    show = LiveShow(
        load_scene(DEMO_SCENE),
        Settings(scene=DEMO_SCENE),
        speaker=fake_speaker(Playout(), FakeTTSEngine(delay_s=0.002)),
        store=store,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        viewer = ProbeViewer(str(client.make_url("/")).rstrip("/"))
        await asyncio.wait_for(viewer.connect(), 10)
        await wait_until(lambda: viewer.stats.video_frames > 5, 15, "video")
        await viewer.close()
        registry = client.app[VIEWERS_KEY]
        await wait_until(lambda: not registry.sessions, 15, "the session to close")
        await store.flush()
        exported = await store.export_csv("viewer_sessions")
        events = [line.split(",")[2] for line in exported.strip().splitlines()[1:]]
        assert events == ["start", "join", "leave"]
        assert (await store.analytics())["unique_viewers"] == 1
    finally:
        await client.close()
