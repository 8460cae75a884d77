"""Embedded drafting: a complete, reviewable policy document per gap, built from cited requirements.

Drafts contain no run id or timestamp, so an unchanged re-run produces identical bytes and the
safe writer writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.conflicts import where as conflict_at
from agent.domains import PROFILES
from agent.models import Assessment, FirmProfile, Gap, PolicyDraft, Requirement, Scope, Source
from agent.profile import ACTIVITY_LABELS

_SUBJECT = re.compile(
    r"^(?:the|a|an|each|every|all|any|firms?|issuers?|licensed|licensees?|vasps?|operators?|custodians?|"
    r"persons?|entities|participants?|miners?|providers?|authorised|authorized)\b",
    re.IGNORECASE,
)
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


_SENT = re.compile(r"(?<=[.;])\s+(?=[A-Z])")


def statement(obligation: str) -> str:
    """Turn a requirement's obligation into policy commitments ("The Company shall ...")."""
    out = []
    for sentence in _SENT.split(obligation.strip()):
        text = sentence.strip().rstrip(".;")
        if not text:
            continue
        if _SUBJECT.match(text):
            out.append(f"{text}; the Company applies this to itself in full.")
        elif re.match(r"(?i)^do not\b", text):
            out.append(f"The Company shall not {text[7:]}.")
        else:
            out.append(f"The Company shall {text[0].lower()}{text[1:]}.")
    return " ".join(out)


_FREQUENCY = (
    (re.compile(r"reconcil|monitor|screen|surveil|backing|balance", re.I), "Daily, and before each material movement"),
    (re.compile(r"report|notif|fil(?:e|ing)|disclos|publish|statement", re.I), "Per event, within the deadline in the cited rule"),
    (re.compile(r"risk assessment|review|audit|attest|test|training|update", re.I), "At least annually, and on material change"),
    (re.compile(r"onboard|identif|verif|due diligence|kyc|approv|licen|regist|appoint", re.I), "Before the activity, relationship or appointment starts"),
)


def frequency(element: str) -> str:
    """A sensible default control frequency, for the policy owner to confirm."""
    return next((f for pat, f in _FREQUENCY if pat.search(element)), "As defined by the policy owner")


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
    tailored = tailored or {}
    firm = profile
    profile = PROFILES[gap.domain]
    domain_reqs = [r for r in requirements if r.domain == gap.domain]
    open_ids = set(gap.requirement_ids)
    kind = "modifies_existing" if gap.existing_files else "new"
    file_name = f"{profile.category}_{gap.id}.md"
    out: list[str] = []
    w = out.append

    w(f"# {profile.policy_title}")
    w("")
    w("| Field | Value |")
    w("| --- | --- |")
    name = firm.legal_name.value if firm is not None and firm.legal_name.value else "[Company legal name]"
    w(f"| Company | {name} |")
    w(f"| Document | {profile.policy_title} |")
    w("| Version | 0.1 — DRAFT for compliance review |")
    w(f"| Policy owner | {role_name(profile.owner, firm)} |")
    w(f"| Closes | {gap.id} ({gap.priority} priority) |")
    w(f"| Jurisdiction | {scope.jurisdiction_name} ({', '.join(sorted({r.regime for r in domain_reqs}))}) |")
    w(f"| Requirements addressed | {', '.join(r.id for r in domain_reqs)} |")
    w(f"| Regulatory basis as of | {pack_as_of} |")
    if kind == "modifies_existing":
        w(f"| Relationship to existing policies | Supplements and, where inconsistent, supersedes: {', '.join(gap.existing_files)} |")
    w("")
    w("> This draft was prepared by the compliance agent from cited regulatory requirements. It is not legal")
    w("> advice. Every statement tied to a requirement id must be checked against the cited source and")
    w("> adapted to the Company's business before approval.")
    w("")

    w("## 1. Purpose")
    w("")
    w(
        f"This policy sets out how the Company meets its obligations on {profile.label.lower()} in "
        f"{scope.jurisdiction_name}, so that the Company can evidence compliance to its regulators, auditors and clients."
    )
    w("")
    w("## 2. Scope")
    w("")
    w(f"This policy applies to all directors, employees and contractors of the Company, and to outsourced providers acting on its behalf, in relation to {'; '.join(topic_labels(scope, firm))}.")
    does = [ACTIVITY_LABELS[a] for a, f in (firm.activities.items() if firm is not None else ()) if f.value]
    if does:
        w(f"The Company's activities (firm profile): {'; '.join(does)}.")
    for key in sorted({r.regime for r in domain_reqs}):
        if key in regimes:
            w(f"- **{key}**: {regimes[key]}")
    w("")

    w("## 3. Regulatory basis")
    w("")
    seen: set[tuple[str, str | None]] = set()
    for r in domain_reqs:
        for c in r.citations:
            if (c.source_id, c.locator) in seen:
                continue
            seen.add((c.source_id, c.locator))
            s = sources.get(c.source_id)
            if s is None:
                continue
            where = s.url or s.legal_id
            loc = f", {c.locator}" if c.locator else ""
            w(f"- [{s.id}] {s.title}{loc} — {s.publisher}, {s.tier}; {where}" + (f" (as of {s.as_of})" if s.as_of else ""))
            if c.quote:
                w(f"  > \"{c.quote}\"" + (" (verified against the source text)" if c.verified else " (awaiting verification)"))
    if any(r.baseline for r in domain_reqs):
        w("")
        w("Requirements marked *baseline* come from international standards, not from local law; they are included because the knowledge pack holds no local rule for them.")
    w("")

    w("## 4. Policy statements")
    w("")
    for n, r in enumerate(domain_reqs, start=1):
        a = assessments.get(r.id)
        mark = " *(baseline)*" if r.baseline else ""
        w(f"### 4.{n} {r.title} [{r.id}]{mark}")
        w("")
        if r.id in tailored:
            w(tailored[r.id][0])
            w("*Company-specific wording proposed by the model: check it against the basis before approval.*")
        else:
            w(statement(r.obligation))
        cites = ", ".join(sorted({c.source_id + (f" {c.locator}" if c.locator else "") for c in r.citations}))
        w(f"*Basis: {cites}.*")
        for c in a.conflicts if a is not None else ():
            w(f"*Replaces a contradicting statement: {conflict_at(c)} says {c.policy_says}; the rule requires "
              f"{c.rule_requires}. Amend that section to match this one.*")
        if a is not None and r.id not in open_ids and a.evidence:
            ev = a.evidence[0]
            w(f"*Already addressed in {ev.file} (lines {ev.line_start}-{ev.line_end}); keep both documents consistent.*")
        elif a is not None and a.status == "partial":
            covered = "; ".join(f"{e.element} ({e.file} L{e.line_start}-{e.line_end})" for e in a.evidence)
            w(f"*Current coverage: {covered}. This section adds: {'; '.join(a.missing)}.*")
        w("")
        for el in elements.get(r.id, ()):
            w(f"- {el[0].upper()}{el[1:]} (procedure 6.{n}).")
        w("")

    w("## 5. Roles and responsibilities")
    w("")
    w("| Role | Responsibility |")
    w("| --- | --- |")
    for role, duty in profile.roles:
        w(f"| {role_name(role, firm)} | {duty} |")
    w("")

    w("## 6. Procedures")
    w("")
    w(f"Each control below is owned by the {profile.owner} unless stated otherwise. Frequencies are defaults to confirm;")
    w("the operating steps (system, checklist, escalation) are recorded in the desk procedure named in the last column.")
    w("")
    for n, r in enumerate(domain_reqs, start=1):
        els = list(elements.get(r.id, ())) or [r.title]
        w(f"### 6.{n} {r.title} [{r.id}]")
        w("")
        w("| Control | Frequency | Evidence retained | Desk procedure |")
        w("| --- | --- | --- | --- |")
        for m, el in enumerate(els, start=1):
            w(f"| {el[0].upper()}{el[1:]} | {frequency(el)} | Record of each performance, reviewer sign-off | [DP-{gap.id}-{n}.{m}] |")
        w("")
        steps = tailored.get(r.id, ("", ()))[1]
        if steps:
            w("Operating steps (proposed by the model for this company; confirm before adoption):")
            w("")
            for m, text in enumerate(steps, start=1):
                w(f"{m}. {text}")
            w("")
        w("Failures of these controls are escalated to the Compliance Officer the same day. Exceptions need the Compliance Officer's prior written approval, are time-limited and are recorded in the exceptions log.")
        w("")

    w("## 7. Monitoring and testing")
    w("")
    for item in profile.monitoring:
        w(f"- {item}")
    w("- Breaches of this policy are logged, analysed for root cause and reported to senior management; breaches that must be notified to a regulator are notified within the applicable deadline.")
    w("")
    w("## 8. Record keeping")
    w("")
    for item in profile.records:
        w(f"- {item}")
    w("- Records are kept for at least the period required by the applicable rules cited in section 3 (and, absent a specific rule, at least five years), in a form that can be produced promptly to the regulator.")
    w("")
    w("## 9. Review cycle")
    w("")
    w(f"The {profile.owner} reviews this policy at least annually, and without delay after a change in the cited rules, a material incident, a new product or a regulator's finding. Reviews are recorded in the version history below.")
    w("")
    w("| Version | Date | Author | Change |")
    w("| --- | --- | --- | --- |")
    w(f"| 0.1 | [date] | Compliance agent (draft) | First draft closing {gap.id} |")
    w("")
    w("## 10. Approval")
    w("")
    w("| Role | Name | Signature | Date |")
    w("| --- | --- | --- | --- |")
    w(f"| Policy owner ({profile.owner}) | | | |")
    w("| Compliance Officer | | | |")
    w("| Board of Directors (resolution no.) | | | |")
    w("")
    return PolicyDraft(
        gap_ids=(gap.id,),
        category=profile.category,
        title=profile.policy_title,
        file_name=file_name,
        body="\n".join(out),
        kind=kind,
        modifies=gap.existing_files,
    )


def implementation_summary(gaps: Sequence[Gap], drafts: Sequence[PolicyDraft], scope: Scope) -> str:
    """IMPLEMENTATION_SUMMARY.md: what was drafted and in which order to adopt it."""
    by_gap = {d.gap_ids[0]: d for d in drafts}
    lines = [
        "# Implementation Summary",
        "",
        f"Scope: {', '.join(scope.topics)} — {scope.jurisdiction_name}",
        "",
        f"{len(drafts)} policy draft(s) prepared, in order of priority. Each needs review by the policy owner",
        "and the Compliance Officer, then approval, before it takes effect.",
        "",
        "| Gap | Priority | Draft | Type | Requirements |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in gaps:
        d = by_gap.get(g.id)
        if d is None:
            continue
        kind = "new policy" if d.kind == "new" else f"supplements {', '.join(d.modifies)}"
        lines.append(f"| {g.id} | {g.priority} | [{d.file_name}]({d.file_name}) | {kind} | {', '.join(g.requirement_ids)} |")
    lines += [
        "",
        "## Next steps",
        "",
        "1. Assign each draft to its policy owner (named in the draft's document control table).",
        "2. Check every cited requirement against its source; quotes marked *awaiting verification* first.",
        "3. Adapt procedures to the Company's systems and staffing; remove anything that does not apply.",
        "4. Approve through the Board (or delegated committee) and record the approval in section 10.",
        "5. Re-run the agent on the updated policy folder to confirm the gaps are closed.",
        "",
    ]
    return "\n".join(lines)
