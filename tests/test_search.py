"""Tavily search: results a reader can trust, and failures the degradation matrix can act on.

HTTP is replayed from the cassettes in cassettes/search/ (see the README there for how they were
made and how to re-record the two that can be re-recorded against the live API).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from tools.authority import tier_for
from tools.fetch import FetchError, check_url_syntax
from tools.search import SearchError, tavily_search

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "search"
FAKE_KEY = "tvly-test-not-a-real-key"
BAD_KEY = "tvly-deliberately-invalid-key"
ERROR_QUERY = "MiCA stablecoin reserve requirements"

# Cassettes written by hand that the live API cannot reproduce on demand: never re-recorded.
hand_written = pytest.mark.vcr(record_mode="none")


def scrub_request(request: Any) -> Any:
    """Drop an ``api_key`` field from JSON bodies (older Tavily clients sent the key there)."""
    if not request.body:
        return request
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return request
    if isinstance(data, dict) and "api_key" in data:
        data.pop("api_key")
        request.body = json.dumps(data).encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """No cookies in cassettes."""
    headers = response.get("headers", {})
    for name in [h for h in headers if h.lower() == "set-cookie"]:
        headers.pop(name)
    return response


def vcr_options() -> dict[str, Any]:
    return {
        "match_on": ["method", "scheme", "host", "path", "body"],
        "filter_headers": ["authorization", "cookie", "x-api-key"],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


def _record_mode(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--record-mode") or "none"


@pytest.fixture
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    mode = _record_mode(request)  # replay only unless --record-mode is given on the command line
    marks = list(request.node.iter_markers("vcr"))
    rerecorded = bool(marks) and not any(m.kwargs.get("record_mode") == "none" for m in marks)
    if mode != "none" and rerecorded and not os.environ.get("TAVILY_API_KEY", "").strip():
        # Skip here, before pytest-recording's "rewrite" deletes the cassette it would re-record.
        pytest.skip("re-recording needs TAVILY_API_KEY in the environment")
    return {**vcr_options(), "record_mode": mode}


@pytest.fixture
def recording(request: pytest.FixtureRequest) -> bool:
    return _record_mode(request) != "none"


@pytest.fixture
def live_key(recording: bool) -> str:
    """The fake key in replay; the real one, from the environment only, when re-recording."""
    return os.environ["TAVILY_API_KEY"].strip() if recording else FAKE_KEY


def search_error(**kwargs: Any) -> SearchError:
    with pytest.raises(SearchError) as info:
        tavily_search(**kwargs)
    return info.value


# --- success -------------------------------------------------------------------------


@pytest.mark.vcr
@pytest.mark.default_cassette("success_live.yaml")
def test_results_come_back_with_authority_tiers(live_key: str, vcr: Any, recording: bool) -> None:
    results = tavily_search("AIFC digital asset trading facility licence requirements", api_key=live_key)
    assert results
    assert len({r.url for r in results}) == len(results)
    for result in results:
        check_url_syntax(result.url)
        assert result.tier == tier_for(result.url)
        assert result.title
    if not recording:
        assert vcr.all_played  # the answer came from the cassette


@hand_written
@pytest.mark.default_cassette("success_mixed.yaml")
def test_results_are_deduplicated_and_unsafe_urls_dropped() -> None:
    results = tavily_search(
        "Kazakhstan stablecoin regulation",
        api_key=FAKE_KEY,
        max_results=8,
        search_depth="advanced",
        topic="news",
        include_domains=["afsa.aifc.kz", "gov.kz", "reuters.com", "example-lawfirm.com"],
    )
    assert [(r.url, r.tier) for r in results] == [
        ("https://www.gov.kz/memleket/entities/ardfm/press/news/details/1", "regulator"),
        ("https://afsa.aifc.kz/news/stablecoin-framework", "regulator"),
        ("https://www.reuters.com/world/asia-pacific/kazakhstan-stablecoin-2025-03-05/", "news"),
        ("https://example-lawfirm.com/insights/kz-stablecoins", "secondary"),
    ]
    first, second, third, fourth = results
    assert first.published_date == "Tue, 04 Mar 2025 09:00:00 GMT" and first.score == 0.88
    assert second.published_date is None
    assert second.content.startswith("AFSA consults")  # the first (best) of the duplicates is kept
    assert fourth.score is None


@hand_written
@pytest.mark.default_cassette("empty.yaml")
def test_no_results_is_an_empty_list() -> None:
    assert tavily_search("AIFC digital asset rules", api_key=FAKE_KEY, include_domains=["example.invalid"]) == []


# --- failures --------------------------------------------------------------------------


@pytest.mark.vcr
@pytest.mark.default_cassette("auth_401.yaml")
def test_invalid_key_is_auth_and_never_echoed() -> None:
    error = search_error(query="AIFC digital asset trading facility licence requirements", api_key=BAD_KEY)
    assert error.kind == "auth"
    assert error.status == 401
    assert BAD_KEY not in str(error) and "tvly-" not in str(error)


@hand_written
@pytest.mark.default_cassette("rate_limit_429.yaml")
def test_rate_limit_carries_retry_after() -> None:
    error = search_error(query=ERROR_QUERY, api_key=FAKE_KEY)
    assert error.kind == "rate_limit"
    assert error.retry_after == 30.0


@hand_written
@pytest.mark.default_cassette("usage_limit_429.yaml")
def test_429_that_says_the_plan_is_exhausted_is_quota() -> None:
    error = search_error(query=ERROR_QUERY, api_key=FAKE_KEY)
    assert error.kind == "quota"
    assert error.retry_after is None  # quota is not retried


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param(432, "quota", marks=pytest.mark.default_cassette("plan_limit_432.yaml")),
        pytest.param(433, "quota", marks=pytest.mark.default_cassette("paygo_limit_433.yaml")),
        pytest.param(403, "forbidden", marks=pytest.mark.default_cassette("forbidden_403.yaml")),
        pytest.param(500, "server", marks=pytest.mark.default_cassette("server_500.yaml")),
        pytest.param(502, "server", marks=pytest.mark.default_cassette("server_502.yaml")),
    ],
)
@hand_written
def test_error_status_maps_to_kind(status: int, kind: str) -> None:
    error = search_error(query=ERROR_QUERY, api_key=FAKE_KEY)
    assert (error.kind, error.status) == (kind, status)


@hand_written
@pytest.mark.default_cassette("bad_request_400.yaml")
def test_bad_parameter_is_bad_request() -> None:
    error = search_error(query=ERROR_QUERY, api_key=FAKE_KEY, topic="sports")
    assert error.kind == "bad_request"
    assert "topic" in str(error)


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
        (requests.exceptions.ConnectionError("connection refused"), "network"),
    ],
)
def test_transport_failures(monkeypatch: pytest.MonkeyPatch, raised: Exception, kind: str) -> None:
    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(requests.Session, "send", send)
    assert search_error(query=ERROR_QUERY, api_key=FAKE_KEY).kind == kind


def test_malformed_success_body_is_a_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b"<html>maintenance</html>"
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    assert search_error(query=ERROR_QUERY, api_key=FAKE_KEY).kind == "server"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_key_means_no_request_at_all(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(requests.Session, "send", lambda self, request, **kw: sent.append(request))
    # Even with a key in the environment: tavily-python would pick it up or go keyless on its own.
    monkeypatch.setenv("TAVILY_API_KEY", FAKE_KEY)
    error = search_error(query=ERROR_QUERY, api_key=key)
    assert error.kind == "no_key"
    assert sent == []


# --- cassette hygiene -----------------------------------------------------------------------


def test_cassettes_hold_no_secret() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for needle in ("tvly-", "Bearer ", "api_key", "Authorization"):
            assert needle.lower() not in text.lower(), f"{path.name} contains {needle!r}"


def test_recording_filters_strip_the_key(tmp_path: Path) -> None:
    """What a re-recording would write: the configured filters run on a request carrying the key."""
    import vcr
    from vcr.request import Request

    body = json.dumps({"query": "q", "api_key": FAKE_KEY}).encode()
    headers = {"Authorization": f"Bearer {FAKE_KEY}", "Content-Type": "application/json"}
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"], "Set-Cookie": ["session=abc"]},
        "body": {"string": b'{"results": []}'},
    }
    recorder = vcr.VCR(**vcr_options())
    with recorder.use_cassette(str(tmp_path / "recorded.yaml"), record_mode="all") as cassette:
        cassette.append(Request("POST", "https://api.tavily.com/search", body, headers), response)
    text = (tmp_path / "recorded.yaml").read_text(encoding="utf-8")
    assert "api.tavily.com/search" in text and '"query"' in text
    for needle in ("tvly-", "Bearer", "api_key", "session=abc"):
        assert needle not in text


def test_unsafe_result_urls_fail_the_syntax_check() -> None:
    for url in ("javascript:alert(1)", "http://169.254.169.254/", "https://u:p@example.com/"):
        with pytest.raises(FetchError):
            check_url_syntax(url)
