"""Answers from the knowledge pack by retrieval (chat without a model): every item with its citation."""

from __future__ import annotations

from dataclasses import dataclass

from agent.knowledge import BASELINE, Hit, available, index_for, load
from agent.knowledge.schema import PackFact, PackRequirement

# Question words carry no meaning for full-text search and would swamp bm25 with noise.
_STOP = frozenset("""
a an the and or of in on at to for from by with about into over under is are was were be been being do does did
what which who whom whose when where why how can could should would will shall may might must need needs
i we you it they he she this that these those there here our your my their its as if than then so not no
any all some much many more most tell me please explain give list know required require requirement requirements
""".split())


@dataclass(frozen=True)
class Cited:
    kind: str
    id: str
    text: str
    pack: str
    citations: tuple[tuple[str, str], ...]  # (source id, locator or "")


def _packs_for(codes: list[str]) -> list[str]:
    have = set(available())
    local = [c for c in codes if c in have and c != BASELINE]
    return [*local, BASELINE] if local else ([*[c for c in have if c != BASELINE], BASELINE] if not codes else [BASELINE])


def describe(source_id: str) -> str:
    """"title — publisher; URL or legal id (as of date)" for a pack source id."""
    for code in available():
        s = next((x for x in load(code).sources if x.id == source_id), None)
        if s is not None:
            return f"{s.title} — {s.publisher}; {s.url or s.legal_id or ''} (retrieved {s.retrieved})"
    return source_id


def retrieve(question: str, jurisdictions: list[str], limit: int = 5) -> list[Cited]:
    """Pack items most related to the question, each with its sources; [] when nothing matches."""
    terms = [w for w in question.replace("?", " ").split() if w.lower().strip(".,;:!()\"'") not in _STOP]
    codes = _packs_for(jurisdictions)
    hits: list[Hit] = index_for(*codes).search(" ".join(terms), limit=limit * 3, kinds=("fact", "requirement"))
    out: list[Cited] = []
    for h in hits:
        pack = load(h.pack)
        items: tuple[PackFact | PackRequirement, ...] = (*pack.facts, *pack.requirements)
        item = next((x for x in items if x.id == h.id), None)
        if item is None:
            continue
        out.append(Cited(kind=h.kind, id=h.id, text=h.text, pack=h.pack,
                         citations=tuple(dict.fromkeys((c.source_id, c.locator or "") for c in item.citations))))
        if len(out) == limit:
            break
    return out


def answer(question: str, jurisdictions: list[str]) -> tuple[str, list[str]]:
    """The reply text and the source ids it cites."""
    from agent.knowledge import pack_for

    items = retrieve(question, jurisdictions)
    lines = ["No model is configured (set OPENAI_API_KEY for conversational answers), so this answer is "
             "retrieved from the built-in knowledge pack, most relevant first:"]
    if jurisdictions and all(pack_for(j)[1] for j in jurisdictions):
        lines.append(f"(No local pack for {', '.join(jurisdictions)}: international baseline standards only, not local law.)")
    if not items:
        return lines[0] + "\n\nNothing in the pack matches that question. Try naming the topic (custody, "\
            "stablecoin, AML, licensing, capital) and the jurisdiction, or /run <topic> <jurisdiction>.", []
    sources: list[str] = []
    for n, it in enumerate(items, start=1):
        label = "Requirement" if it.kind == "requirement" else "Fact"
        baseline = " (international baseline)" if it.pack == BASELINE else ""
        by_source: dict[str, list[str]] = {}
        for sid, loc in it.citations:
            by_source.setdefault(sid, []).append(loc)
            sources.append(sid)
        cites = "; ".join(f"[{sid}]" + (f" {', '.join(x for x in locs if x)}" if any(locs) else "") for sid, locs in by_source.items())
        lines.append(f"\n{n}. {label} {it.id}{baseline}: {it.text}\n   Cited: {cites}")
    ids = list(dict.fromkeys(sources))
    lines.append("\nSources:")
    lines += [f"  [{sid}] {describe(sid)}" for sid in ids]
    return "\n".join(lines), ids
