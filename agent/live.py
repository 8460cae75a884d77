"""The live engine: planning, analysis, assessment and drafting by the model, bound to sources."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from agent import prompts
from agent.assess import Doc
from agent.embedded import key_quote_sources, quote_in
from agent.llm import ModelClient, Usage
from agent.models import (
    DOMAINS,
    Assessment,
    Citation,
    Claim,
    Domain,
    Evidence,
    Legislation,
    Priority,
    RegulatoryAnalysis,
    Requirement,
    Scope,
    Source,
)

# --- structured outputs requested from the model ------------------------------------------


class PlannedQuery(BaseModel):
    query: str = Field(description="Search engine query")
    purpose: str = Field(description="What this query should establish")
    include_domains: list[str] = Field(default_factory=list, description="Official domains to restrict to, if any")


class ResearchPlan(BaseModel):
    queries: list[PlannedQuery]


class LiveClaim(BaseModel):
    text: str
    source_ids: list[str]
    quote: str | None = None


class LiveLegislation(BaseModel):
    name: str
    identifier: str | None = None
    date_enacted: str | None = Field(default=None, description="YYYY-MM-DD if known")
    summary: str
    source_id: str


class LiveRequirement(BaseModel):
    domain: Domain
    title: str
    obligation: str = Field(description="What the firm must do, in one or two sentences")
    priority: Priority
    source_id: str
    quote: str | None = None
    locator: str | None = None


class LiveAnalysis(BaseModel):
    status: str
    confidence_level: Literal["High", "Medium", "Low"]
    executive_summary: str
    detailed_analysis: list[LiveClaim]
    key_regulatory_pillars: list[LiveClaim]
    important_considerations: list[LiveClaim]
    landmark_legislation: list[LiveLegislation]
    remaining_uncertainties: list[str]
    requirements: list[LiveRequirement]


class LiveEvidence(BaseModel):
    file: str
    line_start: int
    line_end: int
    quote: str


class LiveJudgement(BaseModel):
    requirement_id: str
    status: Literal["met", "partial", "not_met"]
    evidence: list[LiveEvidence] = Field(default_factory=list)
    rationale: str


class LiveAssessment(BaseModel):
    judgements: list[LiveJudgement]


class LiveSection(BaseModel):
    requirement_id: str
    statement: str = Field(description="The policy statement for this company, one paragraph")
    steps: list[str] = Field(default_factory=list, description="Up to six operating steps")


class LiveDraft(BaseModel):
    sections: list[LiveSection]


def _messages(user: str) -> list:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(content=prompts.SYSTEM), HumanMessage(content=user)]


# --- research planning ------------------------------------------------------------------------

OFFICIAL_DOMAINS = {
    "KZ": ["afsa.aifc.kz", "adilet.zan.kz", "nationalbank.kz", "gov.kz"],
}


def template_plan(scope: Scope, n: int) -> list[PlannedQuery]:
    """Deterministic queries when no model is available to plan (or it failed)."""
    topics = " ".join(t.replace("_", " ") for t in scope.topics)
    where = scope.regime_hint or scope.jurisdiction_name
    official = OFFICIAL_DOMAINS.get(scope.jurisdiction, [])
    plan = [
        PlannedQuery(query=f"{where} {topics} regulation licensing requirements", purpose="regulatory framework"),
        PlannedQuery(query=f"{where} {topics} law digital assets regulator", purpose="primary law and regulator", include_domains=official),
        PlannedQuery(query=f"{where} virtual asset service providers AML CFT obligations", purpose="AML/CTF duties", include_domains=official),
        PlannedQuery(query=f"{where} {topics} rules amendments {scope.query}", purpose="recent changes"),
    ]
    return plan[:n]


def plan(client: ModelClient, scope: Scope, today: str, n: int) -> tuple[list[PlannedQuery], Usage]:
    user = prompts.PLAN.format(
        topics=", ".join(scope.topics), jurisdiction=scope.jurisdiction_name,
        regime=scope.regime_hint or "all regimes", today=today, n=n,
    )
    out, usage = client.structured("planner", ResearchPlan, _messages(user))
    queries = [q for q in out.queries if q.query.strip()][:n]
    return queries or template_plan(scope, n), usage


# --- analysis -----------------------------------------------------------------------------------


def source_block(sources: Sequence[Source], texts: Mapping[str, str], limit: int = 3500) -> str:
    parts = []
    for s in sources:
        head = f"[{s.id}] {s.title} — tier {s.tier}; {s.url or s.legal_id}; date {s.date or 'unknown'}"
        body = texts.get(s.id, "")[:limit]
        parts.append(head + ("\n" + prompts.fence(f"source {s.id}", body) if body else ""))
    return "\n\n".join(parts)


def analyze(client: ModelClient, scope: Scope, today: str, sources: Sequence[Source],
            texts: Mapping[str, str]) -> tuple[RegulatoryAnalysis, list[Requirement], list[str], Usage]:
    """The model's analysis, with every citation bound to a known source and every quote checked."""
    user = prompts.ANALYZE.format(
        topics=", ".join(scope.topics), jurisdiction=scope.jurisdiction_name, today=today,
        sources=source_block(sources, texts), domains=", ".join(DOMAINS),
    )
    out, usage = client.structured("analyst", LiveAnalysis, _messages(user))
    known = {s.id: s for s in sources}
    dropped: list[str] = []
    unverified: list[str] = []

    def cite(sid: str, quote: str | None, locator: str | None = None) -> Citation | None:
        if sid not in known:
            return None
        q = (quote or "").strip() or None
        ok = q is not None and quote_in(q, texts.get(sid, ""))
        if q and not ok:
            unverified.append(f"[{sid}] \"{q}\"")
        return Citation(source_id=sid, quote=q, locator=locator, verified=ok)

    def claims(items: Sequence[LiveClaim]) -> tuple[Claim, ...]:
        kept = []
        for c in items:
            cites = [x for sid in dict.fromkeys(c.source_ids) if (x := cite(sid, c.quote if sid == c.source_ids[0] else None))]
            if not cites:
                dropped.append(c.text)  # never present an unsourced statement as fact
                continue
            kept.append(Claim(text=c.text, citations=tuple(cites)))
        return tuple(kept)

    requirements: list[Requirement] = []
    counters: dict[str, int] = {}
    for r in out.requirements:
        c = cite(r.source_id, r.quote, r.locator)
        if c is None:
            dropped.append(r.title)
            continue
        abbrev = re.sub(r"[^A-Z]", "", r.domain.upper().replace("_", " ").title().replace(" ", ""))[:4] or "GEN"
        counters[abbrev] = counters.get(abbrev, 0) + 1
        requirements.append(Requirement(
            id=f"{scope.jurisdiction}-WEB-{abbrev}-{counters[abbrev]:03d}", domain=r.domain, title=r.title,
            obligation=r.obligation, regime="web research", priority=r.priority, citations=(c,),
        ))
    legislation = tuple(
        Legislation(name=leg.name, identifier=leg.identifier, date_enacted=_date(leg.date_enacted),
                    summary=leg.summary, url=known[leg.source_id].url, source_id=leg.source_id)
        for leg in out.landmark_legislation if leg.source_id in known
    )
    detailed, pillars, considerations = (claims(out.detailed_analysis), claims(out.key_regulatory_pillars),
                                         claims(out.important_considerations))
    used = {c.source_id for cl in (*detailed, *pillars, *considerations) for c in cl.citations}
    primary, secondary = key_quote_sources([*detailed, *pillars, *considerations], requirements, known, texts)
    analysis = RegulatoryAnalysis(
        jurisdiction=scope.jurisdiction, topics=scope.topics, status=out.status,
        confidence_level=out.confidence_level, executive_summary=out.executive_summary,
        detailed_analysis=detailed, key_regulatory_pillars=pillars,
        landmark_legislation=legislation, primary_sources=primary, secondary_sources=secondary,
        important_considerations=considerations,
        remaining_uncertainties=tuple(out.remaining_uncertainties),
        grounding_urls=tuple(dict.fromkeys(s.url for s in sources if s.url and (s.id in used or s.origin == "web"))),
        notes_and_comments=f"Written by the live engine from {len(sources)} sources ({sum(s.origin == 'web' for s in sources)} fetched from the web).",
        awaiting_verification=tuple(dict.fromkeys(unverified)),
    )
    warnings = [f"Dropped {len(dropped)} statement(s) the model could not tie to a known source."] if dropped else []
    return analysis, requirements, warnings, usage


def _date(text: str | None):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --- assessment -------------------------------------------------------------------------------------


def assess(client: ModelClient, requirements: Sequence[Requirement], passages: Sequence[tuple[str, int, int, str]],
           docs: Mapping[str, Doc]) -> tuple[dict[str, Assessment], Usage]:
    """The model's judgement per requirement; evidence must exist at the file and lines it names."""
    reqs = "\n".join(f"- {r.id}: {r.title}. {r.obligation}" for r in requirements)
    text = "\n\n".join(prompts.fence(f"{f} lines {a}-{b}", t) for f, a, b, t in passages)
    out, usage = client.structured("analyst", LiveAssessment, _messages(prompts.ASSESS.format(requirements=reqs, passages=text)))
    wanted = {r.id for r in requirements}
    results: dict[str, Assessment] = {}
    for j in out.judgements:
        if j.requirement_id not in wanted:
            continue
        evidence = tuple(
            Evidence(file=e.file, line_start=e.line_start, line_end=e.line_end, quote=e.quote)
            for e in j.evidence
            if e.file in docs and quote_in(e.quote, _text_at(docs[e.file], e.line_start, e.line_end))
        )
        status = j.status if (evidence or j.status == "not_met") else "insufficient_evidence"
        results[j.requirement_id] = Assessment(
            requirement_id=j.requirement_id, status=status, evidence=evidence,
            rationale=j.rationale if status == j.status else f"{j.rationale} (the model's evidence was not found in the policy text)",
        )
    return results, usage


def _text_at(doc: Doc, first: int, last: int) -> str:
    """The policy text on lines first..last (sentences overlapping them)."""
    return " ".join(s.text for s in doc.sentences if s.line_end >= first and s.line_start <= last)


def draft(
    client: ModelClient, gap_text: str, context: str, requirements: Sequence[Requirement],
    elements: Mapping[str, Sequence[str]], generic: Mapping[str, str],
) -> tuple[dict[str, tuple[str, tuple[str, ...]]], Usage]:
    """Company-specific statement and operating steps per requirement id, for the embedded skeleton.

    Only the sections the model rewrites are sent and returned, so the skeleton's ids, citations
    and structure are kept by construction. Sections for unknown ids are dropped; text is
    flattened so it cannot add headings or break the document's layout.
    """
    listing = "\n".join(
        f"- {r.id}: {r.obligation}\n  controls: {'; '.join(elements.get(r.id, ())) or r.title}\n  current statement: {generic.get(r.id, '')}"
        for r in requirements
    )
    user = prompts.DRAFT.format(gap=gap_text, context=context, requirements=listing)
    out, usage = client.structured("drafter", LiveDraft, _messages(user))
    wanted = {r.id for r in requirements}
    result: dict[str, tuple[str, tuple[str, ...]]] = {}
    for sec in out.sections:
        text = _flat(sec.statement, 1200)
        if sec.requirement_id in wanted and text and sec.requirement_id not in result:
            result[sec.requirement_id] = (text, tuple(t for t in (_flat(x, 300) for x in sec.steps[:6]) if t))
    return result, usage


def _flat(text: str, limit: int) -> str:
    """One line of plain text: no headings, tables or fences from the model inside the policy layout."""
    one = re.sub(r"\s+", " ", text).strip().lstrip("#>|-* ").strip()
    return one[:limit].rstrip()
