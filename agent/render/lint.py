"""Grammar checks for drafted policy text: the defects that make a board send a draft back."""

from __future__ import annotations

import re
from collections import Counter

from agent.wording import VERBS, split_sentences

_SHALL = re.compile(r"\bshall (not )?(\S+)(?: (\S+))?")
_DOUBLED = re.compile(r"(?<![\w-])([A-Za-z]{2,})\s+\1\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")


def lint(text: str) -> list[str]:
    """Findings in prose: a non-verb after "shall" ("shall uSD", "shall transfers"), "The Company shall" twice in
    one sentence, doubled words, and paragraphs repeated word for word."""
    found: list[str] = []
    paragraphs = [p.strip() for p in text.split("\n") if len(p.split()) >= 12 and not p.lstrip().startswith("|")]
    for para, n in Counter(paragraphs).items():
        if n > 1:
            found.append(f"paragraph repeated {n} times: {para[:80]!r}")
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            continue
        for sentence in split_sentences(_PLACEHOLDER.sub("X", line)):
            if len(re.findall(r"\bthe company shall\b", sentence, re.IGNORECASE)) > 1:
                found.append(f"'The Company shall' twice in one sentence: {sentence[:100]!r}")
            for m in _SHALL.finditer(sentence):
                word = m.group(2).strip(",;:.()").lower()
                if word.endswith("ly") and word not in VERBS and m.group(3):
                    word = m.group(3).strip(",;:.()").lower()
                if word not in VERBS:
                    found.append(f"'shall' not followed by a verb ({m.group(0)!r}): {sentence[:100]!r}")
            for m in _DOUBLED.finditer(sentence):
                found.append(f"doubled word {m.group(0)!r}: {sentence[:100]!r}")
    return found
