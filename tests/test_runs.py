"""`agent runs`: the run list, step tables, history from checkpoints, re-runs from a step, what changed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

CROSS_BORDER = """# High-Risk Jurisdictions Procedure

For customers and counterparties connected with higher-risk jurisdictions, the Company applies enhanced due diligence and countermeasures.
The MLRO monitors FATF public statements and the findings of the AFSA and the National Bank on deficient jurisdictions and updates the high-risk country list.
"""


def agent(exe: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "COLUMNS": "200"})


def first_run(exe: str, cwd: Path) -> dict:
    res = agent(exe, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--json", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_rerun_from_gaps_reassesses_a_new_folder_without_redoing_research(agent_exe: str, isolated: Path) -> None:
    v1 = first_run(agent_exe, isolated)
    assert "GAP-007" in {g["id"] for g in v1["gaps"]}
    folder2 = isolated / "policies_v2"
    shutil.copytree(EXAMPLES, folder2)
    (folder2 / "High_Risk_Jurisdictions.md").write_text(CROSS_BORDER, encoding="utf-8")

    res = agent(agent_exe, "runs", "rerun", v1["run"]["id"][:15], "--from", "gaps", "--policies", str(folder2), "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    v2 = json.loads(res.stdout)
    assert v2["run"]["id"] == v1["run"]["id"] and v2["run"]["version"] == 2 and v2["run"]["rerun_from"] == "gaps"
    versions = {s["step"]: s["version"] for s in v2["run"]["steps"]}
    assert versions["research"] == 1 and versions["analyze"] == 1, "research and analysis are reused, not repeated"
    assert versions["read_policies"] == 2 and versions["assess"] == 2 and versions["gaps"] == 2
    assert sum(1 for s in v2["run"]["steps"] if s["step"] == "research") == 1
    assert v2["run"]["policies"]["folder"] == str(folder2)
    assert v2["compliance_status"]["cross_border_compliance"] == "met"
    assert v2["comparison"]["gaps_closed"] == ["GAP-007"]
    assert v2["comparison"]["previous_run_id"] == v1["run"]["id"] and v2["comparison"]["previous_version"] == 1
    assert {"domain": "cross_border_compliance", "before": "not_met", "after": "met"} in v2["comparison"]["status_changes"]
    # the new version has its own report; the first one is untouched
    assert v2["run"]["report_files"][0].startswith(f"reports/{v1['run']['id']}-v2/")
    md = (isolated / "policies_out" / v2["run"]["report_files"][0]).read_text(encoding="utf-8")
    assert "Gaps closed: GAP-007 Cross_Border" in md and "v1 (reused)" in md
    assert (isolated / "policies_out" / v1["run"]["report_files"][1]).exists()

    show = agent(agent_exe, "runs", "show", v1["run"]["id"], cwd=isolated)
    assert show.returncode == 0, show.stderr
    assert "v1 reused" in show.stdout and "Gaps closed: GAP-007 Cross_Border" in show.stdout
    assert "research" in show.stdout and "Tokens in" in show.stdout
    old = agent(agent_exe, "runs", "show", v1["run"]["id"], "--version", "1", "--json", cwd=isolated)
    assert json.loads(old.stdout)["run"]["version"] == 1

    listing = agent(agent_exe, "runs", "list", "--json", cwd=isolated)
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [(r["version"], r["rerun_from"], r["status"]) for r in rows] == [(2, "gaps", "completed"), (1, None, "completed")]

    hist = agent(agent_exe, "runs", "history", v1["run"]["id"], cwd=isolated)
    assert hist.returncode == 0, hist.stderr
    assert "re-run v2 starts" in hist.stdout and "assess x" in hist.stdout and "analyze" in hist.stdout


def test_second_run_of_a_scope_is_compared_with_the_first(agent_exe: str, isolated: Path) -> None:
    first = first_run(agent_exe, isolated)
    assert first["comparison"] is None
    second = first_run(agent_exe, isolated)
    c = second["comparison"]
    assert c["previous_run_id"] == first["run"]["id"]
    assert c["gaps_opened"] == [] and c["gaps_closed"] == [] and c["requirements_added"] == []
    other = agent(agent_exe, "run", "custody AIFC", "--json", cwd=isolated)
    assert json.loads(other.stdout)["comparison"] is None, "a different scope is not compared"


def test_rerun_from_drafts_research_and_analysis_make_new_versions(agent_exe: str, isolated: Path) -> None:
    v1 = first_run(agent_exe, isolated)
    rid = v1["run"]["id"]
    drafts = json.loads(agent(agent_exe, "runs", "rerun", rid, "--from", "drafts", "--json", cwd=isolated).stdout)
    assert drafts["run"]["version"] == 2
    assert {s["step"] for s in drafts["run"]["steps"] if s["version"] == 2} == {"draft", "write_outputs", "report"}
    assert {d["action"] for d in drafts["drafts"]} == {"unchanged"}, "same inputs, same drafts: nothing rewritten"
    research = json.loads(agent(agent_exe, "runs", "rerun", rid, "--from", "research", "--json", cwd=isolated).stdout)
    assert research["run"]["version"] == 3
    assert {s["step"] for s in research["run"]["steps"] if s["version"] == 1} == {"scope"}
    assert len(research["sources"]) == len(v1["sources"]) and research["gaps"] == v1["gaps"]
    res = agent(agent_exe, "runs", "rerun", rid, "--from", "analysis", "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    analysis = json.loads(res.stdout)
    assert analysis["run"]["version"] == 4
    assert {s["step"] for s in analysis["run"]["steps"] if s["version"] == 4} >= {"analyze", "verify", "gaps", "report"}
    assert {s["step"] for s in analysis["run"]["steps"] if s["step"] in ("scope", "research")} and \
        all(s["version"] < 4 for s in analysis["run"]["steps"] if s["step"] in ("scope", "research"))
    assert analysis["gaps"] == v1["gaps"]


@pytest.mark.parametrize("args, message", [
    (["nope-123", "--from", "gaps"], "no run matches"),
    (["RUN", "--from", "lunch"], "cannot re-run from 'lunch'"),
    (["RUN", "--from", "gaps", "--policies", "missing-folder"], "does not exist"),
])
def test_rerun_input_errors_are_clear(agent_exe: str, isolated: Path, args: list[str], message: str) -> None:
    rid = first_run(agent_exe, isolated)["run"]["id"]
    res = agent(agent_exe, "runs", "rerun", *[rid if a == "RUN" else a for a in args], cwd=isolated)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_runs_list_on_a_fresh_machine_says_how_to_start(agent_exe: str, isolated: Path) -> None:
    res = agent(agent_exe, "runs", "list", cwd=isolated)
    assert res.returncode == 0 and 'agent run "stablecoin KZ"' in res.stdout


def test_run_index_lives_in_the_checkpoint_database(agent_exe: str, isolated: Path) -> None:
    rid = first_run(agent_exe, isolated)["run"]["id"]
    db = sqlite3.connect(isolated / ".agent" / "runs.sqlite")
    assert db.execute("SELECT status FROM agent_runs WHERE run_id = ?", (rid,)).fetchone() == ("completed",)
    assert db.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (rid,)).fetchone()[0] > 10


def test_rerun_from_gaps_sees_a_policy_file_changed_in_place(agent_exe: str, isolated: Path) -> None:
    folder = isolated / "policies"
    shutil.copytree(EXAMPLES, folder)
    res = agent(agent_exe, "run", "stablecoin KZ", "--policies", str(folder), "--json", cwd=isolated)
    v1 = json.loads(res.stdout)
    with (folder / "AML_CTF_Policy.md").open("a", encoding="utf-8") as f:
        f.write("\n" + CROSS_BORDER.split("\n", 2)[2])
    v2 = json.loads(agent(agent_exe, "runs", "rerun", v1["run"]["id"], "--from", "gaps", "--json", cwd=isolated).stdout)
    assert v2["run"]["policies"]["folder"] == str(folder)
    assert v2["comparison"]["gaps_closed"] == ["GAP-007"]
    assert {s["step"] for s in v2["run"]["steps"] if s["version"] == 1} == {"scope", "research", "analyze", "verify"}


def test_a_rerun_report_keeps_the_limits_of_the_steps_it_reused(agent_exe: str, isolated: Path) -> None:
    v1 = first_run(agent_exe, isolated)
    assert any("no TAVILY_API_KEY" in w for w in v1["run"]["warnings"])
    v2 = json.loads(agent(agent_exe, "runs", "rerun", v1["run"]["id"], "--from", "drafts", "--json", cwd=isolated).stdout)
    assert any("no TAVILY_API_KEY" in w for w in v2["run"]["warnings"]), "research was reused, and so was what limited it"


def test_a_rerun_of_a_rerun_from_the_same_step_runs_that_step_again(isolated: Path) -> None:
    from agent.progress import Progress
    from agent.runner import rerun_pipeline, run_pipeline
    from agent.scope import parse_scope
    from agent.settings import load_settings

    db = load_settings().database
    quiet = Progress(enabled=False)
    v1 = run_pipeline(parse_scope("stablecoin KZ"), policies=EXAMPLES, out_dir=isolated / "out", db_path=db, progress=quiet)
    rerun_pipeline(v1.run.id, "gaps", db_path=db, progress=quiet)
    # The second re-run forks after the first one's own fork checkpoint: it must still read the policies.
    v3 = rerun_pipeline(v1.run.id, "gaps", db_path=db, progress=quiet)
    assert v3.run.version == 3
    ran = [s.step for s in v3.run.steps if s.version == 3]
    assert ran[:2] == ["read_policies", "profile"] and "gaps" in ran
    assert v3.run.policies.folder == str(EXAMPLES) and v3.gaps == v1.gaps


def test_a_run_started_with_relative_folders_reruns_from_any_folder(agent_exe: str, isolated: Path) -> None:
    shutil.copytree(EXAMPLES, isolated / "ours")
    res = agent(agent_exe, "run", "stablecoin KZ", "--policies", "ours", "--out", "drafts", "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    rid = json.loads(res.stdout)["run"]["id"]
    elsewhere = isolated / "elsewhere"
    elsewhere.mkdir()
    res = agent(agent_exe, "runs", "rerun", rid, "--from", "gaps", "--json", cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    v2 = json.loads(res.stdout)
    assert v2["gaps"] and (isolated / "drafts" / "reports" / f"{rid}-v2" / "report.json").exists()
    assert not (elsewhere / "drafts").exists() and not (elsewhere / "ours").exists()
