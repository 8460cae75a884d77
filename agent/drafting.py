"""Embedded drafting: a complete, reviewable policy document per gap, built from cited requirements.

Drafts contain no run id or timestamp, so an unchanged re-run produces identical bytes and the
safe writer writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.conflicts import where as conflict_at
from agent.domains import PROFILES
from agent.models import (
    Assessment,
    DraftCitation,
    DraftClause,
    DraftDocument,
    DraftSection,
    DraftTable,
    FirmProfile,
    Gap,
    PolicyDraft,
    Requirement,
    Scope,
    Source,
)
from agent.profile import ACTIVITY_LABELS
from agent.render.markdown import draft_markdown
from agent.wording import statement

_TOPIC_LABEL = {
    "stablecoin": "issuing, redeeming and managing stablecoins / digital financial assets",
    "exchange": "operating a digital-asset exchange or trading facility, broking and dealing",
    "custody": "safekeeping and administering client digital assets",
    "licensing": "holding and maintaining the authorisations required for its activities",
    "regulatory_status": "carrying on digital-asset business",
    "retail_trading": "offering digital-asset trading to retail clients",
    "aml_ctf": "preventing money laundering, terrorist financing and sanctions evasion",
    "mining": "digital mining and the sale of mined assets",
    "tax": "the tax treatment of its digital-asset activity",
    "payments": "payment services involving digital assets (on/off-ramps, transfers)",
}


# Topic wording for a firm that is known not to carry on the activity the topic is usually about.
_TOPIC_LABEL_NOT_ISSUER = "stablecoins issued by others that it admits to trading, holds or transfers for clients"
# Drafting role names -> profile role keys, so a draft names roles the way the firm does.
_ROLE_KEYS = {
    "MLRO": "mlro", "Money Laundering Reporting Officer (MLRO)": "mlro", "Compliance Officer": "compliance_officer",
    "Chief Information Security Officer": "ciso", "Chief Financial Officer": "cfo", "Chief Executive Officer": "ceo",
    "Data Protection Officer": "dpo", "Internal Audit (or outsourced equivalent)": "internal_audit",
}


def topic_labels(scope: Scope, profile: FirmProfile | None) -> list[str]:
    """What the policy covers: the query's topics, worded for what the firm actually does."""
    not_issuer = profile is not None and profile.activities["stablecoin_issuer"].value is False
    return [_TOPIC_LABEL_NOT_ISSUER if t == "stablecoin" and not_issuer else _TOPIC_LABEL[t] for t in scope.topics]


def role_name(name: str, profile: FirmProfile | None) -> str:
    """A drafting role, with the title the firm uses for it when its profile names one."""
    key = _ROLE_KEYS.get(name)
    fact = profile.roles.get(key) if profile is not None and key else None
    if fact is None or not fact.value:
        return name
    # the firm's own title (and holder) when it names the role; else the role with the firm's title beside it
    base = re.sub(r"\s*\(.*\)$", "", name)
    return fact.value if base.lower() in fact.value.lower() else f"{name} ({fact.value})"


_FREQUENCY = (
    (re.compile(r"reconcil|monitor|screen|surveil|backing|balance", re.I), "Daily, and before each material movement"),
    (re.compile(r"report|notif|fil(?:e|ing)|disclos|publish|statement", re.I), "Per event, within the deadline in the cited rule"),
    (re.compile(r"risk assessment|review|audit|attest|test|training|update", re.I), "At least annually, and on material change"),
    (re.compile(r"onboard|identif|verif|due diligence|kyc|approv|licen|regist|appoint", re.I), "Before the activity, relationship or appointment starts"),
)


def frequency(element: str) -> str:
    """A sensible default control frequency, for the policy owner to confirm."""
    return next((f for pat, f in _FREQUENCY if pat.search(element)), "As defined by the policy owner")


_EVIDENCE = (
    (re.compile(r"report|notif|fil(?:e|ing)|disclos|publish|statement", re.I), "Copy of each report or notice and its acknowledgement"),
    (re.compile(r"train", re.I), "Attendance and completion records"),
    (re.compile(r"reconcil|balance|backing", re.I), "Signed reconciliation with breaks and their resolution"),
    (re.compile(r"approv|appoint|licen|regist", re.I), "Approval, appointment or licence record"),
)
_BREACHES = (
    "Failures of these controls are escalated to the {co} the same day. Exceptions need the {co}'s prior written "
    "approval, are time-limited and are recorded in the exceptions log. Breaches are analysed for root cause, reported "
    "to senior management and, where a rule requires it, notified to the regulator within the applicable deadline."
)
NOTICE = (
    "This draft was prepared by the compliance agent from cited regulatory requirements. It is not legal advice. "
    "Every clause tied to a requirement id must be checked against the cited source and adapted to the Company's "
    "business before approval."
)


def evidence_kept(element: str) -> str:
    """What a control's owner keeps to show it operated."""
    return next((e for pat, e in _EVIDENCE if pat.search(element)), "Dated record of each performance and its review")


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def _clause(r: Requirement, a: Assessment | None, open_ids: set[str], tailored: Mapping[str, tuple[str, Sequence[str]]],
            sources: Mapping[str, Source]) -> DraftClause:
    """One obligation, with what the existing policies already say and the amendments they need."""
    notes: list[str] = []
    for c in a.conflicts if a is not None else ():
        title = sources[c.source_id].title if c.source_id in sources else c.source_id
        basis = f"{title}, {c.locator}" if c.locator else title
        notes.append(f"Amendment: in {conflict_at(c)}, replace \"{c.policy_says}\" with \"{c.rule_requires}\" ({basis}).")
    if a is not None and a.evidence:
        ev = a.evidence[0]
        lines = f"line {ev.line_start}" if ev.line_start == ev.line_end else f"lines {ev.line_start}-{ev.line_end}"
        said = f"{ev.file} ({lines}) already states: \"{_quote(ev.quote)}\"; that wording is kept"
        if r.id not in open_ids or a.status == "met":
            notes.append(f"{said}, and both documents must stay consistent.")
        else:
            notes.append(f"{said}, and this clause adds: {'; '.join(a.missing)}.")
    text, steps = (tailored[r.id][0], tuple(tailored[r.id][1])) if r.id in tailored else (statement(r.obligation), ())
    if r.id in tailored:
        notes.append("Company-specific wording proposed by the model: check it against the basis before approval.")
    cites = ", ".join(sorted({c.source_id + (f" {c.locator}" if c.locator else "") for c in r.citations}))
    title = r.title + (" (international baseline)" if r.baseline else "")
    return DraftClause(text=text, requirement_id=r.id, title=title, basis=cites, notes=tuple(notes), steps=steps)


def draft_document(
    gap: Gap,
    requirements: Sequence[Requirement],
    assessments: Mapping[str, Assessment],
    elements: Mapping[str, Sequence[str]],
    sources: Mapping[str, Source],
    scope: Scope,
    regimes: Mapping[str, str],
    pack_as_of: str,
    tailored: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    profile: FirmProfile | None = None,
) -> DraftDocument:
    """The structure of the policy closing one gap: document control, clauses, roles, one control table, citations."""
    tailored = tailored or {}
    firm = profile
    domain = PROFILES[gap.domain]
    domain_reqs = [r for r in requirements if r.domain == gap.domain]
    open_ids = set(gap.requirement_ids)
    placeholders: list[str] = []
    known_name = firm.legal_name.value if firm is not None and firm.legal_name.value else None
    name = known_name or "[Company legal name]"
    if known_name is None:
        placeholders.append("[Company legal name]: the Company's registered name (or give it in company.toml).")
    owner = role_name(domain.owner, firm)
    co = role_name("Compliance Officer", firm)
    control: list[tuple[str, str]] = [
        ("Company", name), ("Document", domain.policy_title), ("Version", "0.1, draft for compliance review"),
        ("Policy owner", owner), ("Approved by", "Board of Directors, [resolution number and date]"),
        ("Effective from", "[date of approval]"), ("Next review", "Twelve months after approval"),
        ("Closes", f"{gap.id} ({gap.priority} priority)"),
        ("Jurisdiction", f"{scope.jurisdiction_name} ({', '.join(sorted({r.regime for r in domain_reqs}))})"),
        ("Regulatory basis as of", pack_as_of),
    ]
    placeholders += ["[resolution number and date]: the Board resolution that approves the policy.",
                     "[date of approval]: the date the policy takes effect."]
    if gap.existing_files:
        control.append(("Relationship to existing policies",
                        f"Supplements {', '.join(gap.existing_files)}; where they differ, the amendments in section 2 apply."))

    does = [ACTIVITY_LABELS[k] for k, f in (firm.activities.items() if firm is not None else ()) if f.value]
    label = domain.label[0].lower() + domain.label[1:] if domain.label[1:2].islower() else domain.label
    scope_text = (f"This policy sets out how {name} (the Company) meets its obligations on {label} in "
                  f"{scope.jurisdiction_name}. It applies to all directors, employees and contractors of the Company, and to "
                  f"outsourced providers acting on its behalf, in relation to {'; '.join(topic_labels(scope, firm))}.")
    paragraphs = [scope_text]
    if does:
        paragraphs.append(f"The Company's activities: {'; '.join(does)}.")
    paragraphs += [f"{key}: {regimes[key]}" for key in sorted({r.regime for r in domain_reqs}) if key in regimes]
    if any(r.baseline for r in domain_reqs):
        paragraphs.append("Clauses marked as international baseline come from international standards, not local law; "
                          "they are included because the knowledge pack holds no local rule for them.")

    clauses = [_clause(r, assessments.get(r.id), open_ids, tailored, sources) for r in domain_reqs]
    rows = [(r.title, r.id, frequency(" ".join([r.title, *elements.get(r.id, ())])), evidence_kept(r.title))
            for r in domain_reqs]
    sections = [
        DraftSection(heading="Purpose and scope", paragraphs=tuple(paragraphs)),
        DraftSection(heading="Policy statements", clauses=tuple(clauses)),
        DraftSection(heading="Roles and responsibilities", table=DraftTable(
            header=("Role", "Responsibility"), rows=tuple((role_name(role, firm), duty) for role, duty in domain.roles))),
        DraftSection(
            heading="Controls",
            paragraphs=(f"Each control below is owned by the {owner} unless the roles above assign it elsewhere. "
                        "Frequencies are defaults for the owner to confirm when adopting the policy.", _BREACHES.format(co=co)),
            table=DraftTable(header=("Control", "Requirement", "Frequency", "Evidence kept"), rows=tuple(rows)),
        ),
        DraftSection(heading="Monitoring, records and review", bullets=(
            *domain.monitoring, *domain.records,
            "Records are kept for at least the period the rules cited in this policy require (absent a specific rule, at "
            "least five years), in a form that can be produced promptly to the regulator.",
            f"The {owner} reviews this policy at least annually, and without delay after a change in the cited rules, a "
            "material incident, a new product or a regulator's finding.",
        )),
        DraftSection(heading="Approval and version history", table=DraftTable(
            header=("Version", "Date", "Author", "Change", "Approved by"),
            rows=(("0.1", "[date]", "Compliance agent (draft)", f"First draft closing {gap.id}", "[Board resolution]"),),
        )),
    ]
    citations: list[DraftCitation] = []
    seen: set[tuple[str, str | None]] = set()
    for r in domain_reqs:
        for c in r.citations:
            src = sources.get(c.source_id)
            if src is None or (c.source_id, c.locator) in seen:
                continue
            seen.add((c.source_id, c.locator))
            citations.append(DraftCitation(
                source_id=src.id, title=src.title, publisher=src.publisher, tier=src.tier, where=src.url or src.legal_id, page=c.url,
                locator=c.locator, as_of=str(src.as_of) if src.as_of else None, quote=c.quote, verified=c.verified))
    return DraftDocument(title=domain.policy_title, company=name, control=tuple(control), notice=NOTICE,
                         sections=tuple(sections), citations=tuple(citations), placeholders=tuple(placeholders))


def draft_for_gap(
    gap: Gap,
    requirements: Sequence[Requirement],
    assessments: Mapping[str, Assessment],
    elements: Mapping[str, Sequence[str]],
    sources: Mapping[str, Source],
    scope: Scope,
    regimes: Mapping[str, str],
    pack_as_of: str,
    tailored: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    profile: FirmProfile | None = None,
) -> PolicyDraft:
    """The embedded draft; ``tailored`` (requirement id → statement, operating steps) comes from the model.

    ``profile`` (the firm profile) names the company and its roles and words the scope for what it does.
    """
    document = draft_document(gap, requirements, assessments, elements, sources, scope, regimes, pack_as_of,
                              tailored, profile)
    domain = PROFILES[gap.domain]
    return PolicyDraft(
        gap_ids=(gap.id,), category=domain.category, title=domain.policy_title,
        file_name=f"{domain.category}_{gap.id}.md", body=draft_markdown(document),
        kind="modifies_existing" if gap.existing_files else "new", modifies=gap.existing_files, document=document,
    )


# Suggested time to adopt a draft, by the priority of the gap it closes (from the day the plan is accepted).
DEADLINE = {"critical": "30 days", "high": "60 days", "medium": "90 days", "low": "180 days"}


def _reviewer_checks(d: PolicyDraft) -> list[str]:
    """What the reviewer of one draft must look at before it goes to the Board."""
    doc = d.document
    if doc is None:
        return ["Check every clause against its cited source."]
    clauses = [c for s in doc.sections for c in s.clauses]
    checks = []
    amendments = [n for c in clauses for n in c.notes if n.startswith("Amendment:")]
    if amendments:
        checks.append(f"{len(amendments)} amendment(s) to existing policies (section 2): make them in the named files")
    pending = [c for c in doc.citations if c.quote and not c.verified]
    unseen = [c for c in doc.citations if not c.quote]
    if pending:
        checks.append(f"{len(pending)} quote(s) awaiting verification against the source")
    if unseen:
        checks.append(f"{len(unseen)} citation(s) without a stored quote: read the cited provision")
    model = sum(1 for c in clauses if c.steps or any("proposed by the model" in n for n in c.notes))
    if model:
        checks.append(f"{model} clause(s) worded by the model: compare with the basis")
    if any("international baseline" in (c.title or "") for c in clauses):
        checks.append("international-baseline clauses: confirm no local rule applies")
    if doc.placeholders:
        checks.append("fill in: " + "; ".join(p.split(":")[0] for p in doc.placeholders))
    checks.append("confirm control frequencies and owners")
    return checks


def implementation_summary(gaps: Sequence[Gap], drafts: Sequence[PolicyDraft], scope: Scope,
                           profile: FirmProfile | None = None) -> str:
    """IMPLEMENTATION_SUMMARY.md: a plan, per gap the owner, priority, deadline, files and what to check."""
    by_gap = {d.gap_ids[0]: d for d in drafts}
    planned = [(g, by_gap[g.id]) for g in gaps if g.id in by_gap]
    lines = [
        "# Implementation Plan",
        "",
        f"Scope: {', '.join(scope.topics)}, {scope.jurisdiction_name}. {len(planned)} policy draft(s), in order of priority.",
        "Deadlines are suggestions counted from the day this plan is accepted; each draft is reviewed by its owner and",
        "the Compliance Officer, then approved by the Board (or its delegated committee), before it takes effect.",
        "",
        "| Gap | Priority | Owner | Adopt within | Files created | Existing policies amended |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for g, d in planned:
        owner = role_name(PROFILES[g.domain].owner, profile)
        amended = sorted({n.split(" in ", 1)[1].split(",", 1)[0] for s in (d.document.sections if d.document else ())
                          for c in s.clauses for n in c.notes if n.startswith("Amendment: in ")})
        created = f"[{d.file_name}]({d.file_name})" + (f", [{d.docx_name}]({d.docx_name})" if d.document else "")
        lines.append(f"| {g.id} | {g.priority} | {owner} | {DEADLINE.get(g.priority, '90 days')} | {created} | "
                     f"{', '.join(amended) or (', '.join(d.modifies) + ' (supplemented)' if d.modifies else 'none')} |")
    lines += ["", "## What each reviewer must check", ""]
    for g, d in planned:
        lines.append(f"- **{g.id}** ({d.title}): " + "; ".join(_reviewer_checks(d)) + ".")
    lines += [
        "",
        "## Then",
        "",
        "1. Record each approval in the draft's version history and in the Board minutes.",
        "2. Re-run the agent on the updated policy folder to confirm the gaps are closed.",
        "",
    ]
    return "\n".join(lines)
