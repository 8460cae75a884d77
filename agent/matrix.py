"""The comparison matrix: one row per question a licensing team asks, one column per jurisdiction, every cell cited."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.embedded import quote_in, regime_filter, source_texts, to_citation
from agent.knowledge import pack_for
from agent.knowledge.schema import Pack, PackCitation, PackRequirement, Quantity
from agent.models import Citation, ComparisonCell, ComparisonRow, Scope

ROWS: tuple[tuple[str, str], ...] = (
    ("status", "Status"),
    ("regulators", "Regulator(s)"),
    ("licences", "Licence(s)"),
    ("capital", "Minimum capital"),
    ("reserves", "Reserves / backing"),
    ("redemption", "Redemption"),
    ("retail", "Retail limits"),
    ("travel_rule", "Travel rule"),
    ("dates", "Key dates"),
)
# The rows a short summary shows (the CLI table, a chat answer); the report shows them all.
HEADLINE_ROWS = ("status", "regulators", "licences", "capital")
MAX_ITEMS = 3
NOTHING = "—"

_CAPITAL = re.compile(r"\b(?:capital|own funds|net worth|paid[- ]up)\b", re.IGNORECASE)
_REDEEM = re.compile(r"\bredee?m", re.IGNORECASE)
_RETAIL = re.compile(r"\bretail\b", re.IGNORECASE)
_LIMIT = re.compile(r"\b(?:limits?|restrict\w*|caps?|bans?|prohibit\w*|appropriateness|cooling[- ]off|knowledge test|suitab\w*)\b",
                    re.IGNORECASE)
_TRAVEL = re.compile(r"\b(?:travel rule|originator|transfer of funds|beneficiary information|wire transfer)", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """What one jurisdiction's pack says for the query's topics (and regime, when the query named one)."""

    scope: Scope
    pack: Pack
    baseline: bool
    regime: str | None

    @property
    def label(self) -> str:
        name = self.scope.jurisdiction_name + (" (international baseline)" if self.baseline else "")
        return f"{self.regime} ({name})" if self.regime else name

    def requirements(self, any_topic: bool = False) -> list[PackRequirement]:
        return [r for r in self.pack.requirements
                if (any_topic or set(r.topics) & set(self.scope.topics))
                and (self.regime is None or r.regime == self.regime)]


def column(scope: Scope) -> Column:
    pack, baseline = pack_for(scope.jurisdiction)
    return Column(scope, pack, baseline, regime_filter(pack, scope))


def _cite(col: Column, cites: Sequence[PackCitation]) -> tuple[Citation, ...]:
    """The first quoted citation (else the first), verified against the stored excerpts."""
    chosen = next((c for c in cites if c.quote), cites[0] if cites else None)
    if chosen is None:
        return ()
    c = to_citation(chosen, col.pack)
    texts = source_texts(col.scope.jurisdiction)
    return (c.model_copy(update={"verified": bool(c.quote and quote_in(c.quote, texts.get(c.source_id, "")))}),)


def _cell(col: Column, items: Sequence[tuple[str, Sequence[PackCitation]]], limit: int = MAX_ITEMS) -> ComparisonCell:
    items = list(dict.fromkeys((t, tuple(c)) for t, c in items))[:limit]
    if not items:
        return ComparisonCell(text=NOTHING)
    cites = tuple(dict.fromkeys(c for _, cs in items for c in _cite(col, cs)))
    return ComparisonCell(text="; ".join(t for t, _ in items), citations=cites)


def _quantity_items(col: Column, reqs: Sequence[PackRequirement], keep: Callable[[PackRequirement, str, Quantity], bool]
                    ) -> list[tuple[str, Sequence[PackCitation]]]:
    from agent.quantities import rule_text

    out: list[tuple[str, Sequence[PackCitation]]] = []
    for r in reqs:
        for el in r.elements:
            q = el.quantity
            if q is not None and keep(r, el.name, q):
                cite = PackCitation(source_id=q.source_id, quote=q.quote, locator=q.locator)
                figure = rule_text(q) if q.comparator == "at_least" else f"threshold {q.unit} {q.value:,.0f}"
                out.append((f"{figure} ({r.title})", [cite]))
    return out


def _req_items(reqs: Sequence[PackRequirement]) -> list[tuple[str, Sequence[PackCitation]]]:
    return [(r.title, r.citations) for r in reqs]


def cells(col: Column) -> dict[str, ComparisonCell]:
    reqs = col.requirements()
    every = col.requirements(any_topic=True)
    statuses = [(f"{s.topic.replace('_', ' ')}: {s.status} ({s.confidence.lower()} confidence)", s.citations)
                for s in col.pack.statuses if s.topic in col.scope.topics]
    regimes = {r.regime for r in reqs} if col.regime is None else {col.regime}
    authorities = [(a.name, a.citations) for a in col.pack.authorities if set(a.regimes) & regimes]
    licences = [r for r in reqs if r.domain == "licensing_and_authorization" and not _CAPITAL.search(r.title)]
    capital = _quantity_items(col, reqs, lambda r, name, q: q.kind == "amount" and bool(
        _CAPITAL.search(name) or _CAPITAL.search(r.title)))
    reserves = [r for r in reqs if r.domain == "reserve_requirements" and not _REDEEM.search(r.title)]
    redemption = [r for r in reqs if _REDEEM.search(r.title)] or [r for r in reqs if _REDEEM.search(r.obligation)]
    retail = [r for r in reqs if _RETAIL.search(f"{r.title} {r.obligation}") and _LIMIT.search(f"{r.title} {r.obligation}")]
    travel = [r for r in every if _TRAVEL.search(f"{r.title} {r.obligation}")]
    thresholds = _quantity_items(col, travel, lambda r, name, q: q.kind in ("amount", "threshold"))
    laws = [leg for leg in col.pack.legislation if set(leg.topics) & set(col.scope.topics) and leg.date_enacted]
    laws.sort(key=lambda leg: (min(leg.topics.index(t) for t in col.scope.topics if t in leg.topics),
                               -leg.date_enacted.toordinal() if leg.date_enacted else 0))
    dates = [(f"{leg.name}: {leg.date_enacted}", [PackCitation(source_id=leg.source_id)]) for leg in laws]
    return {
        "status": _cell(col, statuses),
        "regulators": _cell(col, authorities, limit=5),
        "licences": _cell(col, _req_items(licences)),
        "capital": _cell(col, capital),
        "reserves": _cell(col, _req_items(reserves)),
        "redemption": _cell(col, _req_items(redemption)),
        "retail": _cell(col, _req_items(retail)),
        "travel_rule": _cell(col, thresholds or _req_items(travel)),
        "dates": _cell(col, dates),
    }


def build_matrix(scopes: Sequence[Scope]) -> tuple[list[Column], tuple[ComparisonRow, ...]]:
    """Columns for the scopes and the matrix rows, each cell from that jurisdiction's pack, cited."""
    cols = [column(s) for s in scopes]
    by_col = [cells(c) for c in cols]
    rows = tuple(ComparisonRow(key=key, label=label, cells=tuple(cs[key] for cs in by_col)) for key, label in ROWS)
    return cols, rows
