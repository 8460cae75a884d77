"""Several jurisdictions in one graph: one pipeline branch per jurisdiction, then the comparison."""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.models import ComparisonReport, RunReport, Scope
from graphs.context import RunContext, embedded_context


class CompareState(TypedDict, total=False):
    run_id: str
    query: str
    scopes: list[Scope]
    policies_dir: str | None
    profile_path: str | None
    out_dir: str
    report_formats: tuple[str, ...]
    write_drafts: bool
    started_at: str
    reports: Annotated[list[RunReport], operator.add]
    comparison: ComparisonReport


def route_branches(state: CompareState) -> list[Send]:
    common = {k: v for k, v in state.items() if k not in ("scopes", "reports", "comparison")}
    return [Send("jurisdiction", {"scope": s, "state": common}) for s in state["scopes"]]


def jurisdiction_node(task: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:  # task: {"scope", "state"}
    """The whole research-to-drafts pipeline for one jurisdiction, in its own sub-folder."""
    from agent.comparison import slug
    from graphs.pipeline import RECURSION_LIMIT, build

    ctx = runtime.context or embedded_context()
    st, scope = task["state"], task["scope"]
    branch = slug(scope)
    inputs = {
        "run_id": f"{st['run_id']}-{branch}", "version": 1, "rerun_from": None,
        "query": st["query"], "scope": scope, "policies_dir": st.get("policies_dir"),
        "profile_path": st.get("profile_path"), "out_dir": str(Path(st["out_dir"]) / branch),
        "started_at": st["started_at"], "write_drafts": st.get("write_drafts", True),
        "report_formats": st.get("report_formats"),
    }
    # The branch keeps no checkpoints of its own: the comparison run's checkpoint holds its report.
    final = build(checkpointer=False).invoke(inputs, {"recursion_limit": RECURSION_LIMIT,
                                                      "max_concurrency": ctx.settings.max_parallel}, context=ctx)
    return {"reports": [final["report"]]}


def compare_node(state: CompareState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    from agent.comparison import build_comparison, write_comparison

    finished = datetime.now(UTC).isoformat(timespec="seconds")
    report = build_comparison(state["run_id"], state["query"], state["scopes"], state.get("reports", []), finished,
                              Path(state["out_dir"]))
    write_comparison(report, Path(state["out_dir"]), state.get("report_formats") or ("md", "json", "docx"))
    return {"comparison": report}


def build(checkpointer: Any = None) -> Any:
    g = StateGraph(CompareState, context_schema=RunContext)
    # A Send-fed node takes its task, not the graph state; LangGraph's typed overloads only know the latter.
    g.add_node("jurisdiction", jurisdiction_node)  # type: ignore[call-overload]
    g.add_node("compare", compare_node)
    g.add_conditional_edges(START, route_branches, ["jurisdiction"])
    g.add_edge("jurisdiction", "compare")
    g.add_edge("compare", END)
    return g.compile(checkpointer=checkpointer)
