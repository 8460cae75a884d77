"""The one writer for every output file: confined, atomic, crash- and concurrency-safe.

Confinement is structural, not a path check. The output folder is opened once (refused if the given
path is itself a symlink or not a folder) and its directory fd is kept for the writer's lifetime.
Every folder below it is reached from its parent's fd with ``O_NOFOLLOW | O_DIRECTORY`` (created
with ``mkdir`` relative to that fd, then reopened the same way), files are read with ``O_NOFOLLOW``
and replaced by a temp file created ``O_EXCL | O_NOFOLLOW`` in the same folder fd and renamed within
it. No path string is resolved twice, so a symlink planted anywhere below the root, even between two
writes, is refused (``UnsafePathError`` naming the entry) rather than followed.

Every write runs one short critical section under an exclusive ``flock`` on ``.agent-lock`` in the
output folder: re-read the manifest from disk, decide, record, write. Concurrent runs into one folder
interleave file by file and always merge into the latest manifest, never over a stale copy.

The manifest (``.agent-manifest.json``, version 2) keeps per file the hash of the agent's current
version and a bounded history of earlier ones. It is written ahead: the new hash is recorded
(atomically) before the file is replaced, so a process killed at any instant leaves every
agent-written file recognisable. A file is a person's edit only if its content differs from every
version the agent wrote; such a file is never overwritten, and the new version goes beside it as
``<stem>.proposed<suffix>``. Temp files (``.tmp-*.part``) left by a killed writer are removed when
the next writer starts, under the lock, when no live writer can own one.

A writer may keep its manifest in a subfolder (``manifest_dir``, e.g. a run's report folder); names
are always relative to the output folder, and the lock is always at its top.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, TypedDict

from agent.models import WriteResult
from agent.textsafe import printable

_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
MAX_DEPTH = 3
# Proposals beyond this mean something is badly wrong; stop rather than litter the folder.
_MAX_PROPOSALS = 100
# Earlier versions remembered per file; enough for years of runs, small enough to re-read per write.
HISTORY_LIMIT = 100
_READ_LIMIT = 64_000_000  # far above any draft, report or manifest the agent writes
MANIFEST_VERSION = 2
_TEMP = re.compile(r"\.tmp-[A-Za-z0-9_]+\.part")  # also the older writer's tempfile names

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
# O_NONBLOCK: a FIFO planted under an output name must not hang the run.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC


class UnsafePathError(ValueError):
    """A name or location the writer refuses to write to."""


class _Entry(TypedDict):
    sha256: str
    written_at: str
    earlier_sha256: list[str]


Manifest = dict[str, _Entry]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _reason(exc: OSError) -> str:
    """The OS's words without the errno prefix, to fit inside one sentence."""
    text = exc.strerror or type(exc).__name__
    return text[:1].lower() + text[1:]


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
    """Mode a plain open() would give a new file; our temp files are created 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


# --- manifest ----------------------------------------------------------------------


def _parse_manifest(raw: bytes) -> Manifest | None:
    """Entries of a well-formed version 1 or 2 manifest, or None if it is damaged in any way."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") not in (1, 2) or not isinstance(doc.get("files"), dict):
        return None
    files: Manifest = {}
    for name, entry in doc["files"].items():
        if not isinstance(entry, dict):
            return None
        sha, at, earlier = entry.get("sha256"), entry.get("written_at"), entry.get("earlier_sha256", [])
        if not (isinstance(sha, str) and isinstance(at, str) and isinstance(earlier, list)):
            return None
        if not all(isinstance(h, str) for h in earlier):
            return None
        files[name] = _Entry(sha256=sha, written_at=at, earlier_sha256=earlier[:HISTORY_LIMIT])
    return files


def _dump_manifest(files: Manifest) -> bytes:
    # Sorted and stable so that an unchanged run produces identical bytes and skips the write.
    doc = {"version": MANIFEST_VERSION, "files": dict(sorted(files.items()))}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _agent_wrote(entry: _Entry | None, digest: str) -> bool:
    return entry is not None and (entry["sha256"] == digest or digest in entry["earlier_sha256"])


def _recorded(entry: _Entry | None, digest: str) -> _Entry:
    """The entry once digest is the current version; the same object if nothing changes."""
    if entry is not None and entry["sha256"] == digest:
        return entry
    earlier = [] if entry is None else [entry["sha256"], *entry["earlier_sha256"]]
    earlier = [h for h in dict.fromkeys(earlier) if h != digest][:HISTORY_LIMIT]
    return _Entry(sha256=digest, written_at=_now(), earlier_sha256=earlier)


# --- the output folder, reached only through directory fds -------------------------


class _Root:
    """An open output folder; every entry below it is reached from a directory fd, never by path."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open(cls, out_dir: str | Path, create: bool) -> _Root:
        out = Path(out_dir)
        shown = printable(str(out))
        if out.is_symlink():
            raise UnsafePathError(f"output folder {shown} is a symlink; refusing to write through it")
        if create and not out.exists():
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UnsafePathError(f"cannot create output folder {shown}: {_reason(exc)}") from None
        try:
            fd = os.open(out, _DIR_FLAGS)  # O_NOFOLLOW closes the gap between the check above and here
        except OSError as exc:
            raise UnsafePathError(f"output folder {shown} {_problem(exc, None, str(out), folder=True)}") from None
        return cls(fd, out.resolve())

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def refusal(self, rel: str, problem: str) -> UnsafePathError:
        return UnsafePathError(f"{rel!r} in output folder {printable(str(self.path))} {problem}")

    def open_dir(self, parts: Sequence[str], create: bool) -> int | None:
        """A new fd for root/parts (caller closes); None if absent and not create."""
        fd = os.dup(self.fd)
        for depth, part in enumerate(parts, start=1):
            try:
                child = self._child_dir(fd, part, "/".join(parts[:depth]), create)
            finally:
                os.close(fd)
            if child is None:
                return None
            fd = child
        return fd

    def _child_dir(self, parent: int, part: str, rel: str, create: bool) -> int | None:
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
        except OSError as exc:
            raise self.refusal(rel, _problem(exc, parent, part, folder=True)) from None
        try:
            os.mkdir(part, 0o777, dir_fd=parent)
        except FileExistsError:
            pass  # a concurrent run made it, or something was planted: the O_NOFOLLOW open decides
        except OSError as exc:
            raise self.refusal(rel, f"cannot be created: {_reason(exc)}") from None
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise self.refusal(rel, _problem(exc, parent, part, folder=True)) from None

    def read(self, dir_fd: int, part: str, rel: str) -> tuple[bytes, int] | None:
        """Bytes and permission bits of a regular file, or None if absent; never through a symlink."""
        try:
            fd = os.open(part, _READ_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.refusal(rel, _problem(exc, dir_fd, part, folder=False)) from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise self.refusal(rel, "is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise self.refusal(rel, "is not a regular file")
            # A file larger than anything the agent writes cannot be one of its versions; reading more
            # than that (a multi-gigabyte file planted under a draft's name) would only cost memory.
            return fh.read(_READ_LIMIT + 1), stat.S_IMODE(info.st_mode)

    def replace(self, dir_fd: int, part: str, rel: str, data: bytes, mode: int) -> None:
        """Atomically make dir_fd/part hold data: temp file, fsync, rename within the folder, fsync it."""
        try:
            tmp, fd = _new_temp(dir_fd)
        except FileNotFoundError:
            raise self.refusal(rel, "cannot be written: its folder changed while it was being written") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
                os.fchmod(fh.fileno(), mode)
            # rename replaces whatever is at part, a symlink included, and never follows it
            os.replace(tmp, part, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            if isinstance(exc, IsADirectoryError):
                raise self.refusal(rel, "is a folder, not a file") from None
            if isinstance(exc, FileNotFoundError):
                raise self.refusal(rel, "cannot be written: its folder changed while it was being written") from None
            raise
        _fsync(dir_fd)

    def put(self, dir_fd: int, part: str, rel: str, data: bytes) -> None:
        """Write data unless the file already holds exactly it; keeps an existing file's mode."""
        current = self.read(dir_fd, part, rel)
        if current is None or current[0] != data:
            self.replace(dir_fd, part, rel, data, current[1] if current else _new_file_mode())

    def is_file(self, parts: Sequence[str]) -> bool:
        """Whether root/parts is a regular file, reached without following any symlink."""
        try:
            dir_fd = self.open_dir(parts[:-1], create=False)
        except UnsafePathError:
            return False
        if dir_fd is None:
            return False
        try:
            return stat.S_ISREG(os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            return False
        finally:
            os.close(dir_fd)


def _problem(exc: OSError, dir_fd: int | None, name: str, folder: bool) -> str:
    """Why an entry could not be opened, in words: the lstat tells more than the errno."""
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        return f"cannot be used: {_reason(exc)}"
    if stat.S_ISLNK(mode):
        return "is a symlink; refusing to write through it"
    if folder and not stat.S_ISDIR(mode):
        return "is not a folder"
    if not folder and stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not folder and not stat.S_ISREG(mode):
        return "is not a regular file"
    return f"cannot be used: {_reason(exc)}"


def _new_temp(dir_fd: int) -> tuple[str, int]:
    while True:
        name = f".tmp-{secrets.token_hex(8)}.part"
        try:
            return name, os.open(name, _CREATE_FLAGS, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue


def _fsync(fd: int) -> None:
    """Make a rename durable; not every file system can fsync a folder."""
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _sweep_temps(dir_fd: int, depth: int) -> None:
    """Remove .tmp-*.part files in this folder and its subfolders up to depth, following no symlink."""
    with os.scandir(dir_fd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if _TEMP.fullmatch(name) and not is_dir:
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                    os.unlink(name, dir_fd=dir_fd)
        elif is_dir and depth > 0:
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                # A folder with its own lock is another output folder; its writers are not ours to judge.
                if not _exists(sub, SafeWriter.LOCK):
                    _sweep_temps(sub, depth - 1)
            finally:
                os.close(sub)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


# --- the writer --------------------------------------------------------------------


class SafeWriter:
    """Writes output files inside one folder, never over a person's edits."""

    MANIFEST = ".agent-manifest.json"
    LOCK = ".agent-lock"

    def __init__(self, out_dir: str | Path, manifest_dir: str = "") -> None:
        """Open out_dir (created if missing); the manifest lives in out_dir/manifest_dir."""
        self._prefix = _split_name(manifest_dir) if manifest_dir else ()
        self._root = _Root.open(out_dir, create=True)
        self._lock_fd = -1
        self._results: list[WriteResult] = []
        self._closed = False
        # flock excludes other open files, not threads sharing this one
        self._thread_lock = threading.Lock()
        try:
            self._lock_fd = self._open_lock()
            with self._locked():
                # Under the lock no live writer owns a temp file: any found was left by a killed one.
                _sweep_temps(self._root.fd, MAX_DEPTH - 1)
                with self._manifest_dir() as dir_fd:
                    self._load_manifest(dir_fd)  # refuses a planted manifest before anything is written
        except BaseException:
            self.close()
            raise

    # --- lifetime ---------------------------------------------------------------

    def close(self) -> None:
        """Release the folder and the lock file; every write is already on disk."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        self._root.close()
        self._closed = True

    def __enter__(self) -> SafeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def results(self) -> list[WriteResult]:
        return list(self._results)

    # --- lock and manifest ------------------------------------------------------

    def _open_lock(self) -> int:
        try:
            fd = os.open(self.LOCK, _LOCK_FLAGS, _new_file_mode(), dir_fd=self._root.fd)
        except OSError as exc:
            raise self._root.refusal(self.LOCK, _problem(exc, self._root.fd, self.LOCK, folder=False)) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._root.refusal(self.LOCK, "is not a regular file")
        return fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _manifest_dir(self) -> Iterator[int]:
        fd = self._root.open_dir(self._prefix, create=True)
        assert fd is not None  # create=True never returns None
        try:
            yield fd
        finally:
            os.close(fd)

    def _rel(self, name: str) -> str:
        """A name inside the manifest's folder, relative to the output folder."""
        return "/".join((*self._prefix, name))

    def _load_manifest(self, dir_fd: int) -> Manifest:
        got = self._root.read(dir_fd, self.MANIFEST, self._rel(self.MANIFEST))
        if got is None:
            return {}
        files = _parse_manifest(got[0])
        if files is None:
            # Keep the damaged copy for inspection; treating it as empty only makes us more careful.
            corrupt = self.MANIFEST + ".corrupt"
            self._root.put(dir_fd, corrupt, self._rel(corrupt), got[0])
            return {}
        return files

    def _save_manifest(self, dir_fd: int, files: Manifest) -> None:
        self._root.put(dir_fd, self.MANIFEST, self._rel(self.MANIFEST), _dump_manifest(files))

    # --- writing ----------------------------------------------------------------

    def write(self, relative_name: str, content: str) -> WriteResult:
        """Write content (UTF-8, LF newlines) to out_dir/relative_name, keeping human edits."""
        if not isinstance(content, str):
            raise TypeError(f"write() takes text, got {type(content).__name__}; use write_bytes()")
        return self.write_bytes(relative_name, content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"))

    def write_bytes(self, relative_name: str, data: bytes) -> WriteResult:
        """Write data to out_dir/relative_name with the same guarantees as write()."""
        if self._closed:
            raise RuntimeError("SafeWriter is closed")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write_bytes() takes bytes, got {type(data).__name__}; use write()")
        self._key(relative_name)  # validate before taking the lock
        data = bytes(data)
        digest = _sha256(data)
        with self._locked(), self._manifest_dir() as manifest_fd:
            files = self._load_manifest(manifest_fd)
            result = self._write_or_propose(relative_name, data, digest, files, manifest_fd)
        self._results.append(result)
        return result

    def _key(self, relative_name: str) -> str:
        """The manifest's key for a validated name: its path below the manifest's folder."""
        parts = _split_name(relative_name)
        n = len(self._prefix)
        if len(parts) <= n or parts[:n] != self._prefix:
            raise UnsafePathError(f"output name {relative_name!r} is outside this writer's folder {'/'.join(self._prefix)!r}")
        return "/".join(parts[n:])

    def _write_or_propose(
        self, name: str, data: bytes, digest: str, files: Manifest, manifest_fd: int
    ) -> WriteResult:
        outcome = self._try(name, data, digest, files, manifest_fd)
        if outcome != "foreign":
            return WriteResult(path=name, action=outcome, sha256=digest)
        for n in range(1, _MAX_PROPOSALS + 1):
            proposed = _proposed_name(name, n)
            if self._try(proposed, data, digest, files, manifest_fd) != "foreign":
                return WriteResult(path=name, action="kept_human_edit", written_as=proposed, sha256=digest)
        raise UnsafePathError(f"{name!r}: {_MAX_PROPOSALS} proposed versions were all edited by hand")

    def _try(
        self, name: str, data: bytes, digest: str, files: Manifest, manifest_fd: int
    ) -> Literal["written", "unchanged", "foreign"]:
        """Write name if it is absent or ours; 'foreign' means a person's file is in the way."""
        parts = name.split("/")  # validated by the caller; a proposal only adds safe characters
        key = "/".join(parts[len(self._prefix):])
        dir_fd = self._root.open_dir(parts[:-1], create=True)
        assert dir_fd is not None  # create=True never returns None
        try:
            current = self._root.read(dir_fd, parts[-1], name)
            on_disk = _sha256(current[0]) if current is not None else None
            if on_disk is not None and on_disk != digest and not _agent_wrote(files.get(key), on_disk):
                return "foreign"
            entry = _recorded(files.get(key), digest)
            if entry is not files.get(key):
                files[key] = entry
                # Write-ahead: recorded before the file changes, so a kill in between leaves both versions ours.
                self._save_manifest(manifest_fd, files)
            if on_disk == digest:
                return "unchanged"
            self._root.replace(dir_fd, parts[-1], name, data, current[1] if current else _new_file_mode())
            return "written"
        finally:
            os.close(dir_fd)


# --- for callers that only look -----------------------------------------------------


def written_names(out_dir: str | Path) -> set[str]:
    """Names (relative to out_dir) the agent wrote there and still present; empty if none or unreadable."""
    try:
        root = _Root.open(out_dir, create=False)
    except UnsafePathError:
        return set()
    try:
        got = root.read(root.fd, SafeWriter.MANIFEST, SafeWriter.MANIFEST)
        files = _parse_manifest(got[0]) if got else None
        names = set()
        for name in files or {}:
            with contextlib.suppress(UnsafePathError):
                if root.is_file(_split_name(name)):
                    names.add(name)
        return names
    except UnsafePathError:
        return set()
    finally:
        root.close()


def check_output_folder(path: str | Path, folders: Sequence[str] = ("reports",)) -> Path:
    """The resolved output folder, after proving the agent can write there and only there.

    Creates it if missing; refuses a symlink, a file, a folder nothing can be written into (read-only
    mounts, /proc, /sys: permission bits mean nothing to root, so a real file is created and removed)
    and a symlink or wrong type at any entry the writer goes through (folders: agent.report's
    ``reports``). Raises UnsafePathError with one sentence.
    """
    root = _Root.open(path, create=True)
    try:
        _probe(root)
        for name in folders:
            _check_entry(root, name, folder=True)
        for name in (SafeWriter.MANIFEST, SafeWriter.LOCK):
            _check_entry(root, name, folder=False)
        return root.path
    finally:
        root.close()


def _probe(root: _Root) -> None:
    try:
        name, fd = _new_temp(root.fd)
    except OSError as exc:
        raise UnsafePathError(f"output folder {printable(str(root.path))} is not writable: {_reason(exc)}") from None
    try:
        os.write(fd, b"probe")
    except OSError as exc:
        raise UnsafePathError(f"output folder {printable(str(root.path))} is not writable: {_reason(exc)}") from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=root.fd)


def _check_entry(root: _Root, name: str, folder: bool) -> None:
    try:
        mode = os.stat(name, dir_fd=root.fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise root.refusal(name, f"cannot be used: {_reason(exc)}") from None
    if stat.S_ISLNK(mode):
        raise root.refusal(name, "is a symlink; refusing to write through it")
    if folder and not stat.S_ISDIR(mode):
        raise root.refusal(name, "is not a folder")
    if not folder and not stat.S_ISREG(mode):
        raise root.refusal(name, "is a folder, not a file" if stat.S_ISDIR(mode) else "is not a regular file")
