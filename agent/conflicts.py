"""Policy statements that contradict a rule's figure: five years where six are required.

For every pack element with a ``quantity``, a document's sentences about the element's subject (each
``subject`` and ``extra`` group hits, not negated, no exclusion) are read for figures of that kind
(agent.quantities). Only figures in a clause that names the subject (a ``near`` group) are weighed, so
"escalated to the CISO immediately and reported to the AFSA within 72 hours" is judged on the 72 hours.
A sentence contradicts the rule when none of those figures meets it and at least one falls short, and it
does not defer to a longer period ("or longer where required"). Anything unclear is left alone: a vague
word, another currency, a place that cannot be resolved.

Like coverage, this is scanning (``scan_conflicts``: one document, every requirement) and judging
(``merge``: conflicts join the requirement's assessment, which can then be partial at best), so both can run
wherever ``assess.scan_document`` runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent.assess import Doc, _clip, _group_hits, _negated
from agent.knowledge.schema import CoverageElement, PackRequirement, Quantity
from agent.models import Assessment, Conflict
from agent.quantities import Mention, compare, mentions_for, policy_text, rule_text

ConflictFindings = dict[str, tuple[Conflict, ...]]

# A coordinated clause starts after ";" or after "and"/"but"/... when a verb follows within a few words
# ("... to the CISO immediately and reported to the AFSA ..."), not inside a list of nouns.
_VERBS = (
    r"is|are|was|were|be|been|must|shall|will|should|may|can|we|it|they|he|she|notif\w*|report\w*|inform\w*|"
    r"escalat\w*|submit\w*|sen[dt]\w*|fil(?:e|es|ed)|advis\w*|publish\w*|review\w*|approv\w*|kept|keep\w*|"
    r"retain\w*|stor\w*|transmit\w*|log(?:s|ged)?|record(?:s|ed)|reconcil\w*|perform\w*|conduct\w*|runs?|test\w*|"
    r"audit\w*|check\w*|monitor\w*|updat\w*|train\w*|meet\w*|sign\w*|provid\w*|hold\w*|held|host\w*|based|"
    r"located|resid\w*|lives?|works?|delet\w*|destroy\w*|archiv\w*|disclos\w*|deposit\w*|invest\w*|receiv\w*"
)
_CLAUSE = re.compile(
    rf";|,?\s+(?:and|but|while|whereas|then|or|however)\s+(?=(?:[\w'’-]+\s+){{0,3}}?(?:{_VERBS})\b)", re.IGNORECASE
)
# The policy defers to whatever the rules require: not a contradiction.
_DEFERS = re.compile(
    r"\bwhichever is (?:the )?(?:longer|later|greater|higher|stricter|earlier|shorter|sooner)\b|"
    r"\bor (?:such |any )?(?:a )?longer period\b|\b(?:or )?(?:longer|sooner|earlier|more often|more frequently) "
    r"(?:if|where|when|as) (?:\w+ )?(?:required|necessary|applicable)\b|\bunless (?:a )?(?:longer|shorter) period\b|"
    r"\bunless\b[^;]{0,80}\b(?:longer|sooner|earlier|more often)\b",
    re.IGNORECASE,
)
# Between a subject and "based in ...": another holder the place belongs to ("our group team based in London").
_OTHER_HOLDER = re.compile(
    r"\b(?:team|group|office|company|entity|firm|department|unit|bank|custodian|provider|vendor|auditor|staff|"
    r"employees|colleagues|directors?|board|deputy|analysts?|partner|affiliate|subsidiary|parent|committee|"
    r"servers?|supplier|contractor|agent)s?\b",
    re.IGNORECASE,
)


def clauses(text: str) -> list[tuple[int, int]]:
    """Spans of the coordinated clauses of a sentence."""
    cuts = [0]
    for m in _CLAUSE.finditer(text):
        cuts += [m.start(), m.end()]
    cuts.append(len(text))
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]


def _clause_of(spans: Sequence[tuple[int, int]], pos: int) -> int:
    return next((i for i, (a, b) in enumerate(spans) if a <= pos < b), len(spans) - 1)


def _attached(text: str, m: Mention, near: Sequence[int]) -> bool:
    """Is a place said of the subject itself, not of another holder named between them?"""
    before = [o for o in near if o <= m.start]
    if before:
        return not _OTHER_HOLDER.search(text[max(before) : m.start])
    after = [o for o in near if o >= m.end]
    return bool(after) and len(text[m.end : min(after)].split()) <= 3 and not _OTHER_HOLDER.search(text[m.end : min(after)])


def contradiction(q: Quantity, text: str, near: Sequence[int]) -> Mention | None:
    """The figure of a sentence that falls short of the rule's, if the sentence contradicts the rule.

    ``near`` are offsets (in ``text``) where the subject is named; only figures in their clauses count.
    """
    found = mentions_for(q, text)
    if not found:
        return None
    spans = clauses(text)
    subject_clauses = {_clause_of(spans, o) for o in near}
    direct = [m for m in found if _clause_of(spans, m.start) in subject_clauses]
    if q.kind == "location":
        direct = [m for m in direct if _attached(text, m, near)]
    verdicts = [(m, compare(q, m)) for m in direct]
    if any(v == "meets" for _, v in verdicts):
        return None
    if any(_DEFERS.search(text[spans[i][0] : spans[i][1]]) for i in subject_clauses):
        return None
    return next((m for m, v in verdicts if v == "short"), None)


def with_headings(doc: Doc, sections: Iterable[Any]) -> Doc:
    """The prepared document knowing its sections' headings (``tools.policies.Section``), to name where a conflict is."""
    return dataclasses.replace(doc, headings=tuple((s.line_start, s.heading) for s in sections if s.heading))


def section_of(doc: Doc, line: int) -> str | None:
    """Heading of the document section holding a line (None when the document has no headings)."""
    heading = None
    for first, title in doc.headings:
        if first > line:
            break
        heading = title
    return heading or None


def _element_conflicts(doc: Doc, element: CoverageElement) -> list[Conflict]:
    q = element.quantity
    assert q is not None
    groups = [element.all_of[i] for i in q.subject] + list(q.extra)
    hits = [_group_hits(doc, g) for g in groups]
    if not all(hits):
        return []
    candidates = set.intersection(*(set(h) for h in hits))
    for patterns in (element.exclude, q.exclude):
        if patterns and candidates:
            candidates -= set(_group_hits(doc, patterns))
    near_hits = [_group_hits(doc, element.all_of[i]) for i in (q.near or q.subject)]
    out: list[Conflict] = []
    for i in sorted(candidates):
        s = doc.sentences[i]
        if not all(any(not _negated(s.text, off) for off in h[i]) for h in hits):
            continue
        near = sorted(off for h in near_hits for off in h.get(i, ()) if not _negated(s.text, off))
        m = contradiction(q, s.text, near)
        if m is None:
            continue
        out.append(Conflict(
            element=element.name, kind=q.kind, policy_says=policy_text(m), rule_requires=rule_text(q),
            file=s.file, line_start=s.line_start, line_end=s.line_end, section=section_of(doc, s.line_start),
            quote=_clip(s.text), source_id=q.source_id, locator=q.locator,
        ))
    return out


def scan_conflicts(doc: Doc, reqs: Iterable[PackRequirement]) -> ConflictFindings:
    """Per requirement id, the statements of one document that contradict the rule's figures."""
    out: ConflictFindings = {}
    for r in reqs:
        found = [c for el in r.elements if el.quantity is not None for c in _element_conflicts(doc, el)]
        if found:
            out[r.id] = tuple(found)
    return out


def _key(c: Conflict) -> tuple[str, str, int, int, str]:
    return (c.element, c.file, c.line_start, c.line_end, c.policy_says)


def merge(a: Assessment, conflicts: Sequence[Conflict]) -> Assessment:
    """The assessment with these conflicts added: a requirement the policies contradict is never met."""
    have = {_key(c) for c in a.conflicts}
    new: list[Conflict] = []
    for c in conflicts:
        if _key(c) not in have:
            have.add(_key(c))
            new.append(c)
    status = "partial" if (a.conflicts or new) and a.status == "met" else a.status
    if not new and status == a.status:
        return a
    rationale = a.rationale
    if new:
        rationale += " Contradicts the rule: " + "; ".join(describe(c) for c in new) + "."
    return a.model_copy(update={"status": status, "conflicts": (*a.conflicts, *new), "rationale": rationale})


def merge_all(assessments: Sequence[Assessment], findings: Sequence[ConflictFindings]) -> list[Assessment]:
    """Every assessment with the conflicts the documents' scans found for its requirement."""
    return [merge(a, [c for f in findings for c in f.get(a.requirement_id, ())]) for a in assessments]


def where(c: Conflict) -> str:
    """'AML_CTF_Policy.md, section '9. Keeping records' (L110)'."""
    lines = f"L{c.line_start}" if c.line_start == c.line_end else f"L{c.line_start}-{c.line_end}"
    return f"{c.file}, section '{c.section}' ({lines})" if c.section else f"{c.file} ({lines})"


def describe(c: Conflict, sources: Mapping[str, str] | None = None) -> str:
    """One sentence naming the policy's words and the rule's: what to change and why.

    ``sources`` maps source ids to titles; without it the source id is named.
    """
    basis = (sources or {}).get(c.source_id, c.source_id) + (f", {c.locator}" if c.locator else "")
    return f"{where(c)} says {c.policy_says}; the rule requires {c.rule_requires} ({basis})"
