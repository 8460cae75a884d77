"""Rows for `agent pack list`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from agent.knowledge import available, load
from agent.knowledge.verify import stale_items


def pack_rows(today: dt.date | None = None) -> list[dict[str, Any]]:
    today = today or dt.date.today()
    rows = []
    for code in available():
        pack = load(code)
        tiers = Counter(s.tier for s in pack.sources)
        retrieved = [q.retrieved for s in pack.sources for q in s.quotes]
        rows.append({
            "code": pack.code, "name": pack.name, "version": pack.version, "as_of": str(pack.as_of),
            "regimes": sorted(pack.regimes), "sources": len(pack.sources), "sources_by_tier": dict(tiers),
            "quotes": sum(len(s.quotes) for s in pack.sources), "facts": len(pack.facts),
            "requirements": len(pack.requirements), "topics_with_status": len(pack.statuses),
            "retrieved": f"{min(retrieved)} to {max(retrieved)}" if retrieved else None,
            "stale": sum(len(stale_items(s, today)) for s in pack.sources),
        })
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Knowledge packs", title_justify="left")
    for col in ("code", "jurisdiction", "version", "as of", "regimes", "sources", "quotes", "facts", "requirements", "retrieved", "stale"):
        table.add_column(col, justify="right" if col in ("sources", "quotes", "facts", "requirements", "stale") else "left")
    for r in rows:
        table.add_row(r["code"], r["name"], r["version"], r["as_of"], ", ".join(r["regimes"]), str(r["sources"]),
                      str(r["quotes"]), str(r["facts"]), str(r["requirements"]), r["retrieved"] or "—", str(r["stale"]))
    Console(highlight=False).print(table)
