"""The live engine replayed from recorded HTTP traffic (cassettes/live/): OpenAI, Tavily and fetched pages.

Each test runs the whole pipeline in process with real clients (langchain-openai → openai → httpx2,
tavily-python → requests, the safe fetch tool → httpx) while vcrpy replays the cassette; nothing
leaves the machine and an unrecorded request fails the test. How the cassettes were made and how to
re-record them is in cassettes/README.md.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from agent.progress import Progress
from agent.runner import run_pipeline
from agent.scope import parse_scope
from agent.settings import Settings
from graphs.context import make_context
from tests.conftest import EXAMPLES
from tests.fake_services import (
    CENTRAL_BANK,
    NEWS,
    OFFICIAL,
    OFFICIAL_QUOTE,
    FakeServices,
    page_transport,
)
from tests.test_search import scrub_request as drop_api_key
from tests.test_search import vcr_options as search_vcr_options
from tools.fetch import fetch as fetch_page

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "live"
OPENAI_KEY = "sk-cassette-0123456789abcdef0123456789abcdef"
TAVILY_KEY = "tvly-cassette-0123456789abcdef"
# Captured before the autouse fixture clears the environment: only a re-recording against the real
# services uses them (see cassettes/README.md).
REAL_KEYS = {k: os.environ.get(k, "").strip() for k in ("OPENAI_API_KEY", "TAVILY_API_KEY")}
CHAT = "https://api.openai.com/v1/chat/completions"


@dataclass(frozen=True)
class Scenario:
    query: str
    services: str  # FakeServices scenario the cassette was recorded against
    live: bool = False  # can be re-recorded against the real services
    env: tuple[tuple[str, str], ...] = ()


SCENARIOS = {
    "live_stablecoin_kz": Scenario("stablecoin KZ", "ok", live=True),
    "rate_limit_then_ok": Scenario("custody AIFC", "rate_limited_then_ok"),
    "rate_limit_exhausted": Scenario("custody AIFC", "rate_limited"),
    "unauthorized_401": Scenario("custody AIFC", "unauthorized", live=True),
    "timeout": Scenario("custody AIFC", "slow", env=(("AGENT_MODEL_TIMEOUT", "1"),)),
    "malformed_reask": Scenario("custody AIFC", "malformed_once"),
    "zero_results": Scenario("stablecoin Brazil", "no_results"),
    "injected_page": Scenario("custody AIFC", "injected"),
}


def public_resolver(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
    """Replays need no DNS: every name resolves to a public documentation-free address."""
    import socket

    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]


def scrub_request(request: Any) -> Any:
    """Loopback stand-in traffic is stored under the official hosts; no key ever reaches a cassette."""
    m = re.match(r"^http://127\.0\.0\.1:\d+(/.*)$", request.uri)
    if m:
        path = m.group(1)
        request.uri = ("https://api.openai.com" if path.startswith("/v1/") else "https://api.tavily.com") + path
    return drop_api_key(request)


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in [h for h in headers if h.lower() in {"set-cookie", "openai-organization", "openai-project", "x-request-id"}]:
        headers.pop(name)
    return response


def vcr_options() -> dict[str, Any]:
    return {
        **search_vcr_options(),  # the Tavily cassettes' filters, plus OpenAI's headers and the port
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "filter_headers": ["authorization", "cookie", "x-api-key", "openai-organization", "openai-project"],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def scenario_name(request: pytest.FixtureRequest) -> str | None:
    return getattr(request, "param", None)


@pytest.fixture
def default_cassette_name(scenario_name: str) -> str:
    return scenario_name


@pytest.fixture
def recording(request: pytest.FixtureRequest, scenario_name: str) -> str:
    """"none" (replay), "stand-in" or "live" (CASSETTE_TARGET=live)."""
    if (request.config.getoption("--record-mode") or "none") == "none":
        return "none"
    target = os.environ.get("CASSETTE_TARGET", "stand-in")
    if target == "live":
        if not SCENARIOS[scenario_name].live:
            pytest.skip("the real services cannot be made to produce this scenario on demand")
        if not all(REAL_KEYS.values()):
            pytest.skip("re-recording against the real services needs OPENAI_API_KEY and TAVILY_API_KEY")
    return target


@pytest.fixture
def vcr_config(recording: str) -> dict[str, Any]:
    return {**vcr_options(), "record_mode": "none" if recording == "none" else "all"}


@contextmanager
def model_timeouts() -> Iterator[None]:
    """A timeout leaves nothing to record: on replay the transport raises it for every model request."""
    import httpx2

    real = httpx2.HTTPTransport.handle_request

    def handle(self: Any, request: Any) -> Any:
        if str(request.url).startswith(CHAT):
            raise httpx2.ReadTimeout("timed out (replayed)", request=request)
        return real(self, request)

    httpx2.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx2.HTTPTransport.handle_request = real  # type: ignore[method-assign]


@dataclass
class LiveRun:
    report: Any
    out: Path
    fetched: list[str]
    cassette: Any

    def steps(self, name: str) -> set[tuple[str, str]]:
        return {(s.engine, s.status) for s in self.report.run.steps if s.step == name}

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.cassette.requests if r.uri == CHAT]

    def outputs_text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in self.out.rglob("*") if p.is_file())


def _settings(scenario: Scenario, recording: str, base_url: str | None) -> Settings:
    live = recording == "live"
    env = {
        "AGENT_ENGINE": "auto", "AGENT_TODAY": "2026-11-22", "AGENT_MODEL": "gpt-4o-mini",
        "AGENT_MAX_SEARCHES": "2", "AGENT_MAX_FETCHES": "3", "AGENT_MAX_RETRIES": "2",
        "OPENAI_API_KEY": REAL_KEYS["OPENAI_API_KEY"] if live else OPENAI_KEY,
        "TAVILY_API_KEY": REAL_KEYS["TAVILY_API_KEY"] if live else TAVILY_KEY,
        **dict(scenario.env),
    }
    if live and scenario.services == "unauthorized":
        env["OPENAI_API_KEY"] = "sk-deliberately-invalid-key-for-the-401-cassette"
    if base_url:
        env |= {"OPENAI_BASE_URL": base_url + "/v1", "TAVILY_BASE_URL": base_url}
    return Settings(_env_file=None, **env)


def live_run(name: str, recording: str, cassette: Any, tmp: Path, policies: Path = EXAMPLES) -> LiveRun:
    scenario = SCENARIOS[name]
    fetched: list[str] = []

    def go(base_url: str | None, fetch: Any) -> Any:
        ctx = make_context(_settings(scenario, recording, base_url))
        ctx.fetch = lambda url: (fetched.append(url), fetch(url))[1]
        if recording == "none":
            ctx.client.sleep = lambda s: None  # type: ignore[union-attr] — a replay never waits
        # vcrpy's urllib3 stubs (used by tavily-python through requests) are not thread-safe: while one
        # request is recorded the patches are briefly undone (force_reset), and concurrent requests can
        # slip past the cassette. Searches therefore run one at a time here; model calls and page
        # fetches (httpx stubs) keep their parallel fan-out.
        lock, search = threading.Lock(), ctx.search

        def serial_search(*a: Any, **k: Any) -> Any:
            with lock:
                return search(*a, **k)  # type: ignore[misc]

        ctx.search = serial_search
        return run_pipeline(parse_scope(scenario.query), policies=policies, out_dir=tmp / "out",
                            db_path=tmp / "runs.sqlite", progress=Progress(enabled=False), context=ctx)

    if recording == "stand-in":
        import httpx

        with FakeServices(scenario.services) as services:
            client = httpx.Client(transport=page_transport(scenario.services))
            report = go(services.url, partial(fetch_page, resolver=public_resolver, client=client))
    elif recording == "live":
        report = go(None, fetch_page)
    elif scenario.services == "slow":
        with model_timeouts():
            report = go(None, partial(fetch_page, resolver=public_resolver))
    else:
        report = go(None, partial(fetch_page, resolver=public_resolver))
    return LiveRun(report=report, out=tmp / "out", fetched=fetched, cassette=cassette)


def scenarios(*names: str) -> Any:
    def mark(fn: Any) -> Any:
        return pytest.mark.vcr(pytest.mark.parametrize("scenario_name", names, indirect=True)(fn))

    return mark


def replayed_in_full(run: LiveRun, recording: str) -> None:
    if recording == "none":
        unplayed = [(r.uri, (r.body or b"")[:200]) for i, r in enumerate(run.cassette.requests) if not run.cassette.play_counts[i]]
        assert not unplayed, f"every recorded request must be made again; not made: {unplayed}"


def from_stand_in(cassette: Any) -> bool:
    return any(b"chatcmpl-standin" in _bytes(r["body"]["string"]) for r in cassette.responses)


def _bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body).encode()


@scenarios("live_stablecoin_kz")
def test_full_live_run_serves_every_step_and_names_the_engine(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("live_stablecoin_kz", recording, vcr, isolated)
    replayed_in_full(run, recording)
    r = run.report
    for step in ("research", "search", "fetch", "analyze", "assess", "draft"):
        assert run.steps(step) == {("live", "completed")}, step
    assert r.run.tokens_in > 0 and all(s.tokens_in > 0 for s in r.run.steps if s.step in ("analyze", "assess", "draft"))
    md = (run.out / r.run.report_files[0]).read_text(encoding="utf-8")
    assert "| analyze | live | completed |" in md and "| draft | live | completed |" in md
    assert OPENAI_KEY not in run.outputs_text() and TAVILY_KEY not in run.outputs_text()
    assert all(c.citations for c in r.analysis.detailed_analysis), "no claim without a source"
    if not from_stand_in(vcr):
        return  # recorded from the real services: their answers are not the stand-in's
    web = {s.url: s for s in r.sources if s.origin == "web"}
    assert set(web) == {OFFICIAL, CENTRAL_BANK, NEWS}
    assert web[OFFICIAL].tier == "regulator" and web[NEWS].tier in {"news", "secondary"}
    claims = {c.text: c for c in r.analysis.detailed_analysis}
    assert claims["Client assets must be held separately from the firm's own assets."].citations[0].verified is True
    assert "Licences are issued within five days." not in claims, "a claim citing an unknown source is dropped"
    assert any("regulators loosened every rule" in q for q in r.analysis.awaiting_verification)
    assert any(q.id.startswith("KZ-WEB-") for q in r.requirements)
    assert "commits to KZ-AIFC-RES-001 as reviewed by the model" in (run.out / "Reserves_GAP-002.md").read_text(encoding="utf-8")


@scenarios("rate_limit_then_ok")
def test_rate_limit_with_retry_after_is_retried_and_the_step_stays_live(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("rate_limit_then_ok", recording, vcr, isolated)
    replayed_in_full(run, recording)
    statuses = [resp["status"]["code"] for resp in vcr.responses] if recording == "none" else []
    assert recording != "none" or 429 in statuses
    for step in ("research", "analyze", "assess", "draft"):
        assert run.steps(step) == {("live", "completed")}, step


@scenarios("rate_limit_exhausted")
def test_rate_limit_exhausted_falls_back_per_step_and_says_so(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("rate_limit_exhausted", recording, vcr, isolated)
    replayed_in_full(run, recording)
    for step in ("research", "analyze", "assess", "draft"):
        assert run.steps(step) == {("embedded", "degraded")}, step
    assert run.steps("search") == {("live", "completed")}
    assert any("rate_limit" in w or "429" in w for w in run.report.run.warnings)
    # each model call was tried 1 + AGENT_MAX_RETRIES times, never more
    bodies = [json.dumps(b, sort_keys=True) for b in run.chat_bodies()]
    assert max(bodies.count(b) for b in bodies) == 3
    md = (run.out / run.report.run.report_files[0]).read_text(encoding="utf-8")
    assert "| analyze | embedded | degraded |" in md


@scenarios("unauthorized_401")
def test_unauthorized_key_fails_fast_and_the_run_finishes_on_the_fallback(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("unauthorized_401", recording, vcr, isolated)
    replayed_in_full(run, recording)
    for step in ("analyze", "assess", "draft"):
        assert run.steps(step) == {("embedded", "degraded")}, step
    assert any("401" in w or "auth" in w.lower() for w in run.report.run.warnings)
    bodies = [json.dumps(b, sort_keys=True) for b in run.chat_bodies()]
    assert len(bodies) == len(set(bodies)), "a 401 is never retried"
    assert run.report.compliance_status["licensing_and_authorization"] == "not_met"


@scenarios("timeout")
def test_model_timeouts_are_retried_boundedly_then_fall_back(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("timeout", recording, vcr, isolated)
    replayed_in_full(run, recording)
    for step in ("analyze", "assess", "draft"):
        assert run.steps(step) == {("embedded", "degraded")}, step
    assert any("timeout" in w.lower() or "timed out" in w.lower() for w in run.report.run.warnings)
    assert run.steps("fetch") == {("live", "completed")}


@scenarios("malformed_reask")
def test_malformed_structured_output_is_reasked_with_the_validation_error(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("malformed_reask", recording, vcr, isolated)
    replayed_in_full(run, recording)
    for step in ("research", "analyze", "assess", "draft"):
        assert run.steps(step) == {("live", "completed")}, step
    reasks = [b for b in run.chat_bodies() if any(m.get("role") == "tool" for m in b["messages"])]
    assert reasks, "the re-ask answers the failed tool call with a tool message"
    assert all("Validation error" in b["messages"][-1]["content"] for b in reasks)


@scenarios("zero_results")
def test_zero_search_results_never_become_invented_sources_or_critical_gaps(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("zero_results", recording, vcr, isolated)
    replayed_in_full(run, recording)
    r = run.report
    assert run.steps("search") == {("live", "completed")}
    assert not [s for s in r.sources if s.origin == "web"]
    assert any("Web research found no usable source" in w for w in r.run.warnings)
    assert r.analysis.baseline_only and all(c.citations for c in r.analysis.detailed_analysis)
    assert not any(b["tools"][0]["function"]["name"] == "LiveAnalysis" for b in run.chat_bodies()), \
        "with nothing to analyse, the model is not asked to write an analysis"
    assert all(g.priority != "critical" for g in r.gaps), "no local evidence, no critical gap"


@scenarios("injected_page")
def test_injected_page_changes_nothing_it_asks_for(vcr: Any, recording: str, isolated: Path) -> None:
    run = live_run("injected_page", recording, vcr, isolated)
    replayed_in_full(run, recording)
    assert run.steps("analyze") == {("live", "completed")}
    assert sorted(run.fetched) == sorted([OFFICIAL, CENTRAL_BANK, NEWS])
    requested = [r.uri for r in vcr.requests]
    assert not any("attacker.example" in u for u in requested), "no request to the attacker's URL"
    analysis = next(b for b in run.chat_bodies() if b["tools"][0]["function"]["name"] == "LiveAnalysis")
    prompt = json.dumps(analysis["messages"])
    assert "<<<UNTRUSTED source web-" in prompt and "SYSTEM NOTICE TO THE AI AGENT" in prompt
    assert OPENAI_KEY not in json.dumps([r.body.decode() if isinstance(r.body, bytes) else r.body for r in vcr.requests])
    written = [p for p in isolated.rglob("*") if p.is_file()]
    assert all(run.out in p.parents or ".agent" in p.parts or p.name.startswith("runs.sqlite") for p in written)
    assert not (isolated.parent / "etc").exists()
    assert OPENAI_KEY not in run.outputs_text()
    assert OFFICIAL_QUOTE in json.dumps(analysis["messages"])


def test_cassettes_hold_no_secrets() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert {f.stem for f in files} == set(SCENARIOS)
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(?i)authorization:|bearer\s|sk-[A-Za-z0-9-]{20,}|tvly-[A-Za-z0-9-]{12,}|set-cookie|openai-organization", text), f.name


def test_no_cassette_anywhere_holds_a_key_or_cookie() -> None:
    files = sorted(CASSETTES.parent.rglob("*.yaml"))
    assert len(files) >= len(SCENARIOS) + 2
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(?i)authorization:|bearer\s|sk-[A-Za-z0-9]{20,}|set-cookie|openai-organization|cookie:", text), f
        assert OPENAI_KEY not in text and TAVILY_KEY not in text, f
