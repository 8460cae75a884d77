"""The safe writer: confinement, atomicity, idempotent re-runs and respect for human edits."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tools.writer import SafeWriter, UnsafePathError

MANIFEST = SafeWriter.MANIFEST


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
    assert set(files) == {"report.md", "policies/Compliance_GAP-002.md", "data/gaps.json", MANIFEST}
    # No temp files are left behind, and text is stored as UTF-8 with LF newlines.
    assert files["policies/Compliance_GAP-002.md"] == b"# Travel rule\nDraft v1\n"
    assert results[1].sha256 == hashlib.sha256(b"# Travel rule\nDraft v1\n").hexdigest()
    manifest = json.loads(files[MANIFEST])
    assert manifest["version"] == 1
    assert manifest["files"]["report.md"]["sha256"] == hashlib.sha256(OUTPUTS["report.md"].encode()).hexdigest()
    assert manifest["files"]["report.md"]["written_at"].endswith("Z")
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

    assert _files(tmp_path / "out") == {MANIFEST: b'{\n  "files": {},\n  "version": 1\n}\n'}
    assert _files(tmp_path) == {f"out/{MANIFEST}": b'{\n  "files": {},\n  "version": 1\n}\n'}


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
