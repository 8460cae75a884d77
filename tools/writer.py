"""The one writer for every output file (DESIGN §6).

Writes are confined to the output folder, atomic (temp file + fsync + ``os.replace``) and
recorded in a manifest of content hashes. The manifest is how the writer tells its own earlier
output from a file a person has edited: ours may be overwritten, a person's never is; the new
version then goes beside it as ``<stem>.proposed<suffix>``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from agent.models import WriteResult

_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
MAX_DEPTH = 3
# Proposals beyond this mean something is badly wrong; stop rather than litter the folder.
_MAX_PROPOSALS = 100


class UnsafePathError(ValueError):
    """A name or location the writer refuses to write to."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _split_name(relative_name: str) -> tuple[str, ...]:
    """Validate a caller-built relative name; only plain, safe components are allowed."""
    if not isinstance(relative_name, str):
        raise UnsafePathError(f"output name must be a string, got {type(relative_name).__name__}")
    parts = tuple(relative_name.split("/"))
    if len(parts) > MAX_DEPTH:
        raise UnsafePathError(f"output name {relative_name!r} is nested deeper than {MAX_DEPTH} levels")
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            raise UnsafePathError(
                f"unsafe output name {relative_name!r}: component {part!r} must match {_COMPONENT.pattern}"
            )
    return parts


def _proposed_name(relative_name: str, n: int) -> str:
    """'a/X.md' -> 'a/X.proposed.md' (n=1), 'a/X.proposed-2.md' (n=2), ..."""
    head, _, last = relative_name.rpartition("/")
    stem, dot, suffix = last.rpartition(".")
    if not dot or not stem:
        stem, suffix = last, ""
    marker = ".proposed" if n == 1 else f".proposed-{n}"
    name = stem + marker + (f".{suffix}" if suffix else "")
    return f"{head}/{name}" if head else name


@functools.cache
def _new_file_mode() -> int:
    """Mode a plain open() would give a new file; NamedTemporaryFile always uses 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _read_nofollow(path: Path) -> bytes | None:
    """Current bytes of path, or None if absent; never reads through a symlink."""
    try:
        # O_NONBLOCK: a FIFO planted under an output name must not hang the run.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnsafePathError(f"cannot safely read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UnsafePathError(f"{path} exists and is not a regular file")
        return fh.read()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory so readers never see a partial file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    # Keep an existing file's permissions; a replaced symlink's 0777 must not leak onto the file.
    mode = stat.S_IMODE(info.st_mode) if info and stat.S_ISREG(info.st_mode) else _new_file_mode()
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", suffix=".part", delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.fchmod(tmp.fileno(), mode)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    try:
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _parse_manifest(raw: bytes) -> dict[str, dict[str, str]] | None:
    """Entries of a well-formed manifest, or None if it is damaged in any way."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("files"), dict):
        return None
    files: dict[str, dict[str, str]] = {}
    for name, entry in doc["files"].items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("written_at"), str)
        ):
            return None
        files[name] = {"sha256": entry["sha256"], "written_at": entry["written_at"]}
    return files


def _dump_manifest(files: dict[str, dict[str, str]]) -> bytes:
    # Sorted and stable so that an unchanged run produces identical bytes and skips the write.
    doc: dict[str, Any] = {"version": 1, "files": dict(sorted(files.items()))}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class SafeWriter:
    """Writes output files inside one folder, never over a person's edits."""

    MANIFEST = ".agent-manifest.json"

    def __init__(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        if out.is_symlink():
            raise UnsafePathError(f"output folder {out} is a symlink; refusing to write through it")
        if out.exists() and not out.is_dir():
            raise UnsafePathError(f"output folder {out} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        self._root = out.resolve()
        self._results: list[WriteResult] = []
        self._files = self._load_manifest()
        self._closed = False

    # --- manifest ---------------------------------------------------------------

    @property
    def _manifest_path(self) -> Path:
        return self._root / self.MANIFEST

    def _load_manifest(self) -> dict[str, dict[str, str]]:
        path = self._manifest_path
        if path.is_symlink():
            return {}  # never trust (or read through) a planted link; close() replaces it
        try:
            raw = _read_nofollow(path)
        except UnsafePathError:
            return {}
        if raw is None:
            return {}
        files = _parse_manifest(raw)
        if files is None:
            # Keep the damaged copy for inspection; treating it as empty only makes us more careful.
            _atomic_write(self._root / (self.MANIFEST + ".corrupt"), raw)
            return {}
        return files

    def _record(self, name: str, digest: str) -> None:
        if self._files.get(name, {}).get("sha256") != digest:
            self._files[name] = {"sha256": digest, "written_at": _now()}

    def close(self) -> None:
        """Write the manifest atomically, only if its content changed."""
        data = _dump_manifest(self._files)
        path = self._manifest_path
        current = None if path.is_symlink() else _read_nofollow(path)
        if current != data:
            _atomic_write(path, data)
        self._closed = True

    def __enter__(self) -> SafeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Record what was written even when the run failed part-way.
        self.close()

    @property
    def results(self) -> list[WriteResult]:
        return list(self._results)

    # --- writing ----------------------------------------------------------------

    def _target(self, relative_name: str) -> Path:
        """Absolute path for an already validated name; refuses symlinks anywhere along the way."""
        parts = relative_name.split("/")
        current = self._root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise UnsafePathError(f"refusing to write {relative_name!r}: {part!r} is a symlink")
        for directory in list(current.parents)[: len(parts) - 1]:
            if directory.exists() and not directory.is_dir():
                raise UnsafePathError(f"refusing to write {relative_name!r}: {directory.name!r} is not a folder")
        if current.is_dir():
            raise UnsafePathError(f"refusing to write {relative_name!r}: it is a folder")
        if not current.resolve().is_relative_to(self._root):
            raise UnsafePathError(f"refusing to write {relative_name!r}: it resolves outside {self._root}")
        return current

    def _ensure_parent(self, target: Path) -> None:
        """Create missing subfolders one level at a time, re-checking none is a symlink."""
        missing = [d for d in reversed(list(target.parents)) if d.is_relative_to(self._root) and d != self._root]
        for directory in missing:
            if directory.is_symlink():
                raise UnsafePathError(f"refusing to write into {directory}: it is a symlink")
            directory.mkdir(exist_ok=True)

    def _try(self, name: str, data: bytes, digest: str) -> Literal["written", "unchanged", "foreign"]:
        """Write name if it is absent or ours; 'foreign' means a person's file is in the way."""
        target = self._target(name)
        current = _read_nofollow(target)
        if current is not None and _sha256(current) == digest:
            self._record(name, digest)
            return "unchanged"
        if current is not None and self._files.get(name, {}).get("sha256") != _sha256(current):
            return "foreign"
        self._ensure_parent(target)
        _atomic_write(target, data)
        self._record(name, digest)
        return "written"

    def write(self, relative_name: str, content: str) -> WriteResult:
        """Write content (UTF-8, LF newlines) to out_dir/relative_name, keeping human edits."""
        if self._closed:
            raise RuntimeError("SafeWriter is closed")
        _split_name(relative_name)
        data = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
        digest = _sha256(data)

        outcome = self._try(relative_name, data, digest)
        if outcome != "foreign":
            result = WriteResult(path=relative_name, action=outcome, sha256=digest)
        else:
            result = self._propose(relative_name, data, digest)
        self._results.append(result)
        return result

    def _propose(self, relative_name: str, data: bytes, digest: str) -> WriteResult:
        for n in range(1, _MAX_PROPOSALS + 1):
            proposed = _proposed_name(relative_name, n)
            if self._try(proposed, data, digest) != "foreign":
                return WriteResult(path=relative_name, action="kept_human_edit", written_as=proposed, sha256=digest)
        raise UnsafePathError(f"{relative_name!r}: {_MAX_PROPOSALS} proposed versions were all edited by hand")
