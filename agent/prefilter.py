"""Exact shortcut for matching coverage patterns against long documents.

``re.finditer`` tries a case-insensitive pattern at every character of the text; with a few hundred
pack patterns a 20,000-line policy costs seconds per pattern set. Almost every pack pattern starts
with a word boundary followed by literal words (``\\b(?:client|customer)s? ...``), so a match can only
start where a word of the text begins with one of those literals. This module finds those words
through an index of the document's words built once, tries the pattern only there, and keeps
``finditer``'s semantics (leftmost, non-overlapping matches, each identical to the one ``finditer``
would report).

The same look-up tells which patterns can match a document at all (``WordIndex.present``): a pattern
no word of the text begins like has no match, so the coverage scan skips an element one of whose
pattern groups is in that case without trying any of its patterns.

The shortcut is only taken when it is provably exact: the pattern's possible starts are read from
its parse tree (anything unusual means "no shortcut"), and documents containing one of the four
non-ASCII characters that match ASCII letters case-insensitively (İ ı ſ K) use the plain scan.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

# Python 3.11+: the parser lives in re._parser; it is only read, never patched. These private modules have
# no type stubs, so they are imported by name and used untyped.
_c: Any
_p: Any
try:
    _c = importlib.import_module("re._constants")
    _p = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - other layouts simply disable the shortcut
    _c = _p = None

_KEY = 3  # words are indexed by their first three (lower-cased) characters
_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
# Non-ASCII characters that a case-insensitive ASCII letter matches (dotted/dotless i, long s, Kelvin); the
# dotted capital I is also the one character whose lower case is longer than itself.
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
_MAX_CLASS = 64
# Trying the pattern at one candidate costs about as much as scanning this many characters.
SCAN_RATIO = 16


class WordIndex:
    """Start offsets of the words (maximal ``\\w+`` runs) of a text, by lower-cased word."""

    __slots__ = ("words", "usable", "size", "_buckets", "primed")

    def __init__(self, text: str) -> None:
        self.usable = _p is not None and not _FOLDS_TO_ASCII.search(text)
        self.size = len(text)
        self.words: dict[str, list[int]] = {}
        self._buckets: dict[str, list[str]] | None = None
        # Once primed (read it once: it is replaced whole when the index is primed for another plan):
        # the plan; id of a planned pattern -> offsets of the words it can start at, for the patterns some
        # word can start; the bits (PatternSet.bits) of those patterns, and PatternSet.ALWAYS.
        self.primed: tuple[PatternSet, dict[int, list[list[int]]], int] | None = None
        if not self.usable:
            return
        words = self.words
        for m in _WORD.finditer(text):
            word = m.group().lower()
            at = words.get(word)
            if at is None:
                words[word] = [m.start()]
            else:
                at.append(m.start())

    def candidates(self, starts: frozenset[str]) -> list[int]:
        """Sorted offsets of the words that begin with one of ``starts`` (lower-case ASCII word prefixes)."""
        if self._buckets is None:
            buckets: dict[str, list[str]] = {}
            for word in self.words:
                buckets.setdefault(word[:_KEY], []).append(word)
            self._buckets = buckets
        ordered = tuple(starts)
        keys: set[str] = set()
        for start in ordered:
            if len(start) >= _KEY:
                keys.add(start[:_KEY])
            else:  # a short start reaches every key it begins
                keys.update(key for key in self._buckets if key.startswith(start))
        return _union([self.words[w] for key in keys for w in self._buckets.get(key, ()) if w.startswith(ordered)])

    def prime(self, plan: PatternSet) -> None:
        """Find, in one pass over the text's distinct words, the words each pattern of ``plan`` can start at.

        Afterwards ``planned`` gives a pattern's candidates without looking its prefixes up one by one,
        and says at once when no word of the text begins like the pattern.
        """
        if not self.usable or self.primed is not None and self.primed[0] is plan:
            return
        found: dict[int, list[list[int]]] = {}
        present = PatternSet.ALWAYS
        memo = plan.by_word
        for word, at in self.words.items():
            entry = memo.get(word)
            if entry is None:
                entry = plan.patterns_starting(word)
            patterns, bits = entry
            if not bits:
                continue
            present |= bits
            for key in patterns:
                lists = found.get(key)
                if lists is None:
                    found[key] = [at]
                else:
                    lists.append(at)
        self.primed = (plan, found, present)

    def present(self, plan: PatternSet) -> int:
        """The bits of the patterns of ``plan`` some word of the text can start, and ALWAYS.

        A group of patterns (``PatternSet.mask``) can only match the text when ``present & mask`` is not
        zero. All bits (-1) when the index is not primed for ``plan``: then nothing is ruled out.
        """
        primed = self.primed
        return primed[2] if primed is not None and primed[0] is plan else -1

    def planned(self, rx: re.Pattern[str]) -> list[int] | None:
        """Candidate offsets of a pattern of the primed plan (sorted, possibly empty); None if it is not planned."""
        primed = self.primed
        if primed is None:
            return None
        plan = primed[0]
        lists = primed[1].get(id(rx))
        if lists is None:
            return NO_CANDIDATES if plan.starts.get(id(rx)) is rx else None
        # each word's offsets are in one list only (a word is listed once per pattern)
        return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))


NO_CANDIDATES: list[int] = []  # what planned() returns when no word can start the pattern; never modified


def _union(lists: list[list[int]]) -> list[int]:
    """Sorted offsets of several words (each list sorted; a word's offsets are never in two lists)."""
    if not lists:
        return NO_CANDIDATES
    return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))


class PatternSet:
    """The patterns of a whole scan (every element of every requirement) with the word prefixes that can
    start them, so that a document's words are looked up once for all of them (``WordIndex.prime``).
    Patterns without an exact shortcut are left out and scanned as before.
    """

    __slots__ = ("starts", "by_start", "lengths", "by_word", "bits")

    # Words remembered with the patterns they can start (documents share most of their vocabulary).
    MAX_WORDS = 200_000
    # Set in every group mask that cannot be decided from the words (a pattern without a shortcut) and in
    # every primed index's ``present``: such a group always "may hit".
    ALWAYS = 1

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        # Patterns are known by id(): hashing a compiled pattern hashes its whole program. The set holds
        # them, so an id is never reused while it lives.
        self.starts: dict[int, re.Pattern[str]] = {}
        self.by_start: dict[str, list[int]] = {}
        self.bits: dict[int, int] = {}  # id -> the pattern's own bit (an int used as a set of patterns)
        for rx in patterns:
            found = word_starts(rx.pattern, rx.flags)
            if found is None or id(rx) in self.starts:
                continue
            self.starts[id(rx)] = rx
            self.bits[id(rx)] = 1 << len(self.bits) + 1  # bit 0 is ALWAYS
            for start in found:
                self.by_start.setdefault(start, []).append(id(rx))
        # the lengths of the starts, shortest first: a word is looked up by its prefixes of these lengths
        self.lengths = tuple(sorted({len(start) for start in self.by_start}))
        # word -> (ids of the patterns it can start, their bits)
        self.by_word: dict[str, tuple[tuple[int, ...], int]] = {}

    def mask(self, patterns: Iterable[re.Pattern[str]]) -> int:
        """The bits of a group of patterns (see ``WordIndex.present``); ALWAYS when one has no shortcut, or none is given."""
        mask = 0
        for rx in patterns:
            bit = self.bits.get(id(rx))
            if bit is None or self.starts[id(rx)] is not rx:
                return self.ALWAYS
            mask |= bit
        return mask or self.ALWAYS

    def patterns_starting(self, word: str) -> tuple[tuple[int, ...], int]:
        """The planned patterns (ids) one of whose starts begins ``word`` (lower-case), each once, and their bits."""
        size, by_start = len(word), self.by_start
        found: dict[int, None] = {}
        for n in self.lengths:
            if n > size:
                break
            for key in by_start.get(word[:n], ()):
                found[key] = None
        patterns = tuple(found)
        bits = 0
        for key in patterns:
            bits |= self.bits[key]
        if len(self.by_word) >= self.MAX_WORDS:
            self.by_word.clear()
        self.by_word[word] = entry = (patterns, bits)
        return entry


def finditer(
    rx: re.Pattern[str], text: str, index: WordIndex | None, candidates: list[int] | None = None
) -> Iterable[tuple[int, int]]:
    """(start, end) of every match ``rx.finditer(text)`` would yield, in order.

    ``candidates``: what ``index.planned(rx)`` returned, when the caller already asked.
    """
    if index is None or not index.usable:
        return _scan(rx, text)
    if candidates is None:
        candidates = index.planned(rx)
    if candidates is None:
        starts = word_starts(rx.pattern, rx.flags)
        if starts is None:
            return _scan(rx, text)
        candidates = index.candidates(starts)
    if not candidates:
        return ()
    if len(candidates) > index.size // SCAN_RATIO:
        return _scan(rx, text)  # so many candidates that one pass over the text is cheaper
    return _tried(rx, text, candidates)


def _scan(rx: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    return (m.span() for m in rx.finditer(text))


def _tried(rx: re.Pattern[str], text: str, candidates: list[int]) -> list[tuple[int, int]]:
    found = []
    pos = 0
    match = rx.match
    for c in candidates:
        if c < pos:
            continue  # inside the previous match: finditer does not look there either
        m = match(text, c)
        if m is not None:
            found.append(m.span())
            pos = found[-1][1]  # never empty: a match begins with a word character
    return found


@functools.lru_cache(maxsize=4096)
def word_starts(pattern: str, flags: int) -> frozenset[str] | None:
    """Lower-case word prefixes one of which every match must begin with, at the start of a word.

    None when that cannot be shown from the parse tree (no leading word boundary, a class too large,
    a flag that changes what a word is, ...): the caller then scans the whole text.
    """
    if _p is None or flags & (re.ASCII | re.LOCALE | re.VERBOSE):
        return None
    try:
        tree = _p.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - not ours to report; the plain scan will raise it as usual
        return None
    if tree.state.flags & (re.ASCII | re.LOCALE):
        return None
    return _starts(list(tree.data), False)


def _starts(items: list, bounded: bool) -> frozenset[str] | None:
    for k, (op, av) in enumerate(items):
        if op is _c.AT and av is _c.AT_BOUNDARY:
            bounded = True
            continue
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: it can only remove matches
        if op is _c.LITERAL:
            word = []
            for op2, av2 in items[k:]:
                if op2 is not _c.LITERAL or chr(av2).lower() not in _ASCII_WORD:
                    break
                word.append(chr(av2).lower())
            if not bounded or not word:
                return None
            rest = items[k + len(word) :]
            if len(word) < _KEY and rest:
                # The parser factors common prefixes ("client|customer" -> "c" + "lient|ustomer"):
                # extend a short prefix through what follows, when that starts with literals too.
                more = _starts(rest, True)
                if more:
                    return frozenset("".join(word) + m for m in more)
            return frozenset({"".join(word)})
        if op is _c.IN:
            chars = _class_chars(av)
            return chars if bounded and chars else None
        if op is _c.SUBPATTERN:
            _group, add, remove, sub = av
            if (add | remove) & ~re.IGNORECASE:
                return None
            return _starts(list(sub.data), bounded)
        if op is _c.BRANCH:
            out: set[str] = set()
            for alternative in av[1]:
                found = _starts(list(alternative.data), bounded)
                if found is None:
                    return None
                out |= found
            return frozenset(out)
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, _high, body = av
            first = _starts(list(body.data), bounded)
            if first is None or low >= 1:
                return first
            after = _starts(items[k + 1 :], bounded)
            return None if after is None else first | after
        return None
    return None  # the sequence can match without consuming a character


def _class_chars(items: list) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE and av[1] - av[0] < _MAX_CLASS:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:
            return None  # negated classes, categories, large ranges
        if len(chars) > _MAX_CLASS:
            return None
    lowered = frozenset(ch.lower() for ch in chars)
    return lowered if lowered <= _ASCII_WORD else None
