"""`agent pack verify`: re-check every quote of a pack against its stored excerpt, and list stale items."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from agent.knowledge import PackError, available, load
from agent.knowledge.schema import QUOTE_MARKS, Pack, PackQuote, PackSource

# Tiers whose text must be read on the publisher's own site; a repost is "secondary".
HOSTED_TIERS = frozenset({"law", "regulator", "official"})
# Second-level labels under a country code that are not registrable on their own (gov.ae, co.uk, com.au).
_SECOND_LEVEL = frozenset({"co", "com", "gov", "org", "net", "ac", "edu", "gob", "go", "or", "ne"})


@dataclass
class PackCheck:
    """What `verify` found in one pack: failures, stale items and counts."""

    code: str
    version: str = ""
    as_of: str = ""
    errors: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not (self.strict and self.stale)

    def render(self) -> str:
        c = self.counts
        head = (f"{self.code} v{self.version} (as of {self.as_of}): {c['quotes']} quotes in {c['sources']} sources "
                f"checked against their stored excerpts, {c['citations']} citations")
        lines = [head + (" — OK" if self.ok else " — FAILED")]
        lines += [f"  error: {e}" for e in self.errors]
        label = "stale (failing: --strict)" if self.strict else "stale"
        lines += [f"  {label}: {s}" for s in self.stale]
        return "\n".join(lines)


def site(url: str) -> str:
    """The registrable part of a URL's host: eur-lex.europa.eu -> europa.eu, rulebook.centralbank.ae -> centralbank.ae."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _vnorm(text: str) -> str:
    """Whitespace and quote marks folded; case kept, so a quote must match its excerpt letter for letter."""
    return " ".join(text.translate(QUOTE_MARKS).split())


def check_quote(src: PackSource, q: PackQuote, today: dt.date) -> list[str]:
    """Failures of one quote: excerpt hash, quote inside excerpt, page on the publisher's site, dates."""
    out = []
    if hashlib.sha256(q.excerpt.encode("utf-8")).hexdigest() != q.sha256:
        out.append(f"{src.id}: the stored excerpt does not match its sha256 ({q.text[:60]!r})")
    if _vnorm(q.text) not in _vnorm(q.excerpt):
        out.append(f"{src.id}: quote not found in its stored excerpt: {q.text[:80]!r}")
    if q.retrieved > today:
        out.append(f"{src.id}: retrieval date {q.retrieved} is in the future")
    if q.retrieved > src.retrieved:
        out.append(f"{src.id}: quote retrieved {q.retrieved}, after the source's retrieval date {src.retrieved}")
    if src.tier in HOSTED_TIERS and src.url and site(q.url) != site(src.url):
        out.append(f"{src.id}: tier {src.tier!r} but the quote was read on {site(q.url)}, not on {site(src.url)} "
                   "(a repost is tier 'secondary' with official_url)")
    return out


def stale_items(src: PackSource, today: dt.date) -> list[str]:
    out = []
    if src.effective_to and src.effective_to < today:
        out.append(f"{src.id}: no longer in effect since {src.effective_to}")
    if src.effective_from and src.effective_from > today:
        out.append(f"{src.id}: not yet in effect (from {src.effective_from})")
    for a in src.amendments:
        if not a.incorporated:
            when = f" of {a.date}" if a.date else ""
            out.append(f"{src.id}: quotes may predate {a.title}{when} ({a.reference})")
    return out


def check_pack(pack: Pack, today: dt.date, strict: bool = False) -> PackCheck:
    result = PackCheck(pack.code, pack.version, str(pack.as_of), strict=strict)
    by_id = {s.id: s for s in pack.sources}
    if pack.code != "INTL":
        by_id.update({s.id: s for s in load("INTL").sources if s.id not in by_id})
    for src in pack.sources:
        result.counts["sources"] += 1
        if src.tier == "secondary" and src.official_url and site(src.official_url) == site(src.url or ""):
            result.errors.append(f"{src.id}: official_url is on the same site as the repost")
        for q in src.quotes:
            result.counts["quotes"] += 1
            result.errors += check_quote(src, q, today)
        result.stale += stale_items(src, today)
    cites = [(f.id, c) for f in pack.facts for c in f.citations] + [(r.id, c) for r in pack.requirements for c in r.citations]
    cites += [(f"status:{s.topic}", c) for s in pack.statuses for c in s.citations]
    cites += [(a.name, c) for a in pack.authorities for c in a.citations]
    for owner, c in cites:
        result.counts["citations"] += 1
        cited = by_id.get(c.source_id)
        if cited is None:
            result.errors.append(f"{owner}: cites unknown source {c.source_id!r}")
        elif c.quote and cited.page_of(c.quote) is None:
            result.errors.append(f"{owner}: quote is not part of any stored quote of {c.source_id!r}")
    for leg in pack.legislation:
        if leg.source_id not in by_id:
            result.errors.append(f"{leg.id}: legislation row cites unknown source {leg.source_id!r}")
    return result


def verify(code: str, today: dt.date | None = None, strict: bool = False) -> PackCheck:
    """Verify one shipped pack; a pack that does not load is one error."""
    today = today or dt.date.today()
    try:
        pack = load(code.upper())
    except PackError as exc:
        return PackCheck(code.upper(), errors=[str(exc)], strict=strict)
    return check_pack(pack, today, strict)


def verify_all(today: dt.date | None = None, strict: bool = False) -> list[PackCheck]:
    return [verify(code, today, strict) for code in available()]
