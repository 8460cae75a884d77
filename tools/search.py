"""Web search through Tavily, with failures mapped to the degradation matrix.

tavily-python 0.8.5 raises exceptions that carry only Tavily's message text: no status code, no
headers. The status matters (403 is "forbidden", 432/433 are plan and pay-as-you-go limits) and so
does Retry-After on 429, so this module hands the client its own ``requests.Session`` with a
response hook that keeps the last response; status and headers are read from there. The client
does not retry; retries and fallback belong to the caller.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import TYPE_CHECKING, Any, Literal

from agent.models import Frozen, Tier
from tools.authority import tier_for
from tools.fetch import FetchError, check_url_syntax

if TYPE_CHECKING:
    import requests

SearchErrorKind = Literal[
    "no_key", "auth", "forbidden", "rate_limit", "quota", "timeout", "server", "network", "bad_request"
]

# Tavily's own wording for exhausted plans and credits (its 432/433 texts, and 429s that mean the same).
_QUOTA_WORDS = re.compile(r"plan|credit|quota|pay-as-you-go|usage limit|upgrade", re.I)
_KEYLIKE = re.compile(r"tvly-[A-Za-z0-9_-]+")


class SearchError(Exception):
    """A search that did not happen; ``kind`` drives the fallback, ``retry_after`` is in seconds."""

    def __init__(
        self,
        kind: SearchErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(" ".join(message.split()))
        self.kind: SearchErrorKind = kind
        self.status = status
        self.retry_after = retry_after


class SearchResult(Frozen):
    url: str
    title: str
    content: str
    score: float | None
    published_date: str | None
    tier: Tier


def _retry_after(response: requests.Response | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _clean(detail: str, api_key: str) -> str:
    """Tavily's message, with anything key-like removed (the key must never reach a log)."""
    detail = detail.replace(api_key, "[key]") if api_key else detail
    return _KEYLIKE.sub("[key]", detail)[:300]


def _status_error(status: int | None, detail: str, response: requests.Response | None) -> SearchError:
    """Map an HTTP error status (with Tavily's message) to a SearchError."""
    where = f"HTTP {status}" if status is not None else "HTTP error"
    message = f"Tavily search failed ({where}){': ' + detail if detail else ''}"
    if status == 401:
        return SearchError("auth", message, status=status)
    if status in (432, 433) or (status == 429 and _QUOTA_WORDS.search(detail)):
        return SearchError("quota", message, status=status)
    if status == 429:
        return SearchError("rate_limit", message, status=status, retry_after=_retry_after(response))
    if status == 403:
        return SearchError("forbidden", message, status=status)
    if status == 408:
        return SearchError("timeout", message, status=status)
    if status is not None and status >= 500:
        return SearchError("server", message, status=status, retry_after=_retry_after(response))
    if status is not None and 400 <= status < 500:
        return SearchError("bad_request", message, status=status)
    return SearchError("server", message, status=status)


def _map_exception(exc: Exception, last: requests.Response | None, api_key: str) -> SearchError | None:
    """The SearchError for an exception from tavily-python, or None if it is not a search failure."""
    import requests
    from tavily import errors

    status = last.status_code if last is not None else None
    detail = _clean(str(exc), api_key)
    if isinstance(exc, errors.InvalidAPIKeyError):
        return _status_error(status or 401, detail, last)
    if isinstance(exc, errors.UsageLimitExceededError):
        return _status_error(status or 429, detail, last)
    if isinstance(exc, errors.ForbiddenError):
        # Without the status, Tavily's wording is the only way to tell a plan limit from a 403.
        return _status_error(status or (432 if _QUOTA_WORDS.search(detail) else 403), detail, last)
    if isinstance(exc, errors.BadRequestError):
        return _status_error(status or 400, detail, last)
    if isinstance(exc, (errors.TimeoutError, requests.Timeout)):
        return SearchError("timeout", "Tavily search timed out")
    if isinstance(exc, requests.HTTPError):
        response = exc.response if exc.response is not None else last
        return _status_error(response.status_code if response is not None else status, "", response)
    if isinstance(exc, requests.ConnectionError):
        return SearchError("network", f"could not reach Tavily: {type(exc).__name__}")
    if isinstance(exc, requests.JSONDecodeError):
        return SearchError("server", "Tavily returned a malformed response", status=status)
    if isinstance(exc, TypeError) and status is not None and status != 200:
        # tavily-python does `raise response.raise_for_status()`, which is `raise None` for 1xx-3xx.
        return _status_error(status, "", last)
    return None


def _results(raw: Any) -> list[SearchResult]:
    """Valid, de-duplicated results in Tavily's order (best first)."""
    items = raw.get("results") if isinstance(raw, dict) else None
    seen: set[str] = set()
    results: list[SearchResult] = []
    for item in items or ():
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        url = item["url"].strip()
        try:
            check_url_syntax(url)  # a result we could never fetch is not a source
        except FetchError:
            continue
        key = url.split("#", 1)[0]
        if key in seen:
            continue
        seen.add(key)
        score = item.get("score")
        published = item.get("published_date")
        results.append(
            SearchResult(
                url=url,
                title=str(item.get("title") or ""),
                content=str(item.get("content") or ""),
                score=float(score) if isinstance(score, (int, float)) else None,
                published_date=str(published) if published else None,
                tier=tier_for(url),
            )
        )
    return results


def tavily_search(
    query: str,
    *,
    api_key: str | None,
    base_url: str | None = None,
    max_results: int = 5,
    include_domains: list[str] | None = None,
    search_depth: str = "basic",
    timeout_s: float = 20.0,
    topic: str = "general",
) -> list[SearchResult]:
    """Search the web with Tavily; raise SearchError (never silently keyless) on any failure."""
    key = (api_key or "").strip()
    if not key:
        # tavily-python would fall back to TAVILY_API_KEY or to keyless mode; neither is wanted here.
        raise SearchError("no_key", "no Tavily API key configured; web search is off")
    import requests
    from tavily import TavilyClient

    last: list[requests.Response] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: last.append(response))
    client = TavilyClient(api_key=key, api_base_url=base_url, session=session)
    try:
        raw = client.search(
            query,
            search_depth=search_depth,
            topic=topic,
            max_results=max_results,
            include_domains=include_domains or None,
            timeout=timeout_s,
        )
    except Exception as exc:
        error = _map_exception(exc, last[-1] if last else None, key)
        if error is None:
            raise
        raise error from None  # no chained traceback: it could show request headers
    finally:
        session.close()
    return _results(raw)
