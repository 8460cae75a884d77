"""Scanning a policy folder for coverage: every file read, prepared and matched once, in parallel when large.

A folder is read file by file and each document is matched against every requirement of the run at once
(``agent.assess.scan_document``); what is kept is the findings (per requirement element, the sentence that
evidences it, if any), never the documents' text, so memory grows with the evidence found, not with the
folder. Large folders are scanned by a pool of processes, one per core, that read, prepare and scan
batches of files and send back only findings. Results are identical whichever way a folder is scanned:
documents come back in path order, as ``tools.policies.read_policies`` lists them.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import re
import signal
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import assess as coverage
from agent.conflicts import ConflictFindings, scan_conflicts, with_headings
from agent.knowledge.schema import PackRequirement
from agent.profile import Said, relevant
from tools.policies import (
    ROW_KINDS,
    FileRead,
    Note,
    PolicyDocument,
    PolicyFile,
    list_files,
    read_file,
    summarise,
)

# A folder with fewer files than this is scanned in this process: starting the workers (about half a
# second) costs more than they save.
POOL_MIN_FILES = 400
# Files per batch sent to a worker: large enough that sending batches costs little, small enough that
# the last batches keep every core busy.
_BATCH_MIN, _BATCH_MAX = 16, 128
# Passages kept per topic for the model (the live engine judges these sentences).
PASSAGES = 24
_PASSAGE_WORD = re.compile(r"[a-z]{5,}")

Passage = tuple[str, int, int, str]  # file, first line, last line, sentence


@dataclass(frozen=True)
class ScannedDocument:
    """What a run keeps of a document: where it came from and its content hash, not its text."""

    path: str
    sha256: str
    file: int  # index of the file it was read from in FolderScan.files (a workbook gives several documents)


@dataclass
class FolderScan:
    """The outcome of scanning a folder: its documents, their findings (same order) and the warnings."""

    root: str
    files: tuple[PolicyFile, ...]
    documents: tuple[ScannedDocument, ...]
    findings: tuple[coverage.Findings, ...]
    warnings: tuple[str, ...]
    passages: dict[str, tuple[Passage, ...]] = field(default_factory=dict)
    # per document (same order), the statements contradicting a rule's figures (agent.conflicts)
    conflicts: tuple[ConflictFindings, ...] = ()
    # the sentences that can say who the firm is (agent.profile.relevant), in folder order
    said: tuple[Said, ...] = ()
    workers: int = 1  # processes that scanned it (1: this one)
    fallback: str = ""  # why a parallel scan was given up, if it was

    @property
    def files_read(self) -> int:
        return len({d.file for d in self.documents})

    @property
    def digest(self) -> str:
        return digest((d.path, d.sha256) for d in self.documents)

    def docs(self) -> Mapping[str, coverage.Doc]:
        """The documents by path, read again on demand (for checking a quote the model says is there)."""
        return _Reread(self)


def digest(documents: Iterable[tuple[str, str]]) -> str:
    """One hash for a folder's contents: every document's path and content hash, in order."""
    h = hashlib.sha256()
    for path, sha in documents:
        h.update(f"{path}\0{sha}\n".encode())
    return h.hexdigest()


def prepare_document(document: PolicyDocument) -> coverage.Doc:
    """A document prepared for matching; a spreadsheet row is one statement and never runs into the next."""
    lines: Sequence[str] = document.lines
    if document.kind in ROW_KINDS:
        # prepare() keeps a list item to itself: the marker is dropped again, line numbers are unchanged
        lines = [f"- {line}" if line.strip() else line for line in lines]
    return coverage.prepare(document.path, lines)


def topic_words(texts: Iterable[str]) -> frozenset[str]:
    """The words (five letters or more) that relate a sentence to requirements with these titles and obligations."""
    return frozenset(w for text in texts for w in _PASSAGE_WORD.findall(text.lower()))


def passages(docs: Iterable[coverage.Doc], words: frozenset[str], limit: int = PASSAGES) -> list[Passage]:
    """The sentences sharing most words (at least two) with a topic: the policy text the model is shown."""
    return _best(_scored(docs, {"": words}).get("", []), limit)


def scan_folder(
    folder: str | Path,
    reqs: Sequence[PackRequirement],
    *,
    topics: Mapping[str, frozenset[str]] | None = None,
    workers: int | None = None,
    pool_min_files: int = POOL_MIN_FILES,
    cancelled: Any = None,
) -> FolderScan:
    """Read and scan every policy file under ``folder`` against ``reqs``.

    ``topics`` (key -> words, see topic_words) asks for the passages most related to each topic as well.
    ``workers``: processes for a folder of at least ``pool_min_files`` files (None or 0: one per core;
    1: always this process); a smaller folder is scanned in this process. ``cancelled`` (a
    threading.Event) stops the scan between batches (agent.cancel.Cancelled). Raises
    tools.policies.PolicyFolderError for a missing folder.
    """
    # a folder large enough for the pool starts the process the workers are forked from while it is listed
    many = None if workers == 1 else (max(pool_min_files, 1), _get_ready)
    root, files, notes = list_files(folder, many=many)
    job = _Job(tuple(reqs), dict(topics or {}))
    results: dict[int, _FileResult] = {}
    n = _workers(workers, len(files), pool_min_files)
    fallback = ""
    if n > 1:
        try:
            for i, result in _pooled(job, files, n, cancelled):
                results[i] = result
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            # no worker could be started, or one died: what is left is scanned here
            fallback = f"parallel scan stopped ({type(exc).__name__}: {exc}); the rest was scanned in one process"
            n = 1
    for i, file in enumerate(files):
        if i not in results:
            _check(cancelled)
            results[i] = job.scan(file)
    scan = _assemble(str(folder), files, notes, results, job.topics)
    scan.workers, scan.fallback = n, fallback
    return scan


# --- the work on one file (in this process or a worker) -------------------------------------------------


@dataclass(frozen=True)
class _FileResult:
    documents: tuple[tuple[str, str], ...]  # (path, sha256) per document
    findings: tuple[coverage.Findings, ...]
    note: Note | None
    passages: dict[str, list[tuple[int, str, int, int, int, str]]]  # topic -> scored sentences
    conflicts: tuple[ConflictFindings, ...] = ()
    said: tuple[Said, ...] = ()


@dataclass
class _Job:
    reqs: tuple[PackRequirement, ...]
    topics: dict[str, frozenset[str]]

    def scan(self, file: PolicyFile) -> _FileResult:
        read: FileRead = read_file(file, sections=False)
        documents, findings, clashes = [], [], []
        said: list[Said] = []
        scored: dict[str, list[tuple[int, str, int, int, int, str]]] = {}
        for document in read.documents:
            doc = prepare_document(document)
            documents.append((document.path, document.sha256))
            findings.append(_compact(coverage.scan_document(doc, self.reqs)))
            clashes.append(self._conflicts(doc, file, document.path))
            said.extend(Said(x.file, x.line_start, x.line_end, x.text) for x in doc.sentences if relevant(x.text))
            if self.topics:
                for key, found in _scored([doc], self.topics).items():
                    scored.setdefault(key, []).extend(found)
        kept = {key: _best_scored(found, PASSAGES) for key, found in scored.items()}
        return _FileResult(tuple(documents), tuple(findings), read.note, kept, tuple(clashes), tuple(said))


    def _conflicts(self, doc: coverage.Doc, file: PolicyFile, path: str) -> ConflictFindings:
        """Statements contradicting a rule's figures; a conflict names its section, so its file's outline is read then."""
        found = scan_conflicts(doc, self.reqs)
        if not found:
            return found
        # rare: the reader's sections (the scan reads without them) name where the statement is
        again = next((d for d in read_file(file).documents if d.path == path), None)
        return scan_conflicts(with_headings(doc, again.sections), self.reqs) if again is not None else found


def _compact(findings: coverage.Findings) -> coverage.Findings:
    """Only the requirements the document says something about (judging treats a missing id as nothing found)."""
    return {rid: row for rid, row in findings.items() if not (isinstance(row, tuple) and row.count(None) == len(row))}


def _scored(docs: Iterable[coverage.Doc], topics: Mapping[str, frozenset[str]]) -> dict[str, list[tuple[int, str, int, int, int, str]]]:
    """Per topic, (-shared words, file, first line, sentence index, last line, text) of each related sentence."""
    found: dict[str, list[tuple[int, str, int, int, int, str]]] = {}
    for doc in docs:
        for k, s in enumerate(doc.sentences):
            words = set(_PASSAGE_WORD.findall(s.text.lower()))
            for key, wanted in topics.items():
                hits = len(words & wanted)
                if hits >= 2:
                    found.setdefault(key, []).append((-hits, s.file, s.line_start, k, s.line_end, s.text))
    return found


def _best_scored(found: list[tuple[int, str, int, int, int, str]], limit: int) -> list[tuple[int, str, int, int, int, str]]:
    return sorted(found)[:limit]


def _best(found: list[tuple[int, str, int, int, int, str]], limit: int) -> list[Passage]:
    return [(f, a, b, t) for _, f, a, _, b, t in _best_scored(found, limit)]


# --- the pool ---------------------------------------------------------------------------------------------

_JOB: _Job | None = None  # the job of a worker process, set once when it starts


def _start_worker(job: _Job) -> None:
    global _JOB
    # Ctrl-C reaches the whole process group; the parent decides what stops, and tells the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _JOB = job


def _scan_batch(batch: list[tuple[int, PolicyFile]]) -> list[tuple[int, _FileResult]]:
    assert _JOB is not None, "worker started without a job"
    return [(i, _JOB.scan(file)) for i, file in batch]


def _workers(requested: int | None, files: int, pool_min_files: int) -> int:
    if files < max(pool_min_files, 2):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(requested or cores, files))


def _batches(files: Sequence[PolicyFile], workers: int) -> Iterator[list[tuple[int, PolicyFile]]]:
    """Batches that shrink towards the end, so that no worker is left with a long one while the others idle."""
    start = 0
    while start < len(files):
        size = max(_BATCH_MIN, min(_BATCH_MAX, (len(files) - start) // (workers * 4)))
        yield list(enumerate(files[start : start + size], start=start))
        start += size


def _pooled(job: _Job, files: Sequence[PolicyFile], workers: int, cancelled: Any) -> Iterator[tuple[int, _FileResult]]:
    """(file index, result) as workers finish batches; at most two batches per worker wait at a time."""
    batches = _batches(files, workers)
    context = _context()
    with cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(job,)) as pool:
        pending: set[cf.Future[list[tuple[int, _FileResult]]]] = set()
        try:
            for batch in batches:
                pending.add(pool.submit(_scan_batch, batch))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, pending = cf.wait(pending, timeout=0.05, return_when=cf.FIRST_COMPLETED)
                _check(cancelled)
                for future in done:
                    yield from future.result()
                    next_batch = next(batches, None)
                    if next_batch is not None:
                        pending.add(pool.submit(_scan_batch, next_batch))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _context() -> Any:
    """Workers are forked from a server process that imported this module once, not from the agent itself.

    Not plain fork: the agent runs threads (the graph's branches) and a forked child could inherit a lock
    one of them held. Not spawn: every worker would start an interpreter and import the agent again. The
    server outlives one scan, so the next pool of the same process starts at once.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _get_ready() -> None:
    """Start the server workers are forked from (it imports the scanner in the background)."""
    try:
        if _context().get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()
    except Exception:  # noqa: BLE001 - only an early start; the pool reports (and falls back) if it cannot start
        pass


def _check(cancelled: Any) -> None:
    if cancelled is not None and cancelled.is_set():
        from agent.cancel import Cancelled

        raise Cancelled("stopped by the user")


# --- putting the results together --------------------------------------------------------------------------


def _assemble(
    root: str, files: Sequence[PolicyFile], walk_notes: list[Note], results: Mapping[int, _FileResult],
    topics: Mapping[str, frozenset[str]],
) -> FolderScan:
    documents: list[ScannedDocument] = []
    findings: list[coverage.Findings] = []
    clashes: list[ConflictFindings] = []
    said: list[Said] = []
    notes = list(walk_notes)
    seen: set[str] = set()
    scored: dict[str, list[tuple[int, str, int, int, int, str]]] = {key: [] for key in topics}
    for i in range(len(files)):
        result = results[i]
        for (path, sha), found, clash in zip(result.documents, result.findings, result.conflicts, strict=True):
            if path in seen:  # a sheet named like another file ("a.xlsx#S.md")
                notes.append(Note(path, "another document has the same name; skipped"))
                continue
            seen.add(path)
            documents.append(ScannedDocument(path, sha, i))
            findings.append(found)
            clashes.append(clash)
            said.extend(x for x in result.said if x.file == path)
        for key, passages in result.passages.items():
            scored[key].extend(x for x in passages if x[1] in seen)
        if result.note:
            notes.append(result.note)
    return FolderScan(
        root=root, files=tuple(files), documents=tuple(documents), findings=tuple(findings),
        warnings=summarise(notes), passages={key: tuple(_best(found, PASSAGES)) for key, found in scored.items()},
        conflicts=tuple(clashes), said=tuple(said),
    )


class _Reread(Mapping[str, coverage.Doc]):
    """Documents of a scan by path, each read again when asked for (the few the model quotes), then kept."""

    def __init__(self, scan: FolderScan) -> None:
        self._scan = scan
        self._by_path = {d.path: d for d in scan.documents}
        self._cache: OrderedDict[str, coverage.Doc | None] = OrderedDict()

    def __getitem__(self, path: str) -> coverage.Doc:
        if path not in self._by_path:
            raise KeyError(path)
        if path not in self._cache:
            self._cache[path] = self._load(self._by_path[path])
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        doc = self._cache[path]
        if doc is None:
            raise KeyError(path)  # changed or gone since the scan: nothing there can be checked
        return doc

    def _load(self, scanned: ScannedDocument) -> coverage.Doc | None:
        read = read_file(self._scan.files[scanned.file], sections=False)
        document = next((d for d in read.documents if d.path == scanned.path and d.sha256 == scanned.sha256), None)
        return prepare_document(document) if document is not None else None

    def __contains__(self, path: object) -> bool:
        try:
            self[path]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_path)

    def __len__(self) -> int:
        return len(self._by_path)
