"""The one seam to the chat model: structured calls with bounded retries, re-asks and usage.

Every failure becomes a ModelError with a `kind`; nodes catch it and fall back to the embedded
engine for that node only. Tests replace `ModelClient.factory`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from agent.settings import Role, Settings

T = TypeVar("T", bound=BaseModel)
Kind = Literal["no_key", "auth", "forbidden", "rate_limit", "quota", "timeout", "server", "network", "bad_output", "bad_request", "budget"]


class ModelError(Exception):
    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    retries: int = 0
    reasks: int = 0

    def add(self, other: Usage) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.calls += other.calls
        self.retries += other.retries
        self.reasks += other.reasks


@dataclass
class Budget:
    """Run-wide limits shared by every branch (thread-safe)."""

    max_tokens: int
    retry_wait_s: float
    deadline: float
    spent_tokens: int = 0
    waited_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, tokens: int) -> None:
        with self._lock:
            self.spent_tokens += tokens

    def tokens_left(self) -> int:
        return self.max_tokens - self.spent_tokens

    def take_wait(self, seconds: float) -> bool:
        with self._lock:
            if self.waited_s + seconds > self.retry_wait_s or time.monotonic() + seconds > self.deadline:
                return False
            self.waited_s += seconds
            return True

    def time_left(self) -> float:
        return self.deadline - time.monotonic()


def default_factory(settings: Settings) -> Callable[[Role], Any]:
    def make(role: Role) -> Any:
        from langchain_openai import ChatOpenAI

        assert settings.openai_api_key is not None
        return ChatOpenAI(
            model=settings.model_for(role),
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url or None,
            timeout=settings.model_timeout_s,
            max_retries=0,  # retries are ours: Retry-After within a budget, quota never retried
            temperature=0,
            # Token usage in streamed answers (chat) from OpenAI and compatible servers alike; langchain-openai
            # turns it on only for the default base URL, which would make the two send different requests.
            stream_usage=True,
        )

    return make


def reask_messages(raw: Any, error: Any) -> list[Any]:
    """The failed reply plus the validation error, in a form every chat-completions server accepts.

    An assistant message carrying tool calls must be answered by one tool message per call id
    (OpenAI rejects the conversation with a 400 otherwise), so the error goes back as tool results.
    """
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    text = (
        "Your previous reply could not be used: it did not validate against the required schema.\n"
        f"Validation error: {str(error)[:800]}\nReply again with output that satisfies the schema exactly."
    )
    reply = raw if isinstance(raw, AIMessage) else AIMessage(content=str(raw))
    call_ids = [c.get("id") for c in [*reply.tool_calls, *reply.invalid_tool_calls] if c.get("id")]
    if not call_ids:
        return [reply, HumanMessage(content=text)]
    return [reply, *(ToolMessage(content=text, tool_call_id=i) for i in call_ids)]


class ModelClient:
    def __init__(self, settings: Settings, budget: Budget, factory: Callable[[Role], Any] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        from agent.cancel import pause

        self.settings = settings
        self.budget = budget
        self.factory = factory or default_factory(settings)
        self.sleep = sleep or pause

    def structured(self, role: Role, schema: type[T], messages: Sequence[Any]) -> tuple[T, Usage]:
        """One validated object of `schema`, or ModelError."""
        usage = Usage()
        if self.budget.tokens_left() <= 0:
            raise ModelError("budget", f"token budget of {self.budget.max_tokens} reached")
        if self.budget.time_left() <= 0:
            raise ModelError("budget", f"time budget of {self.settings.max_seconds:.0f} s reached")
        model = self.factory(role).with_structured_output(schema, method=self.settings.structured_method, include_raw=True)
        convo = list(messages)
        for attempt in range(self.settings.reasks + 1):
            out = self._invoke(model, convo, usage)
            parsed, error, raw = out.get("parsed"), out.get("parsing_error"), out.get("raw")
            if parsed is not None and error is None:
                return (parsed if isinstance(parsed, schema) else schema.model_validate(parsed)), usage
            if attempt == self.settings.reasks:
                break
            usage.reasks += 1
            convo += reask_messages(raw, error)
        raise ModelError("bad_output", f"malformed structured output from {self.settings.model_for(role)} after {self.settings.reasks} re-ask(s)")

    def _invoke(self, model: Any, messages: list[Any], usage: Usage) -> dict[str, Any]:
        from agent.cancel import DeadlineExceeded, call_bounded

        attempt = 0
        while True:
            # The run's time budget bounds the call in flight, not only whether it may start.
            left = self.budget.time_left()
            if left <= 0:
                raise ModelError("budget", f"time budget of {self.settings.max_seconds:.0f} s reached")
            exc: Exception | None = None
            try:
                out = call_bounded(lambda: model.invoke(messages), timeout=min(self.settings.model_timeout_s, left))
            except DeadlineExceeded:
                if self.budget.time_left() <= 0:
                    raise ModelError("budget", f"time budget of {self.settings.max_seconds:.0f} s reached during a model call") from None
                err = ModelError("timeout", "the model service timed out")
            except Exception as caught:  # noqa: BLE001 — classified below; unknown errors re-raised
                exc = caught
                classified = classify(caught)
                if classified is None:
                    raise
                err = classified
            else:
                usage.calls += 1
                meta = getattr(out.get("raw"), "usage_metadata", None) or {}
                usage.tokens_in += int(meta.get("input_tokens", 0))
                usage.tokens_out += int(meta.get("output_tokens", 0))
                self.budget.charge(int(meta.get("input_tokens", 0)) + int(meta.get("output_tokens", 0)))
                return out
            wait = self._retry_wait(err, exc, attempt)
            if wait is None:
                raise err from exc
            attempt += 1
            usage.retries += 1
            self.sleep(wait)

    def _retry_wait(self, err: ModelError, exc: Exception | None, attempt: int) -> float | None:
        if err.kind not in ("rate_limit", "timeout", "server", "network") or attempt >= self.settings.max_retries:
            return None
        wait = retry_after(exc) if err.kind == "rate_limit" else None
        wait = wait if wait is not None else min(0.5 * 2**attempt, 4.0)
        return wait if self.budget.take_wait(wait) else None


def retry_after(exc: Exception | None) -> float | None:
    """Seconds from Retry-After / retry-after-ms headers, if the server sent them."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def classify(exc: Exception) -> ModelError | None:
    """Map OpenAI SDK errors to ModelError kinds; None for errors that are bugs, not service failures."""
    import openai

    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    if isinstance(exc, openai.AuthenticationError):
        return ModelError("auth", "the model service rejected the API key (401)")
    if isinstance(exc, openai.PermissionDeniedError):
        return ModelError("forbidden", "the model service refused access (403)")
    if isinstance(exc, openai.RateLimitError):
        if code == "insufficient_quota" or "insufficient_quota" in str(getattr(exc, "body", "")):
            return ModelError("quota", "the model account has no quota left (429 insufficient_quota)")
        return ModelError("rate_limit", "the model service is rate limiting (429)")
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("timeout", "the model service timed out")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError("network", "the model service could not be reached")
    if isinstance(exc, openai.InternalServerError) or (isinstance(status, int) and status >= 500):
        return ModelError("server", f"the model service failed ({status})")
    if isinstance(exc, openai.APIStatusError):
        return ModelError("bad_request", f"the model service refused the request ({status})")
    return None
