"""The linear-time matching paths give exactly what the plain definitions give.

Reference implementations below are the straightforward (quadratic on long input) versions the faster
code replaced: sentence lines by scanning, negation over the whole sentence, quote clipping over the
whole text, and ``re.finditer`` over the whole document for every pattern.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import random
import re
from pathlib import Path

import pytest

from agent import assess
from agent.knowledge.lexicon import MACROS, compile_pattern
from agent.prefilter import PatternSet, WordIndex, finditer, word_starts
from tests.conftest import ROOT

rng = random.Random(20261122)


def _pack_patterns() -> list[str]:
    found: set[str] = {"{" + name + "}" for name in MACROS}

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


# --- whole-document findings against the plain definitions ------------------------------------------------
#
# The scan decides from a document's words which patterns can match at all, tries a pattern only at the
# words that can start it, and looks at an element only when each of its groups can hit. The reference
# below does none of that: every pattern's hits come from re.finditer over the whole text, every element
# goes through find_elements, every sentence through the profile rules one by one.


def _generated(folder: Path, n: int) -> list[Path]:
    spec = importlib.util.spec_from_file_location("run_bench", ROOT / "bench" / "run_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(folder, n, seed=20261202)
    return sorted(folder.iterdir())


def _real_documents(tmp_path: Path) -> list[assess.Doc]:
    from agent.scan import prepare_document
    from tools.policies import list_files, read_file

    folders = [ROOT / "bench" / "eval" / "corpus", ROOT / "examples" / "policies", ROOT / "examples" / "exchange"]
    _generated(tmp_path / "generated", 40)
    folders.append(tmp_path / "generated")
    extra = tmp_path / "extra"
    extra.mkdir()
    # characters that fold to ASCII letters turn the word index off: the plain scan must give the same
    (extra / "folds.md").write_text(
        "# Client aſſets\n\nClient assets are ſegregated from the firm's own assets and held in trust.\n\n"
        "Records are kept for five years. The MLRO reports suspicious transactions to the AFSA.\n",
        encoding="utf-8",
    )
    folders.append(extra)
    docs = []
    for folder in folders:
        _root, files, _notes = list_files(folder)
        for file in files:
            docs.extend(prepare_document(d) for d in read_file(file, sections=False).documents)
    assert len(docs) > 80
    return docs


def _all_requirements() -> tuple:
    from agent import knowledge

    return tuple(r for code in knowledge.available() for r in knowledge.load(code).requirements)


def _groups(reqs: tuple) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for r in reqs:
        for el in r.elements:
            found.update(el.all_of)
            found.add(el.exclude)
            if el.quantity is not None:
                found.update(el.quantity.extra)
                found.add(el.quantity.exclude)
    return found


def plain_hits(doc: assess.Doc, pattern: str) -> dict[int, list[int]]:
    """The definition: every re.finditer match over the document's text that lies inside one sentence."""
    hits: dict[int, list[int]] = {}
    for m in compile_pattern(pattern).finditer(doc.text):
        inside = [i for i, s in enumerate(doc.sentences) if s.start <= m.start()]
        if inside and m.end() <= doc.sentences[inside[-1]].end:
            hits.setdefault(inside[-1], []).append(m.start() - doc.sentences[inside[-1]].start)
    return hits


def _reference(doc: assess.Doc, reqs: tuple, patterns: set[str]) -> tuple[object, object]:
    """Findings and conflicts computed from plain_hits, with find_elements run on every element."""
    from agent.conflicts import scan_conflicts

    copy = pickle.loads(pickle.dumps(doc))  # same document, no caches
    copy.hits.update({p: plain_hits(copy, p) for p in patterns})
    findings = {r.id: assess._distinct(assess.find_elements(copy, el) for el in r.elements) for r in reqs}
    return findings, scan_conflicts(copy, reqs)


def test_scan_findings_equal_the_plain_definition_on_real_documents(tmp_path: Path) -> None:
    from agent.conflicts import scan_conflicts

    reqs = _all_requirements()
    patterns = {p for g in _groups(reqs) for p in g}
    kz = reqs[: len(reqs) // 2]  # a second plan on the same documents: what one run primed never leaks
    for doc in _real_documents(tmp_path):
        want_findings, want_conflicts = _reference(doc, reqs, patterns)
        fresh = pickle.loads(pickle.dumps(doc))
        assert assess.scan_document(fresh, kz) == {r.id: want_findings[r.id] for r in kz}, doc.path
        assert assess.scan_document(fresh, reqs) == want_findings, doc.path
        assert scan_conflicts(fresh, reqs) == want_conflicts, doc.path
        # every pattern's hits, as the scan computed them (primed) and from an index primed with nothing
        primed, unprimed = fresh, pickle.loads(pickle.dumps(doc))
        for pattern in sorted(patterns):
            want = plain_hits(doc, pattern)
            rx = compile_pattern(pattern)
            assert assess._pattern_hits(primed, rx) == want, (doc.path, pattern)
            assert assess._pattern_hits(unprimed, rx) == want, (doc.path, pattern)


def relevant_reference(text: str) -> bool:
    """The profile filter checking every rule and role whose triggers the sentence holds, one by one."""
    from agent import profile as pr

    if pr._NAME.search(text) or pr._DEFINED.search(text) or pr._INCORPORATED.search(text) or pr._LICENCE.search(text):
        return True
    low = text.lower()
    for rule in pr.RULES:
        if (not rule.triggers or any(t in low for t in rule.triggers)) and pr._compiled(rule.predicate).search(text):
            return True
    for role, pat in pr._ROLE_PATTERNS.items():
        if any(t in low for t in pr._ROLE_TRIGGERS[role]) and (
            pat.search(text) or (role in pr._ACRONYMS and pr._titled(pr._ACRONYMS[role]).search(text))
        ):
            return True
    return False


def test_profile_filter_keeps_the_sentences_the_rules_read_on_real_documents(tmp_path: Path) -> None:
    from agent.profile import relevant

    sentences = [s.text for doc in _real_documents(tmp_path) for s in doc.sentences]
    sentences += [line for path in sorted((ROOT / "tests" / "fixtures").rglob("*.md")) for line in path.read_text("utf-8").splitlines()]
    kept = [t for t in sentences if relevant(t)]
    assert kept == [t for t in sentences if relevant_reference(t)]
    assert kept  # the corpus does say who some firms are


def test_profile_inference_reading_only_triggered_rules_equals_reading_every_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent import profile as pr

    docs = _real_documents(tmp_path)
    said = [pr.Said(s.file, s.line_start, s.line_end, s.text) for doc in docs for s in doc.sentences]
    folders = [said, [s for s in said if "exchange" in s.file or "Policy" in s.file], said[::7]]
    fast = [pr.infer(x) for x in folders]
    rules, roles, _triggers = pr._by_trigger()
    # every rule read on every sentence, as before the trigger look-up
    monkeypatch.setattr(pr, "_by_trigger", lambda: ({"": set(range(len(pr.RULES)))}, roles, ()))
    assert fast == [pr.infer(x) for x in folders]
    assert any(flag.value is not None for f in fast for flag in f.profile.activities.values())  # something is inferred
