"""The pipeline graph on LangGraph's server: `langgraph dev` started from langgraph.json, driven over its HTTP API.

The server runs offline with no API keys (the embedded engine). An audit hook in the server process
reports any connection or name lookup that leaves the machine, and the server log must hold no warning:
in particular none from LangGraph's checkpoint serializer about the project's types.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, ROOT

# The suite blocks the network (pytest-recording's --block-network); this module talks to its own server on loopback.
pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

# Loaded by the server's interpreter (PYTHONPATH): every connection or name lookup beyond loopback is logged.
AUDIT = '''
import sys

LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}

def _audit(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple) and args[1][0] not in LOCAL:
        sys.stderr.write(f"OUTBOUND connect {args[1]!r}\\n")
    elif event == "socket.getaddrinfo" and args[0] is not None and str(args[0]) not in LOCAL:
        sys.stderr.write(f"OUTBOUND lookup {args[0]!r}\\n")

sys.addaudithook(_audit)
sys.stderr.write("audit hook installed\\n")
'''

CROSS_BORDER = """# High-Risk Jurisdictions Procedure

For customers and counterparties connected with higher-risk jurisdictions, the Company applies enhanced due diligence and countermeasures.
The MLRO monitors FATF public statements and the findings of the AFSA and the National Bank on deficient jurisdictions and updates the high-risk country list.
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEVEL = re.compile(r"\[(warning|error|critical)\s*\]", re.IGNORECASE)


@dataclass
class Server:
    url: str
    cwd: Path
    log: Path
    startup_s: float

    def log_text(self, since: int = 0) -> str:
        return ANSI.sub("", self.log.read_text(encoding="utf-8", errors="replace")[since:])

    def log_size(self) -> int:
        return len(self.log.read_text(encoding="utf-8", errors="replace"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(audit_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "TAVILY_", "LANGSMITH_", "LANGCHAIN_", "AGENT_"))}
    return {
        **env, "AGENT_ENGINE": "embedded", "AGENT_FORMATS": "md,json",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
        "PYTHONPATH": os.pathsep.join([str(audit_dir), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`langgraph dev` in a copy of the project root: its langgraph.json and graphs/, no .env, outputs in the copy."""
    exe = shutil.which("langgraph") or str(Path(sys.executable).with_name("langgraph"))
    assert Path(exe).exists(), "langgraph-cli is not installed (pip install -e '.[server]')"
    cwd = tmp_path_factory.mktemp("served")
    shutil.copy(ROOT / "langgraph.json", cwd / "langgraph.json")
    (cwd / "graphs").symlink_to(ROOT / "graphs", target_is_directory=True)
    audit = tmp_path_factory.mktemp("audit")
    (audit / "sitecustomize.py").write_text(AUDIT, encoding="utf-8")
    port, log = free_port(), cwd / "server.log"
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=cwd, env=server_env(audit), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the server was not ready in 180 s:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        started = Server(url=url, cwd=cwd, log=log, startup_s=round(time.monotonic() - t0, 2))
        print(f"\nlanggraph dev ready in {started.startup_s} s")
        yield started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_run(client: httpx.Client, thread_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    t0 = time.monotonic()
    res = client.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "pipeline", **body})
    assert res.status_code == 200, res.text
    return res.json(), round(time.monotonic() - t0, 2)


def assert_clean(server: Server, since: int) -> None:
    text = server.log_text()
    assert "audit hook installed" in text, "the outbound-connection audit did not load in the server"
    assert "OUTBOUND" not in text, "the server reached beyond this machine:\n" + "\n".join(
        line for line in text.splitlines() if "OUTBOUND" in line)
    noisy = [line for line in server.log_text(since).splitlines() if LEVEL.search(line)]
    assert not noisy, "the server logged warnings or errors:\n" + "\n".join(noisy)


def test_the_pipeline_runs_on_langgraph_server_and_resumes_from_its_checkpoints(
        server: Server, tmp_path: Path, record_property: Any) -> None:
    since = server.log_size()
    client = httpx.Client(base_url=server.url, timeout=300)
    [assistant] = client.post("/assistants/search", json={"graph_id": "pipeline"}).json()
    shapes = client.get(f"/assistants/{assistant['assistant_id']}/schemas").json()
    assert shapes["input_schema"]["required"] == ["query"], "Studio's input form comes from this schema"
    assert set(shapes["input_schema"]["properties"]) == {"query", "policies", "profile"}
    assert "engine" in shapes["context_schema"]["properties"]

    thread = client.post("/threads", json={}).json()["thread_id"]
    out, run_s = wait_run(client, thread, {"input": {"query": "stablecoin KZ", "policies": str(EXAMPLES)}})
    record_property("startup_s", server.startup_s)
    record_property("run_s", run_s)
    print(f"\nrun over HTTP in {run_s} s")

    assert "__error__" not in out, out
    report = out["report"]
    assert out["gaps"] and [g["id"] for g in out["gaps"]] == [g["id"] for g in report["gaps"]]
    assert report["run"]["scope"]["jurisdiction"] == "KZ" and report["run"]["scope"]["topics"] == ["stablecoin"]
    assert {s["engine"] for s in report["run"]["steps"]} == {"embedded"}, "no keys: the embedded engine serves every step"
    sources = {s["id"] for s in report["sources"]}
    assert report["requirements"] and all(r["citations"] for r in report["requirements"])
    assert all(c["source_id"] in sources for r in report["requirements"] for c in r["citations"])
    assert all(c["verified"] for r in report["requirements"] for c in r["citations"] if c["quote"])
    assert {r for g in out["gaps"] for r in g["requirement_ids"]} <= {r["id"] for r in report["requirements"]}
    assert report["run"]["policies"]["folder"] == str(EXAMPLES)
    # drafts and the report land in the default output folder, policies_out, as with `agent run`
    out_dir = server.cwd / "policies_out"
    assert report["run"]["output_dir"] == str(out_dir)
    assert (out_dir / "IMPLEMENTATION_SUMMARY.md").is_file()
    assert all((out_dir / d["path"]).is_file() for d in report["drafts"] if d["action"] == "written")
    assert (out_dir / report["run"]["report_files"][0]).read_text(encoding="utf-8").startswith("#")

    state = client.get(f"/threads/{thread}/state").json()
    assert state["next"] == [] and state["values"]["report"] == report

    # The equivalent of `agent runs rerun ID --from gaps --policies DIR`: fork the thread before read_policies
    # with another folder. The server loads the checkpointed state back through its serializer here.
    folder2 = tmp_path / "policies_v2"
    shutil.copytree(EXAMPLES, folder2)
    (folder2 / "High_Risk_Jurisdictions.md").write_text(CROSS_BORDER, encoding="utf-8")
    history = client.post(f"/threads/{thread}/history", json={"limit": 100}).json()
    before = next(h for h in history if h["next"] == ["read_policies"])
    forked = client.post(f"/threads/{thread}/state", json={
        "values": {"policies_dir": str(folder2)}, "checkpoint_id": before["checkpoint"]["checkpoint_id"], "as_node": "verify",
    })
    assert forked.status_code == 200, forked.text
    out2, rerun_s = wait_run(client, thread, {"input": None, "checkpoint_id": forked.json()["checkpoint"]["checkpoint_id"]})
    record_property("rerun_from_gaps_s", rerun_s)
    assert "__error__" not in out2, out2
    gaps1, gaps2 = {g["category"] for g in out["gaps"]}, {g["category"] for g in out2["gaps"]}
    assert "Cross_Border" in gaps1 and gaps2 == gaps1 - {"Cross_Border"}, "the new folder closes the cross-border gap"
    assert out2["report"]["compliance_status"]["cross_border_compliance"] == "met"
    steps1, steps2 = out["report"]["run"]["steps"], out2["report"]["run"]["steps"]
    assert [s["step"] for s in steps2[:4]] == ["scope", "research", "analyze", "verify"]
    assert steps2[:4] == steps1[:4], "the steps before the fork are reused (the same records, timings included)"
    assert steps2[4]["step"] == "read_policies" and steps2[4] != steps1[4], "the folder is read again"

    assert_clean(server, since)


def test_bad_input_is_refused_before_any_work_with_the_reason(server: Server) -> None:
    client = httpx.Client(base_url=server.url, timeout=120)
    for given, error, says in (
        ({"query": "blorp"}, "ScopeError", "jurisdiction"),
        ({"query": "stablecoin EU vs Singapore"}, "ValueError", "several jurisdictions"),
        ({"query": "stablecoin KZ", "policies": str(server.cwd / "missing")}, "InputError", "does not exist"),
        ({"query": "stablecoin KZ", "profile": {"regime": "Mars"}}, "ProfileError", "regime"),
    ):
        thread = client.post("/threads", json={}).json()["thread_id"]
        out, _ = wait_run(client, thread, {"input": given})
        assert out.get("__error__", {}).get("error") == error, out
        assert says in out["__error__"]["message"]
        history = client.post(f"/threads/{thread}/history", json={"limit": 10}).json()
        assert not any(h["values"].get("steps") for h in history), "no step ran"


# --- the served graph in this process (no server) ---------------------------------------------------------------


def test_served_graph_gives_the_report_agent_run_gives(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.progress import Progress
    from agent.runner import run_pipeline
    from agent.scope import parse_scope
    from graphs.served import graph

    assert graph.checkpointer is None, "the server brings its own checkpointer"
    cli = run_pipeline(parse_scope("stablecoin KZ"), policies=EXAMPLES, out_dir=isolated / "cli_out",
                       db_path=isolated / "runs.sqlite", progress=Progress(enabled=False)).model_dump(mode="json")
    monkeypatch.setenv("AGENT_OUT_DIR", str(isolated / "served_out"))
    served = graph.invoke({"query": "stablecoin KZ", "policies": str(EXAMPLES)})["report"]

    def same_parts(report: dict[str, Any]) -> dict[str, Any]:
        run = {k: v for k, v in report["run"].items()
               if k not in ("id", "started_at", "finished_at", "output_dir", "report_files", "steps")}
        steps = [{k: v for k, v in s.items() if k != "duration_s"} for s in report["run"]["steps"]]
        return {**report, "run": {**run, "steps": steps}}

    def text(report: dict[str, Any]) -> str:  # the run id also names the report files a step lists
        return json.dumps(same_parts(report), sort_keys=True).replace(report["run"]["id"], "RUN")

    assert text(served) == text(cli)
    assert (isolated / "served_out" / served["run"]["report_files"][0]).is_file()


def test_profile_fields_given_inline_describe_the_firm(isolated: Path) -> None:
    from graphs.served import ServedContext, graph

    out = graph.invoke({"query": "custody AIFC", "policies": str(EXAMPLES),
                        "profile": {"legal_name": "Steppe Custody Ltd", "regime": "AIFC", "activities": ["custody"]}},
                       context=ServedContext(formats="md"))
    profile = out["report"]["profile"]
    assert profile["legal_name"] == {"value": "Steppe Custody Ltd", "origin": "file", "evidence": []}
    assert profile["activities"]["custodian"] == {"value": True, "origin": "file", "evidence": []}
    assert profile["activities"]["trading_venue"]["value"] is False, "a listed set of activities is complete"
    assert out["report"]["not_applicable"], "what the firm does not do is not assessed"
    assert [Path(f).suffix for f in out["report"]["run"]["report_files"]] == [".md"], "the context chose the formats"
