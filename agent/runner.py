"""Run the pipeline for one query: the seam between the CLI (or chat) and the graph."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from agent.models import RunReport, Scope
from agent.progress import Progress


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def engine_line(ctx) -> str:  # noqa: ANN001
    models = f"model {ctx.settings.model_for('analyst')}" if ctx.client else "no model (embedded analysis and drafting)"
    search = "Tavily web search" if ctx.search else "no web search (knowledge pack)"
    return f"{models}; {search}"


def run_pipeline(
    scope: Scope,
    *,
    policies: Path | None,
    out_dir: Path,
    db_path: Path,
    progress: Progress,
    run_id: str | None = None,
    context=None,  # graphs.context.RunContext; None = from settings (keys in the environment)
) -> RunReport:
    """Execute the graph with a SQLite checkpointer; returns the run's report."""
    from agent.settings import load_settings
    from graphs.context import make_context
    from graphs.pipeline import RECURSION_LIMIT, build, open_checkpointer

    run_id = run_id or new_run_id()
    ctx = context or make_context(load_settings())
    progress.start(
        run_id,
        f"{', '.join(scope.topics)} — {scope.jurisdiction_name}" + (f" ({scope.regime_hint})" if scope.regime_hint else ""),
        engine_line(ctx),
    )
    saver = open_checkpointer(db_path)
    try:
        graph = build(checkpointer=saver)
        config = {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT,
                  "max_concurrency": ctx.settings.max_parallel}
        inputs = {
            "run_id": run_id,
            "query": scope.query,
            "scope": scope,
            "policies_dir": str(policies) if policies else None,
            "out_dir": str(out_dir),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        for update in graph.stream(inputs, config, stream_mode="updates", context=ctx):
            for node_update in update.values():
                for record in (node_update or {}).get("steps", []):
                    progress.step(record)
        return graph.get_state(config).values["report"]
    finally:
        saver.conn.close()
