"""State stored per run: bytes of checkpoints and writes in the run database for embedded runs.

    .venv/bin/python bench/state_bench.py [--runs N] [--postgres]

Runs `agent run "stablecoin KZ"` N times (default 3) in a throwaway state folder, once with the example
policy folder and then without, and prints each run's stored bytes and the database file's growth.
With --postgres the runs go to a fresh database on a throwaway PostgreSQL server (AGENT_DATABASE_URL):
the figures are the run's checkpoint, blob and write bytes and the database's growth (pg_database_size).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = str(Path(sys.executable).with_name("agent"))


def stored(db: Path, run_id: str) -> tuple[int, int]:
    """(checkpoints + writes, the run's row in the run index with its report) in bytes."""
    with closing(sqlite3.connect(db)) as c:  # closed, so the next run's process can fold the WAL back in
        cp = c.execute("SELECT COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints WHERE thread_id = ?", (run_id,)).fetchone()[0]
        wr = c.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (run_id,)).fetchone()[0]
        row = c.execute("SELECT COALESCE(SUM(LENGTH(report_json)), 0) FROM agent_runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    return int(cp + wr), int(row)


def stored_pg(url: str, run_id: str) -> tuple[int, int, int]:
    """(checkpoints + blobs + writes, the run's index row, the database's size) in bytes."""
    import psycopg

    with psycopg.connect(url) as c:
        one = lambda sql: int(c.execute(sql, (run_id,)).fetchone()[0])  # noqa: E731
        state = (one("SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) FROM checkpoints WHERE thread_id = %s")
                 + one("SELECT COALESCE(SUM(pg_column_size(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %s")
                 + one("SELECT COALESCE(SUM(pg_column_size(blob)), 0) FROM checkpoint_writes WHERE thread_id = %s"))
        row = one("SELECT COALESCE(SUM(LENGTH(report_json)), 0) FROM agent_runs WHERE run_id = %s")
        size = int(c.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
    return state, row, size


def postgres_runs(runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.services import postgres_server

    with postgres_server() as server, tempfile.TemporaryDirectory() as tmp:
        url = server.new_database()
        env = {**os.environ, "AGENT_DATABASE_URL": url, "AGENT_ENGINE": "embedded", "AGENT_FORMATS": "md,json"}
        for var in ("OPENAI_API_KEY", "TAVILY_API_KEY"):
            env.pop(var, None)
        print("| run | policies | checkpoints + blobs + writes (KB) | run index row (KB) | database growth (KB) |")
        print("| --- | --- | --- | --- | --- |")
        size = 0
        for n in range(runs):
            policies = ["--policies", str(ROOT / "examples" / "policies")] if n == 0 else []
            out = subprocess.run([AGENT, "run", "stablecoin KZ", "--json", "--out", f"{tmp}/out", *policies],
                                 capture_output=True, text=True, env=env, cwd=tmp, check=True)
            state, row, now = stored_pg(url, json.loads(out.stdout)["run"]["id"])
            # The first run's growth would include creating the tables: not shown.
            grown, size = (f"{(now - size) / 1000:.0f}" if size else "—"), now
            print(f"| {n + 1} | {'examples' if policies else 'none'} | {state / 1000:.0f} | {row / 1000:.0f} | {grown} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    if args.postgres:
        postgres_runs(args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AGENT_STATE_DIR": f"{tmp}/state", "AGENT_ENGINE": "embedded", "AGENT_FORMATS": "md,json"}
        for var in ("OPENAI_API_KEY", "TAVILY_API_KEY"):
            env.pop(var, None)
        db = Path(tmp) / "state" / "runs.sqlite"
        print("| run | policies | checkpoints + writes (KB) | run index row (KB) | database files' growth (KB) |")
        print("| --- | --- | --- | --- | --- |")
        size = 0
        for n in range(args.runs):
            policies = ["--policies", str(ROOT / "examples" / "policies")] if n == 0 else []
            out = subprocess.run([AGENT, "run", "stablecoin KZ", "--json", "--out", f"{tmp}/out", *policies],
                                 capture_output=True, text=True, env=env, cwd=tmp, check=True)
            run_id = json.loads(out.stdout)["run"]["id"]
            now = sum(p.stat().st_size for p in db.parent.glob("runs.sqlite*"))  # the database and its WAL, if any
            grown, size = now - size, now
            state, row = stored(db, run_id)
            print(f"| {n + 1} | {'examples' if policies else 'none'} | {state / 1000:.0f} | {row / 1000:.0f} | {grown / 1000:.0f} |")


if __name__ == "__main__":
    main()
