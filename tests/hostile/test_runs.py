"""Runs killed, interrupted, starved of time or pointed at unusable folders: documented exits, no tracebacks.

Every test drives the installed `agent` in a child process, as a user (or a crash) would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.fake_services import FakeServices

KEY = "sk-hostile-test-key-0123456789abcdef"
HANG_S = 40.0  # the stand-in model's answer time: every test below must be done long before it


def _env(cwd: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "AGENT_STATE_DIR": str(cwd / ".agent"), **extra}


def _live_env(cwd: Path, services: FakeServices, **extra: str) -> dict[str, str]:
    return _env(cwd, AGENT_ENGINE="auto", OPENAI_API_KEY=KEY, OPENAI_BASE_URL=services.url + "/v1",
                AGENT_MODEL="fake-model", AGENT_MAX_RETRIES="0", PYTHONFAULTHANDLER="1", **extra)


def _agent(agent_exe: str, cwd: Path, *args: str, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([agent_exe, *args], cwd=cwd, env=env or _env(cwd), capture_output=True, text=True, timeout=timeout)


def _runs(agent_exe: str, cwd: Path) -> list[dict]:
    res = _agent(agent_exe, cwd, "runs", "list", "--json")
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def _wait_for_model_call(services: FakeServices, proc: subprocess.Popen, limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    while not any(path.endswith("/chat/completions") for path, _ in services.requests):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the run never called the model"
        time.sleep(0.05)


def _no_traceback(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr


def _killed_while_assessing(agent_exe: str, cwd: Path, out: Path) -> None:
    with FakeServices("slow", slow_s=HANG_S) as services:
        proc = subprocess.Popen([agent_exe, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(out)],
                                cwd=cwd, env=_live_env(cwd, services), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_for_model_call(services, proc)  # the run is in its assessment step, waiting on the model
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)


def test_a_killed_run_is_shown_interrupted_and_resume_finishes_it(agent_exe: str, isolated: Path) -> None:
    out = isolated / "out"
    _killed_while_assessing(agent_exe, isolated, out)

    (row,) = _runs(agent_exe, isolated)
    assert row["status"] == "interrupted"
    show = _agent(agent_exe, isolated, "runs", "show", row["run_id"])
    assert show.returncode == 2 and "interrupted" in show.stderr and "--resume" in show.stderr

    # Finished without a model: the steps it had done are not repeated, the rest run embedded.
    res = _agent(agent_exe, isolated, "runs", "rerun", row["run_id"], "--resume", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    steps = [s["step"] for s in doc["run"]["steps"]]
    assert steps.count("research") == 1 and steps.count("read_policies") == 1
    assert doc["gaps"] and all(d["action"] == "written" for d in doc["drafts"])
    (row,) = _runs(agent_exe, isolated)
    assert row["status"] in ("completed", "degraded")
    # and a fresh run over the same folder finds every draft the agent wrote to be its own
    again = json.loads(_agent(agent_exe, isolated, "run", "stablecoin KZ", "--policies", str(EXAMPLES),
                              "--out", str(out), "--json").stdout)
    assert {d["action"] for d in again["drafts"]} == {"unchanged"}
    assert not list(out.rglob(".tmp-*"))


def test_a_killed_run_can_be_restarted_from_a_step_as_a_new_version(agent_exe: str, isolated: Path) -> None:
    _killed_while_assessing(agent_exe, isolated, isolated / "out")
    (row,) = _runs(agent_exe, isolated)
    res = _agent(agent_exe, isolated, "runs", "rerun", row["run_id"], "--from", "gaps", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["run"]["version"] == 2 and doc["gaps"]
    assert {(r["version"], r["status"]) for r in _runs(agent_exe, isolated)} == {(1, "interrupted"), (2, "completed")}
    # resuming is for unfinished versions only
    again = _agent(agent_exe, isolated, "runs", "rerun", row["run_id"], "--resume")
    assert again.returncode == 2 and "only an interrupted or failed run can be resumed" in again.stderr


def test_ctrl_c_stops_a_run_waiting_on_the_model_at_once(agent_exe: str, isolated: Path) -> None:
    with FakeServices("slow", slow_s=HANG_S) as services:
        proc = subprocess.Popen([agent_exe, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(isolated / "out")],
                                cwd=isolated, env=_live_env(isolated, services), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_for_model_call(services, proc)
        proc.send_signal(signal.SIGINT)
        # Hang guard: the stand-in answers only after HANG_S; a run that waited for it would time out here.
        try:
            _, err = proc.communicate(timeout=HANG_S / 2)
        except subprocess.TimeoutExpired:
            # Where is it stuck? PYTHONFAULTHANDLER makes SIGABRT print every thread's stack.
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=10)
            main = err[err.find("Current thread"):] if "Current thread" in err else err
            pytest.fail(f"still running {HANG_S / 2:.0f} s after Ctrl-C; its main thread, then the others:\n{main[:6000]}")
    assert proc.returncode == 130
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    (row,) = _runs(agent_exe, isolated)
    assert row["status"] == "interrupted"


def test_time_budget_bounds_model_calls_already_in_flight(agent_exe: str, isolated: Path) -> None:
    with FakeServices("slow", slow_s=HANG_S) as services:
        res = _agent(agent_exe, isolated, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(isolated / "out"),
                     "--json", env=_live_env(isolated, services, AGENT_MAX_SECONDS="3"), timeout=HANG_S / 2)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert any("time budget of 3 s reached" in w for w in doc["run"]["warnings"])
    assert {s["engine"] for s in doc["run"]["steps"] if s["step"] == "assess"} == {"embedded"}
    assert doc["gaps"], "the embedded engine still finished the analysis"


@pytest.mark.parametrize("given", ["%", "_", "2026%", "'; DROP TABLE agent_runs; --"])
def test_run_ids_are_matched_literally(agent_exe: str, isolated: Path, given: str) -> None:
    assert _agent(agent_exe, isolated, "run", "stablecoin KZ", "--quiet").returncode == 0
    res = _agent(agent_exe, isolated, "runs", "show", given)
    assert res.returncode == 2 and "no run matches" in res.stderr
    _no_traceback(res)
    assert len(_runs(agent_exe, isolated)) == 1


def _unusable_out(tmp: Path, kind: str) -> Path:
    if kind == "file":
        (tmp / "taken").write_text("not a folder")
        return tmp / "taken"
    if kind == "symlink":
        (tmp / "elsewhere").mkdir()
        (tmp / "link").symlink_to(tmp / "elsewhere")
        return tmp / "link"
    if kind == "inside-a-file":
        (tmp / "taken").write_text("not a folder")
        return tmp / "taken" / "out"
    return Path(kind)  # a path the system will not let anyone create


@pytest.mark.parametrize("kind", ["file", "symlink", "inside-a-file", "/proc/agent-out", "/sys/agent-out"])
def test_an_unusable_out_is_refused_before_any_work(agent_exe: str, isolated: Path, kind: str) -> None:
    out = _unusable_out(isolated, kind)
    res = _agent(agent_exe, isolated, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(out))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    _no_traceback(res)
    assert "Run " not in res.stderr  # no progress: nothing ran
    assert _runs(agent_exe, isolated) == []  # and no run was recorded
    if kind == "symlink":
        assert list((isolated / "elsewhere").iterdir()) == []


def test_policies_and_out_must_not_overlap(agent_exe: str, isolated: Path) -> None:
    pol = isolated / "policies"
    pol.mkdir()
    (pol / "AML.md").write_text("# AML\n\nThe MLRO reports suspicious transactions.\n")
    for out, policies in ((pol / "out", pol), (isolated / "o", isolated / "o" / "reports" / "p"), (pol, pol)):
        policies.mkdir(parents=True, exist_ok=True)
        if policies != pol:
            (policies / "x.md").write_text("text\n")
        res = _agent(agent_exe, isolated, "run", "stablecoin KZ", "--policies", str(policies), "--out", str(out))
        assert res.returncode == 2, (out, policies, res.stderr)
        _no_traceback(res)
    assert sorted(p.name for p in pol.iterdir()) == ["AML.md"]  # nothing was created in the policy folder


@pytest.mark.parametrize("command", [["run", "stablecoin KZ"], ["runs", "list"], ["chat", "--list"]])
def test_state_dir_pointing_at_a_file_is_bad_input(agent_exe: str, isolated: Path, command: list[str]) -> None:
    state = isolated / "state-file"
    state.write_text("not a folder")
    res = _agent(agent_exe, isolated, *command, env=_env(isolated, AGENT_STATE_DIR=str(state)))
    assert res.returncode == 2
    assert "AGENT_STATE_DIR" in res.stderr and "is a file" in res.stderr
    _no_traceback(res)
    assert state.read_text() == "not a folder"


def test_doctor_never_prints_credentials_embedded_in_urls(agent_exe: str, isolated: Path) -> None:
    env = _env(isolated, OPENAI_API_KEY=KEY, OPENAI_BASE_URL="https://alice:s3cret-pass@llm.internal:8443/v1?api-key=k-123",
               TAVILY_API_KEY="tvly-hostile-0123456789", TAVILY_BASE_URL="https://bob:other-pass@search.internal")
    res = _agent(agent_exe, isolated, "doctor", "--offline", env=env)
    assert res.returncode == 0, res.stderr
    for secret in ("s3cret-pass", "k-123", "other-pass", "alice", "bob", KEY, "tvly-hostile"):
        assert secret not in res.stdout + res.stderr
    assert "llm.internal:8443" in res.stdout and "search.internal" in res.stdout


def test_stored_text_with_terminal_escapes_is_shown_inert(agent_exe: str, isolated: Path) -> None:
    """A report recorded with escape sequences (an old run, a hostile file name) cannot drive the terminal."""
    assert _agent(agent_exe, isolated, "run", "stablecoin KZ", "--quiet").returncode == 0
    db = sqlite3.connect(isolated / ".agent" / "runs.sqlite")
    (run_id, raw), = db.execute("SELECT run_id, report_json FROM agent_runs").fetchall()
    doc = json.loads(raw)
    doc["run"]["warnings"].append("Policy folder: evil\x1b[2J\x1b]0;pwned\x07.md: binary content; skipped")
    doc["run"]["query"] = "stablecoin KZ\x1b[31m"
    db.execute("UPDATE agent_runs SET report_json = ?, query = ?", (json.dumps(doc), "stablecoin KZ\x1b[31m"))
    db.commit()
    db.close()
    for args in (["runs", "show", run_id], ["runs", "list"]):
        res = _agent(agent_exe, isolated, *args)
        assert res.returncode == 0, res.stderr
        assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "evil\\x1b[2J" in _agent(agent_exe, isolated, "runs", "show", run_id).stdout


def test_escape_sequences_in_a_query_are_not_echoed(agent_exe: str, isolated: Path) -> None:
    res = _agent(agent_exe, isolated, "run", "stablecoin \x1b[2J\x1b]0;x\x07KZ zzqx")
    assert res.returncode == 2
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr
    _no_traceback(res)
