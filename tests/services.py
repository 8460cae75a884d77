"""Throwaway servers the tests start and stop themselves: PostgreSQL on a unix socket, no TCP port.

The OS package provides the server (`.ci/run` installs it when missing). Without it these tests skip, saying
so, unless AGENT_TEST_REQUIRE_SERVICES=1 (CI), when a missing server is a failure.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def missing(what: str) -> None:
    """Skip for want of a server, or fail when CI said every service must be there."""
    if os.environ.get("AGENT_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} (AGENT_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(what)


def pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    return Path(dirs[-1]) if dirs else None


def _as_server_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; the OS package creates the "postgres" account.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    """One server for the session; each test gets a fresh database on it (``new_database``)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.data, self.sock = root / "data", root / "sock"

    def start(self) -> None:
        self.sock.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
        subprocess.run(_as_server_user([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                        "--no-sync", "-E", "UTF8", "--locale", "C"]),
                       check=True, capture_output=True, timeout=120)
        opts = f"-k {self.sock} -c listen_addresses='' -F -c max_connections=200"
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                                        str(self.root / "server.log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.sock}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        missing("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="agent-pg-"))
    server = PostgresServer(bindir, root)  # type: ignore[arg-type]
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
