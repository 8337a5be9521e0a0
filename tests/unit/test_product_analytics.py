"""Per-product analytics from a recorded sequence of events: time on air, mentions, questions (the
product on screen gets the questions about "this"), clicks and click-through, viewers while on air,
comments per minute by source; the same numbers from the SQLite store and in the CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from avatar.ops.products import CommentRow, comments_per_minute, is_question, product_report, report_csv
from avatar.ops.store import Store
from tests.unit.test_ops_store import Wall

SINCE, UNTIL = 1000.0, 1600.0
ON_AIR = [(900.0, "lumen-lamp"), (1200.0, "summit-bottle"), (1500.0, "")]
"""The lamp from before the window to 1200 (200 s in it), the bottle to 1500 (300 s), then off air."""
SESSIONS = [
    (950.0, "", "start"),
    (980.0, "a", "join"),  # watching when the window opens
    (1100.0, "b", "join"),
    (1140.0, "b", "leave"),
    (1250.0, "c", "join"),
    (1300.0, "a", "leave"),
    (1550.0, "d", "join"),  # off air: no product's audience
]
COMMENTS = [
    CommentRow(990.0, "a", "early?", "lumen-lamp", "lumen-lamp", "other"),  # before the window
    CommentRow(1010.0, "a", "How much is the lamp?", "lumen-lamp", "lumen-lamp", "price"),
    CommentRow(
        1020.0, "twitch:zed", "这个多少钱？", None, "lumen-lamp", "price"
    ),  # "this": the lamp on screen
    CommentRow(1030.0, "b", "hello everyone", None, "lumen-lamp", "greeting"),
    CommentRow(
        1250.0, "c", "is the lamp still in stock", "lumen-lamp", "summit-bottle", "stock"
    ),  # named beats on screen
    # No on_air recorded with it (an older row): the on_air changes say the bottle was on screen.
    CommentRow(1260.0, "youtube:q", "does it keep ice cold?", None, None, "other"),
    CommentRow(1270.0, "c", "are you real?", None, "summit-bottle", "chitchat"),
    CommentRow(1550.0, "d", "what is this?", None, "", "product_info"),  # nothing on screen, nothing named
]
CLICKS = [(1100.0, "lumen-lamp"), (1400.0, "summit-bottle"), (1560.0, "lumen-lamp"), (1700.0, "lumen-lamp")]


def report() -> dict[str, dict[str, object]]:
    rows = product_report(ON_AIR, COMMENTS, CLICKS, SESSIONS, SINCE, UNTIL)
    return {str(row["product"]): row for row in rows}


def test_the_numbers_per_product_count_what_happened() -> None:
    got = report()
    assert list(got) == ["summit-bottle", "lumen-lamp"], "most time on air first; nothing for the off-air gap"
    lamp, bottle = got["lumen-lamp"], got["summit-bottle"]
    assert lamp["on_air_s"] == 200.0 and bottle["on_air_s"] == 300.0
    assert (lamp["mentions"], lamp["questions"], lamp["comments"]) == (2, 3, 4)
    assert (bottle["mentions"], bottle["questions"], bottle["comments"]) == (0, 1, 2)
    assert lamp["clicks"] == 2 and lamp["clicks_per_min"] == pytest.approx(0.6)
    assert bottle["clicks"] == 1 and bottle["clicks_per_min"] == pytest.approx(0.2)
    # Viewers while on air: a all along the lamp and b for 40 s; a for 100 s and c for 250 s of the bottle.
    assert (lamp["peak_viewers"], lamp["unique_viewers"]) == (2, 2)
    assert lamp["avg_viewers"] == pytest.approx(240 / 200, abs=1e-3)
    assert (bottle["peak_viewers"], bottle["unique_viewers"]) == (2, 2)
    assert bottle["avg_viewers"] == pytest.approx(350 / 300, abs=1e-3)
    assert lamp["click_through"] == pytest.approx(1.0) and bottle["click_through"] == pytest.approx(0.5)
    assert lamp["comments_per_min"] == {"page": pytest.approx(0.9), "twitch": pytest.approx(0.3)}
    assert bottle["comments_per_min"] == {"page": pytest.approx(0.2), "youtube": pytest.approx(0.2)}


def test_a_question_about_this_counts_for_the_product_on_screen() -> None:
    asked = [CommentRow(1210.0, "v", "这个多少钱？", None, None, "price")]
    rows = product_report(ON_AIR, asked, [], [], SINCE, UNTIL)
    counted = [(r["product"], r["questions"], r["mentions"]) for r in rows if r["questions"]]
    assert counted == [("summit-bottle", 1, 0)]


def test_what_counts_as_a_question() -> None:
    assert is_question("price", "how much")
    assert is_question("other", "Does it fold?") and is_question(None, "能折叠吗")
    assert not is_question("chitchat", "are you real?") and not is_question("greeting", "hi")
    assert not is_question("other", "nice colour")


def test_comments_per_minute_by_source_per_bucket() -> None:
    rows = [(1010.0, "a"), (1020.0, "twitch:x"), (1100.0, "b"), (1330.0, "a")]
    series = comments_per_minute(rows, SINCE, 1400.0, 300.0)
    # Buckets start on multiples of 300 s: [900, 1200) is cut to [1000, 1200) by the window.
    assert series == [
        {"t": 900.0, "source": "page", "per_min": pytest.approx(0.6)},
        {"t": 900.0, "source": "twitch", "per_min": pytest.approx(0.3)},
        {"t": 1200.0, "source": "page", "per_min": pytest.approx(0.3)},
    ]


def test_the_csv_has_a_row_per_product_and_a_rate_column_per_source() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(list(report().values())))))
    lamp = next(row for row in rows if row["product"] == "lumen-lamp")
    assert float(lamp["on_air_s"]) == 200.0 and lamp["questions"] == "3" and lamp["clicks"] == "2"
    assert float(lamp["comments_per_min_twitch"]) == pytest.approx(0.3)
    assert float(lamp["comments_per_min_youtube"]) == 0.0


async def test_the_store_records_and_reports_the_same_numbers(tmp_path: Path) -> None:
    wall = Wall(0.0)
    store = Store(tmp_path / "show.sqlite3", wall=wall)
    events: list[tuple[float, str, tuple[object, ...]]] = [(ts, "on_air", (p,)) for ts, p in ON_AIR]
    events += [(ts, "viewer_event", (v, e)) for ts, v, e in SESSIONS]
    events += [(ts, "click", (p, None, "card")) for ts, p in CLICKS]
    events += [(c.ts, "question", (c,)) for c in COMMENTS]
    for index, (ts, kind, args) in enumerate(sorted(events, key=lambda e: e[0])):
        wall.now = ts
        if kind == "question":
            (c,) = args
            assert isinstance(c, CommentRow)
            store.question(f"q{index}", c.viewer, "n", c.text, c.product, intent=c.intent, on_air=c.on_air)
        else:
            getattr(store, kind)(*args)
    wall.now = UNTIL
    products = await store.products(since_s=UNTIL - SINCE)
    assert {row["product"]: row for row in products} == report()
    analytics = await store.analytics(since_s=UNTIL - SINCE, bucket_s=300)
    assert analytics["products"] == products
    per_product = {row["product"]: row["count"] for row in analytics["questions_per_product"]}
    assert per_product["summit-bottle"] == 2, "comments naming nothing count for the product on screen"
    store.close()


async def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE questions (ts REAL NOT NULL, qkey TEXT PRIMARY KEY, viewer TEXT, name TEXT,"
        " text TEXT NOT NULL, product TEXT, status TEXT NOT NULL DEFAULT 'waiting')"
    )
    db.execute("INSERT INTO questions (ts, qkey, text) VALUES (1, 'old', 'kept')")
    db.commit()
    db.close()
    store = Store(path, wall=Wall(10.0))
    store.question("new", "v", "n", "how much?", None, intent="price", on_air="lumen-lamp")
    text = await store.export_csv("questions", since_s=100)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["qkey"], r["on_air"]) for r in rows] == [("old", ""), ("new", "lumen-lamp")]
    store.close()
