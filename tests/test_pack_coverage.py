"""Coverage patterns of the shipped packs: natural paraphrases count, look-alike text does not.

A false positive (claiming a policy covers something it does not) is the worst failure of the gap
analysis, a missed paraphrase the second worst. These tests pin both down for every element of every
requirement of every shipped pack:

- tests/fixtures/paraphrases.json and paraphrases/<code>.json: at least two natural paraphrases per element, each must be evidence;
- tests/fixtures/distractors/: realistic documents of a virtual-asset company about other things
  (HR, IT assets, finance, marketing, facilities, procurement, product FAQ, board terms of reference);
  no element may be evidenced by any of their sentences. If a distractor sentence genuinely states a
  requirement, rewrite the sentence, not the rule;
- the example folder's deliberate traps evidence nothing beyond what they really say.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from agent.assess import Doc, Sentence, find_element, prepare
from agent.knowledge import available, load
from agent.knowledge.schema import CoverageElement, PackRequirement
from tests.conftest import EXAMPLES, FIXTURES
from tools.policies import read_policies

CODES = available()
# One file for the Kazakhstan and baseline packs, one per further pack (paraphrases/<code>.json).
PARAPHRASES_FILES = (FIXTURES / "paraphrases.json", *sorted((FIXTURES / "paraphrases").glob("*.json")))
DISTRACTORS = FIXTURES / "distractors"
MIN_PARAPHRASES = 2

# Deliberate traps in examples/policies and what each may evidence (requirement id, element name).
FULL_BACKING = {
    ("KZ-AIFC-RES-001", "reserves at least equal to outstanding stablecoins (full / 1:1 backing)"),
    ("INTL-FSB-RES-001", "full 1:1 backing"),
}
TRAPS = {
    "The IT Lead tracks software licence renewals and licence keys for our office tools": set(),
    "All staff report to their line manager weekly on progress": set(),
    # Evidence of full backing only: not segregation, custody, attestation, redemption, currency or composition.
    "Each token is backed 1:1 by fiat held at partner banks": FULL_BACKING,
}


# Sentences that must not evidence the named element: false positives found in review, and statements
# that say the opposite of the obligation.
NOT_EVIDENCE = [
    ("KZ-AIFC-RES-001", "reserves at least equal to outstanding stablecoins (full / 1:1 backing)",
     "All staff report to their line manager weekly on progress, usually in a short one-to-one meeting."),
    ("INTL-FSB-RES-001", "full 1:1 backing", "Managers hold a 1:1 meeting with each team member every week."),
    ("KZ-AIFC-RES-001", "reserves at least equal to outstanding stablecoins (full / 1:1 backing)",
     "Tokens are partially backed by reserves of at least 80% of the outstanding supply."),
    ("KZ-AIFC-RES-002", "reserve assets liquid / high-quality for redemptions",
     "It applies to the Finance and Treasury teams and to any director who approves payments from reserve accounts."),
    ("KZ-AIFC-RES-002", "reserves denominated in the reference fiat currency",
     "The reserve may be held in tenge or US dollars regardless of the token's reference currency."),
    ("KZ-NAT-LIC-003", "digital mining data centre / hardware registration",
     "Hardware signing devices used for customer wallets are listed in the register by serial number only."),
    ("KZ-AIFC-AML-004", "alerts investigated and documented",
     "We monitor them more closely afterwards, with lower alert thresholds and an annual review of the file by the MLRO."),
    ("INTL-FATF-MON-001", "alerts investigated", "The IT Lead reviews alerts for failed logins every working day."),
    ("KZ-AIFC-AML-009", "MLRO seniority and independence",
     "Aliya Nurlanova, Senior Compliance Analyst, is the Deputy MLRO and acts whenever the MLRO is absent."),
    ("KZ-AIFC-CYB-001", "technology and cyber risk assessment",
     "It approves the business-wide risk assessment and this policy each year."),
    ("KZ-AIFC-CYB-002", "cyber security policy approved by board/governing body",
     "Board papers are marked Confidential under the Information Security Policy."),
    ("KZ-AIFC-CYB-003", "wallet creation and management procedures (hot/cold)",
     "We spot patterns such as rapid chains of transfers through newly created wallets."),
    ("KZ-AIFC-REP-001", "annual AML/operational statistics to AFSA",
     "The MLRO files a suspicious transaction report with the Financial Monitoring Agency."),
    ("KZ-AIFC-CUST-001", "client assets protected on insolvency / held on trust",
     "Customer names, beneficial owners and directors are checked against the UN Security Council consolidated list."),
    ("KZ-NAT-GOV-001", "owners screened against terrorism/extremism and sanctions lists",
     "Tokens move between wallets whose owners we do not always know, and can be used to fund terrorism."),
    ("INTL-FSB-GOV-001", "governance framework",
     "Certificate of incorporation, charter, and an extract showing current directors and shareholders."),
    ("INTL-FSB-GOV-001", "clear responsibility and accountability", "Roles and responsibilities"),
    ("INTL-FSB-DATA-001", "data governance framework",
     "Databases and document stores are backed up every night to a second cloud region."),
    ("KZ-AIFC-CUST-001", "segregation of client assets from own assets", "We do not segregate client assets from our own."),
    ("INTL-IOSCO-CUST-001", "segregation of client assets",
     "Client coins are held in omnibus client wallets together with company funds."),
    ("KZ-AIFC-CUST-001", "no use of client assets for the firm's own account", "We may use client assets for our own account."),
    ("KZ-AIFC-CUST-001", "no use of client assets for the firm's own account", "Client tokens may be lent to market makers."),
    ("KZ-AIFC-CON-005", "lending/staking restricted to eligible (professional) clients",
     "Staking is offered to all retail clients without limits."),
]


@cache
def requirements() -> tuple[PackRequirement, ...]:
    return tuple(r for code in CODES for r in load(code).requirements)


def elements() -> list[tuple[str, CoverageElement]]:
    return [(r.id, el) for r in requirements() for el in r.elements]


@cache
def paraphrases() -> dict[str, dict[str, list[str]]]:
    merged: dict[str, dict[str, list[str]]] = {}
    for path in PARAPHRASES_FILES:
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


@cache
def distractor_docs() -> tuple[Doc, ...]:
    folder = read_policies(DISTRACTORS)
    return tuple(prepare(d.path, d.lines) for d in folder.documents)


@cache
def example_docs() -> tuple[Doc, ...]:
    folder = read_policies(EXAMPLES)
    return tuple(prepare(d.path, d.lines) for d in folder.documents)


def only(doc: Doc, sentence: Sentence) -> Doc:
    """The same document text, with a single sentence eligible as evidence."""
    return Doc(doc.path, doc.text, (sentence,), (sentence.start,))


def all_evidence(doc: Doc, element: CoverageElement) -> list[Sentence]:
    """Every sentence of the document that evidences the element (find_element returns the first)."""
    found: list[Sentence] = []
    rest = list(doc.sentences)
    while rest:
        sub = Doc(doc.path, doc.text, tuple(rest), tuple(s.start for s in rest))
        hit = find_element(sub, element)
        if hit is None:
            break
        found.append(hit)
        rest = [s for s in rest if s.start != hit.start]
    return found


# --------------------------------------------------------------------------- (d) completeness


def test_every_element_has_paraphrases() -> None:
    corpus = paraphrases()
    missing = [
        f"{rid} | {el.name} ({len(corpus.get(rid, {}).get(el.name, []))} paraphrases)"
        for rid, el in elements()
        if len(corpus.get(rid, {}).get(el.name, [])) < MIN_PARAPHRASES
    ]
    assert not missing, (
        f"every coverage element needs at least {MIN_PARAPHRASES} paraphrases in tests/fixtures/paraphrases*:\n  "
        + "\n  ".join(missing)
    )


def test_paraphrase_corpus_names_only_existing_elements() -> None:
    known = {(rid, el.name) for rid, el in elements()}
    stale = [f"{rid} | {name}" for rid, els in paraphrases().items() for name in els if (rid, name) not in known]
    assert not stale, "paraphrases for unknown requirements/elements (renamed or removed?):\n  " + "\n  ".join(stale)


# --------------------------------------------------------------------------- (a) paraphrases count


@pytest.mark.parametrize("req", requirements(), ids=lambda r: r.id)
def test_paraphrases_evidence_their_element(req: PackRequirement) -> None:
    corpus = paraphrases().get(req.id, {})
    failures = []
    for el in req.elements:
        for text in corpus.get(el.name, []):
            doc = prepare("paraphrase.md", [text])
            assert len(doc.sentences) == 1, f"{req.id} | {el.name}: paraphrase is not one sentence: {text!r}"
            if find_element(doc, el) is None:
                failures.append(f"{req.id} | {el.name}\n    not evidenced by: {text!r}")
    assert not failures, "paraphrases that should count as evidence do not:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- (b) distractors


def test_distractor_corpus_is_substantial() -> None:
    docs = distractor_docs()
    assert 6 <= len(docs) <= 10, f"expected 6-10 distractor documents, found {len(docs)}"
    for d in docs:
        assert len(d.sentences) >= 40, f"{d.path}: distractor document too short ({len(d.sentences)} sentences)"


@pytest.mark.parametrize("name", sorted(p.name for p in DISTRACTORS.glob("*.md")))
def test_no_element_matches_a_distractor(name: str) -> None:
    [doc] = [d for d in distractor_docs() if d.path == name]
    hits = []
    for rid, el in elements():
        s = find_element(doc, el)
        if s is not None:
            hits.append(f"{rid} | {el.name}\n    {doc.path}:{s.line_start}: {s.text!r}")
    assert not hits, "distractor sentences wrongly counted as policy evidence:\n" + "\n".join(hits)


@pytest.mark.parametrize(("rid", "name", "text"), NOT_EVIDENCE, ids=[f"{r}:{t[:40]}" for r, _, t in NOT_EVIDENCE])
def test_known_false_positives_stay_fixed(rid: str, name: str, text: str) -> None:
    [el] = [e for r in requirements() if r.id == rid for e in r.elements if e.name == name]
    doc = prepare("sentence.md", [text])
    assert find_element(doc, el) is None, f"{rid} | {name}\n    must not be evidenced by: {text!r}"


# --------------------------------------------------------------------------- (c) example traps


@pytest.mark.parametrize("trap", sorted(TRAPS))
def test_example_trap_sentences_evidence_only_what_they_say(trap: str) -> None:
    located = [(d, s) for d in example_docs() for s in d.sentences if trap in s.text]
    assert len(located) == 1, f"trap sentence not found exactly once in {EXAMPLES}: {trap!r}"
    doc, sentence = located[0]
    sub = only(doc, sentence)
    evidenced = {(rid, el.name) for rid, el in elements() if find_element(sub, el) is not None}
    unexpected = sorted(evidenced - TRAPS[trap])
    missing = sorted(TRAPS[trap] - evidenced)
    assert not unexpected, (
        f"{doc.path}:{sentence.line_start} {sentence.text!r} must not evidence:\n  "
        + "\n  ".join(f"{rid} | {name}" for rid, name in unexpected)
    )
    assert not missing, (
        f"{doc.path}:{sentence.line_start} {sentence.text!r} should evidence:\n  "
        + "\n  ".join(f"{rid} | {name}" for rid, name in missing)
    )


def test_full_backing_evidence_in_examples_comes_only_from_the_backing_sentence() -> None:
    # The reserve policy of the example issuer states 1:1 backing once; nothing else there is evidence of it.
    by_id = {r.id: r for r in requirements()}
    for rid, name in sorted(FULL_BACKING):
        [el] = [e for e in by_id[rid].elements if e.name == name]
        found = [(d.path, s.text) for d in example_docs() for s in all_evidence(d, el)]
        assert [t for _, t in found] == ["Each token is backed 1:1 by fiat held at partner banks."], (
            f"{rid} | {name} evidenced by: {found}"
        )
