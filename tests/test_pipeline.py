"""The whole graph on the embedded engine: outputs, re-runs, human edits, baseline, checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.progress import Progress
from agent.report import render_markdown
from agent.runner import run_pipeline
from agent.scope import parse_scope
from tests.conftest import EXAMPLES


def run(query: str, tmp: Path, policies: Path | None = EXAMPLES, run_id: str | None = None):
    return run_pipeline(
        parse_scope(query), policies=policies, out_dir=tmp / "out", db_path=tmp / ".agent" / "runs.sqlite",
        progress=Progress(enabled=False), run_id=run_id,
    )


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and "reports" not in p.parts}


def test_example_folder_yields_cited_gaps_and_drafts(isolated: Path) -> None:
    report = run("stablecoin KZ", isolated)
    status = report.compliance_status
    assert status["aml_ctf_compliance"] in ("met", "partial")
    assert status["licensing_and_authorization"] == "not_met"
    assert status["reserve_requirements"] == "partial", "1:1 backing alone is not full reserve compliance"
    assert report.gaps and all(g.citations for g in report.gaps)
    files = {d.path for d in report.drafts}
    assert "IMPLEMENTATION_SUMMARY.md" in files
    for g in report.gaps:
        body = (isolated / "out" / f"{g.category}_{g.id}.md").read_text(encoding="utf-8")
        for heading in ("Purpose and scope", "Policy statements", "Roles and responsibilities", "Controls",
                        "Monitoring, records and review", "Approval and version history", "Regulatory basis"):
            assert f". {heading}\n" in body, f"{g.id} draft lacks {heading}"
        for rid in g.requirement_ids:
            assert rid in body


def test_unchanged_rerun_rewrites_nothing(isolated: Path) -> None:
    run("stablecoin KZ", isolated)
    before = snapshot(isolated / "out")
    report = run("stablecoin KZ", isolated)
    assert {d.action for d in report.drafts} == {"unchanged"}
    assert snapshot(isolated / "out") == before


def test_human_edit_is_kept_and_new_version_written_beside_it(isolated: Path) -> None:
    first = run("stablecoin KZ", isolated)
    target = isolated / "out" / next(d.path for d in first.drafts if d.path != "IMPLEMENTATION_SUMMARY.md")
    edited = target.read_text(encoding="utf-8") + "\nApproved with changes by the MLRO.\n"
    target.write_text(edited, encoding="utf-8")
    second = run("stablecoin KZ", isolated)
    kept = [d for d in second.drafts if d.action == "kept_human_edit"]
    assert [d.path for d in kept] == [target.name]
    assert target.read_text(encoding="utf-8") == edited
    proposed = isolated / "out" / kept[0].written_as
    assert proposed.name.endswith(".proposed.md") and proposed.is_file()
    md = render_markdown(second)
    assert target.name in md and kept[0].written_as in md
    assert any(target.name in w for w in second.run.warnings)


def test_without_policies_nothing_is_critical_and_every_requirement_lacks_evidence(isolated: Path) -> None:
    report = run("stablecoin KZ", isolated, policies=None)
    assert {a.status for a in report.assessments} == {"insufficient_evidence"}
    assert report.gaps and all(g.priority != "critical" for g in report.gaps)
    assert any("No policy folder" in w for w in report.run.warnings)


def test_jurisdiction_without_pack_uses_labelled_baseline(isolated: Path) -> None:
    report = run("stablecoin Germany", isolated)
    assert report.analysis.baseline_only and report.run.baseline_only
    assert report.requirements and all(r.baseline for r in report.requirements)
    assert all(g.priority != "critical" for g in report.gaps)
    md = render_markdown(report)
    assert "Baseline only" in md and "not statements of local law" in md


def test_every_claim_and_requirement_cites_a_listed_source(isolated: Path) -> None:
    report = run("custody KZ", isolated)
    ids = {s.id for s in report.sources}
    a = report.analysis
    claims = [*a.detailed_analysis, *a.key_regulatory_pillars, *a.important_considerations]
    assert claims
    for item in [*claims, *report.requirements]:
        assert item.citations and {c.source_id for c in item.citations} <= ids
    for c in (c for item in claims for c in item.citations if c.quote):
        assert c.verified, c


def test_run_is_checkpointed_under_its_id(isolated: Path) -> None:
    report = run("exchange KZ", isolated, run_id="test-run-1")
    assert report.run.id == "test-run-1"
    db = sqlite3.connect(isolated / ".agent" / "runs.sqlite")
    threads = {r[0] for r in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert "test-run-1" in threads
    assert db.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id='test-run-1'").fetchone()[0] >= 8
