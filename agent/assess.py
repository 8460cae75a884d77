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
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

from agent.knowledge.lexicon import compile_pattern
from agent.knowledge.schema import CoverageElement, PackRequirement
from agent.models import DOMAINS, Assessment, Evidence, Status
from agent.prefilter import SCAN_RATIO, PatternSet, WordIndex, finditer

_NEGATION = re.compile(
    r"\b(?:not|no|never|without|nor|neither|cannot|lacks?|lacking|absence of|none)\b|n't\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:but|however|although|whereas|unless)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“‘\[])")
# A full stop after these is not the end of a sentence ("e.g. Bitcoin", "Law No. 191-IV", "U.S. Treasury").
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|incl|excl|no|nos|art|arts|para|paras|sec|ss|ch|ltd|inc|co|corp|plc|"
    r"llc|jsc|llp|mr|mrs|ms|dr|st|fig|ref|reg|regs|rev|vol|pp|p)|\b[A-Z](?:\.[A-Z])*)\.$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*+•▪●◦–]|\d+[.)]|[a-z][.)]|\|)\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
# "1. Introduction", "3.2 Record keeping", "A. GENERAL PRINCIPLES", "IV. Governance", "Section 4 – Scope"
_NUMBERED_HEADING = re.compile(
    r"^(?:(?:section|article|part|chapter|clause|schedule|annex|appendix)\s+[\dIVXLC]+[.:]?\s*[-–—:.]?\s*"
    r"|(\d{1,3}(?:\.\d{1,3})*)[.)]?\s+|([A-Z]|[IVX]{1,5})[.)]\s+)(?=\S)",
    re.IGNORECASE,
)
# Document header lines: "Owner: Head of Compliance", "Approved by: Board of Directors, 12 March 2024",
# "Review: annually", "Next Review Date: April 2026".
_KEY_VALUE = re.compile(r"^\s*(?:[-*•]\s+)?\*{0,2}([A-Z][\w()/&'’ .-]{0,40}?)\*{0,2}\s*:\*{0,2}\s+\S")
_CONTROL_HEADER = re.compile(r"\b(version|revision|author|change|changes|date|approved by|editor)\b")
# A glossary entry or definition names a term, it commits to nothing: "Sanctioned Countries means any
# country ...", "PEP: a person who ...", "Tipping off refers to ...".
_DEFINITION = re.compile(
    r"^[\"'“‘(]?[A-Z][\w'’/()&,\"”-]*(?:\s+[\w'’/()&,\"”-]+){0,6}?\s*(?:[\"”']\s*)?"
    r"(?:means|shall mean|refers to|is defined as|has the meaning)\b"
)
# What a rulebook says firms must do, quoted in a policy, is not the firm's own commitment:
# "Principle 8: Conflicts of Interest - A firm must manage conflicts of interest fairly".
_RULE_QUOTED = re.compile(
    r"^(?:principle|rule|article)\s+\d+[a-z]?\s*[:.–—-]|\b(?:a|each|every|all) (?:firm|licensee|authori[sz]ed person|regulated (?:firm|entity))s? (?:must|shall|should)\b"
    r"|\bfirms (?:must|shall|should)\b"
    # what a rulebook requires ("the FCA's Client Asset Rules require Pershing to ...") and what the firm risks
    r"|(?<!\bas )(?<!\bas the )(?<!\bas our )\b(?:rules|regulations|directive|act|law)\b(?:\s+\S+){0,2}\s+(?:require|requires|oblige|obliges|state|states)\b"
    r"|\b(?:is|are) exposed to\b"
    # what the customer must do ("Remember to keep your anti-virus software up to date", "you must ...")
    r"|^(?:please|remember|make sure|be sure)\b|\byou (?:must|should|need to|are required to)\b",
    re.IGNORECASE,
)
# A list item of one to three words ("Customer due diligence", "Ongoing monitoring") names a subject, and a
# line phrased as a question ("How we protect your data") is a title: neither commits to anything.
_LABEL = re.compile(r"^\W*(?:\S+(?:\s+\S+){0,2}\W*$|(?:how|what|why)\s+(?:we|do|does|is|are|can|will)\b)", re.IGNORECASE)
# A sentence in which the firm speaks for itself is the better quote when several state an element.
_COMMITS = re.compile(
    r"\b(?:we|our|us|will|shall|this policy|the (?:group|company|firm|bank|business)|(?:is|are) committed|ensures?|maintains?|(?:has|have) (?:appointed|established|adopted|implemented|in place))\b",
    re.IGNORECASE,
)
_CHANGE_LOG = re.compile(r"\b(change|changes|changed|revision|description|summary|amendments?)\b")
MAX_QUOTE = 320
_TITLE, _PLAIN = 0, 6  # heading levels: the document title; an unnumbered heading below numbered ones


Kind = str  # "text" (a sentence of a paragraph or a list item), "header" (a document header line), "heading"


@dataclass(frozen=True)
class Sentence:
    file: str
    line_start: int
    line_end: int
    text: str
    start: int  # offset in the document text used for matching
    end: int
    # Headings are context, never evidence; header lines ("Owner: …") are evidence of what they state.
    kind: Kind = "text"
    # Start offsets (in the document text) of the sentences that give this one context: the headings
    # above it, the lead-in line of its list ("The MLRO is responsible for:"), a table's header row.
    # Offsets, not indices, so that a document narrowed to some of its sentences stays consistent.
    context: tuple[int, ...] = ()


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
    # (context sentence index -> indices of the sentences under it, start offset -> index), built on first use
    under: list[tuple[dict[int, tuple[int, ...]], dict[int, int]]] = field(default_factory=list, compare=False, repr=False)
    # pattern group -> {sentence index: does it hit there at least once without negation}
    alive: dict[tuple[str, ...], dict[int, bool]] = field(default_factory=dict, compare=False, repr=False)
    # Domains are assessed in parallel threads on the same documents: the lock makes each cache entry
    # computed once instead of once per thread (the GIL would run those copies one after the other).
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    # (first line, heading) of each section of the source document, so a finding can name its section
    headings: tuple[tuple[int, str], ...] = field(default=(), compare=False, repr=False)
    # Start offsets of the sentences that say what the whole document is about: its title and its
    # opening sentence ("This AML Policy sets out ..."). They qualify every sentence of the document.
    topic: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def word_index(self) -> WordIndex:
        if not self.words:
            self.words.append(WordIndex(self.text))
        return self.words[0]

    def covered(self) -> tuple[dict[int, tuple[int, ...]], dict[int, int]]:
        """Context sentence index -> the sentences under it (a heading's section, a lead-in's list); start -> index."""
        if not self.under:
            with self.lock:
                if not self.under:
                    index = {s.start: i for i, s in enumerate(self.sentences)}
                    out: dict[int, list[int]] = {}
                    for i, s in enumerate(self.sentences):
                        for c in s.context:
                            j = index.get(c)
                            if j is not None:
                                out.setdefault(j, []).append(i)
                    self.under.append(({j: tuple(v) for j, v in out.items()}, index))
        return self.under[0]

    # Picklable (a document can be prepared in one process and used in another): the caches and the lock
    # stay behind and are rebuilt where the document is used.
    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "hits": {}, "groups": {}, "words": [], "under": [], "alive": {}, "lock": None}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, lock=threading.Lock())


def _heading_level(line: str, first: bool) -> int | None:
    """Level of a heading line, or None when the line is text. The document's first line may be its title."""
    if _HEADING.match(line):
        # counted, not matched with a regex: a heading with a long run of spaces would make one backtrack
        return _TITLE if first else len(line) - len(line.lstrip().lstrip("#")) - (len(line) - len(line.lstrip()))
    text = line.strip()
    if not text or line[:1].isspace() and not first or len(text) > 90 or text[-1] in ".,;:!" or text[0] in "-*+•|>":
        return None
    if not (text[0].isupper() or text[0].isdigit()):
        return None
    words = text.split()
    if len(words) > 12 or (text[-1] == "?" and len(words) > 14):
        return None
    if first:
        return _TITLE
    n = _NUMBERED_HEADING.match(text)
    if n:
        if n.group(1):
            return min(n.group(1).count(".") + 1, 5)
        return 2 if n.group(2) and len(n.group(2)) == 1 else 1
    return _PLAIN


def _looks_like_heading(text: str) -> bool:
    """Numbered, ALL CAPS, a question, or Title Case: how a heading reads when nothing else marks it."""
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if _NUMBERED_HEADING.match(text) or text.endswith("?") or (words and text.upper() == text):
        return True
    long_words = [w for w in words if len(w.strip("()&,-")) >= 4]
    return bool(long_words) and all(w.lstrip("(\"'“")[:1].isupper() for w in long_words)


def _is_plain_heading(lines: Sequence[str], n: int, prev_open: bool, blank_before: bool = True) -> bool:
    """Is line n (0-based) a heading written as a short line: not inside a wrapped sentence, followed by text?

    Without a blank line before it, the line must also read like a heading, so that a sentence that
    runs on over two lines ("Entry 10 continues" / "Entry 11 is filed.") is not cut in two.
    """
    if prev_open or _BULLET.match(lines[n]) and not _NUMBERED_HEADING.match(lines[n].strip()):
        return False
    if not blank_before and not _looks_like_heading(lines[n].strip()):
        return False
    for k in range(n + 1, min(n + 3, len(lines))):
        nxt = lines[k].strip()
        if nxt:
            # a line running on in lower case is the rest of a wrapped sentence, not a section's text
            return not _SETEXT.match(lines[k]) and not (k == n + 1 and nxt[0].islower())
    return False


_BARE_MIN, _BARE_MAX_LEN = 3, 120


def _bare_items(lines: Sequence[str]) -> set[int]:
    """Line numbers (1-based) of list items that lost their bullets, as web pages copied as text often do.

    A block of at least three consecutive lines, each short, starting with a capital letter or a digit and
    ending without punctuation, is a list: each line is an item of its own, not a heading and not one
    long sentence. A wrapped paragraph has a line that ends mid-sentence and runs on in lower case.
    """
    found: set[int] = set()
    block: list[int] = []
    for n, line in enumerate([*lines, ""], start=1):
        text = line.strip()
        if text and len(text) <= _BARE_MAX_LEN and (text[0].isupper() or text[0].isdigit()) and text[-1] not in ".,;:!?" \
                and not text.startswith(("|", "#")) and not _KEY_VALUE.match(line):
            block.append(n)
            continue
        if len(block) >= _BARE_MIN and not text:
            found.update(block)
        block = []
    return found


def prepare(path: str, lines: Sequence[str]) -> Doc:
    """Split a document into sentences that remember their line numbers and the headings above them.

    Headings (Markdown, numbered, or a short line standing alone before text) become sentences of kind
    "heading": never evidence, but context for every sentence of their section. A line ending with ":"
    is the lead-in of the list or lines that follow it. Header lines ("Approved by: Board") are
    sentences of their own.
    """
    sentences: list[Sentence] = []
    buf: list[tuple[int, str]] = []
    parts: list[str] = []
    offset = 0
    stack: list[tuple[int, int]] = []  # (level, start offset of the heading sentence)
    lead_in: int | None = None  # start offset of the active lead-in sentence
    table_head: int | None = None  # start offset of the active table's header row

    def context() -> tuple[int, ...]:
        extra = tuple(x for x in (lead_in, table_head) if x is not None)
        return tuple(start for _, start in stack) + extra

    def flush(kind: Kind = "text") -> int | None:
        """Emit the buffered lines as sentences; the start offset of the last one, if any."""
        nonlocal offset
        if not buf:
            return None
        stripped = [t.strip() for _, t in buf]
        para = " ".join(stripped)
        # char offset of each source line inside the paragraph (strictly increasing), computed once;
        # a sentence's lines are found by bisection, so long paragraphs stay linear
        line_offsets, numbers, pos = [], [n for n, _ in buf], 0
        for t in stripped:
            line_offsets.append(pos)
            pos += len(t) + 1
        cuts = [0]
        if kind == "text":
            cuts += [m.end() for m in _SENTENCE_END.finditer(para) if not _ABBREVIATION.search(para, max(0, m.start() - 12), m.start())]
        cuts.append(len(para))
        ctx = context()
        last = None
        for a, b in zip(cuts, cuts[1:], strict=False):
            chunk = para[a:b].strip()
            if len(chunk) < 3:
                continue
            lead = len(para[a:b]) - len(para[a:b].lstrip())
            first = numbers[bisect_right(line_offsets, a + lead) - 1]
            last_line = numbers[bisect_right(line_offsets, max(a, b - 1)) - 1]
            start = offset + a + lead
            sentences.append(Sentence(path, first, last_line, chunk, start, start + len(chunk), kind, ctx))
            last = start
        parts.append(para)
        offset += len(para) + 1
        buf.clear()
        return last

    skip_table = False
    prev_table = False
    prev_open = False  # the previous non-blank line ended inside a sentence (a wrapped paragraph)
    blank_before = True
    seen_text = False
    lines = [raw.rstrip() for raw in lines]
    bare = _bare_items(lines)
    for n, line in enumerate(lines, start=1):
        stripped = line.strip()
        is_table = stripped.startswith("|")
        if is_table and not prev_table:
            # A change log ("Version | Date | Author | Change") is history, not policy: skipped.
            header = stripped.lower()
            skip_table = len(set(_CONTROL_HEADER.findall(header))) >= 2 and bool(_CHANGE_LOG.search(header))
            table_head = None
        if not is_table and prev_table:
            table_head = None
        prev_table = is_table
        if is_table and skip_table:
            flush()
            continue
        if not stripped or set(stripped) <= set("-=|:_*# "):
            flush()
            if not stripped:
                blank_before = True
                # a blank line ends a lead-in's list unless the list goes on after it
                nxt = next((x for x in lines[n:] if x.strip()), "")
                if lead_in is not None and not _BULLET.match(nxt):
                    lead_in = None
            continue
        setext = n < len(lines) and _SETEXT.match(lines[n]) and not is_table and not _BULLET.match(line)
        kv = _KEY_VALUE.match(line)
        header_line = kv is not None and len(stripped) <= 160 and len(kv.group(1).split()) <= 5 and not _HEADING.match(line)
        level = None
        if n not in bare and not is_table and not header_line and (_HEADING.match(line) or setext or _is_plain_heading(lines, n - 1, prev_open and not blank_before, blank_before)):
            level = _heading_level(line, first=not seen_text and not sentences and not buf)
            if setext and level is None:
                level = 1 if lines[n].strip().startswith("=") else 2
            if level is not None and setext and level != _TITLE:
                level = 1 if lines[n].strip().startswith("=") else 2
        seen_text = True
        blank_before = False
        if level is not None:
            flush()
            lead_in = None
            while stack and stack[-1][0] >= level and level != _TITLE:
                stack.pop()
            buf.append((n, _BULLET.sub("", _HEADING.sub("", line)) if not _NUMBERED_HEADING.match(stripped) else _HEADING.sub("", line)))
            at = flush("heading")
            if at is not None:
                stack.append((level, at))
            prev_open = False
            continue
        if is_table:
            flush()
            buf.append((n, _BULLET.sub("", line)))
            at = flush("text")
            header_row = n < len(lines) and set(lines[n].strip()) <= set("-=|: ") and lines[n].strip().startswith("|")
            if header_row and at is not None:
                sentences[-1] = Sentence(**{**sentences[-1].__dict__, "kind": "heading"})
                table_head = at
            prev_open = False
            continue
        if header_line:
            flush()
            buf.append((n, _BULLET.sub("", line)))
            flush("header")
            prev_open = False
            continue
        if _BULLET.match(line) or n in bare:
            flush()
            buf.append((n, _BULLET.sub("", line)))
            at = flush()
            if stripped.endswith(":") and at is not None:
                lead_in = at
            prev_open = False
            continue
        buf.append((n, line))
        if stripped.endswith(":"):
            # the lead-in of what follows: its own sentence, context for the list under it
            lead_in = None
            lead_in = flush()
            prev_open = False
            continue
        prev_open = stripped[-1] not in ".!?;:\"'”)"
    flush()
    text = "\n".join(parts)
    return Doc(path, text, tuple(sentences), tuple(s.start for s in sentences), topic=_topic(sentences))


_TOPIC_REACH = 3  # the opening sentence is looked for among the document's first sentences


# What a document's title can lend its sentences: the field it covers, never a figure or a party.
_DOMAIN = re.compile(
    r"(?:anti[- ]?money|money[- ]laundering|laundering|terroris\w*|aml\b|cft\b|ctf\b|ml/tf|aml/cft|financial crime|"
    r"sanction\w*|complain\w*|(?:information |cyber ?)?security|cyber\w*|data protection|privacy|personal (?:data|information)|"
    r"conflicts? of interest|client (?:money|assets?|funds)|custod\w*|safeguard\w*|whistle\w*|kyc\b|know your customer|"
    r"(?:customer )?due diligence|transaction monitoring|market abuse|fraud|brib\w*|outsourc\w*|business continuity|incident\w*)",
    re.IGNORECASE,
)


def _names_domain(text: str, offsets: Sequence[int]) -> bool:
    return any(_DOMAIN.match(text, o) for o in offsets)


def _topic(sentences: Sequence[Sentence]) -> tuple[int, ...]:
    """The document's first sentence (its title when it has one) and its first sentence of text."""
    head = [s for s in sentences[:_TOPIC_REACH] if s.kind != "header"]
    if not head:
        return ()
    opening = next((s for s in head if s.kind == "text"), None)
    found = [head[0].start]
    if opening is not None and opening.start != head[0].start:
        found.append(opening.start)
    return tuple(found)


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
    index = doc.word_index()
    found = []
    primed = index.primed
    for pat in patterns:
        hits = known.get(pat)
        if hits is None:
            rx = compile_pattern(pat)
            if primed is not None and id(rx) not in primed[1] and primed[0].starts.get(id(rx)) is rx:
                hits = _NO_HITS  # planned, and no word of the document begins like a match
            else:
                hits = _pattern_hits(doc, rx, index)
            known[pat] = hits
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


def _alive(doc: Doc, group: tuple[str, ...], i: int) -> bool:
    """Does the group hit sentence i at least once without a negation just before the hit? (cached per document)"""
    seen = doc.alive.setdefault(group, {})
    ok = seen.get(i)
    if ok is None:
        text = doc.sentences[i].text
        ok = any(not _negated(text, o) for o in _group_hits(doc, group).get(i, ()))
        seen[i] = ok
    return ok


_NO_HITS: dict[int, list[int]] = {}  # shared by every pattern and group without hits; never modified


def _pattern_hits(doc: Doc, rx: re.Pattern[str], index: WordIndex | None = None) -> dict[int, list[int]]:
    """Sentence index -> offsets within it of the pattern's matches that lie inside one sentence."""
    if index is None:
        index = doc.word_index()
    primed = index.primed
    words = primed[1].get(id(rx)) if primed is not None else None
    if words is None:
        if primed is not None and primed[0].starts.get(id(rx)) is rx:
            return _NO_HITS  # no word of the document begins like a match
        spans: Iterable[tuple[int, int]] = finditer(rx, doc.text, index)  # not planned: the general path
    elif sum(map(len, words)) > index.size // SCAN_RATIO:
        spans = finditer(rx, doc.text, index, sorted(chain.from_iterable(words)))
    else:
        # The pattern tried only where a word of the text begins like it (agent.prefilter). A match at a
        # word does not depend on the matches before it, so the words are tried in any order and what
        # finditer reports is kept afterwards: in order, none starting inside the one before.
        text, match = doc.text, rx.match
        found = [m.span() for at in words for c in at if (m := match(text, c)) is not None]
        if len(found) > 1:
            found.sort()
            spans, end = [], 0
            for span in found:
                if span[0] >= end:
                    spans.append(span)
                    end = span[1]  # never empty: a match begins with a word character
        else:
            spans = found
    hits: dict[int, list[int]] = {}
    starts, sentences = doc.starts, doc.sentences
    for start, end in spans:
        i = bisect_right(starts, start) - 1
        if i < 0:
            continue
        s = sentences[i]
        if end <= s.end:
            offs = hits.get(i)
            if offs is None:
                hits[i] = [start - s.start]
            else:
                offs.append(start - s.start)
    return hits or _NO_HITS


def find_element(doc: Doc, element: CoverageElement) -> Sentence | None:
    """First sentence of the document that evidences the element, if any."""
    found = find_elements(doc, element)
    return found[0] if found else None


def find_elements(doc: Doc, element: CoverageElement) -> list[Sentence]:
    """Every sentence that evidences the element: those stating it whole first, then those that need their context.

    A sentence evidences an element when each concept group hits, not negated, in the sentence itself
    or, for the element's first group (its subject) only, in the context the sentence is read in (its
    headings, the lead-in of its list, its table's header row). A
    heading is never evidence itself. Exclusions apply to the sentence and to any context used.
    """
    raw: list[dict[int, list[int]]] = []
    for group in element.all_of:
        hits = _group_hits(doc, group)
        if not hits:
            return []
        raw.append(hits)
    groups = element.all_of
    excluded = set(_group_hits(doc, element.exclude)) if element.exclude else set()
    sentences = doc.sentences

    def alive(k: int, i: int) -> bool:
        return i in raw[k] and _alive(doc, groups[k], i)

    # negation is checked only where the other groups hit too, so long documents stay fast
    direct = set(raw[0]).intersection(*raw[1:])
    excluded |= {i for i in direct if sentences[i].kind == "text" and _not_firm(sentences[i].text)}
    whole = [i for i in sorted(direct)
             if sentences[i].kind != "heading" and i not in excluded and all(alive(k, i) for k in range(len(raw)))]
    helped: set[int] = set()
    if len(raw) > 1:
        # Only the element's first group, its subject ("records", "complaints", "sanctions"), may come
        # from the context: a heading names what a section is about, not the qualifiers of a control.
        covered, index = doc.covered()
        subject = [j for j in raw[0] if j in covered and alive(0, j) and j not in excluded]
        via: set[int] = set()
        for j in subject:
            via.update(covered[j])

        for i in sorted(via.intersection(*raw[1:]) - set(whole)):
            s = sentences[i]
            if s.kind == "heading" or i in excluded or alive(0, i) or _not_firm(s.text):
                continue
            if all(alive(k, i) for k in range(1, len(raw))) and any(index.get(c) in subject for c in s.context):
                helped.add(i)
        # One qualifier may come from what the whole document is about: in a document titled "AML
        # Policy", "Training and awareness for all relevant employees" states AML training. The
        # sentence must then name the subject itself: one group from context, never two.
        topic = [t for t in (index.get(c) for c in doc.topic) if t is not None and t not in excluded]
        for k in range(1, len(raw)):
            # candidates first: the topic's own hits are only read when some other sentence could use them
            pool = set(raw[0]).intersection(*(raw[j] for j in range(1, len(raw)) if j != k)) - set(whole) - helped - set(topic)
            if not pool or not any(t in raw[k] and _names_domain(sentences[t].text, raw[k][t]) and alive(k, t) for t in topic):
                continue
            for i in sorted(pool):
                s = sentences[i]
                if s.kind == "heading" or i in excluded or i in topic or _not_firm(s.text):
                    continue
                if all(alive(j, i) for j in range(len(raw)) if j != k):
                    helped.add(i)
    return _ranked(sentences[i] for i in whole) + _ranked(sentences[i] for i in sorted(helped))


def _not_firm(text: str) -> bool:
    """A definition, a rule quoted from a rulebook, a bare label or a question: never evidence of what the firm does."""
    return bool(_DEFINITION.match(text) or _RULE_QUOTED.search(text) or _LABEL.match(text))


def _ranked(found: Iterable[Sentence]) -> list[Sentence]:
    """Sentences in which the firm speaks for itself first, otherwise in document order."""
    return sorted(found, key=lambda s: _COMMITS.search(s.text) is None)


# What one document says for each requirement: per requirement id, the sentence evidencing each of its
# elements (None where the document does not state it). Scanning a document (scan_document) and judging a
# requirement across documents (assess_requirement) are separate so the scan can run anywhere (another
# process, a batch at a time) and only these small findings travel.
Row = tuple[Sentence | None, ...]
Findings = dict[str, Row]


def scan_document(doc: Doc, reqs: Iterable[PackRequirement]) -> Findings:
    """The evidencing sentence of every element of every requirement, in one document.

    Within a requirement each element gets its own sentence where the document has one, so that a
    reviewer sees one quote per element rather than the same sentence repeated.
    """
    reqs = tuple(reqs)
    plan = _scan_plan(reqs)
    index = doc.word_index()
    # one look-up of the document's words for every pattern of every element (agent.prefilter.PatternSet)
    index.prime(plan.patterns)
    # An element needs every one of its groups to hit somewhere in the document (find_elements returns []
    # as soon as one group has no hits). A group none of whose patterns any word of the document begins
    # like has no hits: such elements are not looked at. Exact; tests/test_matching_equivalence.py checks
    # the findings against find_elements run on every element.
    present = index.present(plan.patterns).__and__
    return {
        rid: _distinct(find_elements(doc, el) if all(map(present, masks)) else [] for el, masks in elements)
        for rid, elements in plan.rows
    }


def _distinct(candidates: Iterable[list[Sentence]]) -> Row:
    """One sentence per element: the first not already chosen for an earlier element, else the first."""
    chosen: list[Sentence | None] = []
    used: set[int] = set()
    for found in candidates:
        pick = next((s for s in found if s.start not in used), found[0] if found else None)
        if pick is not None:
            used.add(pick.start)
        chosen.append(pick)
    return tuple(chosen)


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


@dataclass(frozen=True)
class _ScanPlan:
    patterns: PatternSet
    # per requirement, its id and its elements, each with the mask (PatternSet.mask) of every group it needs
    rows: tuple[tuple[str, tuple[tuple[CoverageElement, tuple[int, ...]], ...]], ...]


def _scan_plan(reqs: tuple[PackRequirement, ...]) -> _ScanPlan:
    global _LAST_PLAN
    last = _LAST_PLAN  # one read: another thread may replace it, never change it
    if last is not None and last[0] is reqs:
        return last[1]
    patterns = pattern_set(reqs)
    rows = tuple(
        (r.id, tuple((el, tuple(patterns.mask(compile_pattern(p) for p in g) for g in el.all_of)) for el in r.elements))
        for r in reqs
    )
    plan = _ScanPlan(patterns, rows)
    _LAST_PLAN = (reqs, plan)
    return plan


_LAST_PLAN: tuple[tuple[PackRequirement, ...], _ScanPlan] | None = None


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
            continue
        same = next((j for j, e in enumerate(evidence)
                     if (e.file, e.line_start, e.line_end) == (found.file, found.line_start, found.line_end)), None)
        if same is not None:
            # one sentence stating two elements is quoted once, naming both
            evidence[same] = evidence[same].model_copy(update={"element": f"{evidence[same].element}; {element.name}"})
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
    """Coverage of every requirement, with the statements that contradict a rule's figures (agent.conflicts)."""
    from agent.conflicts import merge_all, scan_conflicts  # it builds on this module

    reqs = list(reqs)
    findings = [scan_document(d, reqs) for d in docs]
    contradictions = [scan_conflicts(d, reqs) for d in docs]
    return merge_all([assess_requirement(r, findings) for r in reqs], contradictions)


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


def compliance_status(domain_of: Mapping[str, str], assessments: Iterable[Assessment]) -> dict[str, Status]:
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
