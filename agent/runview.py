"""What `agent runs` shows: the run list, a run's step table, its history through the checkpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agent.models import RunReport
from agent.runstore import RunRow
from agent.storage.db import Target
from agent.textsafe import markup_safe as safe


class HistoryRow(BaseModel):
    """The state after one graph step, as a compliance officer reads it."""

    checkpoint: int
    ran: str  # the node(s) that produced this state
    version: int
    analysis: str
    sources: int
    requirements: int
    assessed: int
    gaps: int
    drafts: int


def history(db_path: Target, run_id: str) -> list[HistoryRow]:
    """Every checkpoint of the run's latest version, oldest first (earlier versions' steps it reused included)."""
    from agent.storage import checkpointed

    with checkpointed(db_path) as graph:
        chain = []
        snap = graph.get_state({"configurable": {"thread_id": run_id}})
        while snap is not None and snap.config:
            chain.append(snap)
            snap = graph.get_state(snap.parent_config) if snap.parent_config else None
    chain.reverse()
    rows: list[HistoryRow] = []
    for prev, snap in zip([None, *chain], chain, strict=False):
        ran = prev.next if prev is not None else ()
        if not ran:
            continue  # the input checkpoint
        names = list(dict.fromkeys(ran))
        v: dict[str, Any] = snap.values
        a = v.get("analysis")
        fork = (snap.metadata or {}).get("source") in ("update", "fork")
        status = "" if a is None else a.status if len(a.status) <= 60 else a.status[:57] + "..."
        rows.append(HistoryRow(
            checkpoint=len(rows) + 1,
            ran=f"re-run v{v.get('version', 1)} starts (inputs changed)" if fork else
            ", ".join(f"{n} x{ran.count(n)}" if ran.count(n) > 1 else n for n in names),
            version=v.get("version", 1),
            analysis=f"{status} ({a.confidence_level}, {len(a.detailed_analysis)} claims)" if a is not None else "—",
            sources=len(v.get("sources") or ()), requirements=len(v.get("requirements") or ()),
            assessed=len(v.get("assessments") or ()), gaps=len(v.get("gaps") or ()), drafts=len(v.get("outputs") or ()),
        ))
    return rows


def print_list(rows: list[RunRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Runs (newest first)")
    for col in ("Run id", "Query", "Started (UTC)", "Status", "Engine"):
        table.add_column(col, no_wrap=col == "Run id", min_width=12 if col == "Query" else None)
    colour = {"completed": "green", "degraded": "yellow", "failed": "red", "running": "cyan"}
    for r in rows:
        rid = f"{r.run_id} v{r.version}" + (f"←{r.rerun_from}" if r.rerun_from else "")
        table.add_row(rid, safe(r.query), r.started_at[:16].replace("T", " "),
                      f"[{colour.get(r.status, 'white')}]{r.status}[/]", r.engine or "—")
    Console(highlight=False).print(table)


def print_show(report: RunReport, versions: list[RunRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    run = report.run
    console.print(f"[bold]Run {run.id} v{run.version}[/] — \"{safe(run.query)}\" · {run.started_at} → {run.finished_at}")
    if run.rerun_from:
        console.print(f"Re-run from the {run.rerun_from} step; steps marked reused come from an earlier version.")
    console.print(f"Policies: {safe(run.policies.folder or '—')} · Output: {safe(run.output_dir)}")
    table = Table(title="Steps")
    for col, just in (("Step", "left"), ("Status", "left"), ("Engine", "left"), ("Tokens in", "right"),
                      ("Tokens out", "right"), ("Duration (s)", "right"), ("Version", "left"), ("Detail", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    colour = {"completed": "green", "degraded": "yellow", "failed": "red", "skipped": "dim"}
    for s in run.steps:
        reused = s.version < run.version
        table.add_row(s.step, f"[{colour.get(s.status, 'white')}]{s.status}[/]", s.engine, str(s.tokens_in), str(s.tokens_out),
                      f"{s.duration_s:.2f}", f"v{s.version}" + (" reused" if reused else ""), safe(s.detail[:80]))
    console.print(table)
    console.print(f"Tokens: {run.tokens_in} in, {run.tokens_out} out"
                  + (f" · estimated cost USD {run.estimated_cost_usd:.4f}" if run.estimated_cost_usd is not None else ""))
    if run.warnings:
        console.print("[bold]Warnings[/]")
        for w in run.warnings:
            console.print(f"  - {safe(w)}")
    if report.comparison is not None:
        print_comparison(console, report.comparison)
    else:
        console.print("No earlier run of this scope to compare with.")
    if len(versions) > 1:
        console.print("Versions: " + ", ".join(f"v{v.version} ({v.status}{', from ' + v.rerun_from if v.rerun_from else ''})" for v in versions))


def print_comparison(console: Any, c: Any) -> None:
    """The comparison block shared by `agent run`, `agent runs rerun` and `agent runs show`."""
    from agent.compare import summary_lines

    console.print(f"[bold]Changes since run {c.previous_run_id} v{c.previous_version}[/]")
    for line in summary_lines(c):
        console.print(f"  - {safe(line)}")


def print_history(run_id: str, rows: list[HistoryRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"History of run {run_id} (one row per checkpoint)")
    for col in ("#", "Step(s) run", "Version", "Analysis", "Sources", "Requirements", "Assessed", "Gaps", "Drafts"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r.checkpoint), safe(r.ran), f"v{r.version}", safe(r.analysis), str(r.sources), str(r.requirements),
                      str(r.assessed), str(r.gaps), str(r.drafts))
    Console(highlight=False).print(table)
