"""`agent serve` without a browser: access token, cross-site forms, confined paths, escaping, downloads, live events.

Runs here are written straight into the run index (no pipeline), so the module stays fast; the real
pipeline behind the page is exercised in Chromium by tests/test_web_browser.py.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.models import (
    DraftOutput,
    Gap,
    PolicyInput,
    RegulatoryAnalysis,
    RunInfo,
    RunReport,
    Scope,
    StepRecord,
    WriteResult,
)
from agent.runstore import RunStore
from agent.web.app import WebConfig, create_app
from agent.web.server import ServeError, web_config

TOKEN = "s3cret-token-for-tests-0123456789"
BASE = "http://127.0.0.1:8765"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def _no_serve_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_SERVE_TOKEN", raising=False)


def db(isolated: Path) -> Path:
    return isolated / ".agent" / "runs.sqlite"


def make_report(out: Path, run_id: str = "20261201-100000-abc123", version: int = 1, query: str = "stablecoin KZ",
                gap_text: str = "No reserve policy.", report_md: str = "# Report\n\nAll fine.\n") -> RunReport:
    """A finished run version whose files exist in ``out``: one draft (Markdown and Word) and its report."""
    out.mkdir(parents=True, exist_ok=True)
    folder = "reports/" + run_id + (f"-v{version}" if version > 1 else "")
    (out / folder).mkdir(parents=True, exist_ok=True)
    (out / folder / "report.md").write_text(report_md, encoding="utf-8")
    (out / "Reserves_GAP-001.md").write_text("# Reserve policy draft\n", encoding="utf-8")
    (out / "Reserves_GAP-001.docx").write_bytes(b"PK\x03\x04 word file")
    scope = Scope(query=query, topics=("stablecoin",), jurisdiction="KZ", jurisdiction_name="Kazakhstan")
    steps = (StepRecord(step="research", engine="embedded", status="completed", duration_s=0.1, version=1),
             StepRecord(step="gaps", engine="live", status="completed", duration_s=1.5, tokens_in=1200, tokens_out=340,
                        detail="1 gap", version=version))
    run = RunInfo(id=run_id, version=version, rerun_from="gaps" if version > 1 else None, query=query, scope=scope,
                  started_at="2026-12-01T10:00:00+00:00", finished_at="2026-12-01T10:00:05+00:00", pack="KZ",
                  pack_version="2026.12.1", pack_as_of=dt.date(2026, 12, 1), baseline_only=False,
                  policies=PolicyInput(folder=None), output_dir=str(out), report_files=(f"{folder}/report.md",),
                  steps=steps, warnings=())
    analysis = RegulatoryAnalysis(jurisdiction="KZ", topics=("stablecoin",), status="regulated", confidence_level="High",
                                  executive_summary="", detailed_analysis=(), key_regulatory_pillars=(), landmark_legislation=(),
                                  primary_sources=(), secondary_sources=(), important_considerations=(),
                                  remaining_uncertainties=(), grounding_urls=(), notes_and_comments="")
    gap = Gap(id="GAP-001", priority="critical", category="Reserves", domain="reserve_requirements", requirement=gap_text,
              current_status="not_met", gap=gap_text, impact="", recommendation="Adopt a reserve policy.",
              requirement_ids=("KZ-AIFC-RES-001",), citations=())
    draft = DraftOutput(gap_ids=("GAP-001",), title="Reserve policy", category="Reserves", kind="new",
                        path="Reserves_GAP-001.md", action="written",
                        docx=WriteResult(path="Reserves_GAP-001.docx", action="written", sha256="0" * 64))
    report = RunReport(analysis=analysis, requirements=(), assessments=(), compliance_status={}, gaps=(gap,),
                       drafts=(draft,), sources=(), run=run)
    return report


def store(isolated: Path, report: RunReport) -> RunReport:
    with RunStore(db(isolated)) as s:
        s.start(report.run.id, report.run.version, report.run.scope, report.run.started_at, report.run.output_dir, None,
                rerun_from=report.run.rerun_from)
        s.finish(report)
    return report


def config(isolated: Path, **changes: Any) -> WebConfig:
    return WebConfig(db_path=db(isolated), out_dir=isolated / "out", **changes)


@pytest.fixture
def client(isolated: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(isolated)), base_url=BASE) as c:
        yield c


def csrf_of(client: TestClient) -> str:
    client.get("/")
    token = client.cookies.get("agent_csrf")
    assert token
    return token


# --- binding and the access token ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_binding_beyond_loopback_requires_a_token(host: str, isolated: Path) -> None:
    with pytest.raises(ServeError, match="--token or AGENT_SERVE_TOKEN"):
        web_config(host=host, db_path=db(isolated), out_dir=isolated, policies_root=None, token=None)
    with pytest.raises(ServeError, match="at least 16"):
        web_config(host=host, db_path=db(isolated), out_dir=isolated, policies_root=None, token="short")
    ok = web_config(host=host, db_path=db(isolated), out_dir=isolated, policies_root=None, token=TOKEN)
    assert ok.token is not None and ok.allowed_hosts is None


def test_loopback_needs_no_token_and_answers_only_its_own_names(isolated: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert web_config(host=host, db_path=db(isolated), out_dir=isolated, policies_root=None, token=None).token is None
    with TestClient(create_app(config(isolated)), base_url="http://attacker.example:8765") as c:
        # a foreign name resolving to 127.0.0.1 (DNS rebinding) gets nothing
        res = c.get("/")
        assert res.status_code == 400 and "only to its own address" in res.text


def test_agent_serve_refuses_to_start_off_loopback_without_a_token(isolated: Path) -> None:
    from agent.cli import app

    res = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert res.exit_code == 2
    assert "--token or AGENT_SERVE_TOKEN" in res.output


def test_the_token_is_checked_on_every_request(isolated: Path) -> None:
    app = create_app(config(isolated, token=TOKEN, allowed_hosts=None))
    with TestClient(app, base_url=BASE) as c:
        for path in ("/", "/static/style.css", "/runs/x", "/runs/x/files/1/a.md"):
            assert c.get(path).status_code == 401, path
        assert c.get("/", headers={"X-Agent-Token": TOKEN + "x"}).status_code == 401
        assert c.get("/", headers={"X-Agent-Token": TOKEN}).status_code == 200
        assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.post("/runs", data={"query": "stablecoin KZ"}).status_code == 401
        assert "agent_token" not in c.cookies

        # ?token= once: a cookie from then on, and the token leaves the address bar
        res = c.get(f"/runs/x?version=2&token={TOKEN}", follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/runs/x?version=2"
        cookie = res.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/").status_code == 200
        assert c.get("/?token=wrong-token-wrong-token", follow_redirects=False).status_code == 200  # cookie still valid
    with TestClient(app, base_url=BASE) as fresh:
        assert fresh.get("/?token=wrong-token-wrong-token").status_code == 401


# --- forms ------------------------------------------------------------------------------------------------


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(client: TestClient, isolated: Path) -> None:
    form = {"query": "stablecoin KZ"}
    res = client.post("/runs", data=form)
    assert res.status_code == 403 and "security token" in res.text
    token = csrf_of(client)
    assert client.post("/runs", data={**form, "csrf": "forged"}).status_code == 403
    assert client.post("/runs", data={**form, "csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/runs", data={**form, "csrf": token}, headers={"Origin": "http://evil.example"}).status_code == 403
    # the same form from the page itself gets through to validation (a bad query: nothing is started)
    res = client.post("/runs", data={"query": "zzz", "csrf": token},
                      headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"})
    assert res.status_code == 400 and "I could not find a jurisdiction in &#34;zzz&#34;" in res.text
    res = client.post("/runs", data={"query": "stablecoin KZ " + "x" * 600, "csrf": token})
    assert res.status_code == 400 and "longer than 500 characters" in res.text
    assert client.app.state.jobs.running() == []  # type: ignore[attr-defined]
    with RunStore(db(isolated)) as s:
        assert s.rows() == []


def test_policy_folders_are_chosen_from_the_root_never_a_path(isolated: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = isolated / "root"
    (root / "acme").mkdir(parents=True)
    (root / "acme" / "company.toml").write_text('legal_name = "Acme"\n', encoding="utf-8")
    (root / ".hidden").mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.toml").write_text('legal_name = "Other"\n', encoding="utf-8")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "linked.toml").symlink_to(outside / "secret.toml")
    with TestClient(create_app(config(isolated, policies_root=root)), base_url=BASE) as c:
        page = c.get("/").text
        assert '<option value="acme">' in page and '<option value="acme/company.toml">' in page
        assert "escape" not in page and ".hidden" not in page and "linked.toml" not in page
        token = csrf_of(c)
        for field, value in (("policies", "escape"), ("policies", "../root/acme"), ("policies", str(outside)),
                             ("policies", ".hidden"), ("profile", "linked.toml"), ("profile", "../outside/secret.toml")):
            res = c.post("/runs", data={"query": "stablecoin KZ", field: value, "csrf": token})
            assert res.status_code == 400, (field, value)
            assert "choose one of the listed entries" in res.text
        assert c.app.state.jobs.running() == []  # type: ignore[attr-defined]


def test_rerun_form_takes_only_the_offered_steps(client: TestClient, isolated: Path) -> None:
    report = store(isolated, make_report(isolated / "out"))
    token = csrf_of(client)
    res = client.post(f"/runs/{report.run.id}/rerun", data={"step": "lunch", "csrf": token})
    assert res.status_code == 400 and "choose the step to re-run from" in res.text
    assert client.post("/runs/nope/rerun", data={"step": "gaps", "csrf": token}).status_code == 404


# --- what the pages show ----------------------------------------------------------------------------------------


def test_stored_text_and_reports_are_escaped(client: TestClient, isolated: Path) -> None:
    report_md = (f"# Report {HOSTILE}\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) "
                 "[source](https://example.org/rule)\n\n| a | b |\n|---|---|\n| <b>1</b> | 2 |\n")
    report = store(isolated, make_report(isolated / "out", query=f"stablecoin KZ {HOSTILE}", gap_text=HOSTILE,
                                         report_md=report_md))
    listing = client.get("/").text
    assert HOSTILE not in listing and "&lt;script&gt;" in listing
    res = client.get(f"/runs/{report.run.id}")
    page = res.text
    assert res.status_code == 200
    assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript:' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;1&lt;/b&gt;" in page
    assert '<a href="https://example.org/rule" rel="noopener noreferrer">source</a>' in page
    assert "<table>" in page  # the report's Markdown tables are rendered
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert res.headers["x-frame-options"] == "DENY"


def test_run_page_shows_steps_with_engine_tokens_and_reused_versions(client: TestClient, isolated: Path) -> None:
    store(isolated, make_report(isolated / "out"))
    v2 = store(isolated, make_report(isolated / "out", version=2))
    page = client.get(f"/runs/{v2.run.id}").text
    assert "reused from version 1" in page and "version 2" in page
    assert "<td>live</td>" in page and '<td class="num">1200</td>' in page and '<td class="num">340</td>' in page
    assert "GAP-001" in page and "Adopt a reserve policy." in page
    assert "Re-run as version 3" in page
    assert f"/runs/{v2.run.id}/files/2/Reserves_GAP-001.docx" in page
    assert client.get("/runs/unknown-run").status_code == 404


def test_the_pages_read_a_shared_postgresql_database(isolated: Path, pg_url: str) -> None:
    report = make_report(isolated / "out")
    with RunStore(pg_url) as s:
        s.start(report.run.id, 1, report.run.scope, report.run.started_at, report.run.output_dir, None)
        s.finish(report)
    with TestClient(create_app(WebConfig(db_path=pg_url, out_dir=isolated / "out")), base_url=BASE) as c:
        assert report.run.id in c.get("/").text
        page = c.get(f"/runs/{report.run.id}").text
        assert '<td class="num">1200</td>' in page and "GAP-001" in page
    assert not (isolated / ".agent").exists()


# --- downloads ----------------------------------------------------------------------------------------------------


def test_drafts_download_from_the_runs_output_folder_only(client: TestClient, isolated: Path,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    out = isolated / "out"
    report = store(isolated, make_report(out))
    base = f"/runs/{report.run.id}/files/1"
    md = client.get(f"{base}/Reserves_GAP-001.md")
    assert md.status_code == 200 and md.text == "# Reserve policy draft\n"
    assert 'attachment; filename="Reserves_GAP-001.md"' in md.headers["content-disposition"]
    docx = client.get(f"{base}/Reserves_GAP-001.docx")
    assert docx.status_code == 200 and docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    # only files the run wrote, and never through a path that leaves the folder
    (isolated / "secret.txt").write_text("not yours", encoding="utf-8")
    for path in ("../secret.txt", "..%2Fsecret.txt", "%2Fetc%2Fpasswd", "Other.md"):
        res = client.get(f"{base}/{path}")
        assert res.status_code in (404, 422), path  # 422: the client resolved "..", leaving no file path
        assert "not yours" not in res.text
    # a draft replaced by a symlink to a file elsewhere is refused
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "stolen.md"
    elsewhere.write_text("outside the output folder", encoding="utf-8")
    (out / "Reserves_GAP-001.md").unlink()
    (out / "Reserves_GAP-001.md").symlink_to(elsewhere)
    res = client.get(f"{base}/Reserves_GAP-001.md")
    assert res.status_code == 403 and "outside the run&#39;s output folder" in res.text
    # the page no longer shows the report either, when it leads outside
    os.replace(out / report.run.report_files[0], isolated / "moved.md")
    (out / report.run.report_files[0]).symlink_to(isolated / "moved.md")
    assert "outside the run&#39;s output folder" in client.get(f"/runs/{report.run.id}").text


# --- runs in worker threads, live progress -------------------------------------------------------------------------


def test_a_job_streams_its_progress_and_reports_how_it_ended(client: TestClient, isolated: Path) -> None:
    import threading

    from agent.cancel import sigint_cancels
    from agent.progress import Progress
    from agent.runner import RerunError

    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    report = make_report(isolated / "out", run_id="20261201-110000-def456")
    release = threading.Event()

    def work(progress: Progress) -> RunReport:
        with sigint_cancels():  # as the runner does: on a worker thread it must not touch signals
            progress.start(report.run.id, "stablecoin — Kazakhstan", "no model")
            progress.step(report.run.steps[1])
            release.wait(30)
            store(isolated, report)
            return report

    job = jobs.start(report.run.id, "run", work)
    page = client.get(f"/runs/{report.run.id}?job={job.id}").text
    assert f'sse-connect="/runs/{report.run.id}/events?job={job.id}"' in page and "Starting" in page
    release.set()
    with client.stream("GET", f"/runs/{report.run.id}/events?job={job.id}") as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        body = "".join(res.iter_text())
    assert "event: row" in body and "<td>gaps</td>" in body and "<td>live</td>" in body
    assert "event: done" in body and "status-completed" in body
    # nothing more will come: the browser is told not to reconnect
    assert client.get(f"/runs/{report.run.id}/events?job={job.id}", headers={"Last-Event-ID": "99"}).status_code == 204

    def fails(progress: Progress) -> RunReport:
        raise RerunError("run X never reached the gaps step")

    failed = jobs.start("20261201-120000-aaaaaa", "re-run from gaps", fails)
    assert failed.thread is not None
    failed.thread.join(10)
    assert failed.status == "failed"
    page = client.get("/runs/20261201-120000-aaaaaa").text
    assert "ended failed: run X never reached the gaps step" in page
