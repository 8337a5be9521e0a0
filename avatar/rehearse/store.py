"""Rehearsal sessions in SQLite (stdlib ``sqlite3``): one row per take, with scores and the report.

A take is saved when it starts ("running"), and again with its report when it ends ("finished",
"stopped early" or "abandoned"), so a page closed midway keeps what was recorded. One connection
per call: the live server touches the store from worker threads, and sqlite connections must not
cross threads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["DB_NAME", "SessionRow", "SessionStore", "default_data_dir"]

DB_NAME: Final = "rehearse.sqlite3"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    scene TEXT NOT NULL,
    product TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    overall REAL,
    scores TEXT NOT NULL DEFAULT '{}',
    report TEXT
);
CREATE INDEX IF NOT EXISTS sessions_host ON sessions (host, scene, started_at);
"""


def default_data_dir(scene_root: Path) -> Path:
    """Where a scene's rehearsals are kept unless told otherwise: ``<scene>/rehearsals``."""
    return scene_root / "rehearsals"


@dataclass(frozen=True)
class SessionRow:
    """One saved take."""

    id: str
    host: str
    scene: str
    product: str
    started_at: str
    status: str
    overall: float | None
    scores: dict[str, float]


class SessionStore:
    """The sessions table in ``<data_dir>/rehearse.sqlite3``."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def start(self, session_id: str, host: str, scene: str, product: str, started_at: str) -> None:
        """Record a take that has begun."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO sessions (id, host, scene, product, started_at, status)"
                " VALUES (?,?,?,?,?,?)",
                (session_id, host, scene, product, started_at, "running"),
            )

    def finish(self, report: dict[str, Any]) -> None:
        """Save a take's report (inserting the row when the take was never started here)."""
        scores = report.get("scores", {})
        with self._connect() as db:
            db.execute(
                "INSERT INTO sessions (id, host, scene, product, started_at, status, overall, scores, report)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET status=excluded.status,"
                " overall=excluded.overall, scores=excluded.scores, report=excluded.report",
                (
                    report["session_id"],
                    report["host"],
                    report["scene"],
                    report["product"]["id"],
                    report["started_at"],
                    report["status"],
                    scores.get("overall"),
                    json.dumps(scores),
                    json.dumps(report, ensure_ascii=False),
                ),
            )

    def report(self, session_id: str) -> dict[str, Any] | None:
        """A saved report, or None."""
        with self._connect() as db:
            row = db.execute("SELECT report FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    def history(self, host: str, scene: str | None = None, limit: int = 50) -> list[SessionRow]:
        """A host's takes with a score, oldest first (for the progress chart)."""
        query = "SELECT id, host, scene, product, started_at, status, overall, scores FROM sessions"
        query += " WHERE host = ?"
        args: list[Any] = [host]
        if scene is not None:
            query += " AND scene = ?"
            args.append(scene)
        query += " AND overall IS NOT NULL ORDER BY started_at DESC, rowid DESC LIMIT ?"
        args.append(limit)
        with self._connect() as db:
            rows = db.execute(query, args).fetchall()
        return [
            SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}"))
            for r in reversed(rows)
        ]

    def status(self, session_id: str) -> str | None:
        """The stored status of a take, or None when unknown."""
        with self._connect() as db:
            row = db.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else str(row[0])
