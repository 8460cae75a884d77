"""Assessment of a fixture folder with known per-domain coverage, including the trap phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.progress import Progress
from agent.runner import run_pipeline
from agent.scope import parse_scope
from tests.conftest import FIXTURES

EXPECTED = {
    # fully written, in paraphrase
    "custody_and_client_assets": "met",
    "market_conduct": "met",
    # key management only; no incident notification, no cyber policy, no BCP
    "cybersecurity": "partial",
    # one STR sentence out of ten AML requirements
    "aml_ctf_compliance": "partial",
    # only trap sentences: a software licence, a line manager, 1:1 backing
    "licensing_and_authorization": "not_met",
    "reporting_transparency": "not_met",
    "reserve_requirements": "not_met",
    # absent
    "consumer_protection": "not_met",
    "governance_and_fit_proper": "not_met",
    "data_protection": "not_met",
    "tax": "not_met",
    "cross_border_compliance": "not_met",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("known")
    return run_pipeline(
        parse_scope("custody AIFC"), policies=FIXTURES / "policies_known", out_dir=tmp / "out",
        db_path=tmp / "runs.sqlite", progress=Progress(enabled=False),
    )


def test_per_domain_coverage_is_as_designed(report) -> None:
    assert report.compliance_status == EXPECTED


def test_trap_sentences_are_never_evidence(report) -> None:
    quotes = [e.quote.lower() for a in report.assessments for e in a.evidence]
    assert not any("software licence" in q or "licence keys" in q for q in quotes)
    assert not any("line manager" in q for q in quotes)
    reserve = [a for a in report.assessments if a.requirement_id.startswith("KZ-AIFC-RES")]
    assert reserve and all(a.status == "not_met" for a in reserve), "1:1 backing is not reserve segregation or custody"


def test_met_requirements_cite_file_lines_and_quote(report) -> None:
    folder = FIXTURES / "policies_known"
    met = [a for a in report.assessments if a.status == "met"]
    assert met
    for a in met:
        for e in a.evidence:
            lines = (folder / e.file).read_text(encoding="utf-8").splitlines()[e.line_start - 1 : e.line_end]
            text = " ".join(" ".join(lines).split())
            assert e.quote.rstrip("…")[:60] in text, (a.requirement_id, e)


def test_gaps_follow_the_assessment(report) -> None:
    gap_domains = {g.domain for g in report.gaps}
    assert gap_domains == {d for d, s in EXPECTED.items() if s != "met"}
    custody_policy = Path("Client_Asset_Policy.md")
    assert all(str(custody_policy) not in g.existing_files for g in report.gaps if g.domain == "licensing_and_authorization")
