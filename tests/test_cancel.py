"""Calls in flight are bounded: the run's time budget and Ctrl-C stop a model call that hangs."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import BaseModel

from agent import cancel
from agent.cancel import Cancelled, DeadlineExceeded, call_bounded
from agent.llm import Budget, ModelClient, ModelError
from agent.settings import Settings
from tests.fakes import ok

HANG_S = 20.0  # a hanging server; every test below must return long before it answers


class Answer(BaseModel):
    text: str


class HangingModel:
    """Answers only after HANG_S seconds, like a server that accepted the request and went quiet."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def with_structured_output(self, schema: type[BaseModel], **_: object) -> HangingModel:
        return self

    def invoke(self, messages: list) -> dict:
        self.release.wait(HANG_S)
        return ok(Answer(text="too late"))


@pytest.fixture(autouse=True)
def _uncancelled():
    cancel.reset()
    yield
    cancel.reset()


def _client(max_seconds: float, model_timeout: float = 60.0) -> tuple[ModelClient, HangingModel]:
    settings = Settings(_env_file=None, AGENT_MAX_SECONDS=max_seconds, AGENT_MODEL_TIMEOUT=model_timeout, AGENT_MAX_RETRIES=0)
    budget = Budget(max_tokens=10_000, retry_wait_s=5, deadline=time.monotonic() + max_seconds)
    model = HangingModel()
    return ModelClient(settings, budget, factory=lambda role: model), model


def test_time_budget_ends_a_model_call_already_in_flight() -> None:
    client, model = _client(max_seconds=1.0)
    try:
        with pytest.raises(ModelError) as err:
            client.structured("analyst", Answer, [])
    finally:
        model.release.set()
    assert err.value.kind == "budget"
    assert "during a model call" in str(err.value)


def test_model_timeout_bounds_the_whole_call_not_each_read() -> None:
    client, model = _client(max_seconds=60.0, model_timeout=0.5)
    try:
        with pytest.raises(ModelError) as err:
            client.structured("analyst", Answer, [])
    finally:
        model.release.set()
    assert err.value.kind == "timeout"


def test_ctrl_c_cancels_a_hanging_call_from_another_thread() -> None:
    client, model = _client(max_seconds=60.0)
    threading.Timer(0.2, cancel.CANCEL.set).start()
    try:
        with pytest.raises(Cancelled):
            client.structured("analyst", Answer, [])
    finally:
        model.release.set()


def test_retry_wait_is_cut_short_by_ctrl_c() -> None:
    threading.Timer(0.2, cancel.CANCEL.set).start()
    with pytest.raises(Cancelled):
        cancel.pause(HANG_S)


def test_bounded_call_returns_values_and_errors_of_the_call() -> None:
    assert call_bounded(lambda: 42, timeout=5) == 42
    with pytest.raises(KeyError):
        call_bounded(lambda: {}["missing"], timeout=5)
    with pytest.raises(DeadlineExceeded):
        call_bounded(lambda: time.sleep(HANG_S), timeout=0)


_SIGINT_TO_A_WORKER = """
import signal, threading, time
from agent import cancel

release = threading.Lock()
release.acquire()

def branch():
    time.sleep(0.5)  # the main thread is waiting on the lock by now
    # The kernel may hand a process's SIGINT to any thread: here, to this one.
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)
    if cancel.CANCEL.wait(10):  # a bounded call gives up when CANCEL is set
        release.release()

with cancel.sigint_cancels():
    threading.Thread(target=branch, daemon=True).start()
    try:
        release.acquire()  # untimed, as LangGraph waits on its branches
        print("woken without an interrupt")
    except KeyboardInterrupt:
        print("interrupted")
cancel.reset()
print("after reset:", "cancelled" if cancel.CANCEL.is_set() else "clear")
"""


def test_ctrl_c_delivered_to_a_worker_thread_still_stops_a_blocked_run() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    res = subprocess.run([sys.executable, "-c", _SIGINT_TO_A_WORKER], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.stdout.split("\n")[:2] == ["interrupted", "after reset: clear"], res.stdout + res.stderr
