"""The model seam's degradation policy: Retry-After within budget, quota never retried, re-asks."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from agent.llm import Budget, ModelClient, ModelError
from agent.settings import Settings
from tests.fakes import FakeChatModel, api_error, malformed, ok, timeout_error


class Answer(BaseModel):
    text: str


def client(script: list, *, retries: int = 2, wait_budget: float = 5.0, reasks: int = 1, max_tokens: int = 10_000):
    settings = Settings(_env_file=None, AGENT_MAX_RETRIES=retries, AGENT_RETRY_WAIT_BUDGET=wait_budget, AGENT_REASKS=reasks)
    budget = Budget(max_tokens=max_tokens, retry_wait_s=wait_budget, deadline=time.monotonic() + 60)
    fake = FakeChatModel({"Answer": script})
    slept: list[float] = []
    return ModelClient(settings, budget, factory=lambda role: fake, sleep=slept.append), fake, slept


def test_rate_limit_honours_retry_after_then_succeeds() -> None:
    c, _, slept = client([api_error(429, retry_after="2"), Answer(text="ok")])
    out, usage = c.structured("analyst", Answer, [])
    assert out.text == "ok"
    assert slept == [2.0] and usage.retries == 1 and usage.calls == 1


def test_insufficient_quota_is_not_retried() -> None:
    c, _, slept = client([api_error(429, code="insufficient_quota"), Answer(text="never")])
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == "quota" and slept == []


def test_rate_limit_exhausted_raises_after_bounded_retries() -> None:
    c, fake, slept = client([api_error(429, retry_after="1")] * 5, retries=2)
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == "rate_limit"
    assert len(slept) == 2 and len(fake.seen) == 3


def test_retry_after_beyond_the_wait_budget_falls_back_at_once() -> None:
    c, fake, slept = client([api_error(429, retry_after="30"), Answer(text="late")], wait_budget=5.0)
    with pytest.raises(ModelError):
        c.structured("analyst", Answer, [])
    assert slept == [] and len(fake.seen) == 1


@pytest.mark.parametrize(("error", "kind"), [(api_error(401), "auth"), (api_error(403), "forbidden"), (api_error(400), "bad_request")])
def test_client_errors_fail_fast(error, kind) -> None:
    c, fake, slept = client([error, Answer(text="never")])
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == kind and slept == [] and len(fake.seen) == 1


def test_timeouts_and_server_errors_are_retried() -> None:
    c, _, slept = client([timeout_error(), api_error(503), Answer(text="ok")])
    out, usage = c.structured("analyst", Answer, [])
    assert out.text == "ok" and usage.retries == 2 and len(slept) == 2


def test_malformed_output_is_reasked_with_the_validation_error() -> None:
    c, fake, _ = client([malformed(Answer), Answer(text="fixed")])
    out, usage = c.structured("analyst", Answer, [])
    assert out.text == "fixed" and usage.reasks == 1
    second_conversation = fake.seen[1][1]
    assert "Validation error" in second_conversation[-1].content and "text" in second_conversation[-1].content


def test_malformed_output_twice_raises_bad_output() -> None:
    c, _, _ = client([malformed(Answer), malformed(Answer)], reasks=1)
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == "bad_output"


def test_token_budget_stops_further_calls() -> None:
    c, fake, _ = client([ok(Answer(text="a"), 600, 500), Answer(text="b")], max_tokens=1000)
    c.structured("analyst", Answer, [])
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == "budget" and len(fake.seen) == 1


def test_time_budget_stops_further_calls() -> None:
    c, fake, _ = client([Answer(text="never")])
    c.budget.deadline = time.monotonic() - 1
    with pytest.raises(ModelError) as err:
        c.structured("analyst", Answer, [])
    assert err.value.kind == "budget" and "time budget" in str(err.value) and fake.seen == []


def test_reask_after_a_malformed_tool_call_answers_the_call_with_a_tool_message() -> None:
    # A chat-completions server rejects an assistant tool call that is not followed by a tool result.
    from langchain_core.messages import AIMessage, ToolMessage

    bad = AIMessage(content="", tool_calls=[{"name": "Answer", "args": {"oops": True}, "id": "call_7"}])
    c, fake, _ = client([{"raw": bad, "parsed": None, "parsing_error": ValueError("text: field required")}, Answer(text="fixed")])
    out, _ = c.structured("analyst", Answer, [])
    convo = fake.seen[1][1]
    assert out.text == "fixed"
    assert isinstance(convo[-2], AIMessage) and isinstance(convo[-1], ToolMessage)
    assert convo[-1].tool_call_id == "call_7" and "text: field required" in convo[-1].content
