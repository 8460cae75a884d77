"""The research → analysis → gaps → drafts graph."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import get_runtime
from langgraph.types import Send

from agent import models
from graphs import nodes
from graphs.context import RunContext
from graphs.state import PipelineState

RECURSION_LIMIT = 64


_TIER_RANK = {"law": 0, "regulator": 1, "official": 2, "secondary": 3, "news": 4}


def _budget(name: str) -> int:
    """A search or fetch budget from the run's settings.

    0 when no run is executing: a re-run's fork is written with ``update_state``, which evaluates the forked
    node's routing with no runtime; the fork then waits on the analysis, which is where a budget of 0 routes.
    """
    try:
        runtime = get_runtime(RunContext)
    except (RuntimeError, KeyError):
        return 0
    return int(getattr(runtime.context.settings, name)) if runtime is not None and runtime.context else 0


def route_search(state: PipelineState) -> list[Send] | str:
    """Fan out one web search per planned query, within the search budget."""
    queries = state.get("queries") or []
    budget = _budget("max_searches")
    if not queries or budget <= 0:
        return "analyze"
    return [Send("search", {"query": q}) for q in queries[:budget]]


def route_fetch(state: PipelineState) -> list[Send] | str:
    """Fetch the most authoritative results first, once per URL, within the fetch budget."""
    budget = _budget("max_fetches")
    seen: set[str] = set()
    picked = []
    for r in sorted(state.get("search_results", []), key=lambda r: (_TIER_RANK.get(r["tier"], 9), -(r.get("score") or 0))):
        if r["url"] not in seen:
            seen.add(r["url"])
            picked.append(r)
    if not picked or budget <= 0:
        return "analyze"
    return [Send("fetch", {"result": r}) for r in picked[:budget]]


def route_assess(state: PipelineState) -> list[Send] | str:
    """Fan out one assessment task per compliance domain."""
    by_domain: dict[str, list] = {}
    for r in state["requirements"]:
        by_domain.setdefault(r.domain, []).append(r)
    if not by_domain:
        return "gaps"
    return [
        Send("assess", {
            "domain": d, "requirement_ids": [r.id for r in reqs], "requirements": reqs, "policies_dir": state.get("policies_dir"),
            "policy_digest": state.get("policy_digest", ""), "scan": state.get("policy_scan") or {},
            "jurisdiction": state["scope"].jurisdiction,
            "topics": state["scope"].topics,
        })
        for d, reqs in by_domain.items()
    ]


def route_draft(state: PipelineState) -> list[Send] | str:
    """Fan out one drafting task per gap, each carrying only what its draft is written from."""
    if not state.get("gaps"):
        return "write_outputs"
    return [Send("draft", {"gap": g, "state": draft_inputs(state, g)}) for g in state["gaps"]]


def draft_inputs(state: PipelineState, gap: models.Gap) -> dict[str, Any]:
    """The gap's domain: its requirements, their assessments, elements and cited sources; scope and profile.

    Each task is checkpointed with its payload, so sending the whole state made every run store it once per gap.
    """
    reqs = [r for r in state["requirements"] if r.domain == gap.domain]
    ids = {r.id for r in reqs}
    cited = {c.source_id for r in reqs for c in r.citations}
    return {
        "requirements": reqs, "assessments": [a for a in state.get("assessments") or () if a.requirement_id in ids],
        "elements": {k: v for k, v in state["elements"].items() if k in ids},
        "sources": [src for src in state["sources"] if src.id in cited],
        "scope": state["scope"], "regimes": state["regimes"], "pack_as_of": state["pack_as_of"],
        "profile": state.get("profile"),
    }


def build(checkpointer=None):
    g = StateGraph(PipelineState, context_schema=RunContext)
    add_pipeline(g)
    g.add_edge(START, "scope")
    return g.compile(checkpointer=checkpointer)


def add_pipeline(g: Any, adapt: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda fn: fn) -> None:
    """The pipeline's nodes and edges from "scope" to the end, on the StateGraph ``g``; the caller adds the way in.

    ``adapt`` wraps every node and route (the served graph keeps plain values in its state and builds
    its RunContext from a plain one). ``g`` is Any: typing it made mypy reject Send-fed nodes elsewhere.
    """
    for name, fn in (
        ("scope", nodes.scope_node), ("research", nodes.research_node), ("search", nodes.search_node),
        ("rank_results", nodes.join_node), ("fetch", nodes.fetch_node), ("analyze", nodes.analyze_node),
        ("verify", nodes.verify_node), ("read_policies", nodes.read_policies_node), ("profile", nodes.profile_node),
        ("assess", nodes.assess_node), ("gaps", nodes.gaps_node), ("draft", nodes.draft_node),
        ("write_outputs", nodes.write_node), ("report", nodes.report_node),
    ):
        g.add_node(name, adapt(fn))
    g.add_edge("scope", "research")
    g.add_conditional_edges("research", adapt(route_search), ["search", "analyze"])
    # A join: a conditional edge on "search" itself would run once per search branch and fetch twice.
    g.add_edge("search", "rank_results")
    g.add_conditional_edges("rank_results", adapt(route_fetch), ["fetch", "analyze"])
    g.add_edge("fetch", "analyze")
    g.add_edge("analyze", "verify")
    g.add_edge("verify", "read_policies")
    g.add_edge("read_policies", "profile")
    g.add_conditional_edges("profile", adapt(route_assess), ["assess", "gaps"])
    g.add_edge("assess", "gaps")
    g.add_conditional_edges("gaps", adapt(route_draft), ["draft", "write_outputs"])
    g.add_edge("draft", "write_outputs")
    g.add_edge("write_outputs", "report")
    g.add_edge("report", END)


class CompressedSerializer(JsonPlusSerializer):
    """msgpack, zlib-compressed: run state is mostly text repeated from step to step (requirements, quotes, drafts).

    The "+zlib" type suffix marks compressed values, so checkpoints written before compression still load.
    """

    SUFFIX = "+zlib"

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        if type_ == "msgpack" and len(data) > 512:
            return type_ + self.SUFFIX, zlib.compress(data, 6)
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, raw = data
        if type_.endswith(self.SUFFIX):
            return super().loads_typed((type_.removesuffix(self.SUFFIX), zlib.decompress(raw)))
        return super().loads_typed(data)


def serializer() -> JsonPlusSerializer:
    """Only the project's own models may be revived from a checkpoint."""
    allowed = [
        getattr(models, name)
        for name in dir(models)
        if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), models.BaseModel)
        and getattr(models, name).__module__ == models.__name__
    ]
    return CompressedSerializer(allowed_msgpack_modules=allowed)


def open_checkpointer(target: str | Path) -> Any:
    """A checkpointer with the project's serializer: SQLite for a path, PostgreSQL for a ``postgresql://`` URL."""
    from agent.storage.db import open_checkpointer as open_saver

    return open_saver(target, serializer())
