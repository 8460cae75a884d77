"""Zip archives (.docx, .xlsx) read with a hard limit on what they inflate to.

A zip's headers state each member's size, but nothing forces them to be true: a member can claim a few
kilobytes and inflate to gigabytes, or claim gigabytes and hold a few bytes. ``BoundedZip`` never relies
on the claims. Members are inflated in small chunks and every byte produced counts against one budget
for the whole archive; reading stops with ``ArchiveTooLarge`` as soon as the budget is exceeded, so
memory and time stay proportional to the budget, whatever the headers say. (A member whose header
understates its size is cut at that size by ``zipfile`` and then fails its CRC check: ``ArchiveError``.)

``read`` returns a whole member; ``open`` streams one to an incremental parser (lxml's ``iterparse``), so
not even the budget has to be held in memory. Only the two methods Office writes (stored, deflate) are
accepted: bzip2 and LZMA members inflate a whole input block per call, which a chunked read cannot bound.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from types import TracebackType
from typing import IO

CHUNK = 64 * 1024
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


class ArchiveError(Exception):
    """The archive cannot be read; the message says why, for the user."""


class ArchiveTooLarge(ArchiveError):
    """The members read so far inflate beyond the archive's budget."""


class BoundedZip:
    """Read members of a zip held in memory, within a budget of bytes produced across the whole archive.

    >>> with BoundedZip(data, max_bytes=50_000_000) as archive:
    ...     xml = archive.read("word/document.xml")
    """

    def __init__(self, data: bytes, *, max_bytes: int, max_members: int = 10_000, chunk: int = CHUNK) -> None:
        self.max_bytes = max_bytes
        self.produced = 0
        self._chunk = chunk
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise ArchiveError("not a zip archive") from None
        infos = self._zip.infolist()
        if len(infos) > max_members:
            self._zip.close()
            raise ArchiveError(f"{len(infos):,} members (more than {max_members:,})")
        # Like ZipFile.getinfo, the last entry of a repeated name wins.
        self._members = {info.filename: info for info in infos if not info.is_dir()}

    def names(self) -> list[str]:
        """Member names (directories excluded), in archive order."""
        return list(self._members)

    def read(self, name: str) -> bytes:
        """The member's bytes; raises KeyError for a missing member, ArchiveError or ArchiveTooLarge."""
        with self.open(name) as member:
            return b"".join(iter(lambda: member.read(self._chunk), b""))

    def open(self, name: str) -> BoundedMember:
        """A file-like reader of the member (for streaming parsers), counting against the same budget."""
        info = self._members[name]
        if info.compress_type not in _METHODS:
            raise ArchiveError(f"{name}: unsupported compression method {info.compress_type}")
        try:
            return BoundedMember(self, name, self._zip.open(info))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise ArchiveError(f"{name}: {exc}") from None

    def _count(self, produced: int) -> None:
        self.produced += produced
        if self.produced > self.max_bytes:
            raise ArchiveTooLarge(f"unpacks to more than {self.max_bytes:,} bytes")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BoundedZip:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class BoundedMember:
    """One member being inflated: ``read(n)`` returns at most ``n`` bytes (the archive's chunk size if n < 0)."""

    def __init__(self, archive: BoundedZip, name: str, member: IO[bytes]) -> None:
        self._archive = archive
        self._name = name
        self._member = member

    def read(self, size: int = -1) -> bytes:
        size = self._archive._chunk if size is None or size < 0 else min(size, self._archive._chunk)
        try:
            # ZipExtFile.read(n) inflates about n bytes per call, whatever the member's header claims
            block = self._member.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
            # BadZipFile: bad CRC or headers; RuntimeError: encrypted member
            raise ArchiveError(f"{self._name}: {exc}") from None
        self._archive._count(len(block))
        return block

    def close(self) -> None:
        self._member.close()

    def __enter__(self) -> BoundedMember:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
