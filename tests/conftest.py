"""Shared fixtures: every test runs in its own working directory and run database."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "policies"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / ".agent"))
    monkeypatch.delenv("AGENT_OUT_DIR", raising=False)
    # keys on the machine running the suite must never turn tests live
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TAVILY_API_KEY", "TAVILY_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGENT_ENGINE", "embedded")
    # Word rendering more than doubles a run's time; the tests of Word output (tests/test_drafts.py) ask for it
    monkeypatch.setenv("AGENT_FORMATS", "md,json")
    return tmp_path


@pytest.fixture(scope="session")
def agent_exe() -> str:
    exe = shutil.which("agent") or str(Path(sys.executable).with_name("agent"))
    assert Path(exe).exists(), "the agent console script is not installed (pip install -e .)"
    return exe
