"""Sentences are read in context: headings, list lead-ins, header lines; one quote per element."""

from __future__ import annotations

import datetime as dt
import pickle

from agent.assess import assess_all, find_element, prepare, scan_document
from agent.knowledge.schema import CoverageElement, PackCitation, PackRequirement


def req(*elements: CoverageElement, rid: str = "KZ-T-001") -> PackRequirement:
    return PackRequirement(
        id=rid, regime="AIFC", topics=("aml_ctf",), domain="aml_ctf_compliance", title="t", obligation="o",
        priority="high", citations=(PackCitation(source_id="s"),), elements=elements, as_of=dt.date(2026, 11, 1),
    )


def doc(text: str, path: str = "p.md"):
    return prepare(path, text.splitlines())


RETENTION = CoverageElement(name="records kept six years", all_of=(("{record}",), ("{years}",)))
APPROVAL = CoverageElement(name="approved by the board", all_of=(("{governance}",), (r"\bapprov\w*",)))
TRAINING = CoverageElement(name="AML training", all_of=((r"\b(?:aml|anti-money laundering)\b",), ("{training}",)))
ESCALATION = CoverageElement(name="escalation to MLRO", all_of=(("{compliance_officer}",), (r"\bsuspic\w*",)))


def test_a_heading_gives_its_subject_to_the_sentences_below_it() -> None:
    d = doc("# Record keeping\n\nWe keep them for six years after the relationship ends.\n")
    [a] = assess_all([req(RETENTION)], [d])
    assert a.status == "met"
    [ev] = a.evidence
    assert (ev.line_start, ev.line_end) == (3, 3)
    assert ev.quote == "We keep them for six years after the relationship ends."


def test_a_heading_alone_is_never_evidence() -> None:
    d = doc("# Customer records are kept for six years\n\nSee the retention schedule.\n")
    [a] = assess_all([req(RETENTION)], [d])
    assert a.status == "not_met"


def test_a_heading_supplies_the_subject_only_not_the_qualifier() -> None:
    # "six years" in the heading does not make "Records are kept." a six-year retention rule.
    d = doc("## Six years\n\nRecords are kept in the archive.\n")
    assert find_element(d, RETENTION) is None


def test_a_plain_text_heading_counts_but_a_wrapped_line_does_not() -> None:
    plain = doc("Record Keeping\nWe keep them for six years after the relationship ends.\n", "p.txt")
    assert find_element(plain, RETENTION) is not None
    wrapped = doc("Our retention schedule covers the records\nof customers. We keep them for six years.\n", "p.txt")
    found = find_element(wrapped, RETENTION)
    assert found is None or "records" in found.text


def test_a_list_lead_in_gives_context_to_its_items() -> None:
    d = doc("The MLRO is responsible for:\n\n- receiving internal suspicion reports\n- training staff\n")
    found = find_element(d, ESCALATION)
    assert found is not None and found.text == "receiving internal suspicion reports"


def test_document_header_lines_are_evidence_of_what_they_state() -> None:
    d = doc("# AML Policy\n\nOwner: Head of Compliance\nApproved by: Board of Directors, 12 March 2024\nReview: annually\n\n"
            "All staff receive regular training.\n")
    lines = {s.line_start: s.text for s in d.sentences}
    assert lines[3] == "Owner: Head of Compliance" and lines[4].startswith("Approved by: Board of Directors")
    found = find_element(d, APPROVAL)
    assert found is not None and found.line_start == 4
    # the document's title gives the AML subject to the training sentence
    found = find_element(d, TRAINING)
    assert found is not None and found.line_start == 7


def test_one_quote_per_element_and_no_repeated_quote() -> None:
    both = CoverageElement(name="records", all_of=(("{record}",),))
    years = CoverageElement(name="six years", all_of=(("{years}",),))
    one_sentence = doc("Records are kept for six years.\n")
    [a] = assess_all([req(both, years)], [one_sentence])
    assert a.status == "met"
    assert len(a.evidence) == 1 and a.evidence[0].element == "records; six years"
    two = doc("Records are kept for six years.\nThe archive holds records of ten years of trading.\n")
    [a] = assess_all([req(both, years)], [two])
    quotes = [e.quote for e in a.evidence]
    assert len(quotes) == len(set(quotes)) == 2


def test_abbreviations_do_not_end_a_sentence() -> None:
    d = doc("Reports go to the FIU, e.g. Kazakhstan's AFM, under Law No. 191-IV. Records are kept.\n")
    assert [s.text for s in d.sentences] == [
        "Reports go to the FIU, e.g. Kazakhstan's AFM, under Law No. 191-IV.", "Records are kept.",
    ]


def test_prepared_documents_and_findings_survive_pickling() -> None:
    d = doc("# Record keeping\n\nWe keep them for six years.\n")
    findings = scan_document(d, [req(RETENTION)])
    assert pickle.loads(pickle.dumps(findings)) == findings
    sentences = pickle.loads(pickle.dumps(d.sentences))
    assert sentences == d.sentences and sentences[1].context == (d.sentences[0].start,)
