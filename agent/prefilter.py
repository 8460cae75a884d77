"""Exact shortcut for matching coverage patterns against long documents.

``re.finditer`` tries a case-insensitive pattern at every character of the text; with a few hundred
pack patterns a 20,000-line policy costs seconds per pattern set. Almost every pack pattern starts
with a word boundary followed by literal words (``\\b(?:client|customer)s? ...``), so a match can only
start where a word of the text begins with one of those literals. This module finds those words
through an index of the document's words built once, tries the pattern only there, and keeps
``finditer``'s semantics (leftmost, non-overlapping matches, each identical to the one ``finditer``
would report).

The shortcut is only taken when it is provably exact: the pattern's possible starts are read from
its parse tree (anything unusual means "no shortcut"), and documents containing one of the four
non-ASCII characters that match ASCII letters case-insensitively (İ ı ſ K) use the plain scan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from itertools import chain

try:  # Python 3.11+: the parser lives in re._parser; it is only read, never patched
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - other layouts simply disable the shortcut
    _c = _p = None  # type: ignore[assignment]

_KEY = 3  # words are indexed by their first three (lower-cased) characters
_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
# Non-ASCII characters that a case-insensitive ASCII letter matches (dotted/dotless i, long s, Kelvin).
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
_MAX_CLASS = 64
# Trying the pattern at one candidate costs about as much as scanning this many characters.
_SCAN_RATIO = 16


class WordIndex:
    """Start offsets of the words (maximal ``\\w+`` runs) of a text, by lower-cased three-character prefix."""

    __slots__ = ("buckets", "usable", "size", "_short")

    def __init__(self, text: str) -> None:
        self.usable = _p is not None and not _FOLDS_TO_ASCII.search(text)
        self.size = len(text)
        self.buckets: dict[str, list[int]] = {}
        self._short: dict[str, list[str]] | None = None
        if not self.usable:
            return
        buckets = self.buckets
        for m in _WORD.finditer(text):
            key = text[m.start() : min(m.end(), m.start() + _KEY)].lower()
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [m.start()]
            else:
                bucket.append(m.start())

    def candidates(self, starts: frozenset[str]) -> list[int]:
        """Sorted offsets of the words that begin with one of ``starts`` (lower-case ASCII word prefixes)."""
        keys: set[str] = set()
        for start in starts:
            if len(start) >= _KEY:
                keys.add(start[:_KEY])
            else:
                keys.update(self._keys_starting(start))
        found = [self.buckets[k] for k in keys if k in self.buckets]
        if len(found) == 1:
            return found[0]
        return sorted(chain.from_iterable(found))

    def _keys_starting(self, start: str) -> list[str]:
        if self._short is None:
            short: dict[str, list[str]] = {}
            for key in self.buckets:
                for n in range(1, min(len(key), _KEY - 1) + 1):
                    short.setdefault(key[:n], []).append(key)
            self._short = short
        return self._short.get(start, [])


def finditer(rx: re.Pattern[str], text: str, index: WordIndex | None) -> Iterator[tuple[int, int]]:
    """(start, end) of every match ``rx.finditer(text)`` would yield, in order."""
    starts = word_starts(rx.pattern, rx.flags) if index is not None and index.usable else None
    if starts is None:
        for m in rx.finditer(text):
            yield m.span()
        return
    candidates = index.candidates(starts)  # type: ignore[union-attr]
    if len(candidates) > index.size // _SCAN_RATIO:  # type: ignore[union-attr]
        for m in rx.finditer(text):  # so many candidates that one pass over the text is cheaper
            yield m.span()
        return
    pos = 0
    for c in candidates:
        if c < pos:
            continue  # inside the previous match: finditer does not look there either
        m = rx.match(text, c)
        if m is not None:
            yield m.span()
            pos = m.end()  # never empty: a match begins with a word character


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
