"""The pipeline graph as LangGraph's server runs it (`langgraph.json`): JSON in, the run's gaps and report out.

The server brings the checkpointer, so the graph is compiled without one. What it checkpoints stays
plain: every pipeline node and route reads the state validated into the project's models and returns
JSON-native values, so the server's serializer meets no class it would warn about or refuse. The
context holds plain fields only (the server takes it as JSON); the model client, search and fetch are
built inside the graph from the server's settings, once per run.
"""

from __future__ import annotations

import functools
import inspect
import threading
import typing
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Required

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python
from typing_extensions import TypedDict

from agent.models import FirmProfile, Gap, RunReport
from agent.settings import Settings
from graphs.context import RunContext, make_context
from graphs.pipeline import RECURSION_LIMIT, add_pipeline
from graphs.state import PipelineState


# typing_extensions' TypedDict: the server shows these as JSON schemas (Studio's input form), which pydantic
# builds from typing.TypedDict only from Python 3.12.
class ServedInput(TypedDict, total=False):
    query: Required[str]  # as `agent run` takes it: "stablecoin KZ"
    policies: str | None  # the policy folder, a path on the server (read, never written)
    profile: str | dict[str, Any] | None  # a company.toml path on the server, or its fields as an object


class ServedState(PipelineState, total=False):
    policies: str | None


class ServedOutput(TypedDict, total=False):
    run_id: str
    gaps: list[Gap]
    report: RunReport
    warnings: list[str]


@dataclass
class ServedContext:
    """Per-run settings a caller may give; what is left unset comes from the server's AGENT_* settings."""

    engine: Literal["auto", "embedded", "live"] | None = None
    today: str | None = None  # ISO date the agent takes as today (AGENT_TODAY)
    max_searches: int | None = None
    max_fetches: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    formats: str | None = None  # md,json,docx (AGENT_FORMATS)

    @functools.cached_property
    def settings(self) -> Settings:
        """The server's settings (environment, .env) with this run's fields on top.

        The pipeline's search and fetch routes read their budgets here: they take the run's context from
        LangGraph's runtime, where this context is, not from the node that built the run's services.
        """
        given = {_SETTING[f.name]: value for f in fields(self) if (value := getattr(self, f.name)) is not None}
        return Settings(**given)


# ServedContext field -> the Settings field's environment name, which Settings takes as its keyword
_SETTING = {"engine": "AGENT_ENGINE", "today": "AGENT_TODAY", "max_searches": "AGENT_MAX_SEARCHES",
            "max_fetches": "AGENT_MAX_FETCHES", "max_tokens": "AGENT_MAX_TOKENS", "max_seconds": "AGENT_MAX_SECONDS",
            "formats": "AGENT_FORMATS"}

# Run contexts by server run id: every node of a run shares one, and so its budgets.
_RUNS: OrderedDict[str, RunContext] = OrderedDict()
_RUNS_LOCK = threading.Lock()
_RUNS_KEPT = 32


def new_context(served: ServedContext | None) -> RunContext:
    """The run's settings and the services they configure."""
    return make_context((served or ServedContext()).settings)


def run_context(runtime: Runtime[ServedContext]) -> RunContext:
    info = runtime.execution_info
    run_id = info.run_id if info is not None else None
    if run_id is None:  # invoked outside the server without a run id: nothing to share the context by
        return new_context(runtime.context)
    with _RUNS_LOCK:
        ctx = _RUNS.get(run_id)
        if ctx is None:
            ctx = _RUNS[run_id] = new_context(runtime.context)
        _RUNS.move_to_end(run_id)
        while len(_RUNS) > _RUNS_KEPT:
            _RUNS.popitem(last=False)
    return ctx


@functools.cache
def _fields(schema: Any) -> dict[str, Callable[[Any], Any]]:
    """A validator per key of a TypedDict (pydantic validates typing.TypedDict only from Python 3.12)."""
    out: dict[str, Callable[[Any], Any]] = {}
    for key, hint in typing.get_type_hints(schema).items():
        out[key] = functools.partial(typed, hint) if typing.is_typeddict(hint) else TypeAdapter(hint).validate_python
    return out


def typed(schema: Any, value: Any) -> Any:
    """The state (or task) a pipeline function reads, its plain values validated back into the project's models."""
    validators = _fields(schema)
    return {k: validators[k](v) for k, v in value.items() if k in validators}


def plain(value: Any) -> Any:
    """What a pipeline function returns, as JSON-native values: the server's checkpointer stores no class of ours."""
    if isinstance(value, Send):
        return Send(value.node, plain(value.arg))
    if isinstance(value, list):
        return [plain(v) for v in value]
    return to_jsonable_python(value)


def served(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A pipeline node or route as the served graph runs it: plain values in and out, and the run's RunContext."""
    hints = typing.get_type_hints(fn)
    hints.pop("return", None)
    schema = next(iter(hints.values()))  # what the function reads: the state, or its task (Send-fed nodes)
    wants_context = "runtime" in inspect.signature(fn).parameters

    # Not fn's annotations: LangGraph reads the node's input schema from them, and this graph's state is ServedState.
    @functools.wraps(fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    def node(state: Any, runtime: Runtime[ServedContext]) -> Any:
        args = [typed(schema, state)]
        if wants_context:
            args.append(runtime.override(context=run_context(runtime)))  # type: ignore[arg-type]  # nodes read a RunContext
        return plain(fn(*args))

    del node.__wrapped__  # LangGraph reads the signature to inject `runtime`: this one's, not fn's
    return node


def check_input(state: ServedState, runtime: Runtime[ServedContext]) -> dict[str, Any]:
    """What `agent run` checks before any work: the query, the folders, the firm profile; then the run's inputs."""
    from agent.preflight import check_out, check_policies
    from agent.profile import profile_path, read_profile_fields, read_profile_file
    from agent.runner import new_run_id
    from agent.scope import parse_scopes
    from agent.textsafe import clean_text

    if state.get("run_id"):
        raise ValueError(f"this thread already holds run {state['run_id']}; start each run on a new thread.")
    ctx = run_context(runtime)
    scopes = parse_scopes(clean_text(state.get("query") or ""))  # ScopeError: the message names what to write
    if len(scopes) > 1:
        raise ValueError("the query names several jurisdictions; the served graph runs one at a time "
                         "(`agent run` compares them).")
    folder = state.get("policies")
    policies = Path(folder).resolve() if folder else None
    if policies is not None:
        check_policies(policies)
    out_dir = check_out(ctx.settings.out_dir.resolve(), policies)
    profile: Any = state.get("profile")
    fields_given = read_profile_fields(profile) if isinstance(profile, dict) else None
    explicit = Path(profile).resolve() if isinstance(profile, str) and profile else None
    if fields_given is None and (path := profile_path(explicit, policies)) is not None:
        read_profile_file(path)
    return plain({
        "run_id": new_run_id(), "version": 1, "rerun_from": None, "query": scopes[0].query, "scope": scopes[0],
        "policies_dir": str(policies) if policies else None, "profile_path": str(explicit) if explicit else None,
        "profile_fields": profile if fields_given is not None else None, "out_dir": str(out_dir),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "write_drafts": True,
        "report_formats": ctx.settings.format_list,
        # The input's profile became profile_path or profile_fields; until the profile step, the channel holds an
        # empty profile (the state's type), not the path or fields.
        "profile": FirmProfile(),
    })


def build() -> Any:
    g = StateGraph(ServedState, context_schema=ServedContext, input_schema=ServedInput, output_schema=ServedOutput)
    g.add_node("check_input", check_input)
    g.add_edge(START, "check_input")
    g.add_edge("check_input", "scope")
    add_pipeline(g, served)
    return g.compile().with_config(recursion_limit=RECURSION_LIMIT)


graph = build()
