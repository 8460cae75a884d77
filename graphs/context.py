"""Run-scoped context handed to every node (LangGraph `context_schema`): settings and services."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.llm import Budget, ModelClient
from agent.settings import Settings


@dataclass
class RunContext:
    settings: Settings
    client: ModelClient | None  # None: no model configured, the embedded engine answers
    search: Callable[..., Any] | None  # None: no search key, the pack is searched instead
    fetch: Callable[[str], Any] | None
    today: str
    version: int = 1  # the run version this invocation executes (re-runs: 2, 3, ...)
    # The run the report is compared with. Held here, not in the graph state, so it is not copied into
    # every checkpoint of the run.
    previous: Any = None  # agent.models.RunReport | None


def make_context(settings: Settings, factory: Callable[[str], Any] | None = None) -> RunContext:
    """Services for the configured keys; a missing key means that service is never called."""
    budget = Budget(
        max_tokens=settings.max_tokens, retry_wait_s=settings.retry_wait_budget_s,
        deadline=time.monotonic() + settings.max_seconds,
    )
    client = ModelClient(settings, budget, factory) if (settings.has_openai or factory is not None) else None
    search = fetch = None
    if settings.has_tavily:
        from functools import partial

        from tools.fetch import fetch as fetch_page
        from tools.search import tavily_search

        search = partial(
            tavily_search, api_key=settings.tavily_api_key.get_secret_value(),  # type: ignore[union-attr]
            base_url=settings.tavily_base_url or None,
        )
        fetch = fetch_page
    return RunContext(settings=settings, client=client, search=search, fetch=fetch, today=settings.current_date().isoformat())


def embedded_context() -> RunContext:
    # pydantic-settings takes _env_file and the env-style alias at run time; the dataclass-style signature mypy
    # derives for the model knows neither.
    settings = Settings(_env_file=None, AGENT_ENGINE="embedded")  # type: ignore[call-arg]
    return RunContext(settings=settings, client=None, search=None, fetch=None, today=time.strftime("%Y-%m-%d"))
