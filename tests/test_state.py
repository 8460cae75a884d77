"""Run state on disk: an embedded run stores under 1 MB, and old runs can be pruned."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.test_drafts import run

MB = 1_000_000


def stored_bytes(db: Path, run_id: str) -> int:
    """Bytes of a run's checkpoints and pending writes (the database file also holds the run index)."""
    with sqlite3.connect(db) as c:
        cp = c.execute("SELECT COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints WHERE thread_id = ?", (run_id,)).fetchone()[0]
        wr = c.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (run_id,)).fetchone()[0]
    return cp + wr


def test_an_embedded_run_stores_under_one_megabyte_also_when_compared_with_an_earlier_one(isolated: Path) -> None:
    db = isolated / ".agent" / "runs.sqlite"
    first = run("stablecoin KZ", isolated)
    second = run("stablecoin KZ", isolated)
    assert second.comparison is not None, "the second run is still compared with the first"
    for report in (first, second):
        assert 0 < stored_bytes(db, report.run.id) < MB, stored_bytes(db, report.run.id)


def test_prune_keeps_the_newest_runs_and_deletes_the_rest_with_their_checkpoints(agent_exe: str, isolated: Path) -> None:
    db = isolated / ".agent" / "runs.sqlite"
    ids = [run(q, isolated).run.id for q in ("stablecoin KZ", "custody AIFC", "tax KZ")]

    def agent(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([agent_exe, "runs", *args], capture_output=True, text=True, cwd=isolated, timeout=120, check=False)

    assert agent("prune").returncode == 2
    dry = agent("prune", "--keep", "1", "--dry-run")
    assert dry.returncode == 0 and "2 run(s) would be deleted" in dry.stdout and ids[0] in dry.stdout
    assert all(stored_bytes(db, i) for i in ids), "a dry run deletes nothing"
    done = agent("prune", "--keep", "1")
    assert done.returncode == 0 and "Deleted 2 run(s)" in done.stdout, done.stdout + done.stderr
    assert [stored_bytes(db, i) > 0 for i in ids] == [False, False, True]
    listed = agent("list")
    assert ids[2] in listed.stdout and ids[0] not in listed.stdout
    assert "Nothing to prune." in agent("prune", "--older-than", "1").stdout


def test_runs_started_from_different_folders_share_the_users_data_directory(
    agent_exe: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENT_STATE_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated / "data"))
    ids = []
    for folder in ("a", "b"):
        (isolated / folder).mkdir()
        done = subprocess.run([agent_exe, "run", "tax KZ", "-q", "--json"], capture_output=True, text=True,
                              cwd=isolated / folder, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        ids.append(json.loads(done.stdout)["run"]["id"])
    listed = subprocess.run([agent_exe, "runs", "list"], capture_output=True, text=True, cwd=isolated, timeout=60, check=False)
    assert all(i in listed.stdout for i in ids)
    assert (isolated / "data" / "compliance-agent" / "runs.sqlite").is_file()
    assert not (isolated / "a" / ".agent").exists() and not (isolated / "b" / ".agent").exists()
