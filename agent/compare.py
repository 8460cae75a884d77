"""What changed between two runs of the same scope: requirements, statuses, gaps, sources."""

from __future__ import annotations

from agent.models import Comparison, RunReport, StatusChange


def compare(previous: RunReport, current: RunReport) -> Comparison:
    before_reqs = {r.id for r in previous.requirements}
    after_reqs = {r.id for r in current.requirements}
    before_status = {a.requirement_id: a.status for a in previous.assessments}
    after_status = {a.requirement_id: a.status for a in current.assessments}
    domains = list(dict.fromkeys([*previous.compliance_status, *current.compliance_status]))
    before_gaps = {g.id for g in previous.gaps}
    after_gaps = {g.id for g in current.gaps}
    before_src = {s.id for s in previous.sources}
    after_src = {s.id for s in current.sources}
    return Comparison(
        previous_run_id=previous.run.id, previous_version=previous.run.version,
        previous_finished_at=previous.run.finished_at,
        requirements_added=tuple(sorted(after_reqs - before_reqs)),
        requirements_removed=tuple(sorted(before_reqs - after_reqs)),
        requirement_status_changes=tuple(
            (rid, before_status[rid], after_status[rid]) for rid in sorted(before_status.keys() & after_status.keys())
            if before_status[rid] != after_status[rid]
        ),
        status_changes=tuple(
            StatusChange(domain=d, before=previous.compliance_status.get(d), after=current.compliance_status.get(d))
            for d in domains if previous.compliance_status.get(d) != current.compliance_status.get(d)
        ),
        gaps_opened=tuple(sorted(after_gaps - before_gaps)),
        gaps_closed=tuple(sorted(before_gaps - after_gaps)),
        sources_added=tuple(sorted(after_src - before_src)),
        sources_removed=tuple(sorted(before_src - after_src)),
    )


def gap_label(gap_id: str) -> str:
    """"GAP-003 AML_CTF": gap ids are stable per domain, so a closed gap still has its name."""
    from agent.domains import PROFILES
    from agent.models import DOMAINS

    try:
        return f"{gap_id} {PROFILES[DOMAINS[int(gap_id.rsplit('-', 1)[1]) - 1]].category}"
    except (ValueError, IndexError, KeyError):
        return gap_id


def summary_lines(c: Comparison) -> list[str]:
    """Plain lines for the terminal and the report."""
    name = gap_label
    if c.unchanged:
        return [f"No change since run {c.previous_run_id} v{c.previous_version}."]
    out = []
    if c.gaps_closed:
        out.append("Gaps closed: " + ", ".join(name(g) for g in c.gaps_closed))
    if c.gaps_opened:
        out.append("Gaps opened: " + ", ".join(name(g) for g in c.gaps_opened))
    for s in c.status_changes:
        out.append(f"{s.domain}: {s.before or '—'} → {s.after or '—'}")
    if c.requirement_status_changes:
        out.append(f"{len(c.requirement_status_changes)} requirement(s) changed status: "
                   + ", ".join(f"{r} {a}→{b}" for r, a, b in c.requirement_status_changes[:8])
                   + (" …" if len(c.requirement_status_changes) > 8 else ""))
    if c.requirements_added:
        out.append("Requirements added: " + ", ".join(c.requirements_added))
    if c.requirements_removed:
        out.append("Requirements removed: " + ", ".join(c.requirements_removed))
    if c.sources_added:
        out.append("Sources added: " + ", ".join(c.sources_added))
    if c.sources_removed:
        out.append("Sources no longer used: " + ", ".join(c.sources_removed))
    return out
