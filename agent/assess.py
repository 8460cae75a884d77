"""Deterministic coverage rules: does a policy folder evidence each requirement?

A requirement is a list of elements. An element is evidenced by one sentence of a policy in
which every pattern group hits, no exclusion hits, and no hit is negated ("not", "without",
"never" just before it). All elements evidenced: met; some: partial; none: not_met; no
readable policy at all: insufficient_evidence. See README "How coverage is decided".
"""

from __future__ import annotations

import functools
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.knowledge.lexicon import compile_pattern
from agent.knowledge.schema import CoverageElement, PackRequirement
from agent.models import DOMAINS, Assessment, Evidence, Status
from agent.prefilter import NO_CANDIDATES as _NO_CANDIDATES
from agent.prefilter import PatternSet, WordIndex, finditer

_NEGATION = re.compile(
    r"\b(?:not|no|never|without|nor|neither|cannot|lacks?|lacking|absence of|none)\b|n't\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:but|however|although|whereas|unless)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“‘\[])")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|[a-z][.)]|\|)\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_CONTROL_HEADER = re.compile(r"\b(version|revision|author|change|changes|date|approved by|editor)\b")
MAX_QUOTE = 320


@dataclass(frozen=True)
class Sentence:
    file: str
    line_start: int
    line_end: int
    text: str
    start: int  # offset in the document text used for matching
    end: int


@dataclass(frozen=True)
class Doc:
    """A policy document prepared for matching: one text, sentence spans, lower-cased once."""

    path: str
    text: str
    sentences: tuple[Sentence, ...]
    starts: tuple[int, ...]
    # pattern -> {sentence index: hit offsets}; shared by every requirement assessed on this document
    hits: dict[str, dict[int, list[int]]] = field(default_factory=dict, compare=False, repr=False)
    # pattern group -> merged hits of its patterns, as _group_hits returns them
    groups: dict[tuple[str, ...], dict[int, list[int]]] = field(default_factory=dict, compare=False, repr=False)
    # the word index of the text (agent.prefilter), built on first use
    words: list[WordIndex] = field(default_factory=list, compare=False, repr=False)
    # Domains are assessed in parallel threads on the same documents: the lock makes each cache entry
    # computed once instead of once per thread (the GIL would run those copies one after the other).
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def word_index(self) -> WordIndex:
        if not self.words:
            self.words.append(WordIndex(self.text))
        return self.words[0]

    # Picklable (a document can be prepared in one process and used in another): the caches and the lock
    # stay behind and are rebuilt where the document is used.
    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "hits": {}, "groups": {}, "words": [], "lock": None}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, lock=threading.Lock())


def prepare(path: str, lines: Sequence[str]) -> Doc:
    """Split a document into sentences that remember their line numbers."""
    sentences: list[Sentence] = []
    buf: list[tuple[int, str]] = []
    parts: list[str] = []
    offset = 0

    def flush() -> None:
        nonlocal offset
        if not buf:
            return
        stripped = [t.strip() for _, t in buf]
        para = " ".join(stripped)
        # char offset of each source line inside the paragraph (strictly increasing), computed once;
        # a sentence's lines are found by bisection, so long paragraphs stay linear
        line_offsets, numbers, pos = [], [n for n, _ in buf], 0
        for t in stripped:
            line_offsets.append(pos)
            pos += len(t) + 1
        cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(para)), len(para)]
        for a, b in zip(cuts, cuts[1:]):
            chunk = para[a:b].strip()
            if len(chunk) < 3:
                continue
            first = numbers[bisect_right(line_offsets, a) - 1]
            last = numbers[bisect_right(line_offsets, max(a, b - 1)) - 1]
            start = offset + a
            sentences.append(Sentence(path, first, last, chunk, start, start + len(chunk)))
        parts.append(para)
        offset += len(para) + 1
        buf.clear()

    skip_table = False
    prev_table = False
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        is_table = line.lstrip().startswith("|")
        if is_table and not prev_table:
            # A table headed "Version | Date | Author | Change" is document control, not policy.
            skip_table = len(set(_CONTROL_HEADER.findall(line.lower()))) >= 2
        prev_table = is_table
        if is_table and skip_table:
            flush()
            continue
        if not line.strip() or set(line.strip()) <= set("-=|:_*# "):
            flush()
            continue
        if _HEADING.match(line) or _BULLET.match(line):
            flush()
            buf.append((n, _BULLET.sub("", _HEADING.sub("", line))))
            flush()
            continue
        buf.append((n, line))
    flush()
    text = "\n".join(parts)
    return Doc(path, text, tuple(sentences), tuple(s.start for s in sentences))


def _sentence_at(doc: Doc, pos: int) -> int:
    i = bisect_left(doc.starts, pos + 1) - 1
    return i


_NEGATION_WORDS = 4
_WINDOW_START, _WINDOW_MAX = 128, 4096
_SPACE = re.compile(r"\s")


def _negated(sentence: str, match_start: int) -> bool:
    """Is a negation among the last four words of the clause that ends where the hit starts?

    Only the text just before the hit is looked at, growing from 128 to at most 4,096 characters, so
    checking every hit of a very long sentence stays linear. The window always starts just after a
    whitespace character: no word and no word boundary is cut, so as soon as it holds a clause break
    or four words the answer is exactly the one the whole sentence would give. Only words longer than
    the largest window can make it differ (the part of the window before its first space is ignored).
    """
    reach = _WINDOW_START
    while True:
        lo = match_start - reach
        if lo <= 0:
            return _negated_clause(sentence[:match_start])
        space = _SPACE.search(sentence, lo, match_start)
        before = sentence[space.end() : match_start] if space else ""
        pieces = _CLAUSE_BREAK.split(before)
        if len(pieces) > 1 or len(before.split()) >= _NEGATION_WORDS or reach >= _WINDOW_MAX:
            return _negated_clause(pieces[-1])
        reach *= 2


def _negated_clause(before: str) -> bool:
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = clause.split()[-_NEGATION_WORDS:]
    return bool(_NEGATION.search(" ".join(words)))


def _group_hits(doc: Doc, patterns: tuple[str, ...]) -> dict[int, list[int]]:
    """Sentence index -> offsets (within the sentence) of hits of any pattern in the group (shared; do not modify)."""
    cached = doc.groups.get(patterns)
    if cached is not None:
        return cached
    with doc.lock:
        return _group_hits_locked(doc, patterns)


def _group_hits_locked(doc: Doc, patterns: tuple[str, ...]) -> dict[int, list[int]]:
    cached = doc.groups.get(patterns)
    if cached is not None:
        return cached  # computed by another thread while this one waited
    known = doc.hits
    found = []
    for pat in patterns:
        hits = known.get(pat)
        if hits is None:
            hits = known[pat] = _pattern_hits(doc, compile_pattern(pat))
        if hits:
            found.append(hits)
    if len(found) <= 1:
        merged = found[0] if found else _NO_HITS  # shared, like every cached result
    else:
        merged = {}
        for hits in found:
            for i, offs in hits.items():
                merged.setdefault(i, []).extend(offs)
    doc.groups[patterns] = merged
    return merged


_NO_HITS: dict[int, list[int]] = {}  # shared by every pattern and group without hits; never modified


def _pattern_hits(doc: Doc, rx: re.Pattern[str]) -> dict[int, list[int]]:
    """Sentence index -> offsets within it of the pattern's matches that lie inside one sentence."""
    index = doc.word_index()
    candidates = index.planned(rx)
    if candidates is _NO_CANDIDATES:
        return _NO_HITS  # no word of the document begins like a match
    hits: dict[int, list[int]] = {}
    for start, end in finditer(rx, doc.text, index, candidates):
        i = _sentence_at(doc, start)
        if i < 0:
            continue
        s = doc.sentences[i]
        if end <= s.end:
            hits.setdefault(i, []).append(start - s.start)
    return hits or _NO_HITS


def find_element(doc: Doc, element: CoverageElement) -> Sentence | None:
    """First sentence of the document that evidences the element, if any."""
    candidates: set[int] | None = None
    groups = []
    for group in element.all_of:
        hits = _group_hits(doc, group)
        if not hits:
            return None
        groups.append(hits)
        candidates = set(hits) if candidates is None else candidates & set(hits)
        if not candidates:
            return None
    excluded = set(_group_hits(doc, element.exclude)) if element.exclude else set()
    for i in sorted(candidates or ()):
        if i in excluded:
            continue
        s = doc.sentences[i]
        if all(any(not _negated(s.text, off) for off in g[i]) for g in groups):
            return s
    return None


# What one document says for each requirement: per requirement id, the sentence evidencing each of its
# elements (None where the document does not state it). Scanning a document (scan_document) and judging a
# requirement across documents (assess_requirement) are separate so the scan can run anywhere (another
# process, a batch at a time) and only these small findings travel.
Row = tuple[Sentence | None, ...]
Findings = dict[str, Row]


def scan_document(doc: Doc, reqs: Iterable[PackRequirement]) -> Findings:
    """The evidencing sentence of every element of every requirement, in one document."""
    reqs = tuple(reqs)
    # one look-up of the document's words for every pattern of every element (agent.prefilter.PatternSet)
    doc.word_index().prime(pattern_set(reqs))
    return {r.id: tuple(find_element(doc, el) for el in r.elements) for r in reqs}


def pattern_set(reqs: Sequence[PackRequirement]) -> PatternSet:
    """Every pattern of the requirements' elements (exclusions included), ready to prime a word index."""
    global _LAST_SET
    last = _LAST_SET  # one read: another thread may replace it, never change it
    if last is not None and last[0] is reqs:  # a folder is scanned document after document for the same requirements
        return last[1]
    found = _pattern_set(tuple(p for r in reqs for el in r.elements for g in (*el.all_of, el.exclude) for p in g))
    _LAST_SET = (reqs, found)
    return found


_LAST_SET: tuple[Sequence[PackRequirement], PatternSet] | None = None


@functools.lru_cache(maxsize=32)
def _pattern_set(patterns: tuple[str, ...]) -> PatternSet:
    return PatternSet(compile_pattern(p) for p in dict.fromkeys(patterns))


def assess_requirement(req: PackRequirement, findings: Sequence[Findings]) -> Assessment:
    """Judge one requirement from the findings of every document read (one entry per document)."""
    if not findings:
        return Assessment(
            requirement_id=req.id,
            status="insufficient_evidence",
            missing=tuple(e.name for e in req.elements),
            rationale="No readable policy document was available, so coverage could not be judged.",
        )
    # Evidence comes preferably from the document that evidences most elements, so a reviewer
    # is pointed at the policy that really covers the requirement, not a passing mention.
    none: Row = (None,) * len(req.elements)
    found_by_doc = [f.get(req.id, none) for f in findings]
    ranked = sorted(range(len(found_by_doc)), key=lambda i: -sum(x is not None for x in found_by_doc[i]))
    evidence: list[Evidence] = []
    missing: list[str] = []
    for k, element in enumerate(req.elements):
        found = next((found_by_doc[i][k] for i in ranked if found_by_doc[i][k] is not None), None)
        if found is None:
            missing.append(element.name)
        else:
            evidence.append(
                Evidence(
                    file=found.file,
                    line_start=found.line_start,
                    line_end=found.line_end,
                    quote=_clip(found.text),
                    element=element.name,
                )
            )
    status: Status = "met" if not missing else ("partial" if evidence else "not_met")
    return Assessment(
        requirement_id=req.id,
        status=status,
        evidence=tuple(evidence),
        missing=tuple(missing),
        rationale=_rationale(status, evidence, missing, len(findings)),
    )


def assess_all(reqs: Iterable[PackRequirement], docs: Sequence[Doc]) -> list[Assessment]:
    reqs = list(reqs)
    findings = [scan_document(d, reqs) for d in docs]
    return [assess_requirement(r, findings) for r in reqs]


def rollup(statuses: Iterable[Status]) -> Status:
    """Domain status from its requirements' statuses."""
    s = set(statuses)
    if not s or s == {"insufficient_evidence"}:
        return "insufficient_evidence"
    if s == {"met"}:
        return "met"
    if s <= {"not_met", "insufficient_evidence"}:
        return "not_met"
    return "partial"


def compliance_status(domain_of: dict[str, str], assessments: Iterable[Assessment]) -> dict[str, Status]:
    by_domain: dict[str, list[Status]] = {}
    for a in assessments:
        by_domain.setdefault(domain_of[a.requirement_id], []).append(a.status)
    return {d: rollup(by_domain[d]) for d in DOMAINS if d in by_domain}


_WORD = re.compile(r"\S+")


def _clip(text: str) -> str:
    """Whitespace collapsed and cut to MAX_QUOTE; reads only as many words as the quote needs."""
    words: list[str] = []
    size = -1
    for m in _WORD.finditer(text):
        words.append(m.group())
        size += len(words[-1]) + 1
        if size > MAX_QUOTE:
            break
    text = " ".join(words)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


def _rationale(status: Status, evidence: list[Evidence], missing: list[str], ndocs: int) -> str:
    found = "; ".join(f"{e.element} ({e.file} L{e.line_start}-{e.line_end})" for e in evidence)
    if status == "met":
        return f"Every element is evidenced: {found}."
    if status == "partial":
        return f"Evidenced: {found}. Not found in any policy: {'; '.join(missing)}."
    return f"None of the elements ({'; '.join(missing)}) is stated in the {ndocs} policy document(s) read."
