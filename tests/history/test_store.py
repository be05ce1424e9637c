"""The history database: records in and out, pages, summaries, reviews, pruning, schema
versions, and a writer killed mid-write."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from inspekt.history import HistoryError, HistoryStore, Record, Review, records_csv


def record(result: str = "ok", at: float | None = None, score: float = 0.1) -> Record:
    return Record(
        time=time.time() if at is None else at, result=result,  # type: ignore[arg-type]
        error="anomaly: boom" if result == "error" else None, score=score, threshold=0.5,
        rectangles=[{"x": 1, "y": 2, "width": 3, "height": 4}] if result == "nok" else [],
        module_ms={"anomaly": 4.5}, total_ms=6.25, data="SN1", endpoint="/analyze_image",
        models={"anomaly": "abc123"}, context={"result": result == "ok"},
    )


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


def test_a_record_comes_back_as_it_went_in(store: HistoryStore) -> None:
    record_id = store.add(record("nok", at=1_767_000_000.25))
    found = store.get(record_id)
    assert found is not None and found.id == record_id
    assert (found.result, found.score, found.threshold, found.data) == ("nok", 0.1, 0.5, "SN1")
    assert found.rectangles == [{"x": 1, "y": 2, "width": 3, "height": 4}]
    assert found.module_ms == {"anomaly": 4.5} and found.models == {"anomaly": "abc123"}
    row = found.as_json(with_context=True)
    assert row["time"] == "2025-12-29T09:20:00.250+00:00" and row["n_rectangles"] == 1
    assert row["context"] == {"result": False} and row["review"] is None
    assert store.get(record_id + 1) is None


def test_pages_run_newest_first_with_filters_and_a_cursor(store: HistoryStore) -> None:
    ids = [store.add(record("nok" if i % 3 == 0 else "ok", at=1000.0 + i)) for i in range(10)]
    first = store.page(limit=4)
    assert [r.id for r in first.records] == ids[::-1][:4] and first.next_cursor == ids[6]
    second = store.page(limit=4, cursor=first.next_cursor)
    assert [r.id for r in second.records] == ids[::-1][4:8]
    last = store.page(limit=4, cursor=second.next_cursor)
    assert len(last.records) == 2 and last.next_cursor is None
    assert [r.id for r in store.page(result="nok").records] == [ids[9], ids[6], ids[3], ids[0]]
    assert [r.id for r in store.page(since=1003.0, until=1005.0).records] == [ids[4], ids[3]]


def test_the_summary_counts_results_and_the_yield(store: HistoryStore) -> None:
    for result in ("ok", "ok", "ok", "nok", "error"):
        store.add(record(result))
    summary = store.summary()
    assert summary.counts == {"ok": 3, "nok": 1, "error": 1} and summary.total == 5
    assert summary.yield_percent == 75.0 and len(summary.scores) == 5
    assert HistoryStore(store.path).summary(since=time.time() + 60).yield_percent is None


def test_csv_has_a_header_and_a_row_each(store: HistoryStore) -> None:
    store.add(record("error"))
    lines = records_csv(store.page().records).splitlines()
    assert lines[0] == "id,time,result,error,score,threshold,n_rectangles,total_ms,data,endpoint"
    assert lines[1].split(",")[2:4] == ["error", "anomaly: boom"]


def test_pruning_by_age_count_and_size_spares_reviewed_records(store: HistoryStore) -> None:
    now = time.time()
    old = [store.add(record(at=now - 40 * 86400)) for _ in range(3)]
    store.set_review(old[0], Review("wrong", now, ["images/good/x.png"]))
    fresh = [store.add(record(at=now - i)) for i in range(5)]
    removed = store.prune(before=now - 30 * 86400, keep=None, max_bytes=None)
    assert sorted(r.id for r in removed) == old[1:]
    assert store.get(old[0]) is not None  # reviewed: kept whatever its age
    removed = store.prune(before=None, keep=3, max_bytes=None)
    assert sorted(r.id for r in removed) == sorted(fresh)[:2]
    sized = [
        store.add(dataclasses.replace(record(), images={"input": f"images/{i}.png"}), 1000)
        for i in range(3)
    ]
    removed = store.prune(before=None, keep=None, max_bytes=1500)
    # the oldest with images first, until 1000 bytes are left; records without stay
    assert sorted(r.id for r in removed) == sized[:2] and all(r.images for r in removed)
    assert [r.id for r in store.reviewed()] == [old[0]]


def test_a_review_is_recorded_and_undone(store: HistoryStore) -> None:
    record_id = store.add(record("nok"))
    store.set_review(record_id, Review("right", 5.0, []))
    found = store.get(record_id)
    assert found is not None and found.review == Review("right", 5.0, [])
    store.set_review(record_id, None)
    found = store.get(record_id)
    assert found is not None and found.review is None


def test_an_older_schema_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 0")
    HistoryStore(path).add(record())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="schema is version 99, newer than this inspekt's 1"):
        HistoryStore(path)


def test_a_file_that_is_not_a_database_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(HistoryError, match="history.sqlite: cannot open the history"):
        HistoryStore(path)


def test_a_writer_killed_mid_write_leaves_a_database_that_opens(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    writer = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from tests.history.test_store import record
        from inspekt.history import HistoryStore
        store = HistoryStore(__import__("pathlib").Path({str(path)!r}))
        print("writing", flush=True)
        while True:
            store.add(record("nok"))
    """)
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "writing\n"
    time.sleep(1.0)
    process.kill()  # SIGKILL: no clean-up, mid-transaction as likely as not
    process.wait()
    store = HistoryStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    count = store.summary().total
    assert count > 10
    store.add(record("ok"))
    assert store.summary().total == count + 1


def _open_and_close(path: str) -> None:
    HistoryStore(Path(path)).close()


def test_servers_starting_together_on_one_project_migrate_it_once(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    processes = [multiprocessing.Process(target=_open_and_close, args=(path,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert HistoryStore(Path(path)).summary().total == 0
