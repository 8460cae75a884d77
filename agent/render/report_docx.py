"""The run report as a Word document: the report's own Markdown, parsed with markdown-it-py, laid out with python-docx."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from agent.render.docx import EPOCH, Styles, reproducible


def _inline(paragraph: Any, token: Any) -> None:
    """Add an inline token's text as runs, bold and italic where the Markdown says so."""
    bold = italic = False
    for child in token.children or ():
        kind = child.type
        if kind == "strong_open":
            bold = True
        elif kind == "strong_close":
            bold = False
        elif kind == "em_open":
            italic = True
        elif kind == "em_close":
            italic = False
        elif kind in ("text", "code_inline"):
            run = paragraph.add_run(child.content)
            run.bold, run.italic = bold or None, italic or None
        elif kind in ("softbreak", "hardbreak"):
            paragraph.add_run(" ")


def _cell_text(token: Any) -> str:
    if not token.children:
        return str(token.content)
    parts = []
    for c in token.children:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type == "html_inline" and c.content.lower().startswith("<br"):
            parts.append("\n")
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def report_docx(markdown: str, title: str) -> bytes:
    """Word rendering of report.md: headings, paragraphs, bullet and numbered lists, tables, quotes, code."""
    from docx import Document
    from markdown_it import MarkdownIt

    tokens: Sequence[Any] = MarkdownIt("commonmark").enable("table").parse(markdown)
    document = Document()
    props = document.core_properties
    props.title, props.author, props.last_modified_by = title, "Compliance agent", "Compliance agent"
    props.created = props.modified = EPOCH
    props.revision = 1
    st = Styles(document)
    st.heading(title, 0)
    lists: list[str] = []  # "List Bullet" / "List Number" for each open list
    quote = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open":
            level = min(int(t.tag[1]), 4)  # the document's title is level 0, added first
            st.heading(_cell_text(tokens[i + 1]), level)
            i += 3
            continue
        if t.type in ("bullet_list_open", "ordered_list_open"):
            lists.append("List Bullet" if t.type == "bullet_list_open" else "List Number")
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t.type == "blockquote_open":
            quote += 1
        elif t.type == "blockquote_close":
            quote -= 1
        elif t.type == "paragraph_open":
            style = lists[-1] if lists else None
            paragraph = st.add(style=style)
            _inline(paragraph, tokens[i + 1])
            if quote:
                for run in paragraph.runs:
                    run.italic = True
            i += 3
            continue
        elif t.type in ("fence", "code_block"):
            st.add().add_run(t.content.rstrip("\n")).font.name = "Courier New"
        elif t.type == "table_open":
            rows: list[list[str]] = []
            j = i + 1
            while tokens[j].type != "table_close":
                if tokens[j].type == "tr_open":
                    rows.append([])
                elif tokens[j].type == "inline":
                    rows[-1].append(_cell_text(tokens[j]))
                j += 1
            if rows:
                width = max(len(r) for r in rows)
                grid = document.add_table(rows=len(rows), cols=width)
                grid.style = "Table Grid"
                # python-docx works out a row's cells anew on every access: read each row's cells once
                for r, (line, values) in enumerate(zip(grid.rows, rows, strict=True)):
                    for cell, value in zip(line.cells, values, strict=False):
                        run = cell.paragraphs[0].add_run(value)
                        run.bold = True if r == 0 else None
            i = j + 1
            continue
        i += 1
    raw = io.BytesIO()
    document.save(raw)
    return reproducible(raw.getvalue())

