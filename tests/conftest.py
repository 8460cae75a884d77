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


# Modules whose tests run the pipeline, a child process or large inputs (about nine tenths of the suite's
# time); `pytest -m "not slow"` runs the rest, the unit tests, in well under a minute.
SLOW_MODULES = frozenset({
    "tests/hostile/test_runs.py", "tests/hostile/test_parsing.py", "tests/hostile/test_writes.py",
    "tests/hostile/test_spreadsheets.py", "tests/hostile/test_sessions.py", "tests/test_runs.py",
    "tests/test_matching_equivalence.py", "tests/test_profile.py", "tests/test_drafts.py", "tests/test_live_cassettes.py",
    "tests/test_live_end_to_end.py", "tests/test_state.py", "tests/test_chat.py", "tests/test_jurisdictions.py",
    "tests/test_comparison.py", "tests/test_pipeline.py", "tests/test_langgraph_server.py", "tests/test_web_browser.py",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()
        if module in SLOW_MODULES or "agent_exe" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pg_server():  # noqa: ANN201
    """A throwaway PostgreSQL server for the session (tests/services.py)."""
    from tests.services import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: ANN001
    """A fresh, empty database; AGENT_DATABASE_URL points at it."""
    url = pg_server.new_database()
    monkeypatch.setenv("AGENT_DATABASE_URL", url)
    return url
