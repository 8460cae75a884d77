"""State stored per run: bytes of checkpoints and writes in the run database for embedded runs.

    .venv/bin/python bench/state_bench.py [--runs N]

Runs `agent run "stablecoin KZ"` N times (default 3) in a throwaway state folder, once with the example
policy folder and then without, and prints each run's stored bytes and the database file's growth.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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
