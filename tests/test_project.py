"""Docs and CI agree with the code: the README's test command is what CI runs, settings are documented."""

from __future__ import annotations

import re
import tomllib

from agent.settings import Settings
from tests.conftest import ROOT


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^(python3 -m venv .*)$", readme, flags=re.M)
    assert len(commands) == 2, "the quick start is two commands"
    test_cmd = next(c for c in commands if "pytest" in c)
    assert test_cmd in ci.splitlines()


def test_every_setting_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for field in Settings.model_fields.values():
        assert f"{field.validation_alias}=" in example


def test_dependencies_are_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    # "compliance-agent[postgres]" in the test extra names the project's own extra, whose pins are checked here too
    deps = [d for d in project["dependencies"] + [d for extra in extras.values() for d in extra]
            if not d.startswith(project["name"] + "[")]
    assert deps and all("==" in d for d in deps), [d for d in deps if "==" not in d]
    for required in ("langgraph", "langchain-openai", "tavily-python", "pydantic", "python-dotenv", "typer", "pytest", "vcrpy",
                     "fastapi", "uvicorn", "jinja2", "python-multipart", "markdown-it-py", "playwright"):
        assert any(d.startswith(required + "==") for d in deps), required
