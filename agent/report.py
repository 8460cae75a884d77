"""The run report: one pydantic document (JSON) and its Markdown rendering."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.conflicts import describe, where
from agent.domains import PROFILES
from agent.models import (
    Citation,
    Claim,
    FirmProfile,
    Gap,
    KeyQuoteSource,
    RunInfo,
    RunReport,
    Source,
    StepRecord,
)

_ICON = {"met": "✅", "partial": "⚠️", "not_met": "❌", "insufficient_evidence": "❔"}
COVERAGE_NOTE = (
    "Coverage is decided per requirement element: an element counts as evidenced only when one sentence of a "
    "policy contains every required concept together (e.g. a licence *and* a regulator or virtual-asset context), "
    "no excluded context (e.g. 'software licence', 'line manager'), and no negation just before the match "
    "('not', 'without', 'never'). All elements evidenced: met; some: partial; none: not_met; no readable "
    "policy: insufficient_evidence. Where the rule states a figure (a retention period, a deadline, an amount, a "
    "frequency, a place), a policy sentence about the same subject that states a figure falling short of it "
    "(five years where six are required, 72 hours where the rule says immediately, an MLRO based abroad) is "
    "reported as a conflict, and the requirement is then partial at best. A domain's status rolls up from its "
    "requirements."
)


def build_report(state: Mapping[str, Any], finished_at: str, report_files: Sequence[str],
                 prices: tuple[float | None, float | None] = (None, None)) -> RunReport:
    steps: list[StepRecord] = list(state.get("steps", []))
    tin, tout = sum(s.tokens_in for s in steps), sum(s.tokens_out for s in steps)
    price_in, price_out = prices
    cost = (tin * price_in + tout * price_out) / 1e6 if price_in is not None and price_out is not None else None
    run = RunInfo(
        id=state["run_id"], version=state.get("version", 1), rerun_from=state.get("rerun_from"), query=state["query"], scope=state["scope"], started_at=state["started_at"],
        finished_at=finished_at, pack=state["pack"], pack_version=state["pack_version"],
        pack_as_of=state["pack_as_of"], baseline_only=state["baseline"], policies=state["policy_input"],
        output_dir=state["out_dir"], report_files=tuple(report_files), steps=tuple(steps),
        warnings=tuple(state.get("warnings", [])), tokens_in=tin, tokens_out=tout,
        estimated_cost_usd=round(cost, 4) if cost is not None else None,
    )
    order = {r.id: i for i, r in enumerate(state["requirements"])}
    report = RunReport(
        analysis=state["analysis"],
        requirements=tuple(state["requirements"]),
        assessments=tuple(sorted(state.get("assessments", []), key=lambda a: order.get(a.requirement_id, 0))),
        compliance_status=dict(state.get("compliance_status", {})),
        gaps=tuple(state.get("gaps", [])),
        drafts=tuple(state.get("outputs", [])),
        sources=tuple(state["sources"]),
        run=run,
        profile=state.get("profile") or FirmProfile(),
        not_applicable=tuple(state.get("not_applicable", [])),
    )
    previous = state.get("previous")
    if previous is not None:
        from agent.compare import compare

        report = report.model_copy(update={"comparison": compare(previous, report)})
    return report


def report_folder(run_id: str, version: int = 1) -> str:
    return f"reports/{run_id}" if version == 1 else f"reports/{run_id}-v{version}"


FORMATS = ("md", "json", "docx")


def report_files(run_id: str, version: int = 1, formats: Sequence[str] = FORMATS) -> list[str]:
    """Report paths, relative to the output folder, in the order md, json, docx (those selected)."""
    folder = report_folder(run_id, version)
    return [f"{folder}/report.{f}" for f in FORMATS if f in formats]


def write_report(state: Mapping[str, Any], finished_at: str, prices: tuple[float | None, float | None] = (None, None)) -> RunReport:
    """Write report.md, report.json and report.docx (those selected) under <out>/reports/<run id>/."""
    from tools.writer import SafeWriter

    version = state.get("version", 1)
    formats = tuple(state.get("report_formats") or FORMATS)
    files = report_files(state["run_id"], version, formats)
    report = build_report(state, finished_at, files, prices)
    # A run's report folder keeps its own manifest, so the drafts' manifest only changes with the drafts;
    # the writer is still rooted at the output folder, so a symlinked `reports` cannot redirect it.
    with SafeWriter(state["out_dir"], manifest_dir=report_folder(state["run_id"], version)) as writer:
        markdown = render_markdown(report) if {"md", "docx"} & set(formats) else ""
        for path in files:
            if path.endswith(".md"):
                writer.write(path, markdown)
            elif path.endswith(".json"):
                writer.write(path, to_json(report))
            else:
                from agent.render.report_docx import report_docx

                writer.write_bytes(path, report_docx(markdown, f"Compliance report: {report.run.query}"))
    return report


def to_json(report: RunReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# --- Markdown ---------------------------------------------------------------------


def _refs(cites: Sequence[Citation], number: Mapping[str, int]) -> str:
    ids = sorted({number[c.source_id] for c in cites if c.source_id in number})
    return " " + "".join(f"[{n}]" for n in ids) if ids else " [unsourced]"


def _claims(claims: Sequence[Claim], number: Mapping[str, int]) -> list[str]:
    return [f"- {c.text}{_refs(c.citations, number)}" for c in claims]


def _quote_sources(items: Sequence[KeyQuoteSource], number: Mapping[str, int]) -> list[str]:
    out = []
    for s in items:
        mark = "verified in source text" if s.verified else "awaiting verification"
        where = s.url or s.legal_id or ""
        out.append(f"- [{number.get(s.source_id, '?')}] **{s.title}** ({s.source_type}{', ' + str(s.date) if s.date else ''}) {where}")
        out.append(f"  > \"{s.key_quote}\" — *{mark}*")
    return out


def render_markdown(r: RunReport) -> str:
    number = {s.id: i for i, s in enumerate(r.sources, start=1)}
    a, run = r.analysis, r.run
    out: list[str] = []
    w = out.extend

    w(_answer(r))
    w([
        "# Regulatory Analysis Report", "",
        f"Generated: {run.finished_at}  ",
        f"Run: `{run.id}` · Query: \"{run.query}\" · Scope: {', '.join(run.scope.topics)} — {run.scope.jurisdiction_name}"
        + (f" ({run.scope.regime_hint})" if run.scope.regime_hint else "") + "  ",
        f"Engines: {_engines(run.steps)} · Knowledge pack {run.pack} v{run.pack_version}, as of {run.pack_as_of}"
        + (f" · Version {run.version} (re-run from {run.rerun_from})" if run.version > 1 else ""), "",
        *([f"How the query was read: {' '.join(run.scope.notes)}", ""] if run.scope.notes else []),
    ])
    if r.comparison is not None:
        from agent.compare import summary_lines

        c = r.comparison
        w([f"## Changes since run `{c.previous_run_id}` v{c.previous_version} ({c.previous_finished_at})", "",
           *(f"- {line}" for line in summary_lines(c)), ""])
    if a.baseline_only:
        w(["> **Baseline only.** No local law for this jurisdiction is held; requirements below come from "
           "international standards and are not statements of local law.", ""])
    w([
        f"**Status:** {a.status}  ", f"**Confidence:** {a.confidence_level}", "",
        "## Executive Summary", "", a.executive_summary, "",
        "## Detailed Analysis", "", *(_claims(a.detailed_analysis, number) or ["- No detailed findings held for this scope."]), "",
        "## Key Regulatory Pillars", "", *(_claims(a.key_regulatory_pillars, number) or ["- None held."]), "",
        "## Landmark Legislation", "",
        "| Name | Identifier | Enacted | Summary | Source |", "| --- | --- | --- | --- | --- |",
        *[f"| {leg.name} | {leg.identifier or '—'} | {leg.date_enacted or '—'} | {leg.summary} | [{number.get(leg.source_id, '?')}] |"
          for leg in a.landmark_legislation],
        "",
        "## Primary Sources (key quotes)", "", *(_quote_sources(a.primary_sources, number) or ["- None quoted."]), "",
        "## Secondary Sources (key quotes)", "", *(_quote_sources(a.secondary_sources, number) or ["- None quoted."]), "",
        "## Important Considerations", "", *(_claims(a.important_considerations, number) or ["- None held."]), "",
        "## Remaining Uncertainties", "", *([f"- {u}" for u in a.remaining_uncertainties] or ["- None recorded."]), "",
        "## Awaiting Verification", "",
        *([f"- {q}" for q in a.awaiting_verification] or ["- Every quote in this report was found in its source's stored text."]), "",
        "## Notes", "", a.notes_and_comments, "",
    ])

    w(_gap_section(r, number))
    w(_policy_update_section(r))
    w(["# Sources", "", "| # | Id | Tier | Title | Publisher | Location | Date | As of |", "| --- | --- | --- | --- | --- | --- | --- | --- |"])
    w([_source_row(s, number[s.id]) for s in r.sources])
    w(["", *_methodology(r)])
    w(_appendix(r, number))
    return "\n".join(out) + "\n"


def _answer(r: RunReport) -> list[str]:
    """The report opens with the answer: the analysis's summary, then what it means for this firm's policies."""
    run = r.run
    out = [f"# {run.scope.jurisdiction_name}, {', '.join(t.replace('_', ' ') for t in run.scope.topics)}: the answer", "",
           r.analysis.executive_summary, ""]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    gaps = sorted(r.gaps, key=lambda g: order.get(g.priority, 9))
    if run.policies.folder is None:
        out.append(f"No policy folder was given, so every one of the {len(gaps)} compliance domains with requirements "
                   "is a gap; the drafts in the output folder are starting points for each.")
    elif not gaps:
        out.append("The policy folder evidences every applicable requirement: no gap was found.")
    else:
        crit = sum(1 for g in gaps if g.priority == "critical")
        out.append(f"Your policies: {len(gaps)} gap(s), {crit} critical.")
    conflicts = [c for a in r.assessments for c in a.conflicts]
    if conflicts:
        out[-1] += f" {len(conflicts)} policy statement(s) contradict a rule's figure (see *Conflicts with the rule*)."
    if r.not_applicable:
        out[-1] += f" {len(r.not_applicable)} requirement(s) do not apply to this firm (see *Not Applicable*)."
    if run.policies.folder is not None and gaps:
        out += ["", "The most urgent:", ""]
        out += [f"- **{g.id}** {PROFILES[g.domain].label} ({g.priority}): {g.requirement}" for g in gaps[:3]]
    out += ["", "The per-requirement assessment is in the appendix at the end.", ""]
    return out


def _appendix(r: RunReport, number: Mapping[str, int]) -> list[str]:
    by_req = {a.requirement_id: a for a in r.assessments}
    titles = {s.id: s.title for s in r.sources}
    out = ["", "# Appendix: Requirement Assessments", "",
           "| Requirement | Domain | Priority | Status | Evidence | Missing | Conflicts with the rule |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for q in r.requirements:
        a = by_req.get(q.id)
        if a is None:
            continue
        ev = "<br>".join(f"{e.file} L{e.line_start}-{e.line_end}: “{e.quote}”" for e in a.evidence) or "—"
        clash = "<br>".join(f"{describe(c, titles)}{_refs([Citation(source_id=c.source_id)], number)}" for c in a.conflicts) or "—"
        out.append(f"| {q.id} {q.title}{' *(baseline)*' if q.baseline else ''} | {q.domain} | {q.priority} | {_ICON[a.status]} {a.status} | {ev} | {'; '.join(a.missing) or '—'} | {clash} |")
    return out


@dataclass(frozen=True)
class GapOverview:
    """What the gap section says, before it is written: counts, conflicts and the gaps by priority."""

    documents: int | None  # None: no policy folder
    requirements: int
    by_status: dict[str, int]
    gaps: int
    critical: int
    not_applicable: int
    conflict_files: tuple[str, ...]
    conflicts: int
    by_priority: tuple[tuple[str, tuple[Gap, ...]], ...]


def gap_overview(r: RunReport) -> GapOverview:
    statuses = ("met", "partial", "not_met", "insufficient_evidence")
    conflicts = [c for a in r.assessments for c in a.conflicts]
    return GapOverview(
        documents=None if r.run.policies.folder is None else len(r.run.policies.documents),
        requirements=len(r.requirements),
        by_status={st: sum(1 for a in r.assessments if a.status == st) for st in statuses},
        gaps=len(r.gaps), critical=sum(1 for g in r.gaps if g.priority == "critical"),
        not_applicable=len(r.not_applicable),
        conflict_files=tuple(sorted({c.file for c in conflicts})), conflicts=len(conflicts),
        by_priority=tuple((p, group) for p in ("critical", "high", "medium", "low")
                          if (group := tuple(g for g in r.gaps if g.priority == p))),
    )


def _gap_summary_lines(o: GapOverview) -> list[str]:
    if o.documents is None:
        lines = ["No policy folder was supplied, so no requirement could be shown to be met; every domain below is a drafting target."]
    else:
        n = o.by_status
        lines = [f"{o.documents} policy document(s) were assessed against {o.requirements} requirement(s): "
                 f"{n['met']} met, {n['partial']} partial, {n['not_met']} not met, "
                 f"{n['insufficient_evidence']} with insufficient evidence. {o.gaps} gap(s) found, {o.critical} critical."]
    if o.not_applicable:
        lines[-1] += f" {o.not_applicable} requirement(s) do not apply to this firm (see *Not Applicable*)."
    if o.conflicts:
        lines.append(f"{o.conflicts} policy statement(s) contradict a figure the rules require "
                     f"({'; '.join(o.conflict_files)}); each is named below with what to change.")
    return lines


def _gap_lines(g: Gap, by_req: Mapping[str, Any], number: Mapping[str, int]) -> list[str]:
    return [
        f"### {g.id}: {PROFILES[g.domain].label} ({g.category})", "",
        f"**Requirement:** {g.requirement}", "",
        f"**Current Status:** {g.current_status}", "",
        f"**Gap:** {g.gap}", "",
        *_conflict_lines(g.requirement_ids, by_req, number),
        f"**Impact:** {g.impact}", "",
        f"**Recommendation:** {g.recommendation}", "",
        f"**Requirement ids:** {', '.join(g.requirement_ids)} · **Sources:**{_refs(g.citations, number)}", "",
    ]


def _gap_section(r: RunReport, number: Mapping[str, int]) -> list[str]:
    overview = gap_overview(r)
    by_req = {a.requirement_id: a for a in r.assessments}
    out = ["# Gap Analysis Report", "", "## Executive Summary", "", *_gap_summary_lines(overview), ""]
    out += _profile_section(r)
    for prio, group in overview.by_priority:
        out += [f"## {prio.capitalize()} Priority Gaps", ""]
        for g in group:
            out += _gap_lines(g, by_req, number)
    out += ["## Compliance Status", ""]
    out += [f"{_ICON[s]} **{d}**: {s}" + "  " for d, s in r.compliance_status.items()]
    out.append("")
    out += _not_applicable_section(r)
    return out


def _conflict_lines(req_ids: Sequence[str], by_req: Mapping[str, Any], number: Mapping[str, int]) -> list[str]:
    """The gap's contradicting statements, each with the quoted sentence and the rule's source number."""
    conflicts = [c for rid in req_ids if rid in by_req for c in by_req[rid].conflicts]
    if not conflicts:
        return []
    out = ["**Conflicts with the rule:**", ""]
    for c in conflicts:
        out.append(f"- {where(c)}: “{c.quote}” says **{c.policy_says}**; the rule requires **{c.rule_requires}**"
                   f" ({c.locator or c.source_id}){_refs([Citation(source_id=c.source_id)], number)}")
    return [*out, ""]


def _profile_section(r: RunReport) -> list[str]:
    """The firm profile the run used, each field with its origin, and how to correct it."""
    from agent.profile import rows

    p = r.profile
    out = ["## Firm Profile", ""]
    if p.is_empty:
        return out + [
            "No firm profile: no `company.toml` was given and the policies state nothing the profile rules recognise, "
            "so **every requirement selected for the query applies**. Describe the firm in a `company.toml` "
            "(`agent profile init`) to exclude what does not apply to it.", ""]
    known = [(name, value, origin) for name, value, origin in rows(p) if origin != "default"]
    if not p.restricts:
        out += ["The profile states nothing about the firm's regime, activities, clients or custodians, so **every "
                "requirement selected for the query applies**. Describe the firm in a `company.toml` "
                "(`agent profile init`) to exclude what does not apply to it.", ""]
    out += ["| Field | Value | Origin |", "| --- | --- | --- |"]
    out += [f"| {name} | {_cell(value)} | {_cell(origin)} |" for name, value, origin in known]
    unknown = [name for name, _, origin in rows(p) if origin == "default" and not name.startswith("roles.")]
    out.append("")
    if unknown:
        out += [f"Not known: {', '.join(unknown)}.", ""]
    inferred = [name for name, _, origin in known if origin.startswith("inferred")]
    if inferred:
        out += [f"{len(inferred)} field(s) were inferred from the policies ({', '.join(inferred)}). If one is wrong, "
                "state it in a `company.toml` in the policy folder (or give one with `--profile FILE`); "
                "`agent profile init --from-policies DIR` writes one pre-filled for you to correct.", ""]
    return out


def _not_applicable_section(r: RunReport) -> list[str]:
    out = ["## Not Applicable", ""]
    if not r.not_applicable:
        reason = ("no firm profile was available" if r.profile.is_empty else
                  "the firm's profile restricts nothing" if not r.profile.restricts else "the firm's profile excludes none of them")
        return out + [f"- None: every requirement selected for the query was assessed ({reason}).", ""]
    out += ["Requirements selected for the query that do not bind this firm, so they were not assessed and open no gap:", "",
            "| Requirement | Domain | Reason | Statement |", "| --- | --- | --- | --- |"]
    for n in r.not_applicable:
        ev = "<br>".join(f"{e.file} L{e.line_start}-{e.line_end}: “{e.quote}”" for e in n.evidence) or "—"
        out.append(f"| {n.requirement_id} {_cell(n.title)} | {n.domain} | {_cell(n.reason)} | {_cell(ev)} |")
    out.append("")
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _policy_update_section(r: RunReport) -> list[str]:
    out = ["# Policy Update Summary", "", "## Overview", "",
           "Proposed policy documents that close the gaps above, written to the output folder.", ""]
    gaps = {g.id: g for g in r.gaps}
    for title, kind in (("New Policies Required", "new"), ("Modified Policies", "modifies_existing")):
        items = [d for d in r.drafts if d.kind == kind and d.category != "Summary"]
        out += [f"## {title}", ""]
        if not items:
            out += ["- None.", ""]
            continue
        for d in items:
            g = gaps.get(d.gap_ids[0])
            out += [f"### {', '.join(d.gap_ids)} — {d.title}", f"**Category:** {d.category}  "]
            if g:
                out += [f"**Current Policy:** {g.current_status}  ", f"**Proposed Change:** {g.recommendation}"]
            out.append("")
    out += ["## Policy Implementation", "", f"Output folder: `{r.run.output_dir}`", "",
            "| File | Gaps | Action |", "| --- | --- | --- |"]
    for d in r.drafts:
        action = {"written": "written", "unchanged": "unchanged (identical content already present)",
                  "kept_human_edit": f"kept your edited file; new version written to `{d.written_as}`",
                  "proposed": "proposed in chat; written only when you confirm"}[d.action]
        out.append(f"| `{d.path}` | {', '.join(d.gap_ids)} | {action} |")
    if not r.drafts:
        out.append("| — | — | nothing to write: no gaps |")
    out.append("")
    return out


def _source_row(s: Source, n: int) -> str:
    where = s.url or s.legal_id or "—"
    return f"| {n} | {s.id} | {s.tier} | {s.title} | {s.publisher} | {where} | {s.date or '—'} | {s.as_of or '—'} |"


def _engines(steps: Sequence[StepRecord]) -> str:
    engines = sorted({s.engine for s in steps})
    return " + ".join(engines) if engines else "embedded"


def _methodology(r: RunReport) -> list[str]:
    run = r.run
    out = ["# Methodology and Limitations", "", "## Steps", "",
           "| Step | Engine | Status | Duration (s) | Tokens in | Tokens out | Detail | Run version |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    out += [f"| {s.step} | {s.engine} | {s.status} | {s.duration_s:.3f} | {s.tokens_in} | {s.tokens_out} | {s.detail} | "
            f"v{s.version}{' (reused)' if s.version < run.version else ''} |" for s in run.steps]
    if run.rerun_from:
        out += ["", f"This is version {run.version} of run `{run.id}`, re-run from the `{run.rerun_from}` step; steps marked "
                "*reused* were not executed again."]
    cost = f"estimated cost USD {run.estimated_cost_usd:.4f}" if run.estimated_cost_usd is not None else "cost not estimated (set AGENT_PRICE_IN_PER_MTOK and AGENT_PRICE_OUT_PER_MTOK)"
    out += ["", f"Model usage: {run.tokens_in} tokens in, {run.tokens_out} tokens out; {cost}."]
    out += ["", "## How coverage was decided", "", COVERAGE_NOTE, "", "## What was limited", ""]
    out += [f"- {w}" for w in run.warnings] or ["- Nothing: every step ran on its intended engine."]
    out += ["", "## Limitations", "",
            f"- Regulatory content is current as of {run.pack_as_of} (knowledge pack {run.pack} v{run.pack_version}); later changes are not reflected.",
            "- Coverage rules look for what a policy states, not whether the Company follows it in practice.",
            "- Drafts are starting points for review by a qualified compliance officer, not legal advice.", ""]
    return out


def json_schema() -> dict[str, Any]:
    """JSON Schema of the `--json` document (committed as agent/schemas/report.schema.json)."""
    schema = RunReport.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Compliance agent run report"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
