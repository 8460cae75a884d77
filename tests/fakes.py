"""Scripted stand-ins for the chat model (the ModelClient.factory seam) and OpenAI SDK errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import openai
from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

Reply = BaseModel | Exception | Callable[[list[Any]], Any]


def ok(obj: BaseModel, tokens_in: int = 100, tokens_out: int = 50) -> dict[str, Any]:
    raw = AIMessage(content="", usage_metadata={"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out})
    return {"raw": raw, "parsed": obj, "parsing_error": None}


def malformed(schema: type[BaseModel], tokens_in: int = 100, tokens_out: int = 20) -> dict[str, Any]:
    try:
        schema.model_validate({})
        error: Exception = ValueError("missing fields")
    except ValidationError as exc:
        error = exc
    raw = AIMessage(content='{"oops": true}', usage_metadata={"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out})
    return {"raw": raw, "parsed": None, "parsing_error": error}


def api_error(status: int, *, retry_after: str | None = None, code: str | None = None) -> openai.APIStatusError:
    headers = {"retry-after": retry_after} if retry_after else {}
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    body = {"error": {"message": f"status {status}", "type": code or "error", "code": code}}
    cls = {401: openai.AuthenticationError, 403: openai.PermissionDeniedError, 429: openai.RateLimitError,
           400: openai.BadRequestError}.get(status, openai.InternalServerError)
    return cls(f"Error code: {status}", response=response, body=body)


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=httpx2.Request("POST", "https://api.openai.com/v1/chat/completions"))


class FakeChatModel:
    """Answers each structured call from a per-schema script; records every conversation it saw."""

    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.scripts = scripts
        self.seen: list[tuple[str, list[Any]]] = []

    def with_structured_output(self, schema: type[BaseModel], **_: Any) -> FakeChatModel._Bound:
        return FakeChatModel._Bound(self, schema)

    class _Bound:
        def __init__(self, parent: FakeChatModel, schema: type[BaseModel]) -> None:
            self.parent, self.schema = parent, schema

        def invoke(self, messages: list[Any]) -> Any:
            self.parent.seen.append((self.schema.__name__, list(messages)))
            script = self.parent.scripts.get(self.schema.__name__)
            if not script:
                raise AssertionError(f"unexpected call for {self.schema.__name__}")
            item = script.pop(0)
            if isinstance(item, Exception):
                raise item
            if callable(item):
                item = item(messages)
            return item if isinstance(item, dict) else ok(item)
