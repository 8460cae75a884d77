"""`agent doctor`: what is configured, what answers, and which engine each step would use."""

from __future__ import annotations

from dataclasses import dataclass

from agent.settings import Role, Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not checked
    detail: str


def _host(url: str | None, default: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc if url else default


def check_openai(settings: Settings, timeout: float = 8.0) -> Check:
    """List models: cheap, needs the key, proves the base URL speaks the OpenAI API."""
    host = _host(settings.openai_base_url, "api.openai.com")
    if settings.openai_api_key is None:
        return Check("model service", None, f"not configured (OPENAI_API_KEY unset); {host} not contacted")
    import httpx2

    base = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
    try:
        resp = httpx2.get(f"{base}/models", headers={"Authorization": f"Bearer {settings.openai_api_key.get_secret_value()}"}, timeout=timeout)
    except httpx2.HTTPError as exc:
        return Check("model service", False, f"{host} unreachable: {type(exc).__name__}")
    if resp.status_code == 200:
        models = {m.get("id") for m in resp.json().get("data", [])}
        roles: tuple[Role, ...] = ("planner", "analyst", "drafter")
        missing = sorted({settings.model_for(r) for r in roles} - models) if models else []
        note = f"; model(s) not listed by the server: {', '.join(missing)}" if missing else ""
        return Check("model service", True, f"{host} answered (200){note}")
    return Check("model service", False, f"{host} answered {resp.status_code}" + (" (key rejected)" if resp.status_code == 401 else ""))


def check_tavily(settings: Settings, timeout: float = 8.0) -> Check:
    """Tavily has no free status endpoint: a key is checked by reaching the host, not by a paid search."""
    host = _host(settings.tavily_base_url, "api.tavily.com")
    if settings.tavily_api_key is None:
        return Check("web search", None, f"not configured (TAVILY_API_KEY unset); {host} not contacted")
    import httpx2

    base = (settings.tavily_base_url or "https://api.tavily.com").rstrip("/")
    try:
        resp = httpx2.get(base, timeout=timeout)
    except httpx2.HTTPError as exc:
        return Check("web search", False, f"{host} unreachable: {type(exc).__name__}")
    return Check("web search", True, f"{host} reachable ({resp.status_code}); the key is checked on the first search")


def engine_plan(settings: Settings) -> list[tuple[str, str]]:
    model = settings.has_openai
    search = settings.has_tavily
    return [
        ("research", "live: Tavily search + fetch" + (" (model-planned queries)" if model else " (templated queries)") if search else "embedded: knowledge pack"),
        ("analyze", "live: model " + settings.model_for("analyst") if model and search else "embedded: knowledge pack" + (" (model idle: no web sources to analyse)" if model else "")),
        ("assess", "live: model " + settings.model_for("analyst") + ", embedded rules as fallback" if model else "embedded: coverage rules"),
        ("draft", "live: model " + settings.model_for("drafter") + " on the embedded draft" if model else "embedded: policy templates"),
    ]
