"""The linear-time matching paths give exactly what the plain definitions give.

Reference implementations below are the straightforward (quadratic on long input) versions the faster
code replaced: sentence lines by scanning, negation over the whole sentence, quote clipping over the
whole text, and ``re.finditer`` over the whole document for every pattern.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from agent import assess
from agent.knowledge.lexicon import MACROS, compile_pattern
from agent.prefilter import PatternSet, WordIndex, finditer, word_starts
from tests.conftest import ROOT

rng = random.Random(20261122)


def _pack_patterns() -> list[str]:
    found: set[str] = {"{%s}" % name for name in MACROS}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "all_of" in node:
                for group in node["all_of"]:
                    found.update(group)
                found.update(node.get("exclude", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "agent" / "knowledge" / "data").glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return sorted(found)


PATTERNS = _pack_patterns()
VOCABULARY = (
    "client clients' CLIENT Customer assets segregated not never but, however; (held) in trust wallets "
    "1:1 backed reserves ten years 5 records MLRO STR sanctions UN lists PEPs peps KYC travel rule "
    "_client éclient client’s naïve état ﬁle fiat-backed tokens e-money X—Y “quoted” 12.5% AFSA afsa"
).split()


def _texts() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "examples" / "policies").glob("*.md"))]
    assert texts
    for _ in range(60):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 250))]
        texts.append("".join(w + rng.choice([" ", " ", "\n", "", ", ", ". "]) for w in words))
    texts.append("ſanctions screening of İstanbul clients at 3 K")  # characters that fold to ASCII letters
    return texts


def test_almost_every_pack_pattern_has_an_exact_shortcut() -> None:
    with_shortcut = [p for p in PATTERNS if word_starts(compile_pattern(p).pattern, compile_pattern(p).flags)]
    assert len(with_shortcut) >= 0.95 * len(PATTERNS)


def test_shortcut_matches_are_those_of_finditer_for_every_pack_pattern() -> None:
    for text in _texts():
        index = WordIndex(text)
        for pattern in PATTERNS:
            rx = compile_pattern(pattern)
            assert list(finditer(rx, text, index)) == [m.span() for m in rx.finditer(text)], (pattern, text[:80])


def test_primed_index_gives_the_matches_of_finditer_for_every_pack_pattern() -> None:
    # the scan looks a document's words up once for all patterns of the run (PatternSet), then tries each
    # pattern at the words found for it
    compiled = [compile_pattern(p) for p in PATTERNS]
    plan = PatternSet(compiled)
    for text in _texts():
        index = WordIndex(text)
        index.prime(plan)
        for rx in compiled:
            assert list(finditer(rx, text, index)) == [m.span() for m in rx.finditer(text)], (rx.pattern[:60], text[:80])


@pytest.mark.parametrize(
    ("pattern", "starts"),
    [
        (r"\b(?:client|customer)s? assets", {"client", "customer"}),
        (r"\b(?:annual )?income\b", {"annual", "income"}),
        (r"\b(?<!bank )statements?", {"statement"}),
        (r"\b[5-9] years", {"5", "6", "7", "8", "9"}),
        (r"(?-i:\bPEPs?)", {"pep"}),
        (r"reconcil\w*", None),  # no word boundary: a match may start inside a word
        (r"\b(?:\w+) assets", None),
        (r"(?a:\bclient)", None),  # ASCII word boundaries differ from the index's
    ],
)
def test_word_starts_are_read_from_the_parse_tree(pattern: str, starts: set[str] | None) -> None:
    found = word_starts(pattern, re.IGNORECASE)
    assert (set(found) if found is not None else None) == starts


# --- reference implementations ---------------------------------------------------------------------------


def negated_reference(sentence: str, match_start: int) -> bool:
    clause = assess._CLAUSE_BREAK.split(sentence[:match_start])[-1]
    return bool(assess._NEGATION.search(" ".join(clause.split()[-4:])))


def clip_reference(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= assess.MAX_QUOTE else text[: assess.MAX_QUOTE - 1].rstrip() + "…"


def test_negation_window_and_quote_clipping_match_the_whole_sentence_rules() -> None:
    words = ["not", "no", "never", "but", "however", "client", "assets", ",", ";", "(", "knot", "butter",
             "x" * 60, "y" * 500, "don't", "\t", "\u00a0", "absence of", "lack", "Cannot"]
    for _ in range(3000):
        sentence = "".join(rng.choice(words) + rng.choice([" ", "", "  "]) for _ in range(rng.randint(1, 300)))
        for _ in range(4):
            at = rng.randint(0, len(sentence))
            assert assess._negated(sentence, at) == negated_reference(sentence, at), (sentence, at)
        assert assess._clip(sentence) == clip_reference(sentence)


def test_sentence_line_numbers_match_a_scan_of_the_paragraph() -> None:
    pool = ["Client assets are segregated.", "We do not mix funds. Never.", "- a bullet item", "# Heading", "",
            "| a | b |", "1. First item", "short", "Text without an end", "Ends here. Next starts", "  indented.  "]
    for _ in range(500):
        lines = [rng.choice(pool) for _ in range(rng.randint(0, 80))]
        doc = assess.prepare("p.md", lines)
        for s in doc.sentences:
            # The sentence's text is found on the lines it names, and on no narrower range.
            span = " ".join(line.strip() for line in lines[s.line_start - 1 : s.line_end])
            assert s.text.split()[0] in span and s.text.split()[-1] in span
            assert doc.text[s.start : s.end] == s.text


def test_long_paragraph_maps_every_sentence_to_its_own_line() -> None:
    lines = [f"Entry {i} is filed." for i in range(1, 20_001)]
    doc = assess.prepare("p.md", lines)
    assert [(s.line_start, s.line_end) for s in doc.sentences] == [(i, i) for i in range(1, 20_001)]
