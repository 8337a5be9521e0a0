"""Accelerated soak: ten minutes of show time on a driven clock with viewers joining and leaving
every two seconds and ten chat messages a second (abuse, spam, broken JSON included).

Takes about 1.5-3 minutes of real time on the 2-core development machine (rendering every frame is
most of it). Memory and every queue must stay bounded; closed viewers must be garbage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar.brain.scene import load_scene
from avatar.brain.triage import QUEUE_CAPACITY
from tests.fakes import DEMO_SCENE
from tests.soak import soak

SHOW_MINUTES = 10


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_ten_show_minutes_of_churn_and_chat_stay_bounded(tmp_path: Path) -> None:
    report = await soak(load_scene(DEMO_SCENE), tmp_path / "soak.sqlite3", minutes=SHOW_MINUTES)
    samples = report.samples
    print("\nsoak:", {k: v for k, v in report.as_dict().items() if k != "samples"})
    assert len(samples) == SHOW_MINUTES and report.viewers_joined >= SHOW_MINUTES * 25
    for sample in samples:
        assert sample.comments_waiting <= QUEUE_CAPACITY
        assert sample.viewers <= 13, "a viewer's subscription ends with its session"
        assert sample.bus_subscribers <= 13
        assert sample.sessions_alive <= 2, "closed sessions are garbage, nothing keeps them"
        assert sample.db_pending < 1000
    # At pace: every show second produced 50 chunks and 25 frames.
    last = samples[-1]
    assert abs(last.ticks - SHOW_MINUTES * 60 * 50) <= 60
    assert last.frames >= SHOW_MINUTES * 60 * 25 - 60
    # Flat after the warm-up (render caches fill in the first minutes): Python objects and RSS.
    warm = samples[2]
    assert last.objects <= warm.objects * 1.03 + 2000, [s.objects for s in samples]
    assert last.threads <= warm.threads + 2, [s.threads for s in samples]
    assert last.rss_mb - warm.rss_mb <= 25.0, [round(s.rss_mb, 1) for s in samples]
