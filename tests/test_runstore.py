"""The run index tells a run whose process is gone from one that is still working."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from agent.runstore import RunStore
from agent.scope import parse_scope


def _status(store: RunStore, run_id: str) -> str:
    return store.versions(run_id)[0].status


def _row(store: RunStore, run_id: str, *, host: str, pid: int | None, started: float | None) -> None:
    store.start(run_id, 1, parse_scope("stablecoin KZ"), "2026-12-01T00:00:00+00:00", "out", None)
    store.db.execute("UPDATE agent_runs SET host = ?, pid = ?, proc_started = ? WHERE run_id = ?", (host, pid, started, run_id))
    store.db.commit()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """The run index on both backends: the SQLite file, and a fresh database on a throwaway PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "runs.sqlite"
    return request.getfixturevalue("pg_server").new_database()


def test_running_rows_are_reaped_only_when_their_process_is_gone(target: str | Path) -> None:
    db = target
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = psutil.Process()
    here = socket.gethostname()
    with RunStore(db) as store:
        _row(store, "alive", host=here, pid=os.getpid(), started=me.create_time())
        _row(store, "killed", host=here, pid=dead.pid, started=me.create_time())
        # the pid was recycled by another process: same number, different start time
        _row(store, "recycled", host=here, pid=os.getpid(), started=me.create_time() - 3600)
        _row(store, "legacy", host=here, pid=None, started=None)  # recorded before processes were tracked
        _row(store, "elsewhere", host=here + "-other-machine", pid=dead.pid, started=0.0)
    with RunStore(db) as store:
        assert _status(store, "alive") == "running"
        assert _status(store, "killed") == "interrupted"
        assert _status(store, "recycled") == "interrupted"
        assert _status(store, "legacy") == "interrupted"
        assert _status(store, "elsewhere") == "running"  # another machine's run is not ours to judge
        assert store.versions("killed")[0].finished_at is not None


def test_prefixes_are_literal_and_must_be_unambiguous(target: str | Path) -> None:
    with RunStore(target) as store:
        for rid in ("20261201-aaa", "20261201-aab", "20261202-xyz"):
            store.start(rid, 1, parse_scope("stablecoin KZ"), "2026-12-01T00:00:00+00:00", "out", None)
        assert store.resolve("20261202") == "20261202-xyz"
        assert store.resolve("20261201-aa") is None  # ambiguous
        assert store.resolve("20261201-aab") == "20261201-aab"
        for wildcard in ("%", "_", "2026120_-xyz", ""):
            assert store.resolve(wildcard) is None


def test_an_older_database_gains_the_process_columns(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "runs.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE agent_runs (run_id TEXT NOT NULL, version INTEGER NOT NULL, query TEXT NOT NULL, scope_key TEXT NOT NULL,"
                " started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, engine TEXT, out_dir TEXT, policies TEXT,"
                " rerun_from TEXT, report_json TEXT, PRIMARY KEY (run_id, version))")
    con.execute("INSERT INTO agent_runs VALUES ('old', 1, 'q', 'k', '2026-01-01', NULL, 'running', NULL, NULL, NULL, NULL, NULL)")
    con.commit()
    con.close()
    with RunStore(db) as store:
        assert _status(store, "old") == "interrupted"
        store.start("new", 1, parse_scope("stablecoin KZ"), "2026-12-01T00:00:00+00:00", "out", None)
        assert _status(store, "new") == "running"


def test_prunable_keeps_the_newest_and_never_a_running_run(target: str | Path) -> None:
    with RunStore(target) as store:
        for day, rid in ((1, "old"), (2, "mid"), (3, "new")):
            store.start(rid, 1, parse_scope("stablecoin KZ"), f"2026-11-0{day}T00:00:00+00:00", "out", None)
        store.set_status("old", 1, "completed")
        store.set_status("new", 1, "completed")
        # "mid" is still running (this process): it is never pruned, whatever its age
        assert store.prunable(keep=1) == ["old"]
        store.prune(["old"])
        assert [r.run_id for r in store.rows()] == ["new", "mid"]


def test_processes_opening_a_new_database_at_once_all_succeed(target: str | Path) -> None:
    """A team's first runs may start together: creating the tables twice at once is not an error."""
    from concurrent.futures import ThreadPoolExecutor

    def open_and_list(_: int) -> int:
        with RunStore(target) as store:
            return len(store.rows())

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(open_and_list, range(8))) == [0] * 8


def test_checkpointers_opening_a_new_database_at_once_all_succeed(target: str | Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from graphs.pipeline import open_checkpointer

    def open_and_close(_: int) -> None:
        open_checkpointer(target).conn.close()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(open_and_close, range(6)))  # raises the first error any of them met
