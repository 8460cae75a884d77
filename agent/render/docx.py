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


class Styles:
    """Paragraph styles by name, resolved to their ids once: python-docx looks a style up by name on every use,
    which costs about a millisecond per paragraph."""

    def __init__(self, document) -> None:  # noqa: ANN001 - python-docx Document
        self.document = document
        self.ids: dict[str, str] = {}

    def add(self, text: str = "", style: str | None = None):  # noqa: ANN201 - python-docx Paragraph
        paragraph = self.document.add_paragraph(text)
        if style is not None:
            sid = self.ids.get(style)
            if sid is None:
                sid = self.ids[style] = self.document.styles[style].style_id
            paragraph._p.style = sid
        return paragraph

    def heading(self, text: str, level: int):  # noqa: ANN201
        return self.add(text, "Title" if level == 0 else f"Heading {level}")


def _table(document, t: DraftTable) -> None:  # noqa: ANN001 - python-docx Document
    grid = document.add_table(rows=1 + len(t.rows), cols=len(t.header))
    grid.style = "Table Grid"
    # python-docx works out a row's cells anew on every access: read each row's cells once
    for r, (row, values) in enumerate(zip(grid.rows, (t.header, *t.rows), strict=True)):
        for cell, value in zip(row.cells, values, strict=False):
            if r == 0:
                cell.paragraphs[0].add_run(value).bold = True
            else:
                cell.paragraphs[0].add_run(value)


def _italic(styles: Styles, text: str) -> None:
    styles.add().add_run(text).italic = True


def draft_docx(doc: DraftDocument) -> bytes:
    """The draft as .docx: real headings, numbered clauses, tables and a citations list."""
    from docx import Document

    document = Document()
    props = document.core_properties
    props.title, props.author, props.last_modified_by = doc.title, "Compliance agent", "Compliance agent"
    props.created = props.modified = EPOCH
    props.revision = 1
    st = Styles(document)
    st.heading(doc.title, 0)
    _table(document, DraftTable(header=("Field", "Value"), rows=tuple(doc.control)))
    _italic(st, doc.notice)
    for n, section in enumerate(doc.sections, start=1):
        st.heading(f"{n}. {section.heading}", 1)
        for para in section.paragraphs:
            st.add(para)
        for m, clause in enumerate(section.clauses, start=1):
            ref = f" [{clause.requirement_id}]" if clause.requirement_id else ""
            st.heading(f"{n}.{m} {clause.title or ''}{ref}".rstrip(), 2)
            st.add(clause.text)
            if clause.basis:
                _italic(st, f"Basis: {clause.basis}.")
            for note in clause.notes:
                _italic(st, note)
            if clause.steps:
                st.add("Operating steps proposed for the Company (confirm before adoption):")
                for step in clause.steps:
                    st.add(step, "List Number")
        for bullet in section.bullets:
            st.add(bullet, "List Bullet")
        if section.table is not None:
            _table(document, section.table)
    if doc.citations:
        st.heading(f"{len(doc.sections) + 1}. Regulatory basis", 1)
        for first, group in by_source(doc.citations):
            as_of = f" (as of {first.as_of})" if first.as_of else ""
            item = st.add(style="List Number")
            item.add_run(f"[{first.source_id}] ").bold = True
            item.add_run(f"{first.title}, {first.publisher}, {first.tier}; {first.where or 'no public address'}{as_of}")
            for c in group:
                if c.quote:
                    state = "verified" if c.verified else "awaiting verification"
                    seen = f"; seen at {c.page}" if c.page and c.page != first.where else ""
                    st.add(f'{c.locator or "quote"}: "{c.quote}" ({state}{seen})', "List Bullet 2")
                elif c.locator:
                    st.add(c.locator, "List Bullet 2")
    if doc.placeholders:
        st.heading("For the reviewer", 1)
        st.add("Fill in before approval:")
        for p in doc.placeholders:
            st.add(p, "List Bullet")
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
