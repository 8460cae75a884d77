"""Read a company's policy folder into line-numbered, sectioned text.

The folder is read-only input: files are opened for reading only, nothing is created in it, symlinks
leading outside it are refused, and binary, oversized, corrupt or undecodable files are skipped with a
warning instead of failing the run. Line numbers are 1-based into ``PolicyDocument.lines`` so that
evidence quotes can point back at the text a reviewer sees.

Everything in the folder is untrusted, so reading stays bounded in time and memory: a file is at most
MAX_FILE_BYTES, its extracted text at most MAX_TEXT_CHARS whatever the format, and archives (.docx) and
compressed PDF streams are inflated within MAX_UNPACKED_BYTES counted as produced, never trusting the
sizes a file declares. File names and text are shown to people: names are escaped with
``textsafe.printable`` and lines lose control characters (``textsafe.clean_text``).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import io
import logging
import os
import re
import stat
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from agent.models import Frozen
from agent.textsafe import clean_text, printable
from tools.archive import ArchiveError, ArchiveTooLarge, BoundedZip

Kind = Literal["md", "txt", "docx", "pdf", "csv", "xlsx"]

SUFFIX_KINDS: dict[str, Kind] = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".docx": "docx",
    ".pdf": "pdf",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
}
# Spreadsheets: each row is one statement and line N of the document is row N of the sheet (or file).
ROW_KINDS: frozenset[Kind] = frozenset({"csv", "xlsx"})
# A workbook gives one document per sheet, named "<file>#<sheet>".
SHEET_SEPARATOR = "#"
# Formats a company might keep policies in that we cannot read, with what to do about it.
UNSUPPORTED_POLICY_SUFFIXES = frozenset({".doc", ".rtf", ".odt", ".pages"})
_CONVERT = {
    **dict.fromkeys(UNSUPPORTED_POLICY_SUFFIXES, "convert it to .docx, .pdf, .md or .txt"),
    **dict.fromkeys((".xls", ".xlsm", ".xlsb", ".ods", ".numbers"), "save it as .xlsx or .csv"),
}

_SNIFF_BYTES = 8192
# Largest policy file read, in bytes.
MAX_FILE_BYTES = 5_000_000
# Largest text extracted from one file, in characters (line breaks included), whatever its format: a
# .md or .txt within MAX_FILE_BYTES never exceeds it; a .docx or PDF packing more text is skipped.
MAX_TEXT_CHARS = 5_000_000
# Most bytes inflated while reading one file: the XML parts of a .docx together, each compressed PDF
# stream, and all PDF page contents together. Counted as produced, never taken from the file's headers.
MAX_UNPACKED_BYTES = 50_000_000
# PDF content-stream operators interpreted per file (pages and the forms they draw, repeats included).
MAX_PDF_OPERATORS = 5_000_000


class PolicyFolderError(ValueError):
    """The policy folder is missing or is not a directory."""


class Section(Frozen):
    file: str
    heading: str
    line_start: int
    line_end: int
    text: str


class PolicyDocument(Frozen):
    path: str
    kind: Kind
    sha256: str
    lines: tuple[str, ...]
    sections: tuple[Section, ...]
    title: str


class PolicyFolder(Frozen):
    root: str
    documents: tuple[PolicyDocument, ...]
    warnings: tuple[str, ...]


class Note(NamedTuple):
    """What the user should know about one file: why it was not read, or a caveat about how it was."""

    name: str  # the relative path, escaped for display ("" for the folder as a whole)
    reason: str  # "unsupported format (.jpg); skipped"
    group: str = ""  # notes sharing a group are summarised on one line when there are many (default: reason)

    def line(self) -> str:
        return f"{self.name}: {self.reason}" if self.name else self.reason


class _Skip(Exception):
    """A file cannot be used; the message says why, for the user (``group`` without file-specific details)."""

    def __init__(self, message: str, group: str = "") -> None:
        super().__init__(message)
        self.group = group


# --- walking -------------------------------------------------------------------


# The firm profile in the folder's root (agent.profile reads it; the name is the product's, not a format).
PROFILE_FILE = "company.toml"


def _ignored(name: str) -> bool:
    """Hidden entries and Office lock files ("~$Policy.docx") are never policy documents."""
    return name.startswith(".") or name.startswith("~$")


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


@dataclass
class _Walker:
    """Collects supported files under a resolved root; symlinks are queued, not followed in place."""

    root: Path
    warn: Callable[[Note], None]
    found: dict[Path, str] = field(default_factory=dict)  # real path -> first relative path
    unsupported: dict[Path, str] = field(default_factory=dict)  # the same, for files of other formats
    many: tuple[int, Callable[[], None]] | None = None  # called once when that many files were found
    walked: set[Path] = field(default_factory=set)
    linked_dirs: list[tuple[Path, str]] = field(default_factory=list)
    linked_files: list[tuple[Path, str]] = field(default_factory=list)

    def tree(self, top: Path, prefix: str) -> None:
        """Walk real (non-symlink) directories under top, depth-first in name order."""
        self.walked.add(top)
        stack = [(top, prefix)]
        while stack:
            directory, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                self.warn(Note(printable(prefix.rstrip("/") or "."), f"cannot list directory ({exc.strerror or exc}); skipped",
                               "cannot list directory; skipped"))
                continue
            subdirs = []
            for entry in entries:
                if _ignored(entry.name):
                    continue
                rel = prefix + entry.name
                if rel == PROFILE_FILE:
                    continue  # the firm profile, read by the profile step: not a policy, not an unread file
                if entry.is_symlink():
                    self.link(entry.path, rel)
                elif _is_real_dir(entry):
                    if Path(entry.path) not in self.walked:
                        self.walked.add(Path(entry.path))
                        subdirs.append((Path(entry.path), rel + "/"))
                else:
                    self.file(Path(entry.path), rel)
            stack.extend(reversed(subdirs))  # so they pop in name order

    def file(self, real: Path, rel: str) -> None:
        if kind_of(rel) is not None:
            self.found.setdefault(real, rel)
            if self.many is not None and len(self.found) >= self.many[0]:
                self.many[1]()
                self.many = None
        else:
            self.unsupported.setdefault(real, rel)

    def link(self, path: str, rel: str) -> None:
        target = Path(os.path.realpath(path))
        if not _inside(target, self.root):
            self.warn(Note(printable(rel), "symlink points outside the policy folder; skipped"))
        elif not target.exists():
            self.warn(Note(printable(rel), "broken symlink; skipped"))
        elif target.is_dir():
            self.linked_dirs.append((target, rel + "/"))
        else:
            self.linked_files.append((target, rel))


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _walk(
    root: Path, warn: Callable[[Note], None], many: tuple[int, Callable[[], None]] | None = None
) -> list[tuple[str, Path]]:
    """(relative POSIX path, real path) of every supported file, each real file once, sorted.

    The real tree is walked before any symlink is followed, so a file reachable both directly and
    through a link is reported under its own path; the set of walked directories breaks cycles.
    Every other file (hidden and lock files aside) is named in a note: it is not read.
    """
    walker = _Walker(root, warn, many=many)
    walker.tree(root, "")
    while walker.linked_files or walker.linked_dirs:
        for target, rel in walker.linked_files:
            walker.file(target, rel)
        walker.linked_files.clear()
        if walker.linked_dirs:
            target, prefix = walker.linked_dirs.pop(0)
            if target not in walker.walked:  # else already read, or a cycle
                walker.tree(target, prefix)
    for real, rel in sorted(walker.unsupported.items(), key=lambda item: item[1]):
        if real not in walker.found:
            warn(_unsupported(rel))
    return sorted(((rel, real) for real, rel in walker.found.items()), key=lambda item: item[0])


def kind_of(rel: str) -> Kind | None:
    """Kind of a file by suffix (None: a format the reader does not read)."""
    return SUFFIX_KINDS.get(os.path.splitext(rel)[1].lower())


def _unsupported(rel: str) -> Note:
    suffix = os.path.splitext(rel)[1].lower()
    shown = printable(suffix) if suffix else "no file extension"
    advice = _CONVERT.get(suffix)
    reason = f"unsupported format ({shown}){'; ' + advice if advice else ''}; skipped"
    return Note(printable(rel), reason, "unsupported format")


_TOO_LARGE = "file too large (over {:,} bytes); skipped"


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a regular file read-only, refusing anything larger than max_bytes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        # FIFOs and devices would block or never end.
        if not stat.S_ISREG(info.st_mode):
            raise _Skip("not a regular file; skipped")
        if info.st_size > max_bytes:
            raise _Skip(f"file too large ({info.st_size:,} bytes > {max_bytes:,}); skipped", _TOO_LARGE.format(max_bytes))
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _Skip(f"file too large (> {max_bytes:,} bytes); skipped", _TOO_LARGE.format(max_bytes))
    return data


# --- text decoding -------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_BYTES = frozenset(set(range(0x01, 0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B})


def _looks_binary(data: bytes) -> bool:
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte in _CONTROL_BYTES)
    return bool(sample) and controls / len(sample) > 0.05


def _control_ratio(text: str) -> float:
    text = text[:65536]  # a sample is enough and keeps multi-megabyte files fast
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return controls / max(len(text), 1)


def _plausible_legacy(text: str) -> bool:
    """cp1252/latin-1 decode anything; accept only text that reads like Western European prose.

    Mostly non-ASCII output means another legacy encoding (e.g. cp1251 Russian), which would
    come out as gibberish, so it is better skipped than quoted as evidence.
    """
    if _control_ratio(text) > 0.01:
        return False
    visible = [ch for ch in text[:65536] if not ch.isspace()]
    non_ascii = sum(1 for ch in visible if ord(ch) > 0x7F)
    return non_ascii <= 0.3 * max(len(visible), 1)


def _mostly_utf8(data: bytes) -> tuple[str, str] | None:
    """UTF-8 text with a few stray bytes (a bad paste, a truncated copy): keep it, replacing them.

    Only when the file really is UTF-8 (it holds valid multi-byte sequences) and the damage is rare;
    otherwise a legacy encoding is the better reading and every accented letter would be lost.
    """
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for ch in text[:65536] if ord(ch) > 0x7F and ch != "\ufffd")
    if multibyte >= bad and bad <= max(3, len(text) // 1000):
        return text, f"{bad} byte sequence(s) that are not valid UTF-8 were replaced with \ufffd"
    return None


def _decode(data: bytes) -> tuple[str, str | None]:
    """Decode text bytes; returns (text, warning or None) or raises _Skip."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), None
            except UnicodeDecodeError as exc:
                raise _Skip(f"undecodable {codec} text ({exc.reason}); skipped") from None
    if _looks_binary(data):
        raise _Skip("binary content; skipped")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return mostly
    for codec in ("cp1252", "latin-1"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue  # cp1252 leaves five bytes undefined; latin-1 covers them
        if _plausible_legacy(text):
            return text, f"decoded as {codec} (not valid UTF-8); check special characters"
        break
    raise _Skip("undecodable text (not UTF-8, UTF-16 or Western European); skipped")


def _text_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start a new one
    return lines


# --- headings ------------------------------------------------------------------

_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Lines that cannot be the text of a setext heading (list items, quotes, tables, fences, blanks).
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-*+>|]|\d+[.)]\s|#|```|~~~|$)")

# "Section 4", "Article 5 – Scope", "2.3 Record keeping", "IV. Governance"; roman numerals are
# upper-case only so that "Clause in the contract" is not mistaken for "Clause IV".
_NUMBERED = re.compile(
    r"^(?:(?i:section|article|part|chapter|clause|schedule|annex|appendix)\s+"
    r"(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})[A-Za-z]?\.?(?:\s*[-–—:.]?\s+\S.*)?"
    r"|\d{1,3}(?:\.\d{1,3})*\.?\s+[^\W\d_].*"
    r"|[IVXL]{1,6}\.\s+[^\W\d_].*)$"
)


def _atx(line: str) -> str | None:
    """Text of an ATX heading ("## Scope ##" -> "Scope"), or None when the line is not one.

    The result is the one of ``^ {0,3}(#{1,6})(?:[ \\t]+(.*?))?(?:[ \\t]+#+)?[ \\t]*$`` (group 2,
    stripped), computed in one pass: that regex backtracks quadratically over long runs of spaces.
    """
    rest = line.lstrip(" ")
    if len(line) - len(rest) > 3:
        return None
    body = rest.lstrip("#")
    if not 1 <= len(rest) - len(body) <= 6:
        return None
    if not body:
        return ""
    if body[0] not in " \t":
        return None
    text = body.lstrip(" \t").rstrip(" \t")
    before_closing = text.rstrip("#")
    # An optional closing sequence: hashes at the end, separated from the text by a space or tab.
    if len(before_closing) < len(text) and before_closing[-1:] in (" ", "\t"):
        text = before_closing.rstrip(" \t")
    return text.strip()


def _markdown_headings(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(0-based start line, heading text) for ATX and setext headings outside code and front matter."""
    fence: str | None = None
    start = 0
    if lines and lines[0].strip() == "---":
        # YAML front matter: its closing "---" would otherwise read as a setext underline.
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                start = i + 1
                break
    for i in range(start, len(lines)):
        line = lines[i]
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        atx = _atx(line)
        if atx is not None:
            yield i, atx
        elif (
            i > start
            and _SETEXT.match(line)
            and not _NOT_PARAGRAPH.match(lines[i - 1])
            and _atx(lines[i - 1]) is None
        ):
            yield i - 1, lines[i - 1].strip()


def _is_plain_heading(line: str) -> bool:
    """Numbered ("2.3 Record keeping", "Article 5 – Scope") or ALL-CAPS short lines, not sentences."""
    text = line.strip()
    if not text or len(text) > 80 or text[-1] in ".,;":
        return False
    if _NUMBERED.match(text):
        return True
    words = [word for word in text.split() if any(ch.isalpha() for ch in word)]
    return len(words) >= 2 and text.upper() == text


def _plain_headings(lines: list[str]) -> Iterator[tuple[int, str]]:
    for i, line in enumerate(lines):
        if _is_plain_heading(line):
            yield i, line.strip()


def _sections(file: str, lines: list[str], headings: list[tuple[int, str]]) -> tuple[Section, ...]:
    """Cut the document at each heading; drop sections that hold only blank lines."""
    starts = [(0, "")] + [h for h in headings if h[0] > 0]
    if headings and headings[0][0] == 0:
        starts[0] = headings[0]
    sections = []
    for n, (start, heading) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        chunk = lines[start:end]
        if any(line.strip() for line in chunk):
            sections.append(
                Section(file=file, heading=heading, line_start=start + 1, line_end=end, text="\n".join(chunk))
            )
    return tuple(sections)


def _humanise(stem: str) -> str:
    words = re.sub(r"[_\-\s]+", " ", stem).strip()
    if not words:
        return stem
    return words.title() if words.islower() else words[0].upper() + words[1:]


# --- extractors ----------------------------------------------------------------


Extracted = tuple[list[str], list[tuple[int, str]], str | None]  # lines, (line index, heading), warning


_CORRUPT = "corrupt or unreadable {}; skipped"


def _clean_lines(lines: list[str]) -> list[str]:
    """Lines without control characters (escape sequences, bells); tabs stay, page and line feeds become spaces."""
    return [clean_text(line.replace("\f", " ").replace("\v", " ")) for line in lines]


def _text_size(lines: list[str]) -> int:
    """Characters of the lines joined by line breaks (never more than the bytes of a text file they came from)."""
    return sum(map(len, lines)) + max(len(lines) - 1, 0)


def _too_long(max_chars: int, size: int | None = None) -> _Skip:
    group = f"too much text (more than {max_chars:,} characters); skipped"
    if size is None:
        return _Skip(group)
    return _Skip(f"too much text ({size:,} characters > {max_chars:,}); skipped", group)


def _extract_text(data: bytes, kind: Kind, max_chars: int, outline: bool = True) -> Extracted:
    text, warning = _decode(data)
    lines = _text_lines(text)
    # _clean_lines, done once to all lines together (every step is per character; line breaks stay)
    lines = clean_text("\n".join(lines).replace("\f", " ").replace("\v", " ")).split("\n") if lines else lines
    del text
    if (size := _text_size(lines)) > max_chars:
        raise _too_long(max_chars, size)
    if not outline:
        return lines, [], warning
    headings = _markdown_headings(lines) if kind == "md" else _plain_headings(lines)
    return lines, list(headings), warning


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_NS = {"w": _W[1:-1]}
_W_P, _W_TR, _W_TBL = _W + "p", _W + "tr", _W + "tbl"


@functools.cache
def _docx_xpaths() -> dict[str, Any]:
    """Compiled once; lxml is only imported when a .docx is actually present."""
    from lxml import etree

    skip = "not(ancestor::w:txbxContent or ancestor::w:del or ancestor::w:moveFrom)"
    return {
        # Text boxes belong to drawings anchored in the paragraph, not to its text.
        "text": etree.XPath(
            f".//w:r[{skip}]/*[self::w:t or self::w:tab or self::w:br or self::w:cr]", namespaces=_W_NS
        ),
        "rows": etree.XPath("./w:tr", namespaces=_W_NS),
        "cells": etree.XPath("./w:tc", namespaces=_W_NS),
        "cell_paragraphs": etree.XPath(".//w:p[not(ancestor::w:txbxContent)]", namespaces=_W_NS),
        "style": etree.XPath("string(./w:pPr/w:pStyle/@w:val)", namespaces=_W_NS),
    }


def _docx_in_body(container: Any, body: Any) -> bool:
    """Is an element in ``container`` a body-level block: in ``body`` (the document's first w:body),
    directly or inside content controls (the first w:sdtContent of a w:sdt), w:customXml or tracked
    insertions (w:ins)?

    python-docx's own iteration only sees direct children of the body, so text inside ``w:sdt`` blocks
    (common in corporate templates) would silently vanish.
    """
    node = container
    while node is not None:
        if node is body:
            return True
        tag = node.tag
        if tag == _W + "customXml" or tag == _W + "ins":
            node = node.getparent()
        elif tag == _W + "sdtContent":
            sdt = node.getparent()
            if sdt is None or sdt.tag != _W + "sdt" or sdt.find(_W + "sdtContent") is not node:
                return False
            node = sdt.getparent()
        else:
            return False
    return False


def _docx_paragraph_text(p: Any) -> str:
    """Visible text of one paragraph, tracked insertions included, as a single line.

    ``Paragraph.text`` skips runs inside ``w:ins`` (tracked insertions) and maps line breaks to
    "\\n", which would break the one-line-per-paragraph numbering.
    """
    parts = []
    for node in _docx_xpaths()["text"](p):
        if node.tag == _W + "t":
            parts.append(node.text or "")
        elif node.tag == _W + "tab":
            parts.append("\t")
        else:
            parts.append(" ")  # a line break inside the paragraph
    return "".join(parts)


def _docx_row_text(tr: Any) -> str:
    xp = _docx_xpaths()
    cells = []
    for tc in xp["cells"](tr):
        texts = (_docx_paragraph_text(p).strip() for p in xp["cell_paragraphs"](tc))
        cells.append(" ".join(text for text in texts if text))
    return " | ".join(cells)


_CONTENT_TYPES = "[Content_Types].xml"
# [Content_Types].xml and the .rels parts together; python-docx parses them whole. Real ones are small.
_MAX_DOCX_PACKAGE_XML = 5_000_000
# XML elements held in memory at once while one paragraph or table row is parsed, and in all (time).
_MAX_DOCX_HELD_ELEMENTS = 1_000_000
_MAX_DOCX_ELEMENTS = 5_000_000


def _extract_docx(data: bytes, max_chars: int) -> Extracted:
    """Paragraphs (one line each), table rows (cells joined by " | ") and headings (by paragraph style).

    The archive is read through BoundedZip (MAX_UNPACKED_BYTES for all parts together) and the XML is
    parsed as a stream, one paragraph or table row at a time, so memory does not grow with the document.
    """
    try:
        with BoundedZip(data, max_bytes=MAX_UNPACKED_BYTES) as archive:
            try:
                main, styles = _docx_parts(archive)
                style_names = _docx_style_names(archive, styles)
                lines, headings = _docx_lines(archive, main, style_names, max_chars)
            except (_Skip, ArchiveError):
                raise
            except Exception as exc:  # python-docx and lxml raise a zoo of zip/XML/KeyError types on bad input
                raise _Skip(f"corrupt or unreadable .docx ({type(exc).__name__}); skipped", _CORRUPT.format(".docx")) from None
    except ArchiveTooLarge as exc:
        raise _Skip(f"too large when unpacked ({exc}); skipped", "too large when unpacked; skipped") from None
    except ArchiveError as exc:
        raise _Skip(f"corrupt or unreadable .docx ({printable(str(exc))}); skipped", _CORRUPT.format(".docx")) from None
    return lines, headings, None


def _docx_parts(archive: BoundedZip) -> tuple[str, str | None]:
    """Member names of the main document part and of its styles part (None: python-docx's default styles).

    python-docx still opens the package, so parts are found through its relationships and a file that is
    not a Word document is refused, exactly as before; it is given only [Content_Types].xml and the .rels
    parts, every other part replaced by a stub, so it never holds the document's content.
    """
    import zipfile

    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    package = io.BytesIO()
    metadata = 0
    with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as stub:
        for name in archive.names():
            if name == _CONTENT_TYPES or name.lower().endswith(".rels"):
                blob = archive.read(name)
                metadata += len(blob)
                if metadata > _MAX_DOCX_PACKAGE_XML:
                    raise ArchiveTooLarge(f"relationships unpack to more than {_MAX_DOCX_PACKAGE_XML:,} bytes")
            else:
                blob = b"<stub/>"
            stub.writestr(name, blob)
    package.seek(0)
    part = docx.Document(package).part
    try:
        styles: str | None = part.part_related_by(RT.STYLES).partname.membername
    except KeyError:
        styles = None
    return part.partname.membername, styles


def _docx_iterparse(source: Any) -> Any:
    """End events of an XML stream, parsed with python-docx's parser options (no entities, no network)."""
    from lxml import etree

    return etree.iterparse(
        source, events=("end",), remove_blank_text=True, resolve_entities=False, no_network=True, huge_tree=False
    )


def _docx_drop(element: Any) -> None:
    """Free a processed element and the siblings before it (what iterparse allows while parsing)."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


def _docx_style_names(archive: BoundedZip, member: str | None) -> dict[str, str]:
    """Style id -> style name, as python-docx's ``document.styles`` gives them."""
    if member is None:
        import docx

        source: Any = open(Path(docx.__file__).parent / "templates" / "default-styles.xml", "rb")  # noqa: SIM115
    else:
        source = archive.open(member)
    names: dict[str, str] = {}
    root = None
    held = 0
    with source:
        for _, element in _docx_iterparse(source):
            parent = element.getparent()
            if parent is None:
                root = element
                break
            held += 1
            if held > _MAX_DOCX_HELD_ELEMENTS:
                raise _Skip(f"styles too large (more than {_MAX_DOCX_HELD_ELEMENTS:,} XML elements); skipped")
            if parent.getparent() is None:  # a child of w:styles
                if element.tag == _W + "style" and (style_id := element.get(_W + "styleId")) is not None:
                    name = element.find(_W + "name")
                    names[style_id] = (name.get(_W + "val") or "") if name is not None else ""
                _docx_drop(element)
                held = 0
    if root is None or root.tag != _W + "styles":
        raise _Skip("corrupt or unreadable .docx (styles part is not w:styles); skipped")
    return names


def _docx_lines(
    archive: BoundedZip, member: str, style_names: dict[str, str], max_chars: int
) -> tuple[list[str], list[tuple[int, str]]]:
    xp = _docx_xpaths()
    lines: list[str] = []
    headings: list[tuple[int, str]] = []
    size = held = 0
    root = body = None
    with archive.open(member) as source:
        for seen, (_, element) in enumerate(_docx_iterparse(source)):
            parent = element.getparent()
            if parent is None:
                root = element
                break
            if seen >= _MAX_DOCX_ELEMENTS:
                raise _Skip(f"too complex (more than {_MAX_DOCX_ELEMENTS:,} XML elements); skipped")
            if root is None:
                root = element.getroottree().getroot()
                if root.tag != _W + "document":
                    raise _Skip("corrupt or unreadable .docx (main part is not w:document); skipped")
            held += 1
            if held > _MAX_DOCX_HELD_ELEMENTS:
                raise _Skip(
                    f"a paragraph or table row is too large (more than {_MAX_DOCX_HELD_ELEMENTS:,} XML elements); skipped"
                )
            if body is None:
                body = root.find(_W + "body")
                if body is None:
                    continue
            tag = element.tag
            rows: list[str] | None = None
            if tag == _W_P and (parent is body or _docx_in_body(parent, body)):
                if len(element):
                    text = _clean_lines([_docx_paragraph_text(element)])[0]
                    style = style_names.get(xp["style"](element), "")
                    if style.lower().startswith(("heading", "title")) and text.strip():
                        headings.append((len(lines), text.strip()))
                else:
                    text = ""  # an empty paragraph: a blank line
                rows = [text]
            elif tag == _W_TR and parent.tag == _W_TBL and _docx_in_body(parent.getparent(), body):
                rows = _clean_lines([_docx_row_text(element)])
            elif tag == _W_TBL and _docx_in_body(parent, body):
                rows = []  # its rows were read as they ended
            elif parent is not body:
                continue  # part of a block still being read (or outside the body)
            if rows:
                lines.extend(rows)
                size += sum(map(len, rows)) + len(rows)  # each with its line break
                if size - 1 > max_chars:
                    raise _too_long(max_chars)
            _docx_drop(element)
            held = 0
    if root is None or root.find(_W + "body") is None:
        raise _Skip("corrupt or unreadable .docx (no document body); skipped")
    return lines, headings


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs recoverable damage at WARNING, which would spill onto the CLI's stderr."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def _pdf_configuration() -> Any:
    """pypdf's decompression limits, per stream, set to MAX_UNPACKED_BYTES (pypdf's own defaults are higher)."""
    import pypdf

    limit = MAX_UNPACKED_BYTES
    return pypdf.Configuration(
        zlib_maximum_output_length=limit,
        lzw_maximum_output_length=limit,
        run_length_maximum_output_length=limit,
        brotli_maximum_output_length=limit,
        jbig2_maximum_output_length=limit,
        array_based_stream_maximum_output_length=limit,
        image_maximum_buffer_size=limit,
        stream_decoding_work_maximum_length=2 * limit,
    )


@dataclass
class _PdfBudget:
    """Text, inflated page content and operators of one PDF, counted while pypdf extracts it."""

    max_chars: int
    chars: int = 0
    unpacked: int = 0
    operators: int = 0

    def text(self, text: str, *_: Any) -> None:  # pypdf's visitor_text
        self.chars += len(text)
        if self.chars > self.max_chars:
            raise _too_long(self.max_chars)

    def operator(self, *_: Any) -> None:  # pypdf's visitor_operand_before
        self.operators += 1
        if self.operators > MAX_PDF_OPERATORS:
            raise _Skip(f"PDF too complex (more than {MAX_PDF_OPERATORS:,} drawing operations); skipped")

    def page(self, page: Any) -> None:
        """Count the page's inflated content (already decoded and cached by the extraction)."""
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else None
        for item in contents if isinstance(contents, list) else [contents]:
            stream = item.get_object() if item is not None else None
            if stream is not None and hasattr(stream, "get_data"):
                self.unpacked += len(stream.get_data())
        if self.unpacked > MAX_UNPACKED_BYTES:
            raise _Skip(f"too large when unpacked (page contents exceed {MAX_UNPACKED_BYTES:,} bytes); skipped")


def _extract_pdf(data: bytes, max_chars: int) -> Extracted:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    lines: list[str] = []
    size = -1  # characters of the lines so far, joined by line breaks
    budget = _PdfBudget(max_chars)
    try:
        with _quiet_pypdf(), pypdf.apply_configuration(_pdf_configuration()):
            # pypdf already tries the empty password, so owner-password-only PDFs stay readable.
            reader = pypdf.PdfReader(io.BytesIO(data))
            for page in reader.pages:
                text = page.extract_text(visitor_text=budget.text, visitor_operand_before=budget.operator)
                budget.page(page)
                page_lines = [line.rstrip() for line in _clean_lines(_text_lines(text or ""))]
                lines.extend(page_lines)
                size += sum(map(len, page_lines)) + len(page_lines)
                if size > max_chars:  # stop at the first page over the cap
                    raise _too_long(max_chars, size)
    except _Skip:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise _Skip("encrypted PDF (password or decryption support required); skipped") from None
    except LimitReachedError as exc:
        raise _Skip(f"PDF exceeds a safety limit ({printable(str(exc))}); skipped", "PDF exceeds a safety limit; skipped") from None
    except Exception as exc:  # damaged PDFs raise many exception types deep inside pypdf
        raise _Skip(f"corrupt or unreadable PDF ({type(exc).__name__}); skipped", _CORRUPT.format("PDF")) from None
    if not any(line.strip() for line in lines):
        raise _Skip("no extractable text (scanned?); skipped")
    return lines, list(_plain_headings(lines)), None


# --- spreadsheets ----------------------------------------------------------------
#
# A row is one statement: its non-empty cells joined by " | ", on the line whose number is the row's
# (blank rows stay as blank lines), so "Controls.xlsx#AML L14" is sheet AML, row 14 and "register.csv
# L14" is the CSV's 14th record (a record may span several physical lines when a cell holds line breaks).

_CELL_SEPARATOR = " | "
_CSV_SNIFF_CHARS = 16_384
# Cells (an empty row counts as one) read from one workbook: bounds time on sheets whose rows claim
# far-away columns or row numbers, which the reader would fill with empty cells.
MAX_XLSX_CELLS = 2_000_000
# The XML parts of a workbook parsed whole (workbook, styles, relationships, content types) together, and
# its shared strings: the rest (the sheets) is parsed as a stream.
_MAX_XLSX_PACKAGE_XML = 5_000_000
_MAX_XLSX_SHARED_STRINGS = 25_000_000


def _row_line(cells: Iterable[Any]) -> str:
    """One row as one line: non-empty cells, whitespace (line breaks included) collapsed."""
    texts = (" ".join(clean_text(_cell_text(cell)).split()) for cell in cells)
    return _CELL_SEPARATOR.join(text for text in texts if text)


def _cell_text(value: Any) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _extract_csv(data: bytes, max_chars: int) -> Extracted:
    """Records of a .csv or .tsv (delimiter and quoting sniffed from its start), one line each."""
    import csv

    text, warning = _decode(data)
    sample = text[:_CSV_SNIFF_CHARS]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole records only
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:  # one column, or too irregular to tell: the first line decides
        first = sample.partition("\n")[0]
        dialect = csv.excel_tab if first.count("\t") > first.count(",") else csv.excel
    lines: list[str] = []
    size = -1
    # a cell may hold as much text as a file (the module's default stops at 131,072 characters)
    csv.field_size_limit(max(csv.field_size_limit(), max_chars))
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            line = _row_line(row)
            lines.append(line)
            size += len(line) + 1
            if size > max_chars:
                raise _too_long(max_chars)
    except csv.Error as exc:
        raise _Skip(f"corrupt or unreadable CSV ({printable(str(exc))}); skipped", _CORRUPT.format("CSV")) from None
    return lines, [], warning


Sheets = tuple[list[tuple[str, list[str]]], str | None]  # (sheet title, lines) per sheet with text, warning


def _extract_xlsx(data: bytes, max_chars: int) -> Sheets:
    """Rows of every worksheet of a workbook, one line each, read with openpyxl in read-only mode.

    openpyxl is handed a package rebuilt from reads through BoundedZip (MAX_UNPACKED_BYTES for all parts
    together, images and other binary parts left out), so no member can inflate beyond the budget
    whatever its header claims; the sheets are then parsed as a stream, row by row.
    """
    try:
        with BoundedZip(data, max_bytes=MAX_UNPACKED_BYTES) as archive:
            package = _xlsx_package(archive)
        sheets = _xlsx_sheets(package, max_chars)
    except ArchiveTooLarge as exc:
        raise _Skip(f"too large when unpacked ({exc}); skipped", "too large when unpacked; skipped") from None
    except ArchiveError as exc:
        raise _Skip(f"corrupt or unreadable .xlsx ({printable(str(exc))}); skipped", _CORRUPT.format(".xlsx")) from None
    return sheets, None


def _xlsx_package(archive: BoundedZip) -> io.BytesIO:
    """A copy of the workbook's XML parts, each read within the archive's budget; other parts are stubs."""
    import zipfile

    package = io.BytesIO()
    whole = strings = 0
    with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as copy:
        for name in archive.names():
            lower = name.lower()
            if not lower.endswith((".xml", ".rels")):
                copy.writestr(name, b"")  # images, printer settings, VBA: never needed for cell values
                continue
            blob = archive.read(name)
            if lower.startswith("xl/worksheets/"):
                pass  # parsed as a stream
            elif lower.endswith("sharedstrings.xml"):
                strings += len(blob)
                if strings > _MAX_XLSX_SHARED_STRINGS:
                    raise ArchiveTooLarge(f"shared strings unpack to more than {_MAX_XLSX_SHARED_STRINGS:,} bytes")
            else:
                whole += len(blob)
                if whole > _MAX_XLSX_PACKAGE_XML:
                    raise ArchiveTooLarge(f"workbook parts unpack to more than {_MAX_XLSX_PACKAGE_XML:,} bytes")
            copy.writestr(name, blob)
            del blob
    package.seek(0)
    return package


def _xlsx_sheets(package: io.BytesIO, max_chars: int) -> list[tuple[str, list[str]]]:
    import openpyxl

    sheets: list[tuple[str, list[str]]] = []
    size = -1
    cells = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about every extension it does not read
            workbook = openpyxl.load_workbook(package, read_only=True, data_only=True, keep_links=False)
            try:
                for sheet in workbook.worksheets:
                    # The dimensions a sheet declares are not trusted: rows are as wide as their last cell.
                    sheet.reset_dimensions()
                    lines: list[str] = []
                    for row in sheet.iter_rows(values_only=True):
                        cells += max(len(row), 1)
                        if cells > MAX_XLSX_CELLS:
                            raise _Skip(f"too complex (more than {MAX_XLSX_CELLS:,} cells); skipped")
                        line = _row_line(row) if row else ""
                        lines.append(line)
                        size += len(line) + 1
                        if size > max_chars:
                            raise _too_long(max_chars)
                    if any(lines):
                        sheets.append((_unique(sheet.title, {t for t, _ in sheets}), lines))
            finally:
                workbook.close()
    except _Skip:
        raise
    except Exception as exc:  # openpyxl and the XML parser raise many types on damaged workbooks
        raise _Skip(f"corrupt or unreadable .xlsx ({type(exc).__name__}); skipped", _CORRUPT.format(".xlsx")) from None
    return sheets


def _unique(title: str, taken: set[str]) -> str:
    """A sheet title not used by an earlier sheet (a damaged workbook can repeat one): "AML (2)"."""
    candidate, n = title, 1
    while candidate in taken:
        n += 1
        candidate = f"{title} ({n})"
    return candidate


_EXTRACTORS: dict[Kind, Callable[[bytes, int], Extracted]] = {
    "md": lambda data, max_chars: _extract_text(data, "md", max_chars),
    "txt": lambda data, max_chars: _extract_text(data, "txt", max_chars),
    "docx": _extract_docx,
    "pdf": _extract_pdf,
    "csv": _extract_csv,
}
_EMPTY = "empty (no text); skipped"


class PolicyFile(NamedTuple):
    """A file of the folder to be read: its display name, where it really is, and its format."""

    name: str  # relative path, escaped for display: the only name ever shown
    real: Path
    kind: Kind


class FileRead(NamedTuple):
    """What reading one file gave: its documents (a workbook has one per sheet) and a note, if any."""

    documents: tuple[PolicyDocument, ...]
    note: Note | None  # why it was skipped (then there are no documents), or a caveat about its text


def read_file(
    file: PolicyFile, *, max_file_bytes: int = MAX_FILE_BYTES, max_text_chars: int = MAX_TEXT_CHARS,
    sections: bool = True,
) -> FileRead:
    """Read one policy file; never raises for a bad file (the note says why it was skipped).

    ``sections=False`` leaves out what coverage does not use: ``PolicyDocument.sections`` stays empty
    and the title of a text file is its humanised name, not its first heading.
    """
    try:
        documents, warning = _documents(file, max_file_bytes, max_text_chars, sections)
    except _Skip as skip:
        return FileRead((), Note(file.name, str(skip), skip.group))
    return FileRead(documents, Note(file.name, warning) if warning else None)


def _documents(
    file: PolicyFile, max_bytes: int, max_chars: int, with_sections: bool
) -> tuple[tuple[PolicyDocument, ...], str | None]:
    try:
        data = _read_bytes(file.real, max_bytes)
    except OSError as exc:
        raise _Skip(f"cannot read ({exc.strerror or exc}); skipped", "cannot read; skipped") from None
    if not data.strip():
        raise _Skip(_EMPTY)
    sha = hashlib.sha256(data).hexdigest()
    if file.kind == "xlsx":
        sheets, warning = _extract_xlsx(data, max_chars)
        parts = [(f"{file.name}{SHEET_SEPARATOR}{printable(title)}", lines, [(-1, f"{_humanise(Path(file.name).stem)}: {printable(title)}")])
                 for title, lines in sheets]
    elif file.kind in ("md", "txt"):
        lines, headings, warning = _extract_text(data, file.kind, max_chars, outline=with_sections)
        parts = [(file.name, lines, headings)] if any(line.strip() for line in lines) else []
    else:
        lines, headings, warning = _EXTRACTORS[file.kind](data, max_chars)
        parts = [(file.name, lines, headings)] if any(line.strip() for line in lines) else []
    del data
    if not parts:
        raise _Skip(_EMPTY)
    documents = []
    for name, lines, headings in parts:
        title = next((h for _, h in headings if h), "") or _humanise(Path(name).stem)
        headings = [h for h in headings if h[0] >= 0]  # a sheet's title is not a line of it
        documents.append(PolicyDocument(
            path=name, kind=file.kind, sha256=sha, lines=tuple(lines),
            sections=_sections(name, lines, headings) if with_sections else (), title=title,
        ))
    return tuple(documents), warning


def list_files(
    folder: str | Path, *, many: tuple[int, Callable[[], None]] | None = None
) -> tuple[Path, list[PolicyFile], list[Note]]:
    """The resolved folder, every file to read under it (sorted by name) and notes on the ones that will not be.

    ``many`` = (n, callback): the callback runs once, as soon as n files to read were found (a reader can
    get ready for a large folder while the rest is listed). Raises PolicyFolderError when the folder is
    missing or not a directory.
    """
    given = Path(folder)
    if not given.exists():
        raise PolicyFolderError(f"policy folder not found: {given}")
    if not given.is_dir():
        raise PolicyFolderError(f"policy folder is not a directory: {given}")
    root = given.resolve()
    notes: list[Note] = []
    files: list[PolicyFile] = []
    shown: set[str] = set()
    for rel, real in _walk(root, notes.append, many):
        name = printable(rel)
        if name in shown:  # only possible when escaping makes two real names look alike
            notes.append(Note(name, "another file has the same name once escaped for display; skipped"))
            continue
        shown.add(name)
        files.append(PolicyFile(name, real, SUFFIX_KINDS[os.path.splitext(rel)[1].lower()]))
    return root, files, notes


# More notes than this sharing a reason become one line: a count, the first names, how many more.
GROUP_NOTES_OVER = 5
_FIRST_NAMES = 3


def summarise(notes: Iterable[Note]) -> tuple[str, ...]:
    """Warning lines for the notes, in order; a reason shared by many files is one line where it first appears."""
    notes = list(notes)
    groups: dict[str, list[Note]] = {}
    for note in notes:
        groups.setdefault(note.group or note.reason, []).append(note)
    lines: list[str] = []
    for note in notes:
        key = note.group or note.reason
        members = groups[key]
        if len(members) <= GROUP_NOTES_OVER:
            lines.append(note.line())
        elif members[0] is note:
            lines.append(_grouped(key, members))
    return tuple(lines)


def _grouped(key: str, members: list[Note]) -> str:
    if key == "unsupported format":
        suffixes: dict[str, int] = {}
        for note in members:
            suffix = os.path.splitext(note.name)[1].lower() or "no extension"
            suffixes[suffix] = suffixes.get(suffix, 0) + 1
        counts = ", ".join(f"{suffix} {n:,}" for suffix, n in sorted(suffixes.items(), key=lambda kv: (-kv[1], kv[0])))
        key = f"unsupported format ({counts}); skipped"
    names = ", ".join(note.name for note in members[:_FIRST_NAMES])
    return f"{len(members):,} files: {key} — {names} and {len(members) - _FIRST_NAMES:,} more"


def read_policies(
    folder: str | Path,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_files: int | None = None,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> PolicyFolder:
    """Read every supported policy file under ``folder``; problems become warnings, not errors.

    Documents and warnings name files by their path relative to the folder, escaped for display
    (``textsafe.printable``): that is what reports, the terminal and the model see. Every document is
    held in memory: a large folder is better scanned file by file (``agent.scan``).
    """
    _, files, notes = list_files(folder)
    if max_files is not None and len(files) > max_files:
        notes.insert(0, Note("", f"{len(files)} supported files found; only the first {max_files} (by path) were read"))
        files = files[:max_files]
    documents: list[PolicyDocument] = []
    for file in files:
        read = read_file(file, max_file_bytes=max_file_bytes, max_text_chars=max_text_chars)
        documents.extend(read.documents)
        if read.note:
            notes.append(read.note)
    return PolicyFolder(root=str(folder), documents=tuple(documents), warnings=summarise(notes))
