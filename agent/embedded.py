"""The embedded engine: research and analysis answered from the knowledge pack, no network."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from agent.knowledge import load, pack_for
from agent.knowledge.schema import Pack, PackCitation, PackRequirement, PackSource, norm
from agent.models import (
    Citation,
    Claim,
    Finding,
    KeyQuoteSource,
    Legislation,
    RegulatoryAnalysis,
    Requirement,
    Scope,
    Source,
)

_CONF = {"High": 2, "Medium": 1, "Low": 0}


def select_pack(scope: Scope) -> tuple[Pack, bool]:
    return pack_for(scope.jurisdiction)


def regime_filter(pack: Pack, scope: Scope) -> str | None:
    hint = scope.regime_hint
    return hint if hint and hint in pack.regimes else None


def pack_requirements(pack: Pack, scope: Scope, baseline: bool) -> list[tuple[PackRequirement, bool]]:
    """Requirements for the scope; topics the local pack lacks fall back to the baseline."""
    regime = regime_filter(pack, scope)
    reqs = [(r, baseline) for r in pack.requirements if set(r.topics) & set(scope.topics) and (regime is None or r.regime == regime)]
    if not baseline:
        covered = {t for r, _ in reqs for t in r.topics}
        missing = [t for t in scope.topics if t not in covered]
        if missing:
            intl = load("INTL")
            reqs += [(r, True) for r in intl.requirements if set(r.topics) & set(missing)]
    return reqs


def to_citation(c: PackCitation, pack: Pack | None = None) -> Citation:
    """A pack citation, with the page where its quote was seen when the pack records it."""
    src = pack.source(c.source_id) if pack is not None else None
    return Citation(source_id=c.source_id, quote=c.quote, locator=c.locator, url=src.page_of(c.quote) if src else None)


def to_source(s: PackSource, origin: str) -> Source:
    return Source(
        id=s.id, title=s.title, url=s.url, legal_id=s.legal_id, publisher=s.publisher, tier=s.tier,
        date=s.published, as_of=s.retrieved, origin=origin,  # type: ignore[arg-type]
    )


def research(scope: Scope) -> tuple[list[Source], list[Finding], list[Requirement], dict[str, tuple[str, ...]]]:
    """Sources, findings and requirements for the scope, with the coverage elements per requirement."""
    pack, baseline = select_pack(scope)
    regime = regime_filter(pack, scope)
    findings = [
        Finding(
            id=f.id, section=f.section, text=f.text, regimes=f.regimes,
            citations=tuple(to_citation(c, pack) for c in f.citations), baseline=baseline,
        )
        for f in pack.facts
        if set(f.topics) & set(scope.topics) and (regime is None or regime in f.regimes)
    ]
    findings[:0] = [
        Finding(id=f"authority-{i}", section="pillar", text=f"{a.name} {a.role}.",
                citations=tuple(to_citation(c, pack) for c in a.citations), regimes=a.regimes, baseline=baseline)
        for i, a in enumerate(pack.authorities, start=1) if regime is None or regime in a.regimes
    ]
    for st in pack.statuses:
        if st.topic in scope.topics:
            findings.insert(0, Finding(
                id=f"status-{st.topic}", section="status",
                text=f"{st.topic.replace('_', ' ').capitalize()}: {st.status} (confidence {st.confidence}).",
                citations=tuple(to_citation(c, pack) for c in st.citations), baseline=baseline,
            ))
    pairs = pack_requirements(pack, scope, baseline)
    requirements = [
        Requirement(
            id=r.id, domain=r.domain, title=r.title, obligation=r.obligation, regime=r.regime,
            priority=r.priority, citations=tuple(to_citation(c, load("INTL") if b else pack) for c in r.citations),
            baseline=b,
        )
        for r, b in pairs
    ]
    elements = {r.id: tuple(e.name for e in r.elements) for r, _ in pairs}
    packs = {pack.code: pack, **({"INTL": load("INTL")} if any(b for _, b in pairs) else {})}
    used = _cited_ids([*findings, *requirements], [leg.source_id for leg in _legislation(pack, scope)])
    sources = [
        to_source(s, "baseline" if p.code == "INTL" else "pack")
        for p in packs.values()
        for s in p.sources
        if s.id in used
    ]
    return sources, findings, requirements, elements


@cache  # the packs are loaded once and never change in a process
def source_texts(jurisdiction: str) -> Mapping[str, str]:
    """Stored text of every pack source (its verbatim quotes), for citation verification."""
    pack, _ = pack_for(jurisdiction)
    texts = {s.id: s.stored_text for s in pack.sources}
    texts.update({s.id: s.stored_text for s in load("INTL").sources})
    return texts


def _legislation(pack: Pack, scope: Scope):
    return [leg for leg in pack.legislation if set(leg.topics) & set(scope.topics)]


def _cited_ids(items: Iterable[Finding | Requirement], extra: Iterable[str]) -> set[str]:
    return {c.source_id for it in items for c in it.citations} | set(extra)


def _claims(findings: Sequence[Finding], section: str) -> tuple[Claim, ...]:
    return tuple(Claim(text=f.text, citations=f.citations) for f in findings if f.section == section)


MAX_HEADLINE_AUTHORITIES = 4


def governing_law(pack: Pack, topics: Sequence[str], limit: int = 4) -> list[str]:
    """The pack's laws and rules for the topics, those whose first listed topic is asked about first."""
    rows = [(min(leg.topics.index(t) for t in topics if t in leg.topics), i, leg)
            for i, leg in enumerate(pack.legislation) if set(leg.topics) & set(topics)]
    return [f"{leg.name}" + (f" ({leg.identifier})" if leg.identifier else "") for _, _, leg in sorted(rows)[:limit]]


def headline(pack: Pack, requirements: Sequence[Requirement], topics: Sequence[str] = ()) -> list[str]:
    """Governing law, who regulates, which licences apply and the key figures, each traceable to the pack."""
    from agent.quantities import rule_text

    out = []
    laws = governing_law(pack, topics) if topics else []
    if laws:
        out.append(f"Governing law: {'; '.join(laws)}.")
    regimes = {r.regime for r in requirements if not r.baseline}
    # The first few, in the pack's order (most relevant first); the key pillars list every one.
    authorities = [a for a in pack.authorities if set(a.regimes) & regimes][:MAX_HEADLINE_AUTHORITIES]
    if authorities:
        out.append("Regulated by: " + "; ".join(f"{a.name}, which {a.role}" for a in authorities) + ".")
    licences = [r for r in requirements if r.domain == "licensing_and_authorization" and not r.baseline]
    if licences:
        out.append("Licences and authorisations: " + "; ".join(f"{r.title} ({r.id})" for r in licences) + ".")
    wanted = {r.id for r in requirements}
    figures = [f"{el.name}: {rule_text(el.quantity)} ({pr.id})" for pr in pack.requirements if pr.id in wanted
               for el in pr.elements if el.quantity is not None and el.quantity.kind in ("amount", "threshold")]
    if figures:
        out.append("Key figures: " + "; ".join(figures) + ".")
    return out


def analyze(
    scope: Scope,
    findings: Sequence[Finding],
    requirements: Sequence[Requirement],
    sources: Sequence[Source],
) -> RegulatoryAnalysis:
    """A RegulatoryAnalysis (seed 001 fields) assembled from cited pack findings."""
    pack, baseline = select_pack(scope)
    statuses = [s for s in pack.statuses if s.topic in scope.topics]
    status = "; ".join(f"{s.topic}: {s.status}" for s in statuses) if len(statuses) > 1 else (
        statuses[0].status if statuses else "Unclear"
    )
    confidence = min((s.confidence for s in statuses), key=_CONF.__getitem__, default="Low")
    if baseline:
        confidence = "Low"
    by_id = {s.id: s for s in sources}
    texts = source_texts(scope.jurisdiction)
    domains = sorted({r.domain for r in requirements})
    status_lines = [f.text for f in findings if f.section == "status" and not f.id.startswith("status-")]
    # The answer first (status, who regulates, which licences, the figures), then the most recent developments.
    summary_parts = [f"{status.rstrip('.')} ({confidence.lower()} confidence)."]
    if baseline:
        summary_parts.append(
            f"The knowledge pack holds no local law for {scope.jurisdiction_name}; this analysis rests on "
            "international standards (baseline) and must not be read as a statement of local law."
        )
    summary_parts += headline(pack, requirements, scope.topics)
    summary_parts.append(
        f"{len(requirements)} requirement(s) across {len(domains)} compliance domain(s) apply to "
        f"{', '.join(t.replace('_', ' ') for t in scope.topics)}; sources are current as of {pack.as_of}."
    )
    if status_lines:
        summary_parts.append("Recent developments: " + " ".join(status_lines[:2]))
    legislation = tuple(
        Legislation(**leg.model_dump(exclude={"id", "topics"})) for leg in _legislation(pack, scope)
    )
    primary, secondary = key_quote_sources(findings, requirements, by_id, texts)
    return RegulatoryAnalysis(
        jurisdiction=scope.jurisdiction,
        topics=scope.topics,
        status=("Baseline only — " + status) if baseline and not status.startswith("Baseline") else status,
        confidence_level=confidence,  # type: ignore[arg-type]
        executive_summary=" ".join(summary_parts),
        detailed_analysis=_claims(findings, "analysis"),
        key_regulatory_pillars=_claims(findings, "pillar"),
        landmark_legislation=legislation,
        primary_sources=primary,
        secondary_sources=secondary,
        important_considerations=_claims(findings, "consideration"),
        remaining_uncertainties=tuple(f.text for f in findings if f.section == "uncertainty"),
        grounding_urls=tuple(dict.fromkeys(s.url for s in sources if s.url)),
        notes_and_comments=(
            f"Answered from the embedded knowledge pack {pack.code} v{pack.version} (as of {pack.as_of})"
            + (f", limited to the {scope.regime_hint} regime" if regime_filter(pack, scope) else "")
            + ". No web search was performed; facts newer than the pack's as-of date are not reflected."
        ),
        baseline_only=baseline,
    )


def key_quote_sources(
    findings: Sequence[Finding | Claim],
    requirements: Sequence[Requirement],
    by_id: Mapping[str, Source],
    texts: Mapping[str, str],
) -> tuple[tuple[KeyQuoteSource, ...], tuple[KeyQuoteSource, ...]]:
    first_quote: dict[str, Citation] = {}
    items: list[Finding | Claim | Requirement] = [*findings, *requirements]
    for item in items:
        for c in item.citations:
            if c.quote and c.source_id not in first_quote and operative(c.quote):
                first_quote[c.source_id] = c
    primary: list[KeyQuoteSource] = []
    secondary: list[KeyQuoteSource] = []
    for sid, c in first_quote.items():
        s = by_id.get(sid)
        if s is None or c.quote is None:
            continue
        quote = c.quote
        # Link the page the quote was read on when the pack records it, else the source's own address.
        kq = KeyQuoteSource(
            source_id=sid, title=s.title, url=c.url or s.url, legal_id=s.legal_id, date=s.date,
            source_type=s.tier, key_quote=quote, verified=quote_in(quote, texts.get(sid, "")),
        )
        (primary if s.tier in ("law", "regulator", "official") else secondary).append(kq)
    return tuple(primary), tuple(secondary)


_PROCEDURAL = re.compile(
    r"\b(?:comments?|feedback|consultation|responses?) (?:should|must|may|are) (?:be )?(?:sent|submitted|provided|invited)\b"
    r"|\bdeadline for (?:providing |submitting )?(?:comments|responses|submissions|feedback)\b|\bclick here\b|\bsubscribe\b",
    re.IGNORECASE,
)
# A sentence states something: it has a finite verb (a modal, "is/are", "has", "requires" ...). A title
# ("Rules for providing information on ...") or a cut clause ("To obtain a licence, an applicant ...") has none.
_FINITE = re.compile(
    r"\b(?:is|are|was|were|be|been|shall|must|should|may|might|will|would|can|cannot|has|have|had|does|do|"
    r"needs?|applies|apply|requires?|means|includes?|provides?|prohibits?|permits?|allows?)\b",
    re.IGNORECASE,
)
_NUMBERED_TITLE = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.)\s+[A-Z][A-Z ,'()/&-]{3,}$")


def operative(quote: str) -> bool:
    """A whole operative sentence: not a heading or title, not a clause cut at ":" or ";", not a procedural notice."""
    text = quote.strip().strip('"“”')
    words = text.split()
    if len(words) < 6 or text.endswith((":", ";", ",")) or _PROCEDURAL.search(text):
        return False
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters) or _NUMBERED_TITLE.match(text):
        return False  # a heading
    if not _FINITE.search(text):
        return False
    return text[:1].isupper() or text[:1].isdigit() or text[:1] in "(\"'“‘"


def quote_in(quote: str, text: str) -> bool:
    """The quote appears in the text, case, whitespace and curly quote marks aside (as the pack schema checks)."""
    return bool(quote) and norm(quote) in norm(text)
