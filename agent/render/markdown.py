"""A structured policy draft as Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agent.models import DraftCitation, DraftDocument, DraftTable


def by_source(citations: Iterable[DraftCitation]) -> Iterator[tuple[DraftCitation, list[DraftCitation]]]:
    """Citations grouped by source, in first-cited order: the source once, then each locator and quote."""
    groups: dict[str, list[DraftCitation]] = {}
    for c in citations:
        groups.setdefault(c.source_id, []).append(c)
    for group in groups.values():
        yield group[0], group


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(t: DraftTable) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in t.header) + " |", "| " + " | ".join("---" for _ in t.header) + " |"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return out


def draft_markdown(doc: DraftDocument) -> str:
    """The draft as Markdown: numbered sections and clauses, one table per section at most, citations last."""
    out: list[str] = [f"# {doc.title}", ""]
    out += table(DraftTable(header=("Field", "Value"), rows=tuple(doc.control)))
    out += ["", *(f"> {line}" for line in doc.notice.splitlines()), ""]
    for n, section in enumerate(doc.sections, start=1):
        out += [f"## {n}. {section.heading}", ""]
        for para in section.paragraphs:
            out += [para, ""]
        for m, clause in enumerate(section.clauses, start=1):
            ref = f" [{clause.requirement_id}]" if clause.requirement_id else ""
            out += [f"### {n}.{m} {clause.title or ''}{ref}".rstrip(), "", clause.text]
            if clause.basis:
                out += ["", f"*Basis: {clause.basis}.*"]
            for note in clause.notes:
                out += ["", f"*{note}*"]
            if clause.steps:
                out += ["", "Operating steps proposed for the Company (confirm before adoption):", ""]
                out += [f"{k}. {step}" for k, step in enumerate(clause.steps, start=1)]
            out.append("")
        if section.bullets:
            out += [f"- {b}" for b in section.bullets] + [""]
        if section.table is not None:
            out += table(section.table) + [""]
    if doc.citations:
        out += [f"## {len(doc.sections) + 1}. Regulatory basis", ""]
        for first, group in by_source(doc.citations):
            as_of = f" (as of {first.as_of})" if first.as_of else ""
            out.append(f"- [{first.source_id}] {first.title}, {first.publisher}, {first.tier}; {first.where or 'no public address'}{as_of}")
            for c in group:
                if c.quote:
                    state = "verified" if c.verified else "awaiting verification"
                    seen = f"; seen at {c.page}" if c.page and c.page != first.where else ""
                    out.append(f'  - {c.locator or "quote"}: "{c.quote}" ({state}{seen})')
                elif c.locator:
                    out.append(f"  - {c.locator}")
        out.append("")
    if doc.placeholders:
        out += ["## For the reviewer", "", "Fill in before approval:", ""]
        out += [f"- {p}" for p in doc.placeholders] + [""]
    return "\n".join(out)
