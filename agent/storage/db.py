"""Where runs, checkpoints and chat threads are kept: a SQLite file (the default) or a PostgreSQL database.

A *target* is either a path to the SQLite file or a ``postgresql://`` URL (AGENT_DATABASE_URL). The project's
own tables are written in SQL both dialects accept; ``Database.execute`` takes ``?`` placeholders for both.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

Target = str | Path
_SCHEMES = ("postgresql://", "postgres://")
_SETUP_LOCK = 0x636F6D706C69  # an advisory-lock key of this project's own


class DatabaseError(RuntimeError):
    """The database cannot be opened (a bad URL, the server down, the driver not installed)."""


def is_postgres(target: Target) -> bool:
    return isinstance(target, str) and target.startswith(_SCHEMES)


def describe(target: Target) -> str:
    """The target as it may be shown: a URL without its password."""
    if is_postgres(target):
        from agent.textsafe import redact_url

        return redact_url(str(target)) or ""
    return str(target)


def _pg_connect(url: str, **kwargs: Any) -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the install
        raise DatabaseError("AGENT_DATABASE_URL names PostgreSQL, but its driver is not installed: "
                            "pip install 'compliance-agent[postgres]'.") from None
    try:
        return psycopg.Connection.connect(url, autocommit=True, **kwargs)
    except psycopg.Error as exc:
        # The driver's message names host and database, never the password.
        raise DatabaseError(f"cannot connect to {describe(url)}: {str(exc).strip().splitlines()[0]}") from None


class Database:
    """One connection to the project's own tables; each statement commits (PostgreSQL runs in autocommit)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.postgres = is_postgres(target)
        if self.postgres:
            self.conn: Any = _pg_connect(str(target))
        else:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(path), timeout=30)

    def execute(self, sql: str, args: tuple | list = ()) -> Any:
        if self.postgres:
            # Our SQL has no literal '?' or '%': the placeholders are the only ones to translate.
            return self.conn.execute(sql.replace("?", "%s"), args)
        return self.conn.execute(sql, args)

    def ensure(self, ddl: str) -> None:
        """CREATE TABLE IF NOT EXISTS / ADD COLUMN: on PostgreSQL two processes doing it at once is not an error."""
        if not self.postgres:
            self.conn.execute(ddl)
            return
        import psycopg

        try:
            self.conn.execute(ddl)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject,
                psycopg.errors.DuplicateColumn):
            pass  # another process created it first

    def commit(self) -> None:
        if not self.postgres:
            self.conn.commit()

    def columns(self, table: str) -> set[str]:
        if self.postgres:
            return {r[0] for r in self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
                (table,))}
        return {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def tables(self) -> set[str]:
        if self.postgres:
            return {r[0] for r in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def size(self) -> int | None:
        """Bytes on disk of the SQLite file; None for PostgreSQL, whose files are the server's business."""
        if self.postgres:
            return None
        path = Path(self.conn.execute("PRAGMA database_list").fetchone()[2])
        return path.stat().st_size

    def vacuum(self) -> None:
        self.conn.execute("VACUUM")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.commit()
        self.close()


def open_checkpointer(target: Target, serde: Any) -> Any:
    """The LangGraph checkpointer for ``target``; its connection is ``.conn`` (close it when done)."""
    if not is_postgres(target):
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        saver: Any = SqliteSaver(sqlite3.connect(str(path), check_same_thread=False), serde=serde)
        saver.setup()
        return saver
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    # The settings PostgresSaver documents for a connection it does not own.
    saver = PostgresSaver(_pg_connect(str(target), prepare_threshold=0, row_factory=dict_row), serde=serde)
    # Its migrations are not safe to run twice at once (a team's first runs may start together): one at a time.
    # Polled, not waited for: a session waiting on the lock would hold a transaction open, which the
    # migrations' CREATE INDEX CONCURRENTLY must wait out, and the two would deadlock.
    deadline = time.monotonic() + 120
    while not saver.conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK,)).fetchone()["got"]:
        if time.monotonic() > deadline:
            raise DatabaseError(f"{describe(str(target))}: another process has been setting up the tables for 2 minutes")
        time.sleep(0.05)
    try:
        saver.setup()
    finally:
        saver.conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    return saver
