"""The comparison report: the matrix first, then each jurisdiction's answer and gaps, then shared controls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from agent.domains import PROFILES
from agent.matrix import build_matrix
from agent.models import (
    Citation,
    ComparisonColumn,
    ComparisonReport,
    RunReport,
    Scope,
    SharedControl,
    Source,
)

FORMATS = ("md", "json", "docx")


def slug(scope: Scope) -> str:
    """Sub-folder and run-id suffix of a jurisdiction's branch: "eu", "ae-difc"."""
    return re.sub(r"[^a-z0-9]+", "-", f"{scope.jurisdiction}-{scope.regime_hint or ''}".lower()).strip("-")


def _folder(run_id: str) -> str:
    return f"reports/{run_id}"


def shared_controls(labels: Sequence[str], reports: Sequence[RunReport]) -> tuple[SharedControl, ...]:
    """Control areas with gaps in two or more jurisdictions: one policy can be written to close them all."""
    by_domain: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {}
    for label, rep in zip(labels, reports, strict=True):
        for g in rep.gaps:
            by_domain.setdefault(g.domain, []).append((label, g.id, g.priority, g.requirement_ids))
    out = []
    for domain, gaps in by_domain.items():
        if len({label for label, *_ in gaps}) < 2:
            continue
        out.append(SharedControl(
            domain=domain, label=PROFILES[domain].label,
            gaps=tuple(f"{label}: {gid} ({prio})" for label, gid, prio, _ in gaps),
            requirement_ids=tuple(dict.fromkeys(r for *_, ids in gaps for r in ids)),
        ))
    return tuple(out)


def build_comparison(run_id: str, query: str, scopes: Sequence[Scope], reports: Sequence[RunReport], finished_at: str,
                     out_dir: Path) -> ComparisonReport:
    cols, rows = build_matrix(scopes)
    by_run = {r.run.id: r for r in reports}
    ordered = [by_run.get(f"{run_id}-{slug(s)}") for s in scopes]
    columns = []
    for col, rep in zip(cols, ordered, strict=True):
        report_md = next((f for f in (rep.run.report_files if rep else ()) if f.endswith(".md")), None)
        columns.append(ComparisonColumn(
            label=col.label, jurisdiction=col.scope.jurisdiction, regime=col.regime, pack=col.pack.code, baseline=col.baseline,
            run_id=f"{run_id}-{slug(col.scope)}", report=f"{slug(col.scope)}/{report_md}" if report_md else None,
        ))
    done = [r for r in ordered if r is not None]
    with_folder = [r for r in done if r.run.policies.folder]
    shared = shared_controls([c.label for c, r in zip(columns, ordered, strict=True) if r in with_folder], with_folder)
    cited = {c.source_id for row in rows for cell in row.cells for c in cell.citations}
    sources: dict[str, Source] = {}
    for rep in done:
        for s in rep.sources:
            if s.id in cited:
                sources.setdefault(s.id, s)
    from agent.embedded import to_source
    from agent.knowledge import load

    for col in cols:
        for ps in (*col.pack.sources, *load("INTL").sources):
            if ps.id in cited and ps.id not in sources:
                sources[ps.id] = to_source(ps, "baseline" if col.baseline else "pack")
    warnings = [f"{c.label}: {w}" for c, r in zip(columns, ordered, strict=True) if r for w in r.run.warnings
                if w.startswith(("No knowledge pack", "Query:"))]
    return ComparisonReport(
        query=query, run_id=run_id, topics=scopes[0].topics, finished_at=finished_at, columns=tuple(columns),
        comparison_matrix=rows, shared_controls=shared,
        summaries=tuple(r.analysis.executive_summary if r else "This jurisdiction's run did not finish." for r in ordered),
        sources=tuple(sources.values()), warnings=tuple(dict.fromkeys(warnings)),
    )


def _refs(cites: Sequence[Citation], number: dict[str, int]) -> str:
    return "".join(f"[{n}]" for n in dict.fromkeys(number[c.source_id] for c in cites if c.source_id in number))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(r: ComparisonReport) -> str:
    number = {s.id: n for n, s in enumerate(r.sources, start=1)}
    names = " vs ".join(c.label for c in r.columns)
    out = [f"# {', '.join(t.replace('_', ' ') for t in r.topics)}: {names}", "",
           f"Run `{r.run_id}` · Query: \"{r.query}\" · Finished {r.finished_at}", "",
           "Every cell comes from that jurisdiction's knowledge pack and cites its source ([n], listed at the end); "
           "\"—\" means the pack holds nothing for that row. A pack is a starting point for legal review, not legal advice.", ""]
    out += ["| | " + " | ".join(_cell(c.label) for c in r.columns) + " |", "|---|" + "---|" * len(r.columns)]
    for row in r.comparison_matrix:
        out.append(f"| **{row.label}** | " + " | ".join(
            _cell(cell.text) + (" " + _refs(cell.citations, number) if cell.citations else "") for cell in row.cells) + " |")
    out.append("")
    if r.warnings:
        out += ["Notes:", "", *[f"- {w}" for w in r.warnings], ""]
    if r.shared_controls:
        out += ["## Controls that satisfy several jurisdictions at once", "",
                "Each control area below has open gaps in more than one jurisdiction; one policy written to the "
                "strictest of their requirements closes them together.", ""]
        for sc in r.shared_controls:
            out.append(f"- **{sc.label}**: {'; '.join(sc.gaps)} (requirements {', '.join(sc.requirement_ids)})")
        out.append("")
    for col, summary in zip(r.columns, r.summaries, strict=True):
        out += [f"## {col.label}", "", summary, ""]
        if col.report:
            out += [f"Full analysis, gaps and drafts: `{col.report}` (run `{col.run_id}`).", ""]
    if r.sources:
        out += ["## Sources", ""]
        for s in r.sources:
            out.append(f"{number[s.id]}. [{s.id}] {s.title} — {s.publisher} ({s.tier}); {s.url or s.legal_id}")
        out.append("")
    return "\n".join(out)


def write_comparison(report: ComparisonReport, out_dir: Path, formats: Sequence[str] = FORMATS) -> list[str]:
    """comparison.md / .json / .docx under <out>/reports/<run id>/ with the safe writer; returns the paths."""
    from tools.writer import SafeWriter

    folder = _folder(report.run_id)
    written = []
    with SafeWriter(str(out_dir), manifest_dir=folder) as writer:
        markdown = render_markdown(report)
        if "md" in formats:
            written.append(writer.write(f"{folder}/comparison.md", markdown).path)
        if "json" in formats:
            written.append(writer.write(f"{folder}/comparison.json", report.model_dump_json(indent=2) + "\n").path)
        if "docx" in formats:
            from agent.render.report_docx import report_docx

            written.append(writer.write_bytes(f"{folder}/comparison.docx", report_docx(markdown, f"Comparison: {report.query}")).path)
    return written
