"""Settings from the environment and an optional .env file (every one listed in .env.example).

Secrets are SecretStr: they print as '**********' and are read only where a client is built.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["planner", "analyst", "drafter"]


def default_state_dir() -> Path:
    """Where runs, checkpoints and chat threads live unless AGENT_STATE_DIR says otherwise."""
    import platformdirs

    return platformdirs.user_data_path("compliance-agent", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # where things go
    out_dir: Path = Field(default=Path("policies_out"), validation_alias="AGENT_OUT_DIR")
    # The user's data directory, so every run is listed whatever folder it was started from.
    state_dir: Path = Field(default_factory=lambda: default_state_dir(), validation_alias="AGENT_STATE_DIR")
    # A shared PostgreSQL database for runs, checkpoints and chat threads instead of the SQLite file in state_dir.
    database_url: SecretStr | None = Field(default=None, validation_alias="AGENT_DATABASE_URL")

    # engine choice: auto = live where keys are set, embedded otherwise
    engine: Literal["auto", "embedded", "live"] = Field(default="auto", validation_alias="AGENT_ENGINE")

    # OpenAI or any OpenAI-compatible server
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    model: str = Field(default="gpt-4.1-mini", validation_alias="AGENT_MODEL")
    model_planner: str | None = Field(default=None, validation_alias="AGENT_MODEL_PLANNER")
    model_analyst: str | None = Field(default=None, validation_alias="AGENT_MODEL_ANALYST")
    model_drafter: str | None = Field(default=None, validation_alias="AGENT_MODEL_DRAFTER")
    structured_method: Literal["function_calling", "json_schema", "json_mode"] = Field(
        default="function_calling", validation_alias="AGENT_STRUCTURED_METHOD"
    )
    model_timeout_s: float = Field(default=60.0, validation_alias="AGENT_MODEL_TIMEOUT")

    # Tavily web search
    tavily_api_key: SecretStr | None = Field(default=None, validation_alias="TAVILY_API_KEY")
    tavily_base_url: str | None = Field(default=None, validation_alias="TAVILY_BASE_URL")

    # budgets: the run stops spending when one is reached and reports what was done
    max_searches: int = Field(default=8, ge=0, validation_alias="AGENT_MAX_SEARCHES")
    max_fetches: int = Field(default=10, ge=0, validation_alias="AGENT_MAX_FETCHES")
    max_tokens: int = Field(default=60_000, ge=0, validation_alias="AGENT_MAX_TOKENS")
    max_seconds: float = Field(default=300.0, ge=0, validation_alias="AGENT_MAX_SECONDS")
    # parallel branches (searches, fetches, model calls); the thread-pool default is cores + 4
    max_parallel: int = Field(default=16, ge=1, le=64, validation_alias="AGENT_MAX_PARALLEL")
    # processes reading and scanning a large policy folder; 0 = one per core, 1 = never more than this one
    scan_workers: int = Field(default=0, ge=0, le=64, validation_alias="AGENT_SCAN_WORKERS")
    # output formats: md and docx for the drafts and the report, json for the report (--format overrides)
    formats: str = Field(default="md,json,docx", pattern=r"^\s*(?:md|json|docx)\s*(?:,\s*(?:md|json|docx)\s*)*$",
                         validation_alias="AGENT_FORMATS")

    # resilience
    max_retries: int = Field(default=2, ge=0, validation_alias="AGENT_MAX_RETRIES")
    retry_wait_budget_s: float = Field(default=20.0, ge=0, validation_alias="AGENT_RETRY_WAIT_BUDGET")
    reasks: int = Field(default=1, ge=0, validation_alias="AGENT_REASKS")

    # cost estimate (USD per million tokens); unset = not estimated
    price_in_per_mtok: float | None = Field(default=None, validation_alias="AGENT_PRICE_IN_PER_MTOK")
    price_out_per_mtok: float | None = Field(default=None, validation_alias="AGENT_PRICE_OUT_PER_MTOK")

    # agent serve: required off loopback, then checked on every request (--token overrides)
    serve_token: SecretStr | None = Field(default=None, validation_alias="AGENT_SERVE_TOKEN")

    # reproducible prompts (tests, cassettes): the date the agent believes it is
    today: dt.date | None = Field(default=None, validation_alias="AGENT_TODAY")

    @property
    def format_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.strip() for f in self.formats.split(",") if f.strip()))

    @property
    def db_path(self) -> Path:
        return self.state_dir / "runs.sqlite"

    @property
    def database(self) -> str | Path:
        """Where runs live: the PostgreSQL URL when AGENT_DATABASE_URL is set, else the SQLite file."""
        return self.database_url.get_secret_value() if self.database_url else self.db_path

    def model_for(self, role: Role) -> str:
        return getattr(self, f"model_{role}") or self.model

    @property
    def has_openai(self) -> bool:
        return self.engine != "embedded" and self.openai_api_key is not None

    @property
    def has_tavily(self) -> bool:
        return self.engine != "embedded" and self.tavily_api_key is not None

    def current_date(self) -> dt.date:
        return self.today or dt.date.today()


def load_settings() -> Settings:
    return Settings()
