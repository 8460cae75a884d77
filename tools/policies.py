"""Read a company's policy folder into line-numbered, sectioned text (DESIGN §6).

The folder is read-only input: files are opened for reading only, nothing is created in it, symlinks
leading outside it are refused, and binary, oversized, corrupt or undecodable files are skipped with a
warning instead of failing the run. Line numbers are 1-based into ``PolicyDocument.lines`` so that
evidence quotes can point back at the text a reviewer sees.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.models import Frozen

Kind = Literal["md", "txt", "docx", "pdf"]

SUFFIX_KINDS: dict[str, Kind] = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".docx": "docx",
    ".pdf": "pdf",
}
# Formats a company might keep policies in that we cannot read; worth telling the user about.
UNSUPPORTED_POLICY_SUFFIXES = frozenset({".doc", ".rtf", ".odt", ".pages"})

_SNIFF_BYTES = 8192
# A .docx is a zip; refuse archives that would expand far beyond what a policy needs.
_MAX_DOCX_UNPACKED = 200_000_000


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


class _Skip(Exception):
    """A file cannot be used; the message says why, for the user."""


# --- walking -------------------------------------------------------------------


def _ignored(name: str) -> bool:
    """Hidden entries and Office lock files ("~$Policy.docx") are never policy documents."""
    return name.startswith(".") or name.startswith("~$")


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


@dataclass
class _Walker:
    """Collects supported files under a resolved root; symlinks are queued, not followed in place."""

    root: Path
    warn: Callable[[str], None]
    found: dict[Path, str] = field(default_factory=dict)  # real path -> first relative path
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
                self.warn(f"{prefix.rstrip('/') or '.'}: cannot list directory ({exc.strerror or exc}); skipped")
                continue
            subdirs = []
            for entry in entries:
                if _ignored(entry.name):
                    continue
                rel = prefix + entry.name
                if entry.is_symlink():
                    self.link(entry.path, rel)
                elif _is_real_dir(entry):
                    if Path(entry.path) not in self.walked:
                        self.walked.add(Path(entry.path))
                        subdirs.append((Path(entry.path), rel + "/"))
                elif _classify(rel, self.warn) is not None:
                    self.found.setdefault(Path(entry.path), rel)
            stack.extend(reversed(subdirs))  # so they pop in name order

    def link(self, path: str, rel: str) -> None:
        target = Path(os.path.realpath(path))
        if not _inside(target, self.root):
            self.warn(f"{rel}: symlink points outside the policy folder; skipped")
        elif not target.exists():
            self.warn(f"{rel}: broken symlink; skipped")
        elif target.is_dir():
            self.linked_dirs.append((target, rel + "/"))
        else:
            self.linked_files.append((target, rel))


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _walk(root: Path, warn: Callable[[str], None]) -> list[tuple[str, Path]]:
    """(relative POSIX path, real path) of every supported file, each real file once, sorted.

    The real tree is walked before any symlink is followed, so a file reachable both directly and
    through a link is reported under its own path; the set of walked directories breaks cycles.
    """
    walker = _Walker(root, warn)
    walker.tree(root, "")
    while walker.linked_files or walker.linked_dirs:
        for target, rel in walker.linked_files:
            if _classify(rel, warn) is not None:
                walker.found.setdefault(target, rel)
        walker.linked_files.clear()
        if walker.linked_dirs:
            target, prefix = walker.linked_dirs.pop(0)
            if target not in walker.walked:  # else already read, or a cycle
                walker.tree(target, prefix)
    return sorted(((rel, real) for real, rel in walker.found.items()), key=lambda item: item[0])


def _classify(rel: str, warn: Callable[[str], None]) -> Kind | None:
    """Kind of a file by suffix; warns about policy-like files we cannot read."""
    suffix = os.path.splitext(rel)[1].lower()
    kind = SUFFIX_KINDS.get(suffix)
    if kind is None and suffix in UNSUPPORTED_POLICY_SUFFIXES:
        warn(f"{rel}: unsupported format ({suffix}); convert it to .docx, .pdf, .md or .txt; skipped")
    return kind


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a regular file read-only, refusing anything larger than max_bytes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        # FIFOs and devices would block or never end.
        if not stat.S_ISREG(info.st_mode):
            raise _Skip("not a regular file; skipped")
        if info.st_size > max_bytes:
            raise _Skip(f"file too large ({info.st_size:,} bytes > {max_bytes:,}); skipped")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _Skip(f"file too large (> {max_bytes:,} bytes); skipped")
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

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
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
        atx = _ATX.match(line)
        if atx:
            yield i, (atx.group(2) or "").strip()
        elif (
            i > start
            and _SETEXT.match(line)
            and not _NOT_PARAGRAPH.match(lines[i - 1])
            and not _ATX.match(lines[i - 1])
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


def _extract_text(data: bytes, kind: Kind) -> tuple[list[str], list[tuple[int, str]], str | None]:
    text, warning = _decode(data)
    lines = _text_lines(text)
    headings = _markdown_headings(lines) if kind == "md" else _plain_headings(lines)
    return lines, list(headings), warning


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_NS = {"w": _W[1:-1]}


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


def _docx_blocks(container: Any) -> Iterator[Any]:
    """Body-level paragraphs and tables in order, including those inside content controls.

    python-docx's own iteration only sees direct children, so text inside ``w:sdt`` blocks
    (common in corporate templates) would silently vanish.
    """
    for child in container.iterchildren():
        if child.tag in (_W + "p", _W + "tbl"):
            yield child
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _docx_blocks(content)
        elif child.tag in (_W + "customXml", _W + "ins"):
            yield from _docx_blocks(child)


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


def _extract_docx(data: bytes) -> tuple[list[str], list[tuple[int, str]], str | None]:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _Skip("corrupt or unreadable .docx (not a zip archive); skipped") from None
    if unpacked > _MAX_DOCX_UNPACKED:
        raise _Skip(f"corrupt or unreadable .docx (expands to {unpacked:,} bytes); skipped")

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        style_names = {style.style_id: (style.name or "") for style in document.styles}
        xp = _docx_xpaths()
        lines: list[str] = []
        headings: list[tuple[int, str]] = []
        for block in _docx_blocks(document.element.body):
            if block.tag == _W + "tbl":
                lines.extend(_docx_row_text(tr) for tr in xp["rows"](block))
                continue
            text = _docx_paragraph_text(block)
            style = style_names.get(xp["style"](block), "")
            if style.lower().startswith(("heading", "title")) and text.strip():
                headings.append((len(lines), text.strip()))
            lines.append(text)
    except Exception as exc:  # python-docx raises a zoo of zip/XML/KeyError types on bad input
        raise _Skip(f"corrupt or unreadable .docx ({type(exc).__name__}); skipped") from None
    return lines, headings, None


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


def _extract_pdf(data: bytes) -> tuple[list[str], list[tuple[int, str]], str | None]:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    lines: list[str] = []
    try:
        with _quiet_pypdf():
            # pypdf already tries the empty password, so owner-password-only PDFs stay readable.
            reader = pypdf.PdfReader(io.BytesIO(data))
            for page in reader.pages:
                lines.extend(line.rstrip() for line in _text_lines(page.extract_text() or ""))
    except (FileNotDecryptedError, DependencyError):
        raise _Skip("encrypted PDF (password or decryption support required); skipped") from None
    except Exception as exc:  # damaged PDFs raise many exception types deep inside pypdf
        raise _Skip(f"corrupt or unreadable PDF ({type(exc).__name__}); skipped") from None
    if not any(line.strip() for line in lines):
        raise _Skip("no extractable text (scanned?); skipped")
    return lines, list(_plain_headings(lines)), None


_EXTRACTORS: dict[Kind, Callable[[bytes], tuple[list[str], list[tuple[int, str]], str | None]]] = {
    "md": lambda data: _extract_text(data, "md"),
    "txt": lambda data: _extract_text(data, "txt"),
    "docx": _extract_docx,
    "pdf": _extract_pdf,
}


def _document(rel: str, real: Path, max_bytes: int) -> tuple[PolicyDocument, str | None]:
    kind = SUFFIX_KINDS[os.path.splitext(rel)[1].lower()]
    try:
        data = _read_bytes(real, max_bytes)
    except OSError as exc:
        raise _Skip(f"cannot read ({exc.strerror or exc}); skipped") from None
    lines, headings, warning = _EXTRACTORS[kind](data)
    sections = _sections(rel, lines, headings)
    title = next((h for _, h in headings if h), "") or _humanise(Path(rel).stem)
    document = PolicyDocument(
        path=rel,
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        lines=tuple(lines),
        sections=sections,
        title=title,
    )
    return document, warning


def read_policies(
    folder: str | Path, *, max_file_bytes: int = 5_000_000, max_files: int = 5000
) -> PolicyFolder:
    """Read every supported policy file under ``folder``; problems become warnings, not errors."""
    given = Path(folder)
    if not given.exists():
        raise PolicyFolderError(f"policy folder not found: {given}")
    if not given.is_dir():
        raise PolicyFolderError(f"policy folder is not a directory: {given}")
    root = given.resolve()

    notes: list[str] = []
    files = _walk(root, notes.append)
    if len(files) > max_files:
        notes.append(
            f"{len(files)} supported files found; only the first {max_files} (by path) were read"
        )
        files = files[:max_files]

    documents = []
    for rel, real in files:
        try:
            document, warning = _document(rel, real, max_file_bytes)
        except _Skip as skip:
            notes.append(f"{rel}: {skip}")
            continue
        documents.append(document)
        if warning:
            notes.append(f"{rel}: {warning}")
    return PolicyFolder(root=str(folder), documents=tuple(documents), warnings=tuple(notes))
