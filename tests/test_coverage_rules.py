"""The coverage matcher itself: co-occurrence, exclusions, negation, line numbers, roll-up."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.assess import assess_all, prepare, rollup
from agent.knowledge.schema import CoverageElement, PackCitation, PackRequirement


def req(*elements: CoverageElement, rid: str = "KZ-T-001") -> PackRequirement:
    return PackRequirement(
        id=rid, regime="AIFC", topics=("custody",), domain="custody_and_client_assets", title="t",
        obligation="o", priority="high", citations=(PackCitation(source_id="s"),), elements=elements,
        as_of=dt.date(2026, 11, 1),
    )


SEGREGATION = CoverageElement(name="segregation", all_of=(("{segregate}",), ("{client_assets}", "{virtual_asset}")))
RECON = CoverageElement(name="reconciliation", all_of=(("reconcil\\w*",), ("{client_assets}", "wallet", "ledger")))
LICENCE = CoverageElement(
    name="licence", all_of=(("{licence}",), ("{regulator}", "{virtual_asset}")), exclude=("{not_reg_licence}",)
)


def doc(text: str, path: str = "p.md"):
    return prepare(path, text.splitlines())


@pytest.mark.parametrize(
    "sentence",
    [
        "Client digital assets are segregated from the Company's own assets.",
        "Customer coins are held in wallets kept separate from the company's own holdings.",
        "Customer funds are never commingled with corporate funds.",
        "Client assets are ring-fenced and held on trust for clients.",
    ],
)
def test_paraphrases_of_segregation_count(sentence: str) -> None:
    [a] = assess_all([req(SEGREGATION)], [doc(f"# Custody\n\n{sentence}\n")])
    assert a.status == "met"
    assert a.evidence[0].line_start == 3


@pytest.mark.parametrize(
    "sentence",
    [
        "Client digital assets are not segregated from our own assets.",
        "We hold customer coins without segregation from operating wallets.",
        "Segregation of duties applies to the finance team.",
    ],
)
def test_negated_or_unrelated_segregation_does_not_count(sentence: str) -> None:
    [a] = assess_all([req(SEGREGATION)], [doc(sentence)])
    assert a.status == "not_met", a.rationale


def test_software_licence_is_not_licensing_evidence() -> None:
    d = doc("IT renews the software licence for our crypto wallet monitoring tool every year.\nLicence keys are stored in the vault.")
    [a] = assess_all([req(LICENCE)], [d])
    assert a.status == "not_met"


def test_regulatory_licence_is_licensing_evidence() -> None:
    d = doc("The Company will not provide custody until it is licensed by the AFSA.")
    [a] = assess_all([req(LICENCE)], [d])
    assert a.status == "met"


def test_words_must_cooccur_in_one_sentence() -> None:
    # "reconcile" and "wallet" appear, but in different sentences: no evidence.
    d = doc("Finance reconciles bank statements monthly. Wallet addresses are whitelisted.")
    [a] = assess_all([req(RECON)], [d])
    assert a.status == "not_met"


def test_partial_when_some_elements_evidenced_and_line_range_spans_wrapped_sentence() -> None:
    text = "# Custody\n\nClient digital assets are held in segregated\nwallets at all times.\n\nWe reconcile bank accounts.\n"
    [a] = assess_all([req(SEGREGATION, RECON)], [doc(text, "custody.md")])
    assert a.status == "partial"
    assert a.missing == ("reconciliation",)
    ev = a.evidence[0]
    assert (ev.file, ev.line_start, ev.line_end) == ("custody.md", 3, 4)
    assert "segregated wallets" in ev.quote


def test_no_documents_is_insufficient_evidence() -> None:
    [a] = assess_all([req(SEGREGATION)], [])
    assert a.status == "insufficient_evidence"


def test_evidence_may_come_from_different_files() -> None:
    d1 = doc("Client assets are segregated from company assets.", "a.md")
    d2 = doc("Operations reconcile client wallet balances daily.", "b.md")
    [a] = assess_all([req(SEGREGATION, RECON)], [d1, d2])
    assert a.status == "met"
    assert {e.file for e in a.evidence} == {"a.md", "b.md"}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["met", "met"], "met"),
        (["met", "not_met"], "partial"),
        (["partial"], "partial"),
        (["not_met", "not_met"], "not_met"),
        (["not_met", "insufficient_evidence"], "not_met"),
        (["insufficient_evidence"], "insufficient_evidence"),
    ],
)
def test_domain_rollup(statuses, expected) -> None:
    assert rollup(statuses) == expected
