"""AGENT_DATABASE_URL: runs, re-runs, history, prune and chat threads in a shared PostgreSQL database.

Each test gets a fresh database on a throwaway server (tests/services.py); nothing may be written to a
local SQLite file while the URL is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pexpect
import psycopg

from tests.conftest import EXAMPLES
from tests.test_chat import PROMPT, spawn, thread_of


def agent(exe: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "200"})


def sqlite_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".sqlite", ".sqlite-wal", ".db")]


def count(url: str, sql: str, *args: object) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchone()[0]  # type: ignore[index]


def test_runs_reruns_and_history_live_in_postgres(agent_exe: str, isolated: Path, pg_url: str) -> None:
    folder = isolated / "policies"
    shutil.copytree(EXAMPLES, folder)
    res = agent(agent_exe, "run", "stablecoin KZ", "--policies", str(folder), "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    v1 = json.loads(res.stdout)
    rid = v1["run"]["id"]
    assert "GAP-007" in {g["id"] for g in v1["gaps"]}

    listing = agent(agent_exe, "runs", "list", cwd=isolated)
    assert listing.returncode == 0 and rid in listing.stdout and "completed" in listing.stdout

    # the firm writes its cross-border procedure; a re-run from gaps reuses research and sees it
    (folder / "High_Risk_Jurisdictions.md").write_text(
        "# High-Risk Jurisdictions Procedure\n\nFor customers and counterparties connected with higher-risk "
        "jurisdictions, the Company applies enhanced due diligence and countermeasures.\nThe MLRO monitors FATF "
        "public statements and the findings of the AFSA and the National Bank on deficient jurisdictions and "
        "updates the high-risk country list.\n", encoding="utf-8")
    res = agent(agent_exe, "runs", "rerun", rid[:12], "--from", "gaps", "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    v2 = json.loads(res.stdout)
    assert v2["run"]["version"] == 2
    reused = {s["step"] for s in v2["run"]["steps"] if s["version"] == 1}
    assert {"research", "analyze"} <= reused, v2["run"]["steps"]
    assert "GAP-007" not in {g["id"] for g in v2["gaps"]}

    shown = agent(agent_exe, "runs", "show", rid, cwd=isolated)
    assert shown.returncode == 0 and "v2" in shown.stdout
    history = agent(agent_exe, "runs", "history", rid, cwd=isolated)
    assert history.returncode == 0 and "re-run v2 starts" in history.stdout

    # the rows and checkpoints are in PostgreSQL, and no SQLite file was written anywhere
    assert count(pg_url, "SELECT COUNT(*) FROM agent_runs WHERE run_id = %s", rid) == 2
    assert count(pg_url, "SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", rid) > 10
    assert sqlite_files(isolated) == [] and not (isolated / ".agent").exists()


def test_prune_deletes_a_runs_checkpoints_from_postgres(agent_exe: str, isolated: Path, pg_url: str) -> None:
    ids = []
    for _ in range(2):
        res = agent(agent_exe, "run", "custody KZ", "--json", cwd=isolated)
        assert res.returncode == 0, res.stderr
        ids.append(json.loads(res.stdout)["run"]["id"])
    res = agent(agent_exe, "runs", "prune", "--keep", "1", cwd=isolated)
    assert res.returncode == 0 and "Deleted 1 run(s)" in res.stdout, res.stdout + res.stderr
    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
        assert count(pg_url, f"SELECT COUNT(*) FROM {table} WHERE thread_id = %s", ids[0]) == 0, table
    assert count(pg_url, "SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", ids[1]) > 10
    listing = agent(agent_exe, "runs", "list", cwd=isolated)
    assert ids[1] in listing.stdout and ids[0] not in listing.stdout


def test_a_chat_thread_resumes_from_postgres(agent_exe: str, isolated: Path, pg_url: str) -> None:
    child = spawn(agent_exe, isolated)
    child.expect(PROMPT)
    thread = thread_of(child.before)
    child.sendline("what capital does a custodian need in the AIFC?")
    child.expect(PROMPT)
    assert "Cited:" in child.before
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    listing = pexpect.run(f"{agent_exe} chat --list", cwd=str(isolated), encoding="utf-8", env={**os.environ})
    assert thread in listing and "what capital does a custodian need" in listing

    child = spawn(agent_exe, isolated, "--thread", thread)
    child.expect(PROMPT)
    assert f"Resuming thread {thread}" in child.before and "what capital does a custodian need" in child.before
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert count(pg_url, "SELECT turns FROM agent_chats WHERE thread_id = %s", thread) == 1
    assert sqlite_files(isolated) == []


def test_an_unreachable_database_is_bad_input_and_its_password_stays_hidden(agent_exe: str, isolated: Path,
                                                                            monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AGENT_DATABASE_URL", f"postgresql://team:s3cret-pw@/agent?host={isolated / 'no-server'}")
    for args in (("run", "stablecoin KZ"), ("runs", "list"), ("chat", "--list")):
        res = agent(agent_exe, *args, cwd=isolated)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "cannot connect to postgresql://***@/agent" in res.stderr and "AGENT_DATABASE_URL" in res.stderr
        assert "s3cret-pw" not in res.stdout + res.stderr
    assert sqlite_files(isolated) == []

    monkeypatch.setenv("AGENT_DATABASE_URL", "mysql://team:s3cret-pw@db/agent")
    res = agent(agent_exe, "runs", "list", cwd=isolated)
    assert res.returncode == 2 and "must be a postgresql:// URL" in res.stderr and "s3cret-pw" not in res.stderr
