"""A structured policy draft as a Word document (python-docx), byte-for-byte reproducible."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from agent.models import DraftDocument, DraftTable
from agent.render.markdown import by_source

# Fixed document dates and zip entry times: an unchanged draft renders to the same bytes, so a re-run
# finds the file unchanged and a person's edit is told apart from a new version by its hash.
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _table(document, t: DraftTable) -> None:  # noqa: ANN001 - python-docx Document
    grid = document.add_table(rows=1 + len(t.rows), cols=len(t.header))
    grid.style = "Table Grid"
    for k, head in enumerate(t.header):
        cell = grid.rows[0].cells[k]
        cell.text = ""
        cell.paragraphs[0].add_run(head).bold = True
    for r, row in enumerate(t.rows, start=1):
        for k, value in enumerate(row):
            grid.rows[r].cells[k].text = value


def _italic(document, text: str) -> None:  # noqa: ANN001
    document.add_paragraph().add_run(text).italic = True


def draft_docx(doc: DraftDocument) -> bytes:
    """The draft as .docx: real headings, numbered clauses, tables and a citations list."""
    from docx import Document

    document = Document()
    props = document.core_properties
    props.title, props.author, props.last_modified_by = doc.title, "Compliance agent", "Compliance agent"
    props.created = props.modified = EPOCH
    props.revision = 1
    document.add_heading(doc.title, level=0)
    _table(document, DraftTable(header=("Field", "Value"), rows=tuple(doc.control)))
    _italic(document, doc.notice)
    for n, section in enumerate(doc.sections, start=1):
        document.add_heading(f"{n}. {section.heading}", level=1)
        for para in section.paragraphs:
            document.add_paragraph(para)
        for m, clause in enumerate(section.clauses, start=1):
            ref = f" [{clause.requirement_id}]" if clause.requirement_id else ""
            document.add_heading(f"{n}.{m} {clause.title or ''}{ref}".rstrip(), level=2)
            document.add_paragraph(clause.text)
            if clause.basis:
                _italic(document, f"Basis: {clause.basis}.")
            for note in clause.notes:
                _italic(document, note)
            if clause.steps:
                document.add_paragraph("Operating steps proposed for the Company (confirm before adoption):")
                for step in clause.steps:
                    document.add_paragraph(step, style="List Number")
        for bullet in section.bullets:
            document.add_paragraph(bullet, style="List Bullet")
        if section.table is not None:
            _table(document, section.table)
    if doc.citations:
        document.add_heading(f"{len(doc.sections) + 1}. Regulatory basis", level=1)
        for first, group in by_source(doc.citations):
            as_of = f" (as of {first.as_of})" if first.as_of else ""
            item = document.add_paragraph(style="List Number")
            item.add_run(f"[{first.source_id}] ").bold = True
            item.add_run(f"{first.title}, {first.publisher}, {first.tier}; {first.where or 'no public address'}{as_of}")
            for c in group:
                if c.quote:
                    state = "verified" if c.verified else "awaiting verification"
                    document.add_paragraph(f'{c.locator or "quote"}: "{c.quote}" ({state})', style="List Bullet 2")
                elif c.locator:
                    document.add_paragraph(c.locator, style="List Bullet 2")
    if doc.placeholders:
        document.add_heading("For the reviewer", level=1)
        document.add_paragraph("Fill in before approval:")
        for p in doc.placeholders:
            document.add_paragraph(p, style="List Bullet")
    raw = io.BytesIO()
    document.save(raw)
    return reproducible(raw.getvalue())


def reproducible(data: bytes) -> bytes:
    """The same zip with fixed entry times and order (python-docx stamps entries with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
