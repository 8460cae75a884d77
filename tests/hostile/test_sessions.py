"""`agent chat` fed bytes that are not UTF-8, and a model that never answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect

from tests.fake_services import FakeServices

KEY = "sk-hostile-chat-key-0123456789abcdef"
HANG_S = 40.0


def test_non_utf8_input_is_replaced_not_fatal(agent_exe: str, isolated: Path) -> None:
    res = subprocess.run([agent_exe, "chat"], input=b"\xff\xfe custody in the AIFC?\n/quit\n", cwd=isolated,
                         env={**os.environ}, capture_output=True, timeout=120)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, err
    assert "Traceback" not in err
    out = res.stdout.decode("utf-8")  # what the agent prints is valid UTF-8
    assert "Bye." in out
    listed = subprocess.run([agent_exe, "chat", "--list"], cwd=isolated, env={**os.environ}, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and "\ufffd" in listed.stdout and "custody in the AIFC?" in listed.stdout


def test_ctrl_c_stops_a_hanging_model_answer_and_keeps_the_session(agent_exe: str, isolated: Path) -> None:
    with FakeServices("slow", slow_s=HANG_S) as services:
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "AGENT_ENGINE": "auto", "OPENAI_API_KEY": KEY,
               "OPENAI_BASE_URL": services.url + "/v1", "AGENT_MODEL": "fake-model"}
        child = pexpect.spawn(agent_exe, ["chat"], cwd=str(isolated), env=env, encoding="utf-8", timeout=60,
                              dimensions=(50, 200), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        child.logfile_read = sys.stdout if os.environ.get("CHAT_TEST_ECHO") else None
        child.expect("you> ")
        child.sendline("what licence does a custodian need in the AIFC?")
        while not any(p.endswith("/chat/completions") for p, _ in services.requests):
            child.expect([pexpect.TIMEOUT], timeout=0.1)
        child.sendintr()
        # Hang guard: the model answers only after HANG_S; the prompt must be back long before.
        child.expect(r"\[stopped\]", timeout=HANG_S / 4)
        child.expect("you> ", timeout=10)
        child.sendline("/quit")
        child.expect("Bye.")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0
