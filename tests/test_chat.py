"""`agent chat` through a pseudo-terminal, as a user would type it (pexpect), and the chat's tool agent."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.conftest import EXAMPLES

PROMPT = "you> "


def spawn(agent_exe: str, cwd: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    # Started the way a launcher that ignores SIGINT would (the ignore is inherited across exec): the
    # session must still own Ctrl-C.
    child = pexpect.spawn(agent_exe, ["chat", *args], cwd=str(cwd), env=env, encoding="utf-8", timeout=90,
                          dimensions=(50, 200), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    child.logfile_read = sys.stdout if os.environ.get("CHAT_TEST_ECHO") else None
    return child


def thread_of(banner: str) -> str:
    m = re.search(r"(chat-\d{8}-\d{6}-[0-9a-f]{4})", banner)
    assert m, banner
    return m.group(1)


def test_a_new_user_session_without_keys(agent_exe: str, isolated: Path) -> None:
    out = isolated / "drafts_out"
    child = spawn(agent_exe, isolated, "--policies", str(EXAMPLES), "--out", str(out))
    child.expect(PROMPT)
    thread = thread_of(child.before)
    assert "no model configured" in child.before

    # a free question is answered from the pack, with citations, saying no model is configured
    child.sendline("what capital does a custodian need in the AIFC?")
    child.expect(PROMPT)
    answer = child.before
    assert "No model is configured" in answer
    assert re.search(r"Cited: \[afsa-[a-z-]+\]", answer) and "orderly.myafsa.com" in answer and "retrieved 2026-" in answer

    # /run shows progress and a summary; drafts are proposed, nothing is written yet
    child.sendline("/run stablecoin KZ")
    child.expect(PROMPT)
    ran = child.before
    assert "analyze" in ran and "assess" in ran, "progress lines on the terminal"
    assert "11 gaps" in ran and "drafts proposed" in ran
    assert not out.exists() or not list(out.glob("*_GAP-*.md"))

    child.sendline("/gaps")
    child.expect(PROMPT)
    assert "GAP-001 critical Licensing" in child.before and "GAP-007" in child.before

    child.sendline("/drafts")
    child.expect(PROMPT)
    assert "Cross_Border_GAP-007.md" in child.before and "not written" in child.before

    # writing needs a yes; a no writes nothing
    child.sendline("/draft GAP-007")
    child.expect(r"\[y/N\] ")
    child.sendline("n")
    child.expect(PROMPT)
    assert "Not written" in child.before and not (out / "Cross_Border_GAP-007.md").exists()
    child.sendline("/draft GAP-007")
    child.expect(r"\[y/N\] ")
    child.sendline("y")
    child.expect(PROMPT)
    assert (out / "Cross_Border_GAP-007.md").exists() and "KZ-AIFC-XB-002" in (out / "Cross_Border_GAP-007.md").read_text()

    child.sendline("/sources")
    child.expect(PROMPT)
    assert "[afsa-daa]" in child.before

    # Ctrl-C at the prompt does not end the session, even though this session's parent ignored SIGINT
    child.sendintr()
    child.expect(PROMPT)
    assert "Ctrl-D or /quit" in child.before
    child.sendline("/nonsense")
    child.expect(PROMPT)
    assert "/help lists the commands" in child.before
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # the thread is listed and resumes with its earlier context
    listing = pexpect.run(f"{agent_exe} chat --list", cwd=str(isolated), encoding="utf-8", env={**os.environ})
    assert thread in listing and "what capital does a custodian need" in listing

    child = spawn(agent_exe, isolated, "--thread", thread, "--policies", str(EXAMPLES), "--out", str(out))
    child.expect(PROMPT)
    assert f"Resuming thread {thread}" in child.before
    assert "(12 messages)" in child.before and "you: /draft GAP-007" in child.before, "the last turns are shown again"
    child.sendline("/gaps")  # the last run of the thread is remembered
    child.expect(PROMPT)
    assert "GAP-001 critical Licensing" in child.before
    child.sendline("/history")
    child.expect(PROMPT)
    assert "you: what capital does a custodian need in the AIFC?" in child.before and "you: /run stablecoin KZ" in child.before
    child.sendeof()  # Ctrl-D leaves cleanly
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_unknown_thread_and_bad_scope_are_explained(agent_exe: str, isolated: Path) -> None:
    res = pexpect.run(f"{agent_exe} chat --thread chat-nope", cwd=str(isolated), encoding="utf-8", withexitstatus=True)
    assert res[1] == 2 and "agent chat --list" in res[0]
    child = spawn(agent_exe, isolated)
    child.expect(PROMPT)
    child.sendline("/run stablecoin Narnia")
    child.expect(PROMPT)
    assert "jurisdiction" in child.before and "Traceback" not in child.before
    child.sendline("/gaps")
    child.expect(PROMPT)
    assert "No run in this thread yet" in child.before
    child.sendline("/new")
    child.expect(PROMPT)
    assert "New thread chat-" in child.before
    child.sendline("/quit")
    child.expect(pexpect.EOF)


# --- the tool-calling agent (a scripted model behind the same seam) ---------------------------------


class ScriptedToolModel:
    """A chat model that calls one tool, then answers from the tool result (no network)."""

    def __init__(self, tool: str, args: dict[str, Any]) -> None:
        self.tool, self.args, self.seen = tool, args, []

    def bind_tools(self, tools: list[Any]) -> ScriptedToolModel:
        self.names = [t.name for t in tools]
        return self

    def invoke(self, messages: list[Any], *_: Any, **__: Any) -> Any:
        from langchain_core.messages import AIMessage, ToolMessage

        self.seen.append(messages)
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return AIMessage(content=f"From the pack: {last.content.splitlines()[0]}")
        return AIMessage(content="", tool_calls=[{"name": self.tool, "args": self.args, "id": "call_1"}])


def session(tmp: Path, model: Any, answers: list[str]) -> tuple[Any, list[str]]:
    from rich.console import Console

    from agent.chat import Session
    from agent.settings import Settings

    printed: list[str] = []
    feed = iter(answers)
    console = Console(file=open(os.devnull, "w"), record=True, width=200)
    s = Session(Settings(_env_file=None), db_path=tmp / "runs.sqlite", out_dir=tmp / "out", policies=EXAMPLES,
                model=model, read=lambda prompt: next(feed), console=console)
    s.out = lambda text, style=None: printed.append(text)  # type: ignore[method-assign]
    return s, printed


def test_model_turn_calls_a_pack_tool_and_cites_it(isolated: Path) -> None:
    model = ScriptedToolModel("lookup_pack", {"question": "custody capital", "jurisdiction": "KZ"})
    s, printed = session(isolated, model, [])
    s.start()
    s.ask("what capital does a custodian need in the AIFC?")
    values = s.values()
    kinds = [m.type for m in values["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"]
    assert values["messages"][-1].content.startswith("From the pack: KZ-")
    assert "lookup_pack" in model.names and "draft_policy" in model.names
    assert any(p.startswith("Sources: ") and "afsa-" in p for p in printed)
    s.saver.conn.close()


def test_model_cannot_write_a_draft_without_the_users_yes(isolated: Path) -> None:
    from agent.chat import run_in_chat

    model = ScriptedToolModel("draft_policy", {"gap_id": "GAP-007"})
    s, printed = session(isolated, model, ["n"])
    run_in_chat(s.env, "stablecoin KZ")
    s.ask("please write the cross-border policy")
    assert not (isolated / "out" / "Cross_Border_GAP-007.md").exists()
    assert "you declined" in s.values()["messages"][-2].content
    s.saver.conn.close()


# --- a model turn replayed from a cassette (cassettes/chat/) ----------------------------------------

CHAT_CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "chat"


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CHAT_CASSETTES)


@pytest.fixture
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    from tests.test_live_cassettes import vcr_options

    mode = request.config.getoption("--record-mode") or "none"
    return {**vcr_options(), "record_mode": "none" if mode == "none" else "all"}


@pytest.mark.vcr
def test_streamed_model_answer_with_a_tool_call_replayed(vcr: Any, isolated: Path, request: pytest.FixtureRequest) -> None:
    """langchain-openai streams (SSE) a lookup_pack call, then a cited answer; both turns come from the cassette."""
    from agent.llm import default_factory
    from agent.settings import Settings
    from tests.fake_services import FakeServices
    from tests.test_live_cassettes import OPENAI_KEY

    recording = (request.config.getoption("--record-mode") or "none") != "none"
    services = FakeServices("ok") if recording else None
    env = {"OPENAI_API_KEY": OPENAI_KEY, "AGENT_MODEL": "gpt-4o-mini"}
    if services is not None:
        services.__enter__()
        env["OPENAI_BASE_URL"] = services.url + "/v1"
    try:
        settings = Settings(_env_file=None, **env)
        model = default_factory(settings)("analyst")
        s, printed = session(isolated, model, [])
        streamed: list[str] = []
        s.console.print = lambda *a, **k: streamed.append(str(a[0]) if a else "")  # type: ignore[method-assign]
        s.ask("what capital does a custodian need in the AIFC?")
    finally:
        if services is not None:
            services.__exit__(None, None, None)
    messages = s.values()["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[1].tool_calls[0]["name"] == "lookup_pack"
    answer = messages[-1].content
    assert answer.startswith("The pack holds this:") and re.search(r"\[[a-z]+-[a-z0-9-]+\]", answer)
    assert len([x for x in streamed if x.strip()]) > 3, "the answer arrived in pieces (streamed)"
    assert any(p.startswith("Sources: ") for p in printed)
    if not recording:
        assert all(vcr.play_counts[i] for i in range(len(vcr.requests))), "both model turns were replayed"
        assert all(json.loads(r.body).get("stream") is True for r in vcr.requests)
    s.saver.conn.close()
