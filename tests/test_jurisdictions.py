"""The EU and UAE packs, offline: each analysis names the law, the authorities, the licences and capital, with verified quotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.knowledge import available, load
from agent.knowledge.verify import verify_all
from agent.models import TOPICS
from agent.retrieval import answer
from agent.scope import parse_scope
from tests.test_drafts import run

MIN_REQUIREMENTS, MIN_SOURCES = 25, 15


def test_every_shipped_pack_verifies() -> None:
    checks = verify_all()
    assert {c.code for c in checks} >= {"KZ", "EU", "AE", "SG", "HK", "US", "GB", "INTL"}
    failed = [c.render() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("code", ["EU", "AE", "SG", "HK", "US", "GB"])
def test_new_packs_have_kazakhstan_depth(code: str) -> None:
    pack = load(code)
    assert len(pack.requirements) >= MIN_REQUIREMENTS and len(pack.sources) >= MIN_SOURCES
    assert {s.topic for s in pack.statuses} == set(TOPICS)
    assert len({r.domain for r in pack.requirements}) >= 8
    assert pack.legislation and pack.authorities
    assert any(f.section == "uncertainty" for f in pack.facts)
    assert all(r.applies_to is not None and r.elements for r in pack.requirements)


@pytest.mark.parametrize(
    ("query", "law", "authorities", "licence", "capital"),
    [
        ("stablecoin EU", "Regulation (EU) 2023/1114", ["European Banking Authority (EBA)", "National competent authorities"],
         "EU-MICA-ART-001", "EUR 350,000"),
        ("custody EU", "Regulation (EU) 2023/1114", ["National competent authorities"], "EU-MICA-LIC-001", "EUR 125,000"),
        ("exchange UAE", "Virtual Assets and Related Activities Regulations 2023",
         ["Virtual Assets Regulatory Authority (VARA)", "Financial Services Regulatory Authority (FSRA)",
          "Dubai Financial Services Authority (DFSA)"], "AE-VARA-LIC-001", "AED 800,000"),
        ("stablecoin Singapore", "MAS stablecoin regulatory framework", ["Monetary Authority of Singapore (MAS)"],
         "SG-MAS-LIC-001", "SGD 1,000,000"),
        ("stablecoin Hong Kong", "Stablecoins Ordinance (Cap. 656)", ["Hong Kong Monetary Authority (HKMA)"],
         "HK-HKMA-LIC-001", "HKD 25,000,000"),
        # No US capital figure was seen in any source (the GENIUS Act leaves capital to the regulators' rules).
        ("stablecoin US", "GENIUS Act", ["Financial Crimes Enforcement Network (FinCEN)"], "US-FED-STB-001", None),
        ("custody United Kingdom", "Money Laundering, Terrorist Financing and Transfer of Funds",
         ["Financial Conduct Authority (FCA)"], "GB-FCA-LIC-001", "GBP 150,000"),
    ],
)
def test_offline_analysis_names_law_authorities_licences_and_capital(
    isolated: Path, query: str, law: str, authorities: list[str], licence: str, capital: str | None
) -> None:
    report = run(query, isolated)
    summary = report.analysis.executive_summary
    assert "Governing law: " in summary and law in summary.split("Regulated by:")[0]
    regulated = summary.split("Regulated by: ")[1].split("Licences and authorisations:")[0]
    assert all(a in regulated for a in authorities), regulated
    assert licence in summary.split("Licences and authorisations: ")[1]
    if capital is not None:
        assert capital in summary.split("Key figures: ")[1], summary
    quoted = [c for r in report.requirements for c in r.citations if c.quote]
    assert quoted and all(c.verified for c in quoted)
    assert all(c.url and c.url.startswith("https://") for c in quoted), "each quote links the page it was seen on"
    assert not report.analysis.awaiting_verification


def test_a_regime_query_keeps_to_that_regime(isolated: Path) -> None:
    report = run("custody DIFC", isolated)
    assert {r.regime for r in report.requirements if not r.baseline} == {"DIFC"}
    assert "Dubai Financial Services Authority (DFSA)" in report.analysis.executive_summary
    assert "Virtual Assets Regulatory Authority" not in report.analysis.executive_summary


@pytest.mark.parametrize(("question", "place"), [
    ("what own funds does a crypto-asset service provider need under MiCA?", "EU"),
    ("which licence does VARA require for a virtual asset exchange in Dubai?", "AE"),
])
def test_chat_answers_about_the_new_packs_offline_with_citations(question: str, place: str) -> None:
    codes = [parse_scope(f"licensing {place}").jurisdiction]
    text, cited = answer(question, codes)
    assert cited, text
    pack_sources = {s.id for s in load(place).sources}
    assert set(cited) & pack_sources, (cited, text)
    assert "international baseline" not in text.split("\n")[1]


def test_pack_list_includes_the_new_packs() -> None:
    assert {"KZ", "EU", "AE", "SG", "HK", "US", "GB", "INTL"} <= set(available())
