"""Turn assessments into gaps: one per compliance domain that is not fully met."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.conflicts import describe, where
from agent.domains import PROFILES
from agent.models import (
    DOMAINS,
    Assessment,
    Conflict,
    Gap,
    Priority,
    Requirement,
    Status,
)

_RANK: dict[Priority, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def gap_id(domain: str) -> str:
    """Stable per domain, so a gap keeps its id (and its draft file) across runs."""
    return f"GAP-{DOMAINS.index(domain) + 1:03d}"


def _cap(priority: Priority, ceiling: Priority) -> Priority:
    return priority if _RANK[priority] >= _RANK[ceiling] else ceiling


def build_gaps(
    requirements: Sequence[Requirement],
    assessments: Sequence[Assessment],
    status: dict[str, Status],
    source_titles: Mapping[str, str] | None = None,
) -> list[Gap]:
    """``source_titles`` (source id → title) lets a conflict name the rule's source by title."""
    by_req = {a.requirement_id: a for a in assessments}
    gaps: list[Gap] = []
    for domain, dstatus in status.items():
        if dstatus == "met":
            continue
        open_reqs = [r for r in requirements if r.domain == domain and by_req[r.id].status != "met"]
        if not open_reqs:
            continue
        gaps.append(_gap(domain, dstatus, open_reqs, [by_req[r.id] for r in open_reqs], requirements, by_req,
                         source_titles or {}))
    return sorted(gaps, key=lambda g: (_RANK[g.priority], g.id))


def _gap(
    domain: str,
    dstatus: Status,
    open_reqs: list[Requirement],
    open_as: list[Assessment],
    all_reqs: Sequence[Requirement],
    by_req: dict[str, Assessment],
    titles: Mapping[str, str],
) -> Gap:
    profile = PROFILES[domain]
    priority = min((r.priority for r in open_reqs), key=_RANK.__getitem__)
    if all(a.status == "insufficient_evidence" for a in open_as):
        # Without policy evidence we cannot call anything critical.
        priority = _cap(priority, "high")
    if all(r.baseline for r in open_reqs):
        # International standards are not local law: never the top priority.
        priority = _cap(priority, "high")

    conflicts = [c for a in open_as for c in a.conflicts]
    files = sorted(
        {e.file for r in all_reqs if r.domain == domain for e in by_req[r.id].evidence} | {c.file for c in conflicts}
    )
    missing = [f"{r.title}: {m}" for r, a in zip(open_reqs, open_as, strict=True) for m in a.missing]
    partly = [
        f"{r.title} ({', '.join(sorted({e.file for e in a.evidence}))})"
        for r, a in zip(open_reqs, open_as, strict=True)
        if a.status == "partial"
    ]
    if dstatus == "insufficient_evidence":
        current = "Not assessed: no readable policy document was supplied."
    elif files:
        current = f"Partly documented in {', '.join(files)}" + (
            f"; partial coverage of {'; '.join(partly)}." if partly else "."
        )
    else:
        current = f"No documented policy found for {profile.label.lower()}."
    return Gap(
        id=gap_id(domain),
        priority=priority,
        category=profile.category,
        domain=domain,  # type: ignore[arg-type]
        requirement="; ".join(r.title for r in open_reqs),
        current_status=current,
        gap=" ".join(filter(None, (
            "Not evidenced in the policy folder: " + "; ".join(missing) + "." if missing or not conflicts else "",
            "Contradicts the rule: " + "; ".join(describe(c, titles) for c in conflicts) + "." if conflicts else "",
        ))),
        impact=profile.impact,
        recommendation=(
            _amendments(conflicts)
            + f"Adopt, after review, the draft '{profile.policy_title}' ({profile.category}_{gap_id(domain)}.md), "
            f"which addresses {', '.join(r.id for r in open_reqs)}"
            + (f", and align it with {', '.join(files)}." if files else ".")
        ),
        requirement_ids=tuple(r.id for r in open_reqs),
        citations=tuple(c for r in open_reqs for c in r.citations),
        existing_files=tuple(files),
    )


def _amendments(conflicts: Sequence[Conflict]) -> str:
    """What to change in the existing policies, one clause per contradicting statement."""
    if not conflicts:
        return ""
    changes = "; ".join(f"{where(c)} from '{c.policy_says}' to {c.rule_requires}" for c in conflicts)
    return f"Change {changes}. "
