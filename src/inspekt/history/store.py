"""The inspection history: one SQLite database in the project, images as files beside it.

SQLite in WAL mode lets the dashboard and ``inspekt history`` read while the server
writes, and a process killed mid-write loses at most the transaction in flight: the
database opens cleanly afterwards (the WAL is replayed or dropped whole). The schema
carries its version in ``PRAGMA user_version`` and is brought up to date by the
numbered migrations below when the store opens, so a project recorded by an older
inspekt keeps its history.

Reads open their own connection each (cheap; WAL readers never block the writer);
writes go through one connection under a lock.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..errors import InspektError

__all__ = [
    "HistoryError",
    "HistoryStore",
    "Page",
    "Record",
    "Review",
    "ReviewVerdict",
    "Summary",
    "iso_time",
    "records_csv",
]

#: Each migration brings the schema from its index to the next version.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE inspections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        result TEXT NOT NULL,
        error TEXT,
        score REAL,
        threshold REAL,
        rectangles TEXT NOT NULL,
        n_rectangles INTEGER NOT NULL,
        module_ms TEXT NOT NULL,
        total_ms REAL NOT NULL,
        data TEXT,
        endpoint TEXT NOT NULL,
        models TEXT NOT NULL,
        images TEXT NOT NULL,
        bytes INTEGER NOT NULL DEFAULT 0,
        context TEXT NOT NULL
    );
    CREATE INDEX inspections_time ON inspections (time);
    CREATE INDEX inspections_result ON inspections (result, id);
    CREATE TABLE reviews (
        inspection_id INTEGER PRIMARY KEY REFERENCES inspections (id) ON DELETE CASCADE,
        verdict TEXT NOT NULL,
        reviewed_at REAL NOT NULL,
        files TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

Result = Literal["ok", "nok", "error", "-"]
#: ``wrong``: the verdict was wrong (a good part flagged, a defect missed);
#: ``right``: a person confirmed it.
ReviewVerdict = Literal["wrong", "right"]


class HistoryError(InspektError):
    """The history cannot be opened or written (a broken file, a full or read-only disk)."""


@dataclass(frozen=True)
class Record:
    """One finished inspection as the history keeps it."""

    time: float
    result: Result
    error: str | None
    score: float | None
    threshold: float | None
    rectangles: list[dict[str, Any]]
    module_ms: dict[str, float]
    total_ms: float
    data: str | None
    endpoint: str
    models: dict[str, str]
    context: dict[str, Any]
    #: Image kind (``input``, ``annotated``, ``heatmap``) to its path, relative to the
    #: history folder.
    images: dict[str, str] = field(default_factory=dict)
    id: int | None = None
    review: Review | None = None

    @property
    def shown_images(self) -> list[str]:
        """What can be shown of the images kept (see :mod:`inspekt.history.images`): the
        input and the annotated image drawn on it, and the heatmap when heat was kept."""
        kinds = ["input", "annotated"] if "input" in self.images else []
        return kinds + (["heatmap"] if "heat" in self.images else [])

    def as_json(self, with_context: bool = False) -> dict[str, Any]:
        """The record as the API and ``inspekt history --format jsonl`` give it."""
        out: dict[str, Any] = {
            "id": self.id,
            "time": iso_time(self.time),
            "result": self.result,
            "error": self.error,
            "score": self.score,
            "threshold": self.threshold,
            "n_rectangles": len(self.rectangles),
            "total_ms": round(self.total_ms, 3),
            "module_ms": self.module_ms,
            "data": self.data,
            "endpoint": self.endpoint,
            "models": self.models,
            "images": self.shown_images,
            "review": None if self.review is None else self.review.as_json(),
        }
        if with_context:
            out["rectangles"] = self.rectangles
            out["context"] = self.context
        return out


@dataclass(frozen=True)
class Review:
    """A person's word on an inspection's verdict, and the training files it made."""

    verdict: ReviewVerdict
    time: float
    files: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "time": self.time, "files": self.files}


@dataclass(frozen=True)
class Page:
    """Records newest first, and the cursor that continues after the last one."""

    records: list[Record]
    next_cursor: int | None


@dataclass(frozen=True)
class Summary:
    """Counts by result (and the scores) over a time span."""

    counts: dict[str, int]
    scores: list[float]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def yield_percent(self) -> float | None:
        """OK parts over judged ones (errors and ``-`` excluded); None before any."""
        judged = self.counts.get("ok", 0) + self.counts.get("nok", 0)
        return None if judged == 0 else round(100 * self.counts.get("ok", 0) / judged, 2)


class HistoryStore:
    """The database: records in, pages and records out, reviews, pruning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"{path}: cannot open the history: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys=ON")
        # WAL with NORMAL: a crash of the process loses nothing committed; a power cut
        # may lose the last commits, never the database.
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def _migrate(self) -> None:
        """Bring the schema up to date; one process at a time (servers sharing a project
        may start together), each seeing the version the one before it left."""
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                connection.execute("ROLLBACK")
                raise HistoryError(
                    f"{self.path}: the history's schema is version {version}, newer than "
                    f"this inspekt's {SCHEMA_VERSION}; upgrade inspekt or move the file away"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number + 1}")
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        with self._lock:
            self._writer.close()

    # ---- writing -------------------------------------------------------------------------

    def add(self, record: Record, size: int = 0) -> int:
        """Store a record whose image files (``size`` bytes) are written; returns its id."""
        with self._lock, self._writer:
            cursor = self._writer.execute(
                "INSERT INTO inspections (time, result, error, score, threshold, rectangles, "
                "n_rectangles, module_ms, total_ms, data, endpoint, models, images, context, "
                "bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.time, record.result, record.error, record.score, record.threshold,
                    _dumps(record.rectangles), len(record.rectangles),
                    _dumps(record.module_ms), record.total_ms, record.data, record.endpoint,
                    _dumps(record.models), _dumps(record.images), _dumps(record.context), size,
                ),
            )
            return int(cursor.lastrowid or 0)

    def set_review(self, record_id: int, review: Review | None) -> None:
        """Record a person's review of an inspection, or remove it (None)."""
        with self._lock, self._writer:
            if review is None:
                self._writer.execute("DELETE FROM reviews WHERE inspection_id = ?", (record_id,))
            else:
                self._writer.execute(
                    "INSERT OR REPLACE INTO reviews (inspection_id, verdict, reviewed_at, files) "
                    "VALUES (?, ?, ?, ?)",
                    (record_id, review.verdict, review.time, _dumps(review.files)),
                )

    def prune(self, before: float | None, keep: int | None, max_bytes: int | None) -> list[Record]:
        """Remove records older than ``before``, beyond the newest ``keep``, and the oldest
        until their images fit ``max_bytes``; reviewed ones stay. Returns those removed,
        whose image files the caller deletes."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT id, time, bytes FROM inspections "
                "WHERE id NOT IN (SELECT inspection_id FROM reviews) ORDER BY id DESC"
            ).fetchall()
            reviewed_bytes = int(db.execute(
                "SELECT COALESCE(SUM(bytes), 0) FROM inspections "
                "WHERE id IN (SELECT inspection_id FROM reviews)"
            ).fetchone()[0])
        doomed: list[int] = []
        kept: list[tuple[int, int]] = []  # newest first
        for record_id, at, size in rows:
            if (before is not None and at < before) or (keep is not None and len(kept) >= keep):
                doomed.append(record_id)
            else:
                kept.append((record_id, size))
        if max_bytes is not None:
            total = reviewed_bytes + sum(size for _, size in kept)
            for record_id, size in reversed(kept):  # the oldest first
                if total <= max_bytes:
                    break
                if size:  # a record without images frees nothing
                    doomed.append(record_id)
                    total -= size
        if not doomed:
            return []
        removed: list[Record] = []
        for start in range(0, len(doomed), 500):  # SQLite's limit on bound parameters
            chunk = tuple(doomed[start : start + 500])
            with self._reading() as db:
                removed += self._records(db, f"id IN ({_marks(chunk)})", chunk)
            with self._lock, self._writer:
                self._writer.execute(
                    f"DELETE FROM inspections WHERE id IN ({_marks(chunk)})", chunk
                )
        return removed

    # ---- reading -------------------------------------------------------------------------

    def page(
        self,
        result: Result | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> Page:
        """Records newest first, filtered; ``cursor`` continues after a page's last id."""
        where, arguments = _filters(result, since, until)
        if cursor is not None:
            where.append("i.id < ?")
            arguments.append(cursor)
        clause = " AND ".join(where) or "1"
        with self._reading() as db:
            records = self._records(db, clause, tuple(arguments), limit=limit + 1)
        more = len(records) > limit
        records = records[:limit]
        return Page(records, records[-1].id if more and records else None)

    def get(self, record_id: int) -> Record | None:
        with self._reading() as db:
            found = self._records(db, "id = ?", (record_id,))
        return found[0] if found else None

    def reviewed(self) -> list[Record]:
        """Every reviewed record, newest review first."""
        with self._reading() as db:
            records = self._records(db, "id IN (SELECT inspection_id FROM reviews)", ())
        return sorted(records, key=lambda r: -(r.review.time if r.review else 0.0))

    def summary(self, since: float | None = None, until: float | None = None) -> Summary:
        where, arguments = _filters(None, since, until)
        clause = " AND ".join(where) or "1"
        with self._reading() as db:
            counts = {
                str(result): int(count) for result, count in db.execute(
                    f"SELECT result, COUNT(*) FROM inspections i WHERE {clause} GROUP BY result",
                    arguments,
                )
            }
            scores = [
                float(row[0]) for row in db.execute(
                    f"SELECT score FROM inspections i WHERE {clause} AND score IS NOT NULL "
                    "ORDER BY id DESC LIMIT 5000", arguments,
                )
            ]
        return Summary(counts, scores)

    def _records(
        self, db: sqlite3.Connection, where: str, arguments: tuple[Any, ...],
        limit: int | None = None,
    ) -> list[Record]:
        rows = db.execute(
            "SELECT i.id, i.time, result, error, score, threshold, rectangles, module_ms, "
            "total_ms, data, endpoint, models, images, context, r.verdict, r.reviewed_at, "
            "r.files "
            "FROM inspections i LEFT JOIN reviews r ON r.inspection_id = i.id "
            f"WHERE {where} ORDER BY i.id DESC" + ("" if limit is None else f" LIMIT {limit}"),
            arguments,
        )
        return [
            Record(
                id=row[0], time=row[1], result=row[2], error=row[3], score=row[4],
                threshold=row[5], rectangles=json.loads(row[6]), module_ms=json.loads(row[7]),
                total_ms=row[8], data=row[9], endpoint=row[10], models=json.loads(row[11]),
                images=json.loads(row[12]), context=json.loads(row[13]),
                review=None if row[14] is None else Review(row[14], row[15], json.loads(row[16])),
            )
            for row in rows
        ]


def _filters(
    result: Result | None, since: float | None, until: float | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    arguments: list[Any] = []
    if result is not None:
        where.append("i.result = ?")
        arguments.append(result)
    if since is not None:
        where.append("i.time >= ?")
        arguments.append(since)
    if until is not None:
        where.append("i.time < ?")
        arguments.append(until)
    return where, arguments


def _marks(ids: tuple[int, ...]) -> str:
    return ", ".join("?" * len(ids))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


#: ``inspekt history --format csv`` and ``/api/inspections.csv``'s columns.
CSV_COLUMNS = (
    "id", "time", "result", "error", "score", "threshold", "n_rectangles", "total_ms",
    "data", "endpoint",
)


def records_csv(records: list[Record]) -> str:
    """Records as CSV with a header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = record.as_json()
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def iso_time(seconds: float) -> str:
    """Unix seconds as ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
