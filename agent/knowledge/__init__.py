"""The embedded knowledge pack: loading, validation and full-text search."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources

from agent.knowledge.schema import Pack

BASELINE = "INTL"


class PackError(RuntimeError):
    """The shipped pack failed validation: a packaging bug, never user input."""


def available() -> tuple[str, ...]:
    files = resources.files("agent.knowledge").joinpath("data")
    return tuple(sorted(p.name[:-5].upper() for p in files.iterdir() if p.name.endswith(".json")))


@cache
def load(code: str) -> Pack:
    """Load and validate one pack; raises PackError when it is malformed."""
    path = resources.files("agent.knowledge").joinpath("data", f"{code.lower()}.json")
    try:
        return Pack.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise PackError(f"no knowledge pack for {code!r}") from exc
    except ValueError as exc:
        raise PackError(f"knowledge pack {code!r} is invalid: {exc}") from exc


def pack_for(jurisdiction: str) -> tuple[Pack, bool]:
    """The pack for a jurisdiction, or the international baseline (second value True)."""
    if jurisdiction.upper() in available() and jurisdiction.upper() != BASELINE:
        return load(jurisdiction), False
    return load(BASELINE), True


@dataclass(frozen=True)
class Hit:
    pack: str
    kind: str  # "fact" | "requirement" | "source"
    id: str
    text: str
    score: float


_TOKEN = re.compile(r"[A-Za-z0-9]{2,}")


class Index:
    """SQLite FTS5 index over facts, requirements and source quotes of the given packs."""

    def __init__(self, packs: tuple[Pack, ...]):
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE items USING fts5(pack UNINDEXED, kind UNINDEXED, id UNINDEXED, "
            "topics, text, tokenize='porter unicode61')"
        )
        rows: list[tuple[str, str, str, str, str]] = []
        for p in packs:
            rows += [(p.code, "fact", f.id, " ".join(f.topics), f.text) for f in p.facts]
            rows += [
                (p.code, "requirement", r.id, " ".join(r.topics), f"{r.title}. {r.obligation}")
                for r in p.requirements
            ]
            rows += [(p.code, "source", s.id, "", f"{s.title}. {' '.join(s.texts)}") for s in p.sources]
        self._db.executemany("INSERT INTO items VALUES (?,?,?,?,?)", rows)

    def search(self, query: str, *, limit: int = 8, kinds: tuple[str, ...] = ()) -> list[Hit]:
        terms = [t.lower() for t in _TOKEN.findall(query)]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = "SELECT pack, kind, id, text, bm25(items) FROM items WHERE items MATCH ?"
        args: list[object] = [match]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        sql += " ORDER BY bm25(items) LIMIT ?"
        args.append(limit)
        return [
            Hit(pack, kind, item_id, text, score=-rank)
            for pack, kind, item_id, text, rank in self._db.execute(sql, args)
        ]


@cache
def index_for(*codes: str) -> Index:
    return Index(tuple(load(c) for c in codes))
