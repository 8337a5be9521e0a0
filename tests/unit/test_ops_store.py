"""The SQLite store: records land in WAL mode off the event loop, analytics and CSV read them back,
retention deletes old rows, and show state round-trips."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from avatar.ops.store import MAX_PENDING_WRITES, Store


class Wall:
    """A settable wall clock for record times."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def store(tmp_path: Path, wall: Wall) -> Store:
    return Store(tmp_path / "db" / "show.sqlite3", retention_days=2, wall=wall)


async def test_database_uses_wal(store: Store) -> None:
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    store.close()


async def test_analytics_counts_questions_answers_and_blocks(store: Store, wall: Wall) -> None:
    store.question("q1", "v1", "Ann", "lamp price?", "lumen-lamp")
    store.question("q2", "v2", "Bo", "lamp stock?", "lumen-lamp")
    store.question("q3", "v3", "Cy", "bottle?", "trail-bottle")
    store.question("q4", "v4", "Di", "dup", "trail-bottle")
    store.question_status("q4", "merged")
    store.answer("q1", "It is $39.99.", "price", "lumen-lamp", 0.4)
    store.answer("q3", "In stock.", "stock", "trail-bottle", 0.8)
    store.compliance("script", "lumen-lamp", "the best lamp", False, [{"rule": "absolute", "fix": "rewrite"}])
    store.compliance("answer", "lumen-lamp", "cures", True, [{"rule": "medical", "fix": "block"}])
    store.viewers(3)
    store.transcript(1, "lumen-lamp", "Hello")
    store.operator_action("pause")
    wall.now += 600  # q2 is now unanswered for ten minutes
    store.viewers(5)
    data = await store.analytics(since_s=86_400, bucket_s=300)
    assert data["totals"] == {
        "questions": 4,
        "answers": 2,
        "compliance_blocks": 1,
        "compliance_interventions": 2,
        "unanswered": 1,
    }
    assert {"product": "lumen-lamp", "count": 2} in data["questions_per_product"]
    assert [q["text"] for q in data["unanswered"]] == ["lamp stock?"], "merged questions are not unanswered"
    assert data["answer_latency"]["p50_s"] in {0.4, 0.8} and data["answer_latency"]["count"] == 2
    assert [v["max"] for v in data["viewers_series"]] == [3, 5]
    store.close()


async def test_csv_export_and_unknown_table(store: Store) -> None:
    store.question("q1", "v1", 'Ann, "the" viewer', "price,\nplease?", None)
    text = await store.export_csv("questions")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ts", "qkey", "viewer", "name", "text", "product", "status", "intent", "on_air"]
    assert rows[1][3] == 'Ann, "the" viewer' and rows[1][4] == "price,\nplease?"
    with pytest.raises(ValueError, match="unknown table"):
        await store.export_csv("state; DROP TABLE questions")
    store.close()


async def test_retention_deletes_old_rows_only(store: Store, wall: Wall) -> None:
    store.transcript(1, None, "old")
    store.question("old", "v", "n", "old?", None)
    wall.now += 3 * 86_400
    store.transcript(2, None, "new")
    assert await store.prune() == 2
    assert await store.count("transcripts") == 1 and await store.count("questions") == 0
    store.close()


async def test_state_round_trips_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = Store(path)
    first.save_state("show", {"product_id": "lumen-lamp", "position": [1, 2]})
    first.close()
    second = Store(path)
    assert second.load_state_now("show") == {"product_id": "lumen-lamp", "position": [1, 2]}
    assert second.load_state_now("other") is None
    second.close()


async def test_a_full_backlog_drops_records_instead_of_growing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_pending", MAX_PENDING_WRITES)
    store.transcript(1, None, "dropped")
    assert store.dropped_writes == 1
    monkeypatch.setattr(store, "_pending", 0)
    store.transcript(2, None, "kept")
    await store.flush()
    assert await store.count("transcripts") == 1
    store.close()
