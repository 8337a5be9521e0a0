"""Persistence in SQLite: transcripts, questions, answers, compliance interventions, operator actions,
viewer counts, Buy clicks, the product on screen, and the show state a restart resumes from.

One connection on one writer thread (stdlib ``sqlite3``, WAL journal): the event loop never touches
the database. Writes are fire-and-forget with a bounded backlog (a stuck disk drops records and
counts them, it never grows memory or stalls the show); reads are awaited. Rows older than the
retention period are deleted by :meth:`Store.prune`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from avatar.hygiene import csv_cell
from avatar.ops.audience import audience_series
from avatar.ops.products import CommentRow, comments_per_minute, product_report

log = logging.getLogger(__name__)

R = TypeVar("R")
MAX_PENDING_WRITES: Final = 10_000
SECONDS_PER_DAY: Final = 86_400.0

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS transcripts (ts REAL NOT NULL, turn INTEGER, product TEXT, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    ts REAL NOT NULL, qkey TEXT PRIMARY KEY, viewer TEXT, name TEXT, text TEXT NOT NULL,
    product TEXT, status TEXT NOT NULL DEFAULT 'waiting');
CREATE TABLE IF NOT EXISTS answers (
    ts REAL NOT NULL, qkey TEXT, text TEXT NOT NULL, intent TEXT, product TEXT, latency_s REAL);
CREATE TABLE IF NOT EXISTS compliance (
    ts REAL NOT NULL, source TEXT, product TEXT, text TEXT, blocked INTEGER NOT NULL, actions TEXT);
CREATE TABLE IF NOT EXISTS operator_actions (ts REAL NOT NULL, action TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS viewers (ts REAL NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS viewer_sessions (ts REAL NOT NULL, viewer TEXT NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS viewer_sessions_ts ON viewer_sessions (ts);
CREATE TABLE IF NOT EXISTS clicks (ts REAL NOT NULL, product TEXT NOT NULL, sku TEXT, place TEXT);
CREATE INDEX IF NOT EXISTS clicks_ts ON clicks (ts);
CREATE TABLE IF NOT EXISTS on_air (ts REAL NOT NULL, product TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS on_air_ts ON on_air (ts);
CREATE INDEX IF NOT EXISTS transcripts_ts ON transcripts (ts);
CREATE INDEX IF NOT EXISTS questions_ts ON questions (ts);
CREATE INDEX IF NOT EXISTS answers_qkey ON answers (qkey);
CREATE INDEX IF NOT EXISTS compliance_ts ON compliance (ts);
CREATE INDEX IF NOT EXISTS operator_actions_ts ON operator_actions (ts);
CREATE INDEX IF NOT EXISTS viewers_ts ON viewers (ts);
"""
# Tables an operator can export; each has a ``ts`` column (wall-clock seconds).
TABLES: Final = (
    "transcripts",
    "questions",
    "answers",
    "compliance",
    "operator_actions",
    "viewers",
    "viewer_sessions",
    "clicks",
    "on_air",
)
ADDED_COLUMNS: Final = {"questions": (("intent", "TEXT"), ("on_air", "TEXT"))}
"""Columns added since a table was first created: a database from an older version gets them on open."""
UNANSWERED_AFTER_S: Final = 120.0  # a question still without an answer after this is unanswered


class Store:
    """The show's database on its own thread."""

    def __init__(
        self, path: Path, *, retention_days: float = 30.0, wall: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.retention_days = retention_days
        self.wall = wall  # wall-clock seconds for record times (injected in tests)
        self.dropped_writes = 0
        self.failed_writes = 0
        self._pending = 0
        self._lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None
        self._executor.submit(self._open).result()  # fail at start, not on the first write

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; one statement per write
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        self._db = db

    # -- writes (fire and forget) -----------------------------------------------------------------
    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            if self._pending >= MAX_PENDING_WRITES:
                self.dropped_writes += 1
                return
            self._pending += 1
        try:
            self._executor.submit(self._run_write, sql, params)
        except RuntimeError:  # closed
            with self._lock:
                self._pending -= 1
            self.dropped_writes += 1

    def _run_write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            assert self._db is not None
            self._db.execute(sql, params)
        except sqlite3.Error:
            self.failed_writes += 1
            log.exception("database write failed: %s", sql.split("(")[0])
        finally:
            with self._lock:
                self._pending -= 1

    @property
    def pending_writes(self) -> int:
        """Writes queued for the database thread."""
        return self._pending

    def transcript(self, turn: int, product: str | None, text: str) -> None:
        """The host said ``text``."""
        self._write("INSERT INTO transcripts VALUES (?,?,?,?)", (self.wall(), turn, product, text))

    def transcript_cut(self, turn: int, text: str, heard: str) -> None:
        """The host's sentence ``text`` of ``turn`` was cut: keep only ``heard`` (nothing: the row goes)."""
        target = "(SELECT max(rowid) FROM transcripts WHERE turn=? AND text=?)"
        if heard:
            self._write(f"UPDATE transcripts SET text=? WHERE rowid={target}", (heard, turn, text))
        else:
            self._write(f"DELETE FROM transcripts WHERE rowid={target}", (turn, text))

    def question(
        self,
        qkey: str,
        viewer: str,
        name: str,
        text: str,
        product: str | None,
        *,
        intent: str | None = None,
        on_air: str | None = None,
    ) -> None:
        """A viewer's comment was accepted (``product``: the one it names; ``on_air``: the one on
        screen when it came, which a question about "this" is about)."""
        self._write(
            "INSERT OR IGNORE INTO questions (ts, qkey, viewer, name, text, product, intent, on_air)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (self.wall(), qkey, viewer, name, text, product, intent, on_air),
        )

    def on_air(self, product: str) -> None:
        """The product on screen changed to ``product`` (``""``: none, the show stopped)."""
        self._write("INSERT INTO on_air VALUES (?,?)", (self.wall(), product))

    def question_status(self, qkey: str, status: str) -> None:
        """answered | skipped | pinned."""
        self._write("UPDATE questions SET status=? WHERE qkey=?", (status, qkey))

    def answer(
        self, qkey: str | None, text: str, intent: str, product: str | None, latency_s: float | None
    ) -> None:
        """The host answered a question; ``latency_s``: comment to first audio."""
        self._write(
            "INSERT INTO answers VALUES (?,?,?,?,?,?)", (self.wall(), qkey, text, intent, product, latency_s)
        )
        if qkey:
            self.question_status(qkey, "answered")

    def compliance(
        self, source: str, product: str | None, text: str, blocked: bool, actions: list[dict[str, str]]
    ) -> None:
        """The compliance checker rewrote or blocked a line."""
        self._write(
            "INSERT INTO compliance VALUES (?,?,?,?,?,?)",
            (self.wall(), source, product, text, int(blocked), json.dumps(actions, ensure_ascii=False)),
        )

    def operator_action(self, action: str, detail: str = "") -> None:
        """An operator did something in the console."""
        self._write("INSERT INTO operator_actions VALUES (?,?,?)", (self.wall(), action, detail))

    def click(self, product: str, sku: str | None, place: str) -> None:
        """A viewer followed a product's buy link (``place``: the page's list, card, ...)."""
        self._write("INSERT INTO clicks VALUES (?,?,?,?)", (self.wall(), product, sku, place))

    def viewer_event(self, viewer: str, event: str) -> None:
        """A viewer's page connected (``join``) or went (``leave``); ``start``: the show started."""
        self._write("INSERT INTO viewer_sessions VALUES (?,?,?)", (self.wall(), viewer, event))

    def viewers(self, count: int) -> None:
        """A sample of the viewer count."""
        self._write("INSERT INTO viewers VALUES (?,?)", (self.wall(), count))

    def save_state(self, key: str, value: dict[str, Any]) -> None:
        """Remember ``value`` under ``key`` (replacing it)."""
        self._write("INSERT OR REPLACE INTO state VALUES (?,?)", (key, json.dumps(value, ensure_ascii=False)))

    # -- reads (awaited, on the database thread) --------------------------------------------------
    async def _read(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        def run() -> R:
            assert self._db is not None
            return fn(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    def load_state_now(self, key: str) -> dict[str, Any] | None:
        """The saved value of ``key`` (blocking: for start-up, before the loop serves anyone)."""

        def run() -> dict[str, Any] | None:
            assert self._db is not None
            row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
            if row is None:
                return None
            try:
                value = json.loads(row[0])
            except json.JSONDecodeError:
                log.warning("saved state %r is not JSON; starting fresh", key)
                return None
            return value if isinstance(value, dict) else None

        return self._executor.submit(run).result(timeout=10)

    async def analytics(
        self, since_s: float = 7 * SECONDS_PER_DAY, bucket_s: float = 3600.0
    ) -> dict[str, Any]:
        """Aggregates for the analytics page over the last ``since_s`` seconds."""
        now = self.wall()
        since = now - since_s

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            def rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in db.execute(sql, params).fetchall()]

            latencies = [
                r[0]
                for r in rows(
                    "SELECT latency_s FROM answers WHERE ts >= ? AND latency_s IS NOT NULL"
                    " ORDER BY latency_s",
                    since,
                )
            ]
            latency_series = rows(
                "SELECT CAST(ts / ? AS INTEGER) * ?, avg(latency_s), count(*) FROM answers"
                " WHERE ts >= ? AND latency_s IS NOT NULL GROUP BY 1 ORDER BY 1",
                bucket_s,
                bucket_s,
                since,
            )
            unanswered = rows(
                "SELECT q.ts, q.name, q.text, coalesce(q.product, ''), q.status FROM questions q"
                " WHERE q.ts >= ? AND q.ts < ? AND q.status NOT IN ('answered', 'merged')"
                " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.qkey = q.qkey)"
                " ORDER BY q.ts DESC LIMIT 200",
                since,
                now - UNANSWERED_AFTER_S,
            )
            blocks = rows(
                "SELECT CAST(ts / ? AS INTEGER) * ?, sum(blocked), count(*) FROM compliance"
                " WHERE ts >= ? GROUP BY 1 ORDER BY 1",
                bucket_s,
                bucket_s,
                since,
            )
            viewers = rows(
                "SELECT CAST(ts / ? AS INTEGER) * ?, max(count), avg(count) FROM viewers WHERE ts >= ?"
                " GROUP BY 1 ORDER BY 1",
                bucket_s,
                bucket_s,
                since,
            )
            totals = rows(
                "SELECT (SELECT count(*) FROM questions WHERE ts >= ?),"
                " (SELECT count(*) FROM answers WHERE ts >= ?),"
                " (SELECT count(*) FROM compliance WHERE ts >= ? AND blocked = 1),"
                " (SELECT count(*) FROM compliance WHERE ts >= ?)",
                since,
                since,
                since,
                since,
            )[0]
            sessions = _sessions(db, since)
            audience = audience_series(sessions, since, now, bucket_s)
            # Platform chat is keyed "platform:user" (avatar.sources); the viewer page's ids have no colon.
            per_source = rows(
                "SELECT CASE WHEN instr(viewer, ':') > 0 THEN substr(viewer, 1, instr(viewer, ':') - 1)"
                " ELSE 'page' END, count(*) FROM questions WHERE ts >= ? GROUP BY 1 ORDER BY 2 DESC",
                since,
            )
            clicks = rows(
                "SELECT product, count(*) FROM clicks WHERE ts >= ? GROUP BY 1 ORDER BY 2 DESC", since
            )
            products = _products(db, since, now, sessions)
            # Comments per product: the one they name, else the one on screen when they came.
            per_product = [(p["product"], p["comments"]) for p in products if p["comments"]]
            per_product.sort(key=lambda item: -item[1])
            unattributed = totals[0] - sum(count for _, count in per_product)
            if unattributed > 0:
                per_product.append(("(none)", unattributed))
            comment_rates = comments_per_minute(
                rows("SELECT ts, viewer FROM questions WHERE ts >= ? ORDER BY ts", since),
                since,
                now,
                bucket_s,
            )
            return {
                "since": since,
                "until": now,
                "bucket_s": bucket_s,
                "totals": {
                    "questions": totals[0],
                    "answers": totals[1],
                    "compliance_blocks": totals[2],
                    "compliance_interventions": totals[3],
                    "unanswered": len(unanswered),
                },
                "questions_per_product": [{"product": p, "count": c} for p, c in per_product],
                "clicks_per_product": [{"product": p, "count": c} for p, c in clicks],
                "comments_per_source": [{"source": p, "count": c} for p, c in per_source],
                "answer_latency": {
                    "count": len(latencies),
                    "p50_s": _quantile(latencies, 0.5),
                    "p95_s": _quantile(latencies, 0.95),
                    "series": [{"t": t, "avg_s": a, "count": c} for t, a, c in latency_series],
                },
                "unanswered": [
                    {"t": t, "name": n, "text": x, "product": p, "status": s} for t, n, x, p, s in unanswered
                ],
                "compliance_series": [{"t": t, "blocked": b or 0, "total": c} for t, b, c in blocks],
                # From joins and leaves when there are any; shows recorded before them have samples.
                "viewers_series": audience or [{"t": t, "max": m, "avg": a} for t, m, a in viewers],
                "unique_viewers": len({v for ts, v, e in sessions if e == "join" and ts >= since}),
                "products": products,
                "comments_per_minute": comment_rates,
            }

        return await self._read(run)

    async def products(self, since_s: float = 7 * SECONDS_PER_DAY) -> list[dict[str, Any]]:
        """Per-product numbers over the last ``since_s`` seconds (see :mod:`avatar.ops.products`)."""
        now = self.wall()
        since = now - since_s

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            return _products(db, since, now, _sessions(db, since))

        return await self._read(run)

    async def export_csv(self, table: str, since_s: float = 365 * SECONDS_PER_DAY) -> str:
        """One table as CSV (header row first); ``table`` must be one of :data:`TABLES`."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
        since = self.wall() - since_s

        def run(db: sqlite3.Connection) -> str:
            cursor = db.execute(f"SELECT * FROM {table} WHERE ts >= ? ORDER BY ts", (since,))  # noqa: S608 - allowlisted
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow([column[0] for column in cursor.description])
            for row in cursor:
                # Viewer text (names, questions) must not run as a formula in the spreadsheet.
                writer.writerow([csv_cell(value) for value in row])
            return out.getvalue()

        return await self._read(run)

    async def count(self, table: str) -> int:
        """Rows in a table (tests, soak checks)."""
        if table not in (*TABLES, "state"):
            raise ValueError(f"unknown table {table!r}")

        def run(db: sqlite3.Connection) -> int:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - allowlisted

        return await self._read(run)

    async def flush(self) -> None:
        """Wait until every write queued so far is done."""
        await self._read(lambda db: None)

    async def prune(self) -> int:
        """Delete rows older than the retention period; returns how many went."""
        cutoff = self.wall() - self.retention_days * SECONDS_PER_DAY

        def run(db: sqlite3.Connection) -> int:
            removed = 0
            for table in TABLES:
                removed += db.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,)).rowcount  # noqa: S608
            return removed

        removed = await self._read(run)
        if removed:
            log.info("retention: deleted %d rows older than %.1f days", removed, self.retention_days)
        return removed

    def close(self) -> None:
        """Finish queued writes and close the database (blocking, bounded)."""

        def run() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        try:
            self._executor.submit(run).result(timeout=10)
        except (RuntimeError, concurrent.futures.TimeoutError):
            log.warning("database did not close cleanly")
        self._executor.shutdown(wait=False)


def _sessions(db: sqlite3.Connection, since: float) -> list[tuple[float, str, str]]:
    """Joins and leaves that say who watched from ``since`` on (from the last show start before it)."""
    opened = db.execute("SELECT max(ts) FROM viewer_sessions WHERE ts < ? AND event = 'start'", (since,))
    start = opened.fetchone()[0]
    cursor = db.execute(
        "SELECT ts, viewer, event FROM viewer_sessions WHERE ts >= ? ORDER BY ts, rowid",
        (start if start is not None else 0.0,),
    )
    return [(float(ts), str(viewer), str(event)) for ts, viewer, event in cursor]


def _products(
    db: sqlite3.Connection, since: float, until: float, sessions: list[tuple[float, str, str]]
) -> list[dict[str, Any]]:
    """The per-product report over ``[since, until)`` from the recorded rows."""
    before = db.execute(
        "SELECT ts, product FROM on_air WHERE ts < ? ORDER BY ts DESC, rowid DESC LIMIT 1", (since,)
    ).fetchall()
    changes = [(float(ts), str(product)) for ts, product in before]
    changes += [
        (float(ts), str(product))
        for ts, product in db.execute(
            "SELECT ts, product FROM on_air WHERE ts >= ? AND ts < ? ORDER BY ts, rowid", (since, until)
        )
    ]
    comments = [
        CommentRow(ts, viewer or "", text or "", product or None, on_air, intent)
        for ts, viewer, text, product, on_air, intent in db.execute(
            # Near-duplicates folded into one waiting comment still count: each viewer asked.
            "SELECT ts, viewer, text, product, on_air, intent FROM questions WHERE ts >= ? AND ts < ?",
            (since, until),
        )
    ]
    clicks = [
        (float(ts), str(product))
        for ts, product in db.execute(
            "SELECT ts, product FROM clicks WHERE ts >= ? AND ts < ?", (since, until)
        )
    ]
    return product_report(changes, comments, clicks, sessions, since, until)


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[index])
