"""Ten minutes of the real show in real time (tests/soak_live.py): churning WebRTC viewers, hostile
chat, and a killed TTS worker, a hung answerer and a corrupt products.yaml in turn. The picture never
freezes, every fault is recovered, and threads, open files and memory do not creep; stalls and
recovery times are measured into report.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import DEMO_SCENE
from tests.soak_live import soak_live

WARMUP_MINUTES = 3


@pytest.mark.slow
@pytest.mark.timeout(1500)
async def test_ten_minutes_of_the_real_show_in_real_time(tmp_path: Path) -> None:
    report = await soak_live(DEMO_SCENE, tmp_path, 10.0, fault_every_s=90.0)
    summary = report.as_dict(WARMUP_MINUTES)
    (tmp_path / "report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary))  # shown when the test fails
    assert len(report.minutes) >= 9, summary
    assert (tmp_path / "soak.csv").is_file() and (tmp_path / "soak.png").is_file()
    assert {f["kind"] for f in report.faults} == {"tts", "answerer", "products"}, summary
    # Recovered at all (within the harness's 30 s window); how fast is measured and reported
    # (report.json, README), not asserted: this machine's load decides the seconds.
    assert all(fault["recovered_s"] is not None for fault in report.faults), summary
    assert all(f.get("reload_status", 400) == 400 for f in report.faults), "a corrupt file is refused"
    # Stalls over a second are counted and reported; the picture must never freeze (a gap of 5 s)
    # after the show's first minute (models loading, the first viewers).
    frozen = [gap for gap, at in zip(report.stalls_over_1s, report.stalls_at_s, strict=True) if at > 60.0]
    assert all(gap < 5.0 for gap in frozen), summary
    assert report.server_errors == 0 and report.viewers_failed == 0, summary
    assert report.chats_accepted > 0 and report.chats_sent > report.chats_accepted, "hostile chat refused"
    steady = [m for m in report.minutes if m.minute >= WARMUP_MINUTES]
    assert max(m.threads for m in steady) - min(m.threads for m in steady) <= 5, summary
    # Open files move with the viewers connected at the sample (a few sockets each); they must not climb.
    assert steady[-1].open_files - steady[0].open_files <= 10, summary
    assert steady[-1].rss_mb - steady[0].rss_mb <= 50, summary
    assert steady[-1].frames > steady[0].frames and all(m.viewers <= 10 for m in steady)
