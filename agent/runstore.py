"""The run index: one row per run version, next to the LangGraph checkpoints in the same SQLite file.

The checkpoints hold each step's state (for `runs history` and `runs rerun`); this table answers the
questions that should not need a graph: which runs exist, their status, and the previous run of a scope.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel

from agent.models import RunReport, Scope

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
    PRIMARY KEY (run_id, version)
)
"""


class RunRow(BaseModel):
    run_id: str
    version: int
    query: str
    scope_key: str
    started_at: str
    finished_at: str | None
    status: str  # running, completed, degraded, failed
    engine: str | None
    out_dir: str | None
    policies: str | None
    rerun_from: str | None


def scope_key(scope: Scope) -> str:
    """Runs compare when they ask the same question: jurisdiction, regime and topics."""
    return f"{scope.jurisdiction}|{scope.regime_hint or ''}|{','.join(sorted(scope.topics))}"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunStore:
    def __init__(self, db_path: str | Path) -> None:
        path = Path(db_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.execute(_SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, run_id: str, version: int, scope: Scope, started_at: str, out_dir: str,
              policies: str | None, rerun_from: str | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO agent_runs (run_id, version, query, scope_key, started_at, status, out_dir, policies, rerun_from)"
            " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (run_id, version, scope.query, scope_key(scope), started_at, out_dir, policies, rerun_from),
        )
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

    def fail(self, run_id: str, version: int) -> None:
        self.db.execute("UPDATE agent_runs SET status = 'failed', finished_at = ? WHERE run_id = ? AND version = ?",
                        (now(), run_id, version))
        self.db.commit()

    def _select(self, where_order: str, args: tuple) -> list[RunRow]:
        cur = self.db.execute(f"SELECT {', '.join(RunRow.model_fields)} FROM agent_runs {where_order}", args)
        return [RunRow(**dict(zip(RunRow.model_fields, r))) for r in cur]

    def rows(self, limit: int = 50) -> list[RunRow]:
        return self._select("ORDER BY started_at DESC, run_id DESC, version DESC LIMIT ?", (limit,))

    def versions(self, run_id: str) -> list[RunRow]:
        return self._select("WHERE run_id = ? ORDER BY version", (run_id,))

    def resolve(self, prefix: str) -> str | None:
        """A full run id from an unambiguous prefix."""
        ids = [r[0] for r in self.db.execute("SELECT DISTINCT run_id FROM agent_runs WHERE run_id LIKE ?", (prefix + "%",))]
        return ids[0] if len(ids) == 1 else (prefix if prefix in ids else None)

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
