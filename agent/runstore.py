"""The run index: one row per run version, next to the LangGraph checkpoints in the same database.

The checkpoints hold each step's state (for `runs history` and `runs rerun`); this table answers the
questions that should not need a graph: which runs exist, their status, and the previous run of a scope.

A row records the process that runs it (host, pid, process start time). A row still `running` whose
process is gone (killed, crashed, machine rebooted) is marked `interrupted` the next time the index
is opened; a recycled pid is told apart by its start time.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from agent.models import RunReport, Scope
from agent.storage.db import Database, Target

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_runs (
    run_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    query TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    engine TEXT,
    out_dir TEXT,
    policies TEXT,
    rerun_from TEXT,
    report_json TEXT,
    host TEXT,
    pid INTEGER,
    proc_started DOUBLE PRECISION,  -- REAL is 4 bytes in PostgreSQL: too coarse for a start time
    PRIMARY KEY (run_id, version)
)
"""
# Columns added after the first release; older databases get them on open.
_ADDED = {"host": "TEXT", "pid": "INTEGER", "proc_started": "DOUBLE PRECISION"}
_SAME_START_S = 1.0  # process start times are reported with clock-tick precision


class RunRow(BaseModel):
    run_id: str
    version: int
    query: str
    scope_key: str
    started_at: str
    finished_at: str | None
    status: str  # running, completed, degraded, failed, interrupted
    engine: str | None
    out_dir: str | None
    policies: str | None
    rerun_from: str | None


def scope_key(scope: Scope) -> str:
    """Runs compare when they ask the same question: jurisdiction, regime and topics."""
    return f"{scope.jurisdiction}|{scope.regime_hint or ''}|{','.join(sorted(scope.topics))}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _this_process() -> tuple[str, int, float]:
    import psutil

    return socket.gethostname(), os.getpid(), psutil.Process().create_time()


def _alive(pid: int, started: float | None) -> bool:
    """Is the process that started a run still running (and is it the same process)?"""
    import psutil

    try:
        proc = psutil.Process(pid)
        return started is None or abs(proc.create_time() - started) < _SAME_START_S
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.Error:
        return True  # cannot tell (e.g. access denied): never mark a live run interrupted


class RunStore:
    def __init__(self, target: Target) -> None:
        """``target``: the SQLite file, or a ``postgresql://`` URL."""
        self.db = Database(target)
        self.db.ensure(_SCHEMA)
        have = self.db.columns("agent_runs")
        for column, kind in _ADDED.items():
            if column not in have:
                self.db.ensure(f"ALTER TABLE agent_runs ADD COLUMN {column} {kind}")
        self.db.commit()
        self.reap()

    def reap(self) -> list[tuple[str, int]]:
        """Mark runs whose process is gone as interrupted; returns (run id, version) of each."""
        host = socket.gethostname()
        gone = []
        for run_id, version, row_host, pid, started in self.db.execute(
            "SELECT run_id, version, host, pid, proc_started FROM agent_runs WHERE status = 'running'"
        ).fetchall():
            # Rows from before process tracking have no pid: no live process of this version runs them.
            if pid is None or (row_host == host and not _alive(pid, started)):
                gone.append((run_id, version))
        for run_id, version in gone:
            self.set_status(run_id, version, "interrupted")
        return gone

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, run_id: str, version: int, scope: Scope, started_at: str, out_dir: str,
              policies: str | None, rerun_from: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO agent_runs (run_id, version, query, scope_key, started_at, status, out_dir, policies,"
            " rerun_from, host, pid, proc_started) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id, version) DO UPDATE SET query = excluded.query, scope_key = excluded.scope_key,"
            " started_at = excluded.started_at, finished_at = NULL, status = 'running', engine = NULL,"
            " out_dir = excluded.out_dir, policies = excluded.policies, rerun_from = excluded.rerun_from,"
            " report_json = NULL, host = excluded.host, pid = excluded.pid, proc_started = excluded.proc_started",
            (run_id, version, scope.query, scope_key(scope), started_at, out_dir, policies, rerun_from, *_this_process()),
        )
        self.db.commit()

    def resume(self, run_id: str, version: int) -> None:
        """This process takes over an interrupted run version."""
        self.db.execute(
            "UPDATE agent_runs SET status = 'running', finished_at = NULL, host = ?, pid = ?, proc_started = ?"
            " WHERE run_id = ? AND version = ?", (*_this_process(), run_id, version))
        self.db.commit()

    def finish(self, report: RunReport) -> None:
        steps = report.run.steps
        engines = {s.engine for s in steps if s.step not in ("scope", "report", "write_outputs")}
        engine = "live" if engines == {"live"} else "mixed" if "live" in engines else "embedded"
        status = "degraded" if any(s.status in ("degraded", "failed") for s in steps) else "completed"
        self.db.execute(
            "UPDATE agent_runs SET finished_at = ?, status = ?, engine = ?, report_json = ? WHERE run_id = ? AND version = ?",
            (report.run.finished_at, status, engine, report.model_dump_json(), report.run.id, report.run.version),
        )
        self.db.commit()

    def set_status(self, run_id: str, version: int, status: str) -> None:
        """End a run version without a report: failed (an error) or interrupted (Ctrl-C, killed)."""
        self.db.execute("UPDATE agent_runs SET status = ?, finished_at = ? WHERE run_id = ? AND version = ?",
                        (status, now(), run_id, version))
        self.db.commit()

    def _select(self, where_order: str, args: tuple) -> list[RunRow]:
        cur = self.db.execute(f"SELECT {', '.join(RunRow.model_fields)} FROM agent_runs {where_order}", args)
        return [RunRow(**dict(zip(RunRow.model_fields, r, strict=True))) for r in cur]

    def rows(self, limit: int = 50) -> list[RunRow]:
        return self._select("ORDER BY started_at DESC, run_id DESC, version DESC LIMIT ?", (limit,))

    def versions(self, run_id: str) -> list[RunRow]:
        return self._select("WHERE run_id = ? ORDER BY version", (run_id,))

    def resolve(self, prefix: str) -> str | None:
        """A full run id from an unambiguous prefix."""
        if not prefix:
            return None
        # substr, not LIKE: '%' and '_' in what the user typed are characters, not wildcards.
        ids = [r[0] for r in self.db.execute(
            "SELECT DISTINCT run_id FROM agent_runs WHERE substr(run_id, 1, ?) = ?", (len(prefix), prefix))]
        return ids[0] if len(ids) == 1 else (prefix if prefix in ids else None)

    def prunable(self, keep: int | None = None, older_than_days: float | None = None) -> list[str]:
        """Run ids to prune: all but the ``keep`` newest, and/or those started more than N days ago; never a running one."""
        runs = self.db.execute(
            "SELECT run_id, MAX(started_at), MAX(CASE WHEN status = 'running' THEN 1 ELSE 0 END) FROM agent_runs GROUP BY run_id"
            " ORDER BY MAX(started_at) DESC, run_id DESC").fetchall()
        doomed: set[str] = set()
        if keep is not None:
            doomed |= {r[0] for r in runs[keep:]}
        if older_than_days is not None:
            cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
            doomed |= {r[0] for r in runs if r[1] < cutoff}
        return [r[0] for r in runs if r[0] in doomed and not r[2]]

    def prune(self, run_ids: list[str]) -> int | None:
        """Delete runs: their index rows and every checkpoint and write; then give the space back.

        Returns the bytes the SQLite file shrank by; None on PostgreSQL, where VACUUM makes the space reusable
        rather than returning it to the file system.
        """
        before = self.db.size()
        tables = self.db.tables()
        for run_id in run_ids:
            self.db.execute("DELETE FROM agent_runs WHERE run_id = ?", (run_id,))
            # The LangGraph checkpointers' tables, keyed by thread (SQLite: checkpoints, writes; PostgreSQL:
            # checkpoints, checkpoint_blobs, checkpoint_writes).
            for table in ("checkpoints", "writes", "checkpoint_blobs", "checkpoint_writes"):
                if table in tables:
                    self.db.execute(f"DELETE FROM {table} WHERE thread_id = ?", (run_id,))  # noqa: S608
        self.db.commit()
        self.db.vacuum()
        after = self.db.size()
        return None if before is None or after is None else max(0, before - after)

    def report(self, run_id: str, version: int | None = None) -> RunReport | None:
        sql = "SELECT report_json FROM agent_runs WHERE run_id = ? AND report_json IS NOT NULL"
        args: tuple = (run_id,)
        if version is not None:
            sql += " AND version = ?"
            args += (version,)
        row = self.db.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
        return RunReport.model_validate_json(row[0]) if row else None

    def previous(self, scope: Scope, before: str, exclude: str) -> RunReport | None:
        """The latest finished run of the same scope started before ``before`` (its newest version)."""
        row = self.db.execute(
            "SELECT report_json FROM agent_runs WHERE scope_key = ? AND run_id != ? AND started_at <= ?"
            " AND report_json IS NOT NULL ORDER BY started_at DESC, version DESC LIMIT 1",
            (scope_key(scope), exclude, before),
        ).fetchone()
        return RunReport.model_validate_json(row[0]) if row else None
