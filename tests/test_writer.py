"""The safe writer: confinement, atomicity, idempotent re-runs and respect for human edits."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tools import writer as writer_module
from tools.writer import (
    HISTORY_LIMIT,
    SafeWriter,
    UnsafePathError,
    check_output_folder,
    written_names,
)

MANIFEST = SafeWriter.MANIFEST
LOCK = SafeWriter.LOCK


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _mtimes(root: Path) -> dict[str, tuple[int, int]]:
    """mtime and inode of every file; an atomic rewrite changes the inode even within one clock tick."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(out: Path, outputs: dict[str, str]) -> list:
    with SafeWriter(out) as writer:
        for name, content in outputs.items():
            writer.write(name, content)
    return writer.results


OUTPUTS = {
    "report.md": "# Report\n\nAll good.\n",
    "policies/Compliance_GAP-002.md": "# Travel rule\r\nDraft v1\r\n",
    "data/gaps.json": '{"gaps": []}\n',
}


def test_writes_land_inside_out_dir_atomically(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"

    results = _run(out, OUTPUTS)

    assert [(r.path, r.action, r.written_as) for r in results] == [
        ("report.md", "written", None),
        ("policies/Compliance_GAP-002.md", "written", None),
        ("data/gaps.json", "written", None),
    ]
    files = _files(out)
    assert set(files) == {"report.md", "policies/Compliance_GAP-002.md", "data/gaps.json", MANIFEST, LOCK}
    # No temp files are left behind, and text is stored as UTF-8 with LF newlines.
    assert files["policies/Compliance_GAP-002.md"] == b"# Travel rule\nDraft v1\n"
    assert results[1].sha256 == hashlib.sha256(b"# Travel rule\nDraft v1\n").hexdigest()
    assert files[LOCK] == b""
    manifest = json.loads(files[MANIFEST])
    assert manifest["version"] == 2
    assert manifest["files"]["report.md"]["sha256"] == hashlib.sha256(OUTPUTS["report.md"].encode()).hexdigest()
    assert manifest["files"]["report.md"]["written_at"].endswith("Z")
    assert manifest["files"]["report.md"]["earlier_sha256"] == []
    assert not list(tmp_path.glob("*.md"))


def test_new_files_get_ordinary_permissions(tmp_path: Path) -> None:
    # NamedTemporaryFile creates 0600 files; outputs must stay readable like any other file.
    _run(tmp_path, {"report.md": "x\n"})
    umask = os.umask(0)
    os.umask(umask)

    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    "name",
    [
        "../escape.md",
        "a/../../escape.md",
        "/etc/passwd",
        "a\\b.md",
        "a//b.md",
        "",
        ".hidden.md",
        ".agent-manifest.json",
        "a/b/c/d.md",
        "name with space.md",
        "report.md\n",
        "-rf.md",
        "x" * 200 + ".md",
        "C:report.md",
    ],
)
def test_unsafe_names_are_rejected(tmp_path: Path, name: str) -> None:
    writer = SafeWriter(tmp_path / "out")

    with pytest.raises(UnsafePathError):
        writer.write(name, "pwned\n")
    writer.close()

    # Only the (empty) lock file exists: nothing was written, inside the folder or out of it.
    assert _files(tmp_path) == {f"out/{LOCK}": b""}


def test_symlinked_subfolder_cannot_be_used_to_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "policies").symlink_to(outside, target_is_directory=True)
    (outside / "victim.md").write_text("original\n")
    (out / "linked.md").symlink_to(outside / "victim.md")
    writer = SafeWriter(out)

    with pytest.raises(UnsafePathError, match="is a symlink"):
        writer.write("policies/new.md", "pwned\n")
    with pytest.raises(UnsafePathError, match="is a symlink"):
        writer.write("linked.md", "pwned\n")

    assert sorted(p.name for p in outside.iterdir()) == ["victim.md"]
    assert (outside / "victim.md").read_text() == "original\n"


def test_out_dir_that_is_a_symlink_or_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "file").write_text("x")

    with pytest.raises(UnsafePathError):
        SafeWriter(tmp_path / "link")
    with pytest.raises(UnsafePathError):
        SafeWriter(tmp_path / "file")


def test_identical_rerun_writes_nothing(tmp_path: Path) -> None:
    _run(tmp_path, OUTPUTS)
    before = _mtimes(tmp_path)

    results = _run(tmp_path, OUTPUTS)

    assert [r.action for r in results] == ["unchanged"] * 3
    assert _mtimes(tmp_path) == before  # manifest included


def test_agent_written_file_is_updated_when_content_changes(tmp_path: Path) -> None:
    _run(tmp_path, OUTPUTS)

    results = _run(tmp_path, {**OUTPUTS, "report.md": "# Report\n\nTwo gaps found.\n"})

    assert [r.action for r in results] == ["written", "unchanged", "unchanged"]
    assert (tmp_path / "report.md").read_text() == "# Report\n\nTwo gaps found.\n"
    assert not list(tmp_path.glob("*.proposed*"))
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["files"]["report.md"]["sha256"] == results[0].sha256


def test_hand_edited_file_is_kept_and_new_version_proposed(tmp_path: Path) -> None:
    _run(tmp_path, OUTPUTS)
    edited = tmp_path / "policies" / "Compliance_GAP-002.md"
    edited.write_bytes(b"# Travel rule\nReviewed by Legal, do not touch.\n")
    new_outputs = {**OUTPUTS, "policies/Compliance_GAP-002.md": "# Travel rule\nDraft v2\n"}

    results = _run(tmp_path, new_outputs)

    kept = results[1]
    assert (kept.path, kept.action, kept.written_as) == (
        "policies/Compliance_GAP-002.md",
        "kept_human_edit",
        "policies/Compliance_GAP-002.proposed.md",
    )
    assert edited.read_bytes() == b"# Travel rule\nReviewed by Legal, do not touch.\n"
    assert (tmp_path / "policies" / "Compliance_GAP-002.proposed.md").read_text() == "# Travel rule\nDraft v2\n"

    # Running again with the same outputs changes nothing on disk.
    before = _mtimes(tmp_path)
    again = _run(tmp_path, new_outputs)
    assert [(r.action, r.written_as) for r in again] == [
        ("unchanged", None),
        ("kept_human_edit", "policies/Compliance_GAP-002.proposed.md"),
        ("unchanged", None),
    ]
    assert _mtimes(tmp_path) == before


def test_hand_edited_proposal_gets_a_numbered_sibling(tmp_path: Path) -> None:
    (tmp_path / "Gap.md").write_text("a person's file\n")  # never written by the agent
    _run(tmp_path, {"Gap.md": "v1\n"})
    (tmp_path / "Gap.proposed.md").write_text("v1, with the reviewer's notes\n")

    results = _run(tmp_path, {"Gap.md": "v2\n"})

    assert (results[0].action, results[0].written_as) == ("kept_human_edit", "Gap.proposed-2.md")
    assert (tmp_path / "Gap.md").read_text() == "a person's file\n"
    assert (tmp_path / "Gap.proposed.md").read_text() == "v1, with the reviewer's notes\n"
    assert (tmp_path / "Gap.proposed-2.md").read_text() == "v2\n"


def test_unedited_proposal_is_refreshed_in_place(tmp_path: Path) -> None:
    (tmp_path / "Gap.md").write_text("a person's file\n")
    _run(tmp_path, {"Gap.md": "v1\n"})

    results = _run(tmp_path, {"Gap.md": "v2\n"})

    assert results[0].written_as == "Gap.proposed.md"
    assert (tmp_path / "Gap.proposed.md").read_text() == "v2\n"
    assert not (tmp_path / "Gap.proposed-2.md").exists()


def test_corrupt_manifest_is_kept_aside_and_tolerated(tmp_path: Path) -> None:
    _run(tmp_path, OUTPUTS)
    (tmp_path / MANIFEST).write_text("{not json")

    results = _run(tmp_path, {**OUTPUTS, "report.md": "# Report\n\nChanged.\n", "new.md": "new\n"})

    # Without a trustworthy manifest an existing, differing file might be a person's: keep it.
    assert [(r.path, r.action) for r in results] == [
        ("report.md", "kept_human_edit"),
        ("policies/Compliance_GAP-002.md", "unchanged"),
        ("data/gaps.json", "unchanged"),
        ("new.md", "written"),
    ]
    assert (tmp_path / "report.md").read_text() == OUTPUTS["report.md"]
    assert (tmp_path / (MANIFEST + ".corrupt")).read_text() == "{not json"
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "report.proposed.md",
        "policies/Compliance_GAP-002.md",
        "data/gaps.json",
        "new.md",
    }


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- bytes ------------------------------------------------------------------------

DOCX = b"PK\x03\x04\x00binary\r\n\x00\xff draft"


def test_bytes_are_written_verbatim_with_the_same_guarantees(tmp_path: Path) -> None:
    with SafeWriter(tmp_path) as writer:
        first = writer.write_bytes("policies/Gap.docx", DOCX)
    with SafeWriter(tmp_path) as writer:
        again = writer.write_bytes("policies/Gap.docx", DOCX)

    assert (first.action, again.action) == ("written", "unchanged")
    assert (tmp_path / "policies" / "Gap.docx").read_bytes() == DOCX  # no newline translation
    assert _manifest(tmp_path)["files"]["policies/Gap.docx"]["sha256"] == _sha(DOCX)

    (tmp_path / "policies" / "Gap.docx").write_bytes(b"PK edited in Word")
    with SafeWriter(tmp_path) as writer:
        kept = writer.write_bytes("policies/Gap.docx", DOCX + b"v2")
        with pytest.raises(UnsafePathError):
            writer.write_bytes("../Gap.docx", DOCX)
        with pytest.raises(TypeError):
            writer.write_bytes("Gap.docx", "text")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            writer.write("Gap.md", DOCX)  # type: ignore[arg-type]

    assert (kept.action, kept.written_as) == ("kept_human_edit", "policies/Gap.proposed.docx")
    assert (tmp_path / "policies" / "Gap.docx").read_bytes() == b"PK edited in Word"
    assert (tmp_path / "policies" / "Gap.proposed.docx").read_bytes() == DOCX + b"v2"


# --- the manifest: history, write-ahead, version 1 --------------------------------


def test_every_version_the_agent_wrote_stays_recognised(tmp_path: Path) -> None:
    for n in range(3):
        _run(tmp_path, {"Gap.md": f"v{n}\n"})
    entry = _manifest(tmp_path)["files"]["Gap.md"]
    assert entry["sha256"] == _sha(b"v2\n")
    assert entry["earlier_sha256"] == [_sha(b"v1\n"), _sha(b"v0\n")]  # most recent first

    # An older version of ours on disk (a crash, a restored backup) is ours, not a person's edit.
    (tmp_path / "Gap.md").write_text("v0\n")
    assert [r.action for r in _run(tmp_path, {"Gap.md": "v3\n"})] == ["written"]

    # Going back to an earlier version moves it to the front without duplicates.
    _run(tmp_path, {"Gap.md": "v1\n"})
    entry = _manifest(tmp_path)["files"]["Gap.md"]
    assert entry["sha256"] == _sha(b"v1\n")
    assert entry["earlier_sha256"] == [_sha(b"v3\n"), _sha(b"v2\n"), _sha(b"v0\n")]


def test_history_is_bounded(tmp_path: Path) -> None:
    with SafeWriter(tmp_path) as writer:
        for n in range(HISTORY_LIMIT + 20):
            writer.write("Gap.md", f"v{n}\n")

    earlier = _manifest(tmp_path)["files"]["Gap.md"]["earlier_sha256"]
    assert len(earlier) == HISTORY_LIMIT
    assert earlier[0] == _sha(f"v{HISTORY_LIMIT + 18}\n".encode())


def test_new_version_is_recorded_before_the_file_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(tmp_path, {"Gap.md": "v1\n"})
    real_replace = writer_module._Root.replace

    def crash_on_the_draft(self, dir_fd, part, rel, data, mode):  # noqa: ANN001, ANN202
        if part == "Gap.md":
            raise KeyboardInterrupt("killed between the manifest and the file")
        return real_replace(self, dir_fd, part, rel, data, mode)

    monkeypatch.setattr(writer_module._Root, "replace", crash_on_the_draft)
    with pytest.raises(KeyboardInterrupt), SafeWriter(tmp_path) as writer:
        writer.write("Gap.md", "v2\n")
    monkeypatch.undo()

    # The manifest already names v2 and still remembers v1, which is what is on disk.
    entry = _manifest(tmp_path)["files"]["Gap.md"]
    assert (entry["sha256"], entry["earlier_sha256"]) == (_sha(b"v2\n"), [_sha(b"v1\n")])
    assert (tmp_path / "Gap.md").read_text() == "v1\n"
    assert [r.action for r in _run(tmp_path, {"Gap.md": "v2\n"})] == ["written"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_version_1_manifest_is_read_and_upgraded_on_write(tmp_path: Path) -> None:
    (tmp_path / "Gap.md").write_text("v1\n")
    (tmp_path / "Other.md").write_text("o\n")
    v1 = {
        "version": 1,
        "files": {
            "Gap.md": {"sha256": _sha(b"v1\n"), "written_at": "2026-01-01T00:00:00Z"},
            "Other.md": {"sha256": _sha(b"o\n"), "written_at": "2026-01-01T00:00:00Z"},
        },
    }
    (tmp_path / MANIFEST).write_text(json.dumps(v1, indent=2, sort_keys=True) + "\n")
    before = (tmp_path / MANIFEST).read_bytes()

    assert [r.action for r in _run(tmp_path, {"Gap.md": "v1\n", "Other.md": "o\n"})] == ["unchanged"] * 2
    assert (tmp_path / MANIFEST).read_bytes() == before  # nothing changed, so nothing is rewritten

    assert [r.action for r in _run(tmp_path, {"Gap.md": "v2\n"})] == ["written"]
    manifest = _manifest(tmp_path)
    assert manifest["version"] == 2
    assert manifest["files"]["Gap.md"]["earlier_sha256"] == [_sha(b"v1\n")]
    assert manifest["files"]["Other.md"] == {**v1["files"]["Other.md"], "earlier_sha256": []}


def test_temp_files_left_by_a_killed_writer_are_removed_at_start(tmp_path: Path) -> None:
    _run(tmp_path, {"Gap.md": "v1\n", "reports/r1/report.md": "r\n"})
    for leftover in (".tmp-0123abcd.part", "reports/.tmp-k3_x9q.part", "reports/r1/.tmp-ffee.part"):
        (tmp_path / leftover).write_bytes(b"half a draft")
    (tmp_path / "reports" / "r1" / ".tmp-dir.part").mkdir()  # not a temp file: left alone
    (tmp_path / "notes.tmp-1.part").write_text("a person's file\n")  # not our pattern

    SafeWriter(tmp_path).close()

    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*tmp-*")) == [
        "notes.tmp-1.part",
        "reports/r1/.tmp-dir.part",
    ]


# --- a writer whose manifest lives in a subfolder (a run's report folder) ---------


def test_report_folder_writer_keeps_its_own_manifest(tmp_path: Path) -> None:
    _run(tmp_path, {"Gap.md": "draft\n"})
    drafts_manifest = (tmp_path / MANIFEST).read_bytes()

    with SafeWriter(tmp_path, manifest_dir="reports/run-1") as writer:
        result = writer.write("reports/run-1/report.md", "# Report\n")
        with pytest.raises(UnsafePathError, match="outside this writer's folder"):
            writer.write("Gap.md", "hijack\n")
        with pytest.raises(UnsafePathError, match="outside this writer's folder"):
            writer.write("reports/run-1", "x\n")

    assert (result.path, result.action) == ("reports/run-1/report.md", "written")
    assert (tmp_path / MANIFEST).read_bytes() == drafts_manifest  # drafts' manifest untouched
    assert set(_manifest(tmp_path / "reports" / "run-1")["files"]) == {"report.md"}
    assert not (tmp_path / "reports" / "run-1" / LOCK).exists()  # one lock, at the top
    assert (tmp_path / "Gap.md").read_text() == "draft\n"

    # Report manifests written before names became root-relative use the same keys.
    with SafeWriter(tmp_path, manifest_dir="reports/run-1") as writer:
        assert writer.write("reports/run-1/report.md", "# Report v2\n").action == "written"


def test_written_names_lists_what_the_agent_wrote_and_is_still_there(tmp_path: Path) -> None:
    assert written_names(tmp_path / "missing") == set()
    _run(tmp_path, {"A.md": "a\n", "sub/B.md": "b\n", "C.md": "c\n"})
    (tmp_path / "C.md").unlink()
    (tmp_path / "Mine.md").write_text("a person's file\n")

    assert written_names(tmp_path) == {"A.md", "sub/B.md"}

    (tmp_path / MANIFEST).write_text("{damaged")
    assert written_names(tmp_path) == set()


# --- check_output_folder ----------------------------------------------------------


def test_check_output_folder_creates_and_returns_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"

    assert check_output_folder(out) == out.resolve()
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is gone
    _run(out, {"Gap.md": "x\n", "reports/r/report.md": "r\n"})
    assert check_output_folder(out) == out.resolve()


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        ("link", "is a symlink"),
        ("file", "is not a folder"),
        ("reports-link", "'reports' in output folder"),
        ("reports-file", "'reports' in output folder"),
        ("manifest-link", f"'{MANIFEST}' in output folder"),
        ("manifest-dir", f"'{MANIFEST}' in output folder"),
        ("lock-link", f"'{LOCK}' in output folder"),
        ("lock-fifo", f"'{LOCK}' in output folder"),
        ("below-a-file", "cannot create output folder"),
    ],
)
def test_check_output_folder_refuses_unsafe_folders(tmp_path: Path, plant: str, message: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f").write_text("x")
    out = tmp_path / "out"
    if plant == "link":
        out.symlink_to(elsewhere, target_is_directory=True)
    elif plant in ("file", "below-a-file"):
        out.write_text("x")
        out = out / "sub" if plant == "below-a-file" else out
    else:
        out.mkdir()
        entry = {"reports": "reports", "manifest": MANIFEST, "lock": LOCK}[plant.split("-")[0]]
        kind = plant.split("-")[1]
        if kind == "link":
            (out / entry).symlink_to(elsewhere / "f")
        elif kind == "fifo":
            os.mkfifo(out / entry)
        elif kind == "dir":
            (out / entry).mkdir()
        else:
            (out / entry).write_text("x")

    with pytest.raises(UnsafePathError, match=message) as err:
        check_output_folder(out)

    assert "Errno" not in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["f"]


@pytest.mark.parametrize("folder", ["/proc", "/sys", "/proc/agent-out"])
def test_check_output_folder_proves_it_can_write(folder: str) -> None:
    if not Path("/" + folder.split("/")[1]).is_dir():
        pytest.skip(f"no {folder} on this machine")

    # Root ignores permission bits; a real file creation is the only honest test.
    with pytest.raises(UnsafePathError, match="output folder") as err:
        check_output_folder(folder)
    assert "Errno" not in str(err.value)


def test_threads_sharing_a_writer_or_each_with_its_own_stay_consistent(tmp_path: Path) -> None:
    import threading

    shared = SafeWriter(tmp_path)
    actions: list[str] = []

    def work(n: int) -> None:
        own = SafeWriter(tmp_path)
        for i in range(10):
            for writer in (shared, own):
                actions.append(writer.write(f"Draft_{i % 5}.md", f"thread {n} write {i}\n").action)
        own.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    shared.close()

    assert "kept_human_edit" not in actions and len(actions) == 80
    assert set(_manifest(tmp_path)["files"]) == {f"Draft_{i}.md" for i in range(5)}
    assert [r.action for r in _run(tmp_path, {f"Draft_{i}.md": "next\n" for i in range(5)})] == ["written"] * 5


def test_a_huge_file_under_a_drafts_name_is_kept_without_reading_it_whole(tmp_path: Path) -> None:
    import resource

    out = tmp_path / "out"
    out.mkdir()
    big = out / "AML_GAP-003.md"
    with open(big, "wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.truncate(2_000_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with SafeWriter(out) as writer:
        result = writer.write("AML_GAP-003.md", "# AML draft\n")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.action == "kept_human_edit" and result.written_as == "AML_GAP-003.proposed.md"
    assert big.stat().st_size == 2_000_000_000
    assert grown_mb < 500  # at most the read limit was held, not the file
