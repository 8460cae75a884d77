"""Settings from the environment and an optional .env file (see .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    out_dir: Path = Field(default=Path("policies_out"), validation_alias="AGENT_OUT_DIR")
    state_dir: Path = Field(default=Path(".agent"), validation_alias="AGENT_STATE_DIR")

    @property
    def db_path(self) -> Path:
        return self.state_dir / "runs.sqlite"


def load_settings() -> Settings:
    return Settings()
