"""The installed `agent` against a loopback OpenAI-compatible server and Tavily stand-in (real clients)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.fake_services import FakeServices

KEY = "sk-e2e-test-key-0123456789abcdef"


def run_live(agent_exe: str, cwd: Path, services: FakeServices) -> tuple[dict, subprocess.CompletedProcess[str]]:
    env = {
        **os.environ, "AGENT_ENGINE": "auto", "AGENT_STATE_DIR": str(cwd / ".agent"), "AGENT_TODAY": "2026-11-22",
        "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": services.url + "/v1", "AGENT_MODEL": "fake-model",
        "TAVILY_API_KEY": "tvly-e2e-test-key", "TAVILY_BASE_URL": services.url,
        # pages are not fetched here: a fetch would leave the machine; snippets stand in as sources
        "AGENT_MAX_FETCHES": "0", "AGENT_MAX_SEARCHES": "2",
    }
    res = subprocess.run([agent_exe, "run", "custody AIFC", "--policies", str(EXAMPLES), "--out", str(cwd / "out"), "--json"],
                         cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout), res


def engines(doc: dict, step: str) -> set[tuple[str, str]]:
    return {(s["engine"], s["status"]) for s in doc["run"]["steps"] if s["step"] == step}


def test_live_engine_serves_every_step_through_real_clients(agent_exe: str, isolated: Path) -> None:
    with FakeServices("ok") as services:
        doc, _ = run_live(agent_exe, isolated, services)
    for step in ("research", "search", "analyze", "assess", "draft"):
        assert engines(doc, step) == {("live", "completed")}, step
    assert doc["run"]["tokens_in"] > 0
    claim = doc["analysis"]["detailed_analysis"][0]
    assert claim["citations"][0]["verified"] is True
    web = [s for s in doc["sources"] if s["origin"] == "web"]
    assert {s["tier"] for s in web} == {"regulator", "secondary"}
    # secrets reach neither the services' prompts nor any output
    prompts = json.dumps([b for _, b in services.requests])
    assert KEY not in prompts
    for p in (isolated / "out").rglob("*"):
        if p.is_file():
            assert KEY not in p.read_text(encoding="utf-8", errors="replace")
    md = (isolated / "out" / doc["run"]["report_files"][0]).read_text(encoding="utf-8")
    assert "| analyze | live | completed |" in md


def test_rate_limit_with_retry_after_is_retried(agent_exe: str, isolated: Path) -> None:
    with FakeServices("rate_limited_then_ok") as services:
        doc, _ = run_live(agent_exe, isolated, services)
    assert engines(doc, "analyze") == {("live", "completed")}
    statuses = [r for r in services.requests if r[0].endswith("/chat/completions")]
    assert len(statuses) > len({b["tools"][0]["function"]["name"] for _, b in statuses})


def test_model_outage_falls_back_per_step_and_the_report_says_so(agent_exe: str, isolated: Path) -> None:
    with FakeServices("server_error") as services:
        doc, _ = run_live(agent_exe, isolated, services)
    for step in ("analyze", "assess", "draft"):
        assert engines(doc, step) == {("embedded", "degraded")}, step
    assert engines(doc, "search") == {("live", "completed")}
    assert any("live engine failed" in w for w in doc["run"]["warnings"])
    assert doc["compliance_status"]["licensing_and_authorization"] == "not_met"
