"""Checks on the folders a command is given, before any work: one sentence each, no run recorded.

A folder that cannot be used must fail here, in a second, with exit code 2, not after the whole
pipeline ran with an internal error.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from agent.textsafe import printable


class InputError(ValueError):
    """A folder the user named cannot be used; the message says why and what to do."""


def _name(path: Path) -> str:
    return repr(printable(str(path)))


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def check_state_dir(path: Path) -> Path:
    """The run database's folder (AGENT_STATE_DIR): a folder that exists or can be made, and writable."""
    if path.exists() and not path.is_dir():
        raise InputError(f"the state folder {_name(path)} (AGENT_STATE_DIR) is a file; point AGENT_STATE_DIR at a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise InputError(f"the state folder {_name(path)} (AGENT_STATE_DIR) cannot be used ({_reason(exc)}); "
                         "point AGENT_STATE_DIR at a writable folder.") from None
    db = path / "runs.sqlite"
    if db.exists() and not db.is_file():
        raise InputError(f"{_name(db)} is not a file; move it away or point AGENT_STATE_DIR elsewhere.")
    return path


def check_database(url: str | Path) -> None:
    """AGENT_DATABASE_URL: a PostgreSQL server that answers, before any work starts."""
    from agent.storage.db import Database, DatabaseError, is_postgres

    if not is_postgres(url):
        raise InputError("AGENT_DATABASE_URL must be a postgresql:// URL; unset it to keep runs in the local SQLite file.")
    try:
        Database(url).close()
    except DatabaseError as exc:
        raise InputError(f"{exc} (AGENT_DATABASE_URL)") from None


def check_policies(path: Path) -> Path:
    """The policy folder: an existing, listable folder (it is only ever read)."""
    if not path.exists():
        raise InputError(f"policy folder {_name(path)} does not exist.")
    if not path.is_dir():
        raise InputError(f"policy folder {_name(path)} is not a folder.")
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise InputError(f"policy folder {_name(path)} cannot be read ({_reason(exc)}).") from None
    return path


def _within(child: Path, parent: Path) -> bool:
    return child.resolve() == parent.resolve() or child.resolve().is_relative_to(parent.resolve())


def check_separate(out: Path, policies: Path | None) -> None:
    """Writing into the output folder must never write into the policy folder."""
    if policies is not None and _within(out, policies):
        raise InputError("the output folder must not be inside the policy folder (the policy folder is read-only).")


def check_out(out: Path, policies: Path | None) -> Path:
    """The output folder: usable for writing, and never a place that would write into the policy folder."""
    from tools.writer import UnsafePathError, check_output_folder

    check_separate(out, policies)
    try:
        resolved = check_output_folder(out)
    except UnsafePathError as exc:
        raise InputError(str(exc)) from None
    if policies is not None and _within(policies, resolved / "reports"):
        raise InputError("the policy folder must not be inside the output folder's reports/ (reports are written there).")
    return out
