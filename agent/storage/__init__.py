"""The run database: one entry point that opens a graph over its checkpointer and always closes it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def checkpointed(db_path: str | Path, build: Callable[..., Any] | None = None) -> Iterator[Any]:
    """A compiled graph (the pipeline unless ``build`` says otherwise) checkpointed in ``db_path``: a SQLite file or a PostgreSQL URL."""
    from graphs.pipeline import build as build_pipeline
    from graphs.pipeline import open_checkpointer

    saver = open_checkpointer(db_path)
    try:
        yield (build or build_pipeline)(checkpointer=saver)
    finally:
        saver.conn.close()
