"""The installed `agent` command, run as a user would: exit codes, JSON document, files on disk."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

from agent.models import DOMAINS
from agent.report import json_schema_text
from tests.conftest import EXAMPLES, ROOT

SCHEMA = json.loads((ROOT / "agent" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))


def run(agent_exe: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_STATE_DIR": str(cwd / ".agent")}
    return subprocess.run([agent_exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_help_lists_commands(agent_exe: str, isolated: Path) -> None:
    res = run(agent_exe, "--help", cwd=isolated)
    assert res.returncode == 0
    assert "run" in res.stdout and "schema" in res.stdout


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "topic and a jurisdiction"),
        ("   ", "topic and a jurisdiction"),
        ("stablecoin Kazakstan", "Kazakhstan"),
        ("stablecion KZ", "stablecoin"),
        ("stablecoin Kazakhstan Germny", "Germany"),  # two places compare; a misspelt one is still refused
    ],
)
def test_bad_query_exits_2_with_a_clear_message(agent_exe: str, isolated: Path, query: str, expected: str) -> None:
    res = run(agent_exe, "run", query, cwd=isolated)
    assert res.returncode == 2
    assert expected in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert not (isolated / "policies_out").exists(), "no work may start on bad input"


def test_missing_policy_folder_exits_2(agent_exe: str, isolated: Path) -> None:
    res = run(agent_exe, "run", "stablecoin KZ", "--policies", "no-such-folder", cwd=isolated)
    assert res.returncode == 2
    assert "no-such-folder" in res.stderr and "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def json_run(agent_exe: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("jsonrun")
    res = run(agent_exe, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(work / "out"), "--json", cwd=work)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout), work, res


def test_json_document_matches_its_schema(json_run) -> None:
    doc, _, res = json_run
    jsonschema.validate(doc, SCHEMA)
    assert res.stderr == "", "--json must print nothing but the document"


def test_json_document_is_internally_consistent(json_run) -> None:
    doc, work, _ = json_run
    source_ids = {s["id"] for s in doc["sources"]}
    req_ids = {r["id"] for r in doc["requirements"]}
    assert doc["run"]["scope"]["jurisdiction"] == "KZ" and doc["run"]["scope"]["topics"] == ["stablecoin"]
    assert set(doc["compliance_status"]) <= set(DOMAINS)
    assert {a["requirement_id"] for a in doc["assessments"]} == req_ids
    for g in doc["gaps"]:
        assert g["citations"], f"{g['id']} has no source"
        assert {c["source_id"] for c in g["citations"]} <= source_ids
        assert set(g["requirement_ids"]) <= req_ids
    for r in doc["requirements"]:
        assert r["citations"] and {c["source_id"] for c in r["citations"]} <= source_ids
    steps = [s["step"] for s in doc["run"]["steps"]]
    for name in ("scope", "research", "analyze", "verify", "read_policies", "assess", "gaps", "draft", "write_outputs", "report"):
        assert name in steps
    assert all(s["engine"] == "embedded" for s in doc["run"]["steps"])
    out = work / "out"
    for d in doc["drafts"]:
        assert (out / d["path"]).is_file()
    for f in doc["run"]["report_files"]:
        assert (out / f).is_file()


def test_progress_and_summary_without_json(agent_exe: str, isolated: Path) -> None:
    res = run(agent_exe, "run", "custody AIFC", "--policies", str(EXAMPLES), cwd=isolated)
    assert res.returncode == 0, res.stderr
    assert "Compliance status" in res.stdout
    assert (isolated / "policies_out" / "IMPLEMENTATION_SUMMARY.md").is_file()
    reports = list((isolated / "policies_out" / "reports").glob("*/report.md"))
    assert len(reports) == 1
    assert "# Methodology and Limitations" in reports[0].read_text(encoding="utf-8")


def test_schema_command_and_committed_schema_are_current(agent_exe: str, isolated: Path) -> None:
    res = run(agent_exe, "schema", cwd=isolated)
    assert res.returncode == 0
    assert json.loads(res.stdout) == SCHEMA
    assert (ROOT / "agent" / "schemas" / "report.schema.json").read_text(encoding="utf-8") == json_schema_text(), (
        "regenerate agent/schemas/report.schema.json: the report model changed"
    )


def test_doctor_reports_engines_without_printing_secrets(agent_exe: str, isolated: Path) -> None:
    env = {**os.environ, "AGENT_ENGINE": "auto", "OPENAI_API_KEY": "sk-test-doctor-secret-123456", "TAVILY_API_KEY": "tvly-test-doctor-secret"}
    res = subprocess.run([agent_exe, "doctor", "--offline"], cwd=isolated, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "OPENAI_API_KEY: set" in res.stdout and "live: Tavily search" in res.stdout
    assert "secret" not in res.stdout + res.stderr


def test_doctor_without_keys_contacts_nothing_and_says_embedded(agent_exe: str, isolated: Path) -> None:
    res = run(agent_exe, "doctor", cwd=isolated)
    assert res.returncode == 0, res.stderr
    assert "not configured" in res.stdout and "embedded: knowledge pack" in res.stdout


def test_invalid_setting_is_a_clear_error(agent_exe: str, isolated: Path) -> None:
    env = {**os.environ, "AGENT_MAX_TOKENS": "lots"}
    res = subprocess.run([agent_exe, "run", "stablecoin KZ"], cwd=isolated, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "AGENT_MAX_TOKENS" in res.stderr and "Traceback" not in res.stderr
