"""Obligations worded as a firm's commitments: "Maintain records ..." -> "The Company shall maintain records ..."."""

from __future__ import annotations

import re

# Verbs an obligation can start with ("Maintain ...", "Do not ..."): only these become "The Company shall ...",
# so a sentence that starts with a noun ("Transfers of USD 1,000 ... need ...") is never turned into nonsense.
VERBS = frozenset("""
accept act adopt allow apply appoint approve assess assign avoid back be calculate carry check classify collect
comply conduct confirm consider control cooperate correct deliver demonstrate design detect disclose document
do ensure escalate establish evaluate exchange exclude execute file freeze give grant handle have hold identify
implement inform install investigate keep limit maintain make manage measure meet mine monitor notify observe
obtain offer operate pay perform place plan prepare present prevent process produce protect provide publish
receive reconcile record redeem refresh refuse register reject remediate report respond restrict retain return
review safeguard scrutinise scrutinize screen secure segregate send separate set share staff stay store submit
supervise suspend take test track train transmit treat update use value verify warn withhold write
admit cancel cease charge close communicate cover decide engage enter follow include issue let lend list log
open outsource pass permit prohibit refer release remove renew request require resolve run seek select settle
sign state stop support tip transfer vet withdraw
""".split())
# A generic firm as the subject of a rule ("Licensed DASPs must ...") is the Company in its own policy.
_FIRM_SUBJECT = re.compile(
    r"^(?:the |each |every |all |a |an )?(?:licensed |authori[sz]ed |relevant )?(?:firms?|issuers?|dasps?|vasps?|"
    r"operators?|custodians?|licensees?|providers?|persons?|entities|participants?|miners?)\s+"
    r"(must not|shall not|should not|must|shall|should)\s+",
    re.IGNORECASE,
)
_MODAL = re.compile(r"\b(?:must|shall|should|will|may|need|needs|is|are)\b", re.IGNORECASE)
# "Before operating ..., be licensed": a leading condition, kept in front of the obligation.
_LEAD = re.compile(r"^(?:before|for|if|as|outside|where|within|without|when|unless|after|once|on|under|in|to|from)\b", re.IGNORECASE)
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|incl|excl|etc|no|nos|art|para|approx|vs|cf)|\b[A-Z])\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences of an obligation: cut at ". " before a capital, never inside brackets or after "e.g." / "No."."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0 and i + 2 < len(text) and text[i + 1] == " " and (text[i + 2].isupper() or text[i + 2].isdigit()):
            if not _ABBREV.search(text[max(0, i - 8): i + 1]):
                out.append(text[start: i + 1].strip())
                start = i + 2
    out.append(text[start:].strip())
    return [s for s in out if s]


def _verb_start(text: str) -> bool:
    words = text.split()
    if not words:
        return False
    first = words[0].strip(",").lower()
    if first not in VERBS and first.endswith("ly") and len(words) > 1:  # "Fully back ...", "Immediately report ..."
        first = words[1].strip(",").lower()
    return first in VERBS and not words[0][1:2].isupper()  # "USD", "KYC" are not verbs


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def oblige(sentence: str) -> str:
    """One obligation sentence as the Company's commitment, or unchanged when it already has a subject."""
    text = sentence.strip().rstrip(".;")
    if not text:
        return ""
    lead = ""
    if _LEAD.match(text):
        # the condition ends at the first comma after which the obligation's verb follows
        for cut in (i for i, ch in enumerate(text) if ch == ","):
            rest = text[cut + 1:].lstrip()
            if _verb_start(rest) and text[:cut].count("(") == text[:cut].count(")"):
                lead, text = text[:cut] + ", ", rest
                break
    f = _FIRM_SUBJECT.match(text)
    if f:
        modal = "shall not" if "not" in f.group(1).lower() else "shall"
        body = f"{'the' if lead else 'The'} Company {modal} {text[f.end():]}"
    elif re.match(r"(?i)^do not\s", text):
        body = f"{'the' if lead else 'The'} Company shall not {text[7:]}"
    elif _verb_start(text) and not _MODAL.search(" ".join(text.split()[:3])):
        body = f"{'the' if lead else 'The'} Company shall {_lower_first(text)}"
    else:
        return (lead + text).rstrip(".") + "."
    # "shall report ... and do not tip off" -> "... and shall not tip off"
    body = re.sub(r"(,?\s+(?:and|or)\s+)do not\s", r"\1shall not ", body)
    return (lead[:1].upper() + lead[1:] if lead else "") + body + "."


def statement(obligation: str) -> str:
    """Turn a requirement's obligation into policy commitments ("The Company shall ...")."""
    return " ".join(o for o in (oblige(s) for s in split_sentences(obligation.strip())) if o)
