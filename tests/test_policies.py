"""Reading a company's policy folder: text, sections, line numbers and the safety rules."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from tests.pdfgen import pdf, text_stream
from tools.policies import PolicyFolder, PolicyFolderError, read_policies


def _doc(folder: PolicyFolder, path: str):
    return next(d for d in folder.documents if d.path == path)


def _warning(folder: PolicyFolder, path: str) -> str:
    hits = [w for w in folder.warnings if w.startswith(f"{path}:")]
    assert hits, f"no warning for {path}: {folder.warnings}"
    return hits[0]


def make_pdf(pages: list[list[str]]) -> bytes:
    return pdf([text_stream(lines) for lines in pages])


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every entry (hidden ones too) with its mtime and content hash."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            snap[str(path.relative_to(folder))] = (info.st_mtime_ns, digest)
    return snap


# --- text formats and sections -------------------------------------------------

MARKDOWN = """Intro before any heading.

# AML Policy

Owner: Compliance.

## 1. Customer due diligence
```bash
# not a heading inside code
```
Verify every customer.

Record keeping
--------------
Keep records for five years.
"""


def test_markdown_sections_have_correct_line_ranges(tmp_path: Path) -> None:
    (tmp_path / "aml.md").write_text(MARKDOWN, encoding="utf-8")

    doc = _doc(read_policies(tmp_path), "aml.md")

    assert doc.kind == "md"
    assert doc.title == "AML Policy"
    assert doc.lines[0] == "Intro before any heading." and len(doc.lines) == 15
    spans = [(s.heading, s.line_start, s.line_end) for s in doc.sections]
    assert spans == [
        ("", 1, 2),
        ("AML Policy", 3, 6),
        ("1. Customer due diligence", 7, 12),
        ("Record keeping", 13, 15),
    ]
    for section in doc.sections:
        assert section.file == "aml.md"
        assert section.text == "\n".join(doc.lines[section.line_start - 1 : section.line_end])
    assert doc.sha256 == hashlib.sha256(MARKDOWN.encode()).hexdigest()


def test_plain_text_numbered_and_all_caps_headings(tmp_path: Path) -> None:
    text = (
        "ANTI-MONEY LAUNDERING POLICY\r\n"
        "\r\n"
        "1. Purpose\r\n"
        "This policy sets the rules.\r\n"
        "2.3 Record keeping\r\n"
        "Records are kept for five years.\r\n"
        "THE BOARD APPROVES THIS POLICY ANNUALLY.\r\n"
        "Article 5 - Sanctions screening\r\n"
        "Screen against the lists.\r\n"
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "aml_policy.TXT").write_bytes(text.encode())

    folder = read_policies(tmp_path)

    doc = _doc(folder, "notes/aml_policy.TXT")
    assert doc.kind == "txt"
    assert all("\r" not in line for line in doc.lines)
    # The sentence in capitals ends with a period, so it stays body text.
    assert [(s.heading, s.line_start, s.line_end) for s in doc.sections] == [
        ("ANTI-MONEY LAUNDERING POLICY", 1, 2),
        ("1. Purpose", 3, 4),
        ("2.3 Record keeping", 5, 7),
        ("Article 5 - Sanctions screening", 8, 9),
    ]
    assert doc.title == "ANTI-MONEY LAUNDERING POLICY"
    assert folder.warnings == ()


def test_title_falls_back_to_humanised_file_name(tmp_path: Path) -> None:
    (tmp_path / "travel_rule-procedure.txt").write_text("we apply the travel rule to transfers.\n")

    doc = _doc(read_policies(tmp_path), "travel_rule-procedure.txt")

    assert doc.title == "Travel Rule Procedure"
    assert [(s.heading, s.line_start, s.line_end) for s in doc.sections] == [("", 1, 1)]


def test_docx_headings_paragraphs_and_table_in_body_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Custody Policy", level=0)
    document.add_paragraph("Client assets are segregated.")
    document.add_heading("Wallet controls", level=1)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Wallet", "Limit"), ("Hot", "5%")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("Cold wallets hold the rest.")
    document.save(tmp_path / "custody.docx")

    doc = _doc(read_policies(tmp_path), "custody.docx")

    assert doc.kind == "docx"
    assert doc.title == "Custody Policy"
    assert doc.lines == (
        "Custody Policy",
        "Client assets are segregated.",
        "Wallet controls",
        "Wallet | Limit",
        "Hot | 5%",
        "Cold wallets hold the rest.",
    )
    assert [(s.heading, s.line_start, s.line_end) for s in doc.sections] == [
        ("Custody Policy", 1, 2),
        ("Wallet controls", 3, 6),
    ]


def test_docx_keeps_tracked_insertions_and_line_breaks(tmp_path: Path) -> None:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    paragraph = document.add_paragraph("Reports go to the ")
    paragraph.add_run("MLRO").add_break()
    paragraph.add_run("within 24 hours")
    # A tracked insertion, as Word writes it with "Track Changes" on.
    paragraph._p.append(
        parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="A"><w:r><w:t xml:space="preserve"> of detection</w:t></w:r></w:ins>')
    )
    document.save(tmp_path / "str.docx")

    doc = _doc(read_policies(tmp_path), "str.docx")

    assert doc.lines == ("Reports go to the MLRO within 24 hours of detection",)


def test_pdf_text_is_extracted_with_numbered_sections(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            ["1. Purpose", "This policy (AML) sets rules."],
            ["2. Scope", "Applies to all staff."],
        ]
    )
    (tmp_path / "aml.PDF").write_bytes(pdf)

    doc = _doc(read_policies(tmp_path), "aml.PDF")

    assert doc.kind == "pdf"
    assert doc.lines == ("1. Purpose", "This policy (AML) sets rules.", "2. Scope", "Applies to all staff.")
    assert [(s.heading, s.line_start, s.line_end) for s in doc.sections] == [
        ("1. Purpose", 1, 2),
        ("2. Scope", 3, 4),
    ]


def test_password_protected_pdf_is_skipped_but_owner_locked_pdf_is_read(tmp_path: Path) -> None:
    import io

    import pypdf

    for name, user_password in [("locked.pdf", "secret"), ("print_only.pdf", "")]:
        writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf([["1. Scope", "All staff"]]))))
        # RC4 works without the optional "cryptography" package; AES would need it.
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
        writer.write(tmp_path / name)

    folder = read_policies(tmp_path)

    assert [(d.path, d.lines) for d in folder.documents] == [("print_only.pdf", ("1. Scope", "All staff"))]
    assert "encrypted PDF" in _warning(folder, "locked.pdf")
    assert len(folder.warnings) == 1


def test_pdf_without_text_is_skipped_as_scanned(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(make_pdf([[]]))

    folder = read_policies(tmp_path)

    assert folder.documents == ()
    assert "no extractable text (scanned?)" in _warning(folder, "scan.pdf")


# --- encodings and binary ------------------------------------------------------


def test_cp1252_text_is_decoded_with_a_warning(tmp_path: Path) -> None:
    text = "Politique de conformité\n“Know your customer” applies to every client.\n"
    (tmp_path / "kyc.txt").write_bytes(text.encode("cp1252"))

    folder = read_policies(tmp_path)

    assert _doc(folder, "kyc.txt").lines == (
        "Politique de conformité",
        "“Know your customer” applies to every client.",
    )
    assert "decoded as cp1252" in _warning(folder, "kyc.txt")


def test_utf8_with_a_few_stray_bytes_keeps_its_text_and_says_so(tmp_path: Path) -> None:
    body = "# Sanctions — screening\nThe MLRO (Zoë Müller) screens every client daily.\n".encode()
    (tmp_path / "sanctions.md").write_bytes(body[:20] + b"\xff" + body[20:])

    folder = read_policies(tmp_path)

    lines = _doc(folder, "sanctions.md").lines
    assert lines[1] == "The MLRO (Zoë Müller) screens every client daily."
    assert "\ufffd" in lines[0] and "—" in lines[0]
    assert "1 byte sequence(s) that are not valid UTF-8 were replaced" in _warning(folder, "sanctions.md")


def test_utf16_with_bom_is_decoded_silently(tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_bytes("# Política\r\nClientes é\r\n".encode("utf-16"))

    folder = read_policies(tmp_path)

    doc = _doc(folder, "policy.md")
    assert doc.lines == ("# Política", "Clientes é")
    assert doc.title == "Política"
    assert folder.warnings == ()


def test_utf8_bom_is_not_part_of_the_first_heading(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_bytes(b"\xef\xbb\xbf# Governance\nBody\n")

    assert _doc(read_policies(tmp_path), "p.md").title == "Governance"


def test_binary_file_with_md_suffix_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "ok.md").write_text("# Fine\n")

    folder = read_policies(tmp_path)

    assert [d.path for d in folder.documents] == ["ok.md"]
    assert "binary content" in _warning(folder, "image.md")


def test_text_in_an_unknown_legacy_encoding_is_skipped_not_garbled(tmp_path: Path) -> None:
    # Russian in cp1251 decodes "successfully" as cp1252 gibberish; it must not become evidence.
    (tmp_path / "ru.txt").write_bytes("Политика противодействия отмыванию денег\n".encode("cp1251"))

    folder = read_policies(tmp_path)

    assert folder.documents == ()
    assert "undecodable" in _warning(folder, "ru.txt")


# --- limits and odd files ------------------------------------------------------


def test_oversized_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 2000)
    (tmp_path / "small.txt").write_text("ok\n")

    folder = read_policies(tmp_path, max_file_bytes=1000)

    assert [d.path for d in folder.documents] == ["small.txt"]
    assert "too large" in _warning(folder, "big.txt")


def test_max_files_reads_the_first_ones_and_warns_once(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"p{i}.md").write_text(f"# P{i}\n")

    folder = read_policies(tmp_path, max_files=3)

    assert [d.path for d in folder.documents] == ["p0.md", "p1.md", "p2.md"]
    assert [w for w in folder.warnings if "only the first 3" in w] == [folder.warnings[0]]
    assert len(folder.warnings) == 1


def test_unsupported_hidden_and_lock_files(tmp_path: Path) -> None:
    (tmp_path / "legacy.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".secret.md").write_text("# hidden\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("# hidden too\n")
    (tmp_path / "~$policy.docx").write_bytes(b"lock")

    folder = read_policies(tmp_path)

    assert folder.documents == ()
    assert len(folder.warnings) == 2  # hidden and lock files are not policy documents: no word about them
    assert "unsupported format (.doc); convert it to .docx" in _warning(folder, "legacy.doc")
    assert "unsupported format (.jpg); skipped" in _warning(folder, "photo.jpg")


def test_corrupt_docx_and_pdf_are_skipped_with_warnings(tmp_path: Path) -> None:
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    (tmp_path / "good.md").write_text("# Good\n")

    folder = read_policies(tmp_path)

    assert [d.path for d in folder.documents] == ["good.md"]
    assert "corrupt or unreadable .docx" in _warning(folder, "broken.docx")
    assert "corrupt or unreadable PDF" in _warning(folder, "broken.pdf")


# --- safety --------------------------------------------------------------------


def test_symlink_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("TOP SECRET salary list\n")
    folder_path = tmp_path / "policies"
    folder_path.mkdir()
    (folder_path / "leak.md").symlink_to(outside / "secret.md")
    (folder_path / "leakdir").symlink_to(outside, target_is_directory=True)

    folder = read_policies(folder_path)

    assert folder.documents == ()
    assert "symlink points outside the policy folder" in _warning(folder, "leak.md")
    assert "symlink points outside the policy folder" in _warning(folder, "leakdir")


def test_symlink_inside_the_folder_is_read_once_under_its_real_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "aml.md").write_text("# AML\n")
    (tmp_path / "a_link.md").symlink_to(tmp_path / "real" / "aml.md")
    (tmp_path / "a_dir").symlink_to(tmp_path / "real", target_is_directory=True)

    folder = read_policies(tmp_path)

    assert [d.path for d in folder.documents] == ["real/aml.md"]
    assert folder.warnings == ()


def test_directory_symlink_cycle_terminates(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.md").write_text("# P\n")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub" / "self").symlink_to(tmp_path / "sub", target_is_directory=True)
    outcome: list[PolicyFolder] = []

    worker = threading.Thread(target=lambda: outcome.append(read_policies(tmp_path)), daemon=True)
    worker.start()
    worker.join(timeout=5)

    assert outcome, "read_policies did not finish on a symlink cycle"
    assert [d.path for d in outcome[0].documents] == ["sub/p.md"]


def test_reading_leaves_the_folder_untouched(tmp_path: Path) -> None:
    import docx

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("# A\nbody\n")
    (tmp_path / "b.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "c.pdf").write_bytes(make_pdf([["1. Scope", "All staff"]]))
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-garbage")
    document = docx.Document()
    document.add_heading("D", 1)
    document.save(tmp_path / "d.docx")
    before = _snapshot(tmp_path)

    folder = read_policies(tmp_path)

    assert len(folder.documents) == 4
    assert _snapshot(tmp_path) == before


def test_missing_or_non_directory_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(PolicyFolderError, match="not found"):
        read_policies(tmp_path / "nope")
    (tmp_path / "file.md").write_text("# x\n")
    with pytest.raises(PolicyFolderError, match="not a directory"):
        read_policies(tmp_path / "file.md")


def test_empty_folder_gives_no_documents(tmp_path: Path) -> None:
    folder = read_policies(tmp_path)

    assert folder == PolicyFolder(root=str(tmp_path), documents=(), warnings=())


def test_thousand_small_markdown_files_read_quickly(tmp_path: Path) -> None:
    for i in range(1000):
        (tmp_path / f"policy_{i:04d}.md").write_text(f"# Policy {i}\n\nBody line.\n\n## Scope\nAll staff.\n")

    started = time.perf_counter()
    folder = read_policies(tmp_path)
    elapsed = time.perf_counter() - started

    assert len(folder.documents) == 1000
    assert [d.path for d in folder.documents] == sorted(d.path for d in folder.documents)
    # Generous bound for slow CI machines; locally this takes a fraction of it.
    assert elapsed < 1.0
