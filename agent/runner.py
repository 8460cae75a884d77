"""Run the pipeline for one query: the seam between the CLI (or chat) and the graph."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from agent.models import RunReport, Scope
from agent.progress import Progress
from agent.storage.db import Target, describe


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def engine_line(ctx) -> str:  # noqa: ANN001
    models = f"model {ctx.settings.model_for('analyst')}" if ctx.client else "no model (embedded analysis and drafting)"
    search = "Tavily web search" if ctx.search else "no web search (knowledge pack)"
    return f"{models}; {search}"


def run_pipeline(
    scope: Scope,
    *,
    policies: Path | None,
    out_dir: Path,
    db_path: Target,
    progress: Progress,
    run_id: str | None = None,
    context=None,  # graphs.context.RunContext; None = from settings (keys in the environment)
    write_drafts: bool = True,
    profile: Path | None = None,  # --profile FILE; None: company.toml in the policy folder, if any
    formats: tuple[str, ...] | None = None,  # md/docx for drafts and report, json for the report; None: AGENT_FORMATS
) -> RunReport:
    """Execute the graph, checkpointed in ``db_path`` (a SQLite file or a PostgreSQL URL); returns the run's report."""
    from agent.runstore import RunStore
    from agent.settings import load_settings
    from graphs.context import make_context

    run_id = run_id or new_run_id()
    settings = load_settings()
    ctx = context or make_context(settings)
    formats = formats or settings.format_list
    started = datetime.now(UTC).isoformat(timespec="seconds")
    # Absolute, so a re-run, or the web page, started from another folder finds the same folders.
    out_dir = Path(os.path.abspath(out_dir))
    policies, profile = _absolute(policies), _absolute(profile)
    with RunStore(db_path) as store:
        previous = store.previous(scope, started, exclude=run_id)
        store.start(run_id, 1, scope, started, str(out_dir), str(policies) if policies else None)
    ctx.previous = previous
    inputs = {
        "run_id": run_id, "version": 1, "rerun_from": None,
        "query": scope.query, "scope": scope,
        "policies_dir": str(policies) if policies else None,
        "profile_path": str(profile) if profile else None,
        "out_dir": str(out_dir), "started_at": started, "write_drafts": write_drafts, "report_formats": formats,
    }
    progress.start(run_id, _scope_line(scope), engine_line(ctx))
    return _execute(db_path, run_id, 1, ctx, progress, lambda graph, config: graph.stream(
        inputs, config, stream_mode="updates", context=ctx))


# Steps a run can be re-run from, by the name users see (and the graph node it starts at).
RERUN_STEPS = {
    "research": "research",
    "analysis": "analyze", "analyze": "analyze",
    "gaps": "read_policies", "policies": "read_policies", "assess": "read_policies", "read_policies": "read_policies",
    "drafts": "draft", "draft": "draft",
}


class RerunError(Exception):
    """A re-run that cannot start (unknown run or step); the message says what to do."""


def rerun_pipeline(
    run_id: str,
    from_step: str,
    *,
    db_path: Target,
    progress: Progress,
    policies: Path | None = None,
    out_dir: Path | None = None,
    context=None,
    profile: Path | None = None,
) -> RunReport:
    """Re-run ``run_id`` from a step as a new version: earlier steps are reused from the checkpoints.

    Works on finished and on interrupted or failed versions alike: the fork point is looked up in the
    checkpoints of the latest version, whatever became of it.
    """
    from agent.runstore import RunStore
    from agent.settings import load_settings
    from agent.storage import checkpointed
    from graphs.context import make_context

    node = RERUN_STEPS.get(from_step.lower())
    if node is None:
        raise RerunError(f"cannot re-run from {from_step!r}; choose one of: research, analysis, gaps, drafts.")
    if profile is not None and node == "draft":
        raise RerunError("--profile changes which requirements apply, so it needs a re-run from gaps (or an earlier step), "
                         "not from drafts.")
    with RunStore(db_path) as store:
        versions = store.versions(run_id)
        if not versions:
            raise RerunError(f"no run {run_id!r} in {describe(db_path)}; see `agent runs list`.")
        latest = max(v.version for v in versions)
        # Compared with the newest version that finished (an interrupted one has no report).
        base = store.report(run_id)
    with checkpointed(db_path) as graph:
        snapshot, before = _fork_point(graph, run_id, node)
    if snapshot is None:
        raise RerunError(f"run {run_id} never reached the {from_step} step (it had nothing to do there, or it was "
                         "interrupted before); re-run from an earlier step, or resume it with --resume.")

    version = latest + 1
    ctx = context or make_context(load_settings())
    ctx.version = version
    ctx.previous = base
    started = datetime.now(UTC).isoformat(timespec="seconds")
    values = snapshot.values
    scope = values["scope"]
    new_policies = str(_absolute(policies)) if policies else values.get("policies_dir")
    new_out = str(_absolute(out_dir)) if out_dir else values.get("out_dir")
    # The fork checkpoint holds only what earlier steps produced (their warnings included): nothing to clear.
    update = {"version": version, "rerun_from": from_step.lower(), "started_at": started,
              "policies_dir": new_policies, "out_dir": new_out}
    if profile is not None:
        update["profile_path"] = str(_absolute(profile))
    with RunStore(db_path) as store:
        store.start(run_id, version, scope, started, new_out, new_policies, rerun_from=from_step.lower())
    progress.start(f"{run_id} v{version}", _scope_line(scope) + f" — re-run from {from_step}", engine_line(ctx))

    def go(graph, config):  # noqa: ANN001, ANN202
        forked = graph.update_state(snapshot.config, update, as_node=before)
        return graph.stream(None, {**config, "configurable": forked["configurable"]}, stream_mode="updates", context=ctx)

    return _execute(db_path, run_id, version, ctx, progress, go)


def resume_pipeline(run_id: str, *, db_path: Target, progress: Progress, context=None) -> RunReport:
    """Finish an interrupted (or failed) run version from its last checkpoint; finished steps are not repeated."""
    from agent.runstore import RunStore
    from agent.settings import load_settings
    from agent.storage import checkpointed
    from graphs.context import make_context

    with RunStore(db_path) as store:
        versions = store.versions(run_id)
    if not versions:
        raise RerunError(f"no run {run_id!r} in {describe(db_path)}; see `agent runs list`.")
    row = max(versions, key=lambda v: v.version)
    if row.status not in ("interrupted", "failed"):
        raise RerunError(f"run {run_id} v{row.version} is {row.status}; only an interrupted or failed run can be resumed "
                         "(use --from STEP to re-run a step).")
    with checkpointed(db_path) as graph:
        snapshot = graph.get_state({"configurable": {"thread_id": run_id}})
    if not snapshot.next:
        raise RerunError(f"run {run_id} v{row.version} has no step left to run; re-run it with --from STEP.")
    ctx = context or make_context(load_settings())
    ctx.version = row.version
    scope = snapshot.values["scope"]
    with RunStore(db_path) as store:
        store.resume(run_id, row.version)
        # what the interrupted version was being compared with: the run before it, or the version it re-ran
        ctx.previous = (store.previous(scope, row.started_at, exclude=run_id) if row.version == 1
                        else store.report(run_id))
    progress.start(f"{run_id} v{row.version}", _scope_line(scope) + f" — resumed at {', '.join(dict.fromkeys(snapshot.next))}",
                   engine_line(ctx))
    return _execute(db_path, run_id, row.version, ctx, progress,
                    lambda graph, config: graph.stream(None, config, stream_mode="updates", context=ctx))


def _absolute(path: Path | None) -> Path | None:
    """The path made absolute without resolving symlinks (the folder checks judge those)."""
    return Path(os.path.abspath(path)) if path is not None else None


def _fork_point(graph, run_id: str, node: str):  # noqa: ANN001, ANN202
    """The checkpoint just before ``node`` ran in the run's latest version, and the node that led to it."""
    snap = graph.get_state({"configurable": {"thread_id": run_id}})
    while snap is not None and snap.config:
        parent = graph.get_state(snap.parent_config) if snap.parent_config else None
        if node in snap.next and parent is not None and parent.next:
            return snap, _led_to(graph, snap, parent)
        snap = parent
    return None, None


def _led_to(graph, snap, parent) -> str:  # noqa: ANN001
    """The node whose writes produced ``snap``, as ``update_state`` must be told when forking from it.

    A re-run's own fork checkpoint (source "update") waits on the same step as the checkpoint it was forked
    from, and was written as the node that led to that one: a second re-run from the same step forks after it
    as that node too, never as the step itself (which would skip the step).
    """
    while (snap.metadata or {}).get("source") == "update" and parent.next == snap.next and parent.parent_config:
        snap, parent = parent, graph.get_state(parent.parent_config)
    return parent.next[0]


def _scope_line(scope: Scope) -> str:
    return f"{', '.join(scope.topics)} — {scope.jurisdiction_name}" + (f" ({scope.regime_hint})" if scope.regime_hint else "")


def _execute(db_path: Target, run_id: str, version: int, ctx, progress: Progress, stream) -> RunReport:  # noqa: ANN001
    from agent import cancel
    from agent.runstore import RunStore
    from agent.storage import checkpointed
    from graphs.pipeline import RECURSION_LIMIT

    cancel.reset()
    with checkpointed(db_path) as graph:
        config = {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT,
                  "max_concurrency": ctx.settings.max_parallel}
        try:
            with cancel.sigint_cancels():
                for update in stream(graph, config):
                    for node_update in update.values():
                        for record in (node_update or {}).get("steps", []):
                            progress.step(record)
            report = graph.get_state(config).values["report"]
        except BaseException as exc:
            stopped = isinstance(exc, (KeyboardInterrupt, cancel.Cancelled))
            with RunStore(db_path) as store:
                store.set_status(run_id, version, "interrupted" if stopped else "failed")
            raise
        with RunStore(db_path) as store:
            store.finish(report)
        return report


def run_comparison(
    scopes: list[Scope],
    *,
    policies: Path | None,
    out_dir: Path,
    db_path: Target,
    progress: Progress,
    context=None,  # noqa: ANN001
    write_drafts: bool = True,
    profile: Path | None = None,
    formats: tuple[str, ...] | None = None,
):  # noqa: ANN201 -> ComparisonReport
    """Several jurisdictions in one graph, one branch each, then the comparison report."""
    from agent import cancel
    from agent.settings import load_settings
    from agent.storage import checkpointed
    from graphs.compare import build
    from graphs.context import make_context
    from graphs.pipeline import RECURSION_LIMIT

    run_id = new_run_id()
    settings = load_settings()
    ctx = context or make_context(settings)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    inputs = {
        "run_id": run_id, "query": scopes[0].query, "scopes": scopes,
        "policies_dir": str(policies) if policies else None, "profile_path": str(profile) if profile else None,
        "out_dir": str(out_dir), "report_formats": formats or settings.format_list, "write_drafts": write_drafts,
        "started_at": started,
    }
    progress.start(run_id, " vs ".join(_scope_line(s) for s in scopes), engine_line(ctx))
    cancel.reset()
    with checkpointed(db_path, build) as graph:
        config = {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT,
                  "max_concurrency": ctx.settings.max_parallel}
        labels: dict[tuple[str, ...], str] = {}
        with cancel.sigint_cancels():
            for namespace, update in graph.stream(inputs, config, stream_mode="updates", subgraphs=True, context=ctx):
                for node_update in update.values():
                    for record in (node_update or {}).get("steps", []):
                        if record.step == "scope":  # "custody — United Arab Emirates (DIFC); pack AE ..." names the branch
                            regime = record.detail.split(";")[0].rpartition("(")[2].rstrip(")") if ");" in record.detail else ""
                            labels[namespace] = record.detail.split("pack ")[-1].split(" ")[0] + (f"/{regime}" if regime else "")
                        branch = labels.get(namespace, "")
                        progress.step(record.model_copy(update={"step": f"{branch} {record.step}"}) if branch else record)
        return graph.get_state(config).values["comparison"]
