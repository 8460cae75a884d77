"""Hostile spreadsheets: lying workbook archives, decompression bombs, far-away rows and columns.

Like the other hostile inputs, the work runs in a child process with a generous timeout and its peak
memory is measured there; no assertion is about speed.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import pytest

from tests.hostile.test_parsing import (
    LAST,
    MEMORY_LIMIT_MB,
    READ_AND_ASSESS,
    child,
    set_claimed_size,
)
from tools.policies import MAX_UNPACKED_BYTES, MAX_XLSX_CELLS, read_policies

SHEET = "xl/worksheets/sheet1.xml"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{S}"><sheetData>'.encode()
TAIL = b"</sheetData></worksheet>"
# Formatting without text: the byte budget, not the text cap, is what stops it.
UNIT = b'<row spans="1:1"><c s="0"/></row>'
REPEATS = 400_000_000 // len(UNIT)  # about 400 MB of XML


@functools.cache
def _template() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Controls"
    book.active["A1"] = "placeholder"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_with(sheet: bytes | None = None, *, stream: tuple[bytes, int] | None = None) -> bytes:
    """A real workbook whose first sheet's XML is replaced (``stream`` = (unit, repeats) between HEAD and TAIL)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_template())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename != SHEET:
                dst.writestr(info.filename, src.read(info.filename))
            elif stream is None:
                dst.writestr(info.filename, sheet or b"")
            else:
                unit, repeats = stream
                block = unit * ((1 << 20) // len(unit))
                with dst.open(info.filename, "w") as member:
                    member.write(HEAD)
                    per_block = len(block) // len(unit)
                    for _ in range(repeats // per_block):
                        member.write(block)
                    member.write(unit * (repeats % per_block))
                    member.write(TAIL)
    return out.getvalue()


def rows(*cells: tuple[int, str, str]) -> bytes:
    """Sheet XML with inline-string cells at (row, column letters, text)."""
    body = "".join(f'<row r="{r}"><c r="{col}{r}" t="inlineStr"><is><t>{text}</t></is></c></row>' for r, col, text in cells)
    return HEAD + body.encode() + TAIL


def test_a_plain_rebuilt_sheet_reads(tmp_path: Path) -> None:
    (tmp_path / "register.xlsx").write_bytes(xlsx_with(rows((1, "A", "Control"), (4, "B", LAST))))

    folder = read_policies(tmp_path)

    [document] = folder.documents
    assert document.path == "register.xlsx#Controls" and document.lines == ("Control", "", "", LAST)


@pytest.mark.parametrize("claimed", [10_000, 100_000_000], ids=["claims-10kB", "claims-100MB"])
def test_workbook_whose_headers_understate_a_sheet_is_skipped_in_bounded_memory(tmp_path: Path, claimed: int) -> None:
    honest = xlsx_with(stream=(UNIT, REPEATS))
    assert zipfile.ZipFile(io.BytesIO(honest)).getinfo(SHEET).file_size > 390_000_000
    lying = set_claimed_size(honest, SHEET, claimed)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo(SHEET).file_size == claimed
    (tmp_path / "bomb.xlsx").write_bytes(lying)
    (tmp_path / "fine.md").write_text(LAST + "\n", encoding="utf-8")

    out = child(READ_AND_ASSESS, str(tmp_path))

    assert out["documents"] == ["fine.md"]
    [warning] = out["warnings"]
    assert warning.startswith("bomb.xlsx: ") and warning.endswith("; skipped")
    if claimed > MAX_UNPACKED_BYTES:  # the claim is within reach of the budget: the budget stops it
        assert f"too large when unpacked (unpacks to more than {MAX_UNPACKED_BYTES:,} bytes)" in warning
    else:  # zipfile stops at the claimed size and the CRC check fails
        assert f"corrupt or unreadable .xlsx ({SHEET}: Bad CRC-32" in warning
    assert out["peak_mb"] < MEMORY_LIMIT_MB


def test_workbook_whose_sheet_inflates_beyond_the_budget_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "bomb.xlsx").write_bytes(xlsx_with(stream=(UNIT, REPEATS)))

    out = child(READ_AND_ASSESS, str(tmp_path))

    assert out["warnings"] == [f"bomb.xlsx: too large when unpacked (unpacks to more than {MAX_UNPACKED_BYTES:,} bytes); skipped"]
    assert out["peak_mb"] < MEMORY_LIMIT_MB


def test_rows_claiming_the_last_column_are_bounded_by_the_cell_budget(tmp_path: Path) -> None:
    # every row is one cell at column XFD (16,384): a reader filling rows would build 16,384 cells per row
    unit = b'<row><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'
    (tmp_path / "wide.xlsx").write_bytes(xlsx_with(stream=(unit, 200_000)))
    (tmp_path / "fine.md").write_text(LAST + "\n", encoding="utf-8")

    out = child(READ_AND_ASSESS, str(tmp_path))

    assert out["documents"] == ["fine.md"]
    assert out["warnings"] == [f"wide.xlsx: too complex (more than {MAX_XLSX_CELLS:,} cells); skipped"]
    assert out["peak_mb"] < MEMORY_LIMIT_MB


def test_a_row_number_far_beyond_the_sheet_is_bounded(tmp_path: Path) -> None:
    # rows are numbered by the file: the gap up to row 999,999,999 would be filled with empty rows
    (tmp_path / "far.xlsx").write_bytes(xlsx_with(rows((1, "A", "Control"), (999_999_999, "A", LAST))))

    out = child(READ_AND_ASSESS, str(tmp_path))

    assert out["documents"] == []
    assert out["warnings"] == [f"far.xlsx: too complex (more than {MAX_XLSX_CELLS:,} cells); skipped"]
    assert out["peak_mb"] < MEMORY_LIMIT_MB


def test_sheets_of_the_same_name_stay_apart(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "AML"
    book.active["A1"] = "first sheet"
    book.create_sheet("KYC")["A1"] = LAST
    out = io.BytesIO()
    book.save(out)
    renamed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, zipfile.ZipFile(renamed, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data.replace(b'name="KYC"', b'name="AML"') if info.filename == "xl/workbook.xml" else data)
    (tmp_path / "twice.xlsx").write_bytes(renamed.getvalue())

    folder = read_policies(tmp_path)

    assert [(d.path, d.lines) for d in folder.documents] == [
        ("twice.xlsx#AML", ("first sheet",)), ("twice.xlsx#AML (2)", (LAST,)),
    ]


def test_a_csv_cell_longer_than_the_csv_module_allows_is_read(tmp_path: Path) -> None:
    (tmp_path / "long.csv").write_text('id,"' + "word " * 60_000 + LAST + '"\n', encoding="utf-8")

    folder = read_policies(tmp_path)

    [document] = folder.documents
    assert document.lines[0].endswith(LAST) and folder.warnings == ()
