"""Hostile output folders, generated: planted and swapped symlinks, concurrent writers, killed writers.

Every setup lives in a `world` folder holding the output folder and a fake policy folder outside it;
after each attack nothing outside the output folder may have changed, down to mtimes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tools.writer import SafeWriter, UnsafePathError, check_output_folder

MANIFEST, LOCK = SafeWriter.MANIFEST, SafeWriter.LOCK
RUN = "20260101-000000-abcdef"
DRAFTS = ("Licensing_GAP-001.md", "policies/Gap.md", "IMPLEMENTATION_SUMMARY.md")
REPORTS = (f"reports/{RUN}/report.md", f"reports/{RUN}/report.json")


# --- helpers -------------------------------------------------------------------------


def _world(tmp_path: Path) -> tuple[Path, Path, Path]:
    """world/out (the output folder) and world/policies, a policy folder the agent must never touch."""
    world = tmp_path / "world"
    out, victim = world / "out", world / "policies"
    (victim / "sub").mkdir(parents=True)
    (victim / "AML.md").write_text("# AML policy\nReviewed.\n")
    (victim / "sub" / "Custody.md").write_text("# Custody\n")
    out.mkdir()
    return world, out, victim


def _snapshot(world: Path, out: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every entry outside out: kind, bytes and mtime (a created-then-removed file changes a folder's mtime)."""
    seen: dict[str, tuple[str, bytes | None, int]] = {}
    for folder, dirs, files in os.walk(world):
        here = Path(folder)
        if here == out or out in here.parents:
            continue
        for name in dirs + files:
            p = here / name
            if p == out:
                continue
            info = p.lstat()
            kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
            data = os.readlink(p).encode() if kind == "link" else p.read_bytes() if kind == "file" else None
            seen[str(p.relative_to(world))] = (kind, data, info.st_mtime_ns)
    return seen


def _temps(out: Path) -> list[str]:
    return [str(p.relative_to(out)) for p in out.rglob(".tmp-*.part")]


def _drafts_run(out: Path, tag: str) -> list[str]:
    """What one agent run writes: drafts at the top, then the report in its own folder; refusals collected."""
    errors: list[str] = []
    for manifest_dir, names in (("", DRAFTS), (f"reports/{RUN}", REPORTS)):
        try:
            with SafeWriter(out, manifest_dir=manifest_dir) as writer:
                for name in names:
                    try:
                        writer.write(name, f"{tag} {name}\n")
                    except UnsafePathError as exc:
                        errors.append(str(exc))
        except UnsafePathError as exc:
            errors.append(str(exc))
    return errors


# --- planted symlinks, generated ---------------------------------------------------

# Entry to plant, and whether the writer expects a folder there.
PLANTS = {
    "reports": True,
    f"reports/{RUN}": True,
    "policies": True,  # an intermediate folder of a draft name
    MANIFEST: False,
    LOCK: False,
    "Licensing_GAP-001.md": False,
    f"reports/{RUN}/{MANIFEST}": False,
    f"reports/{RUN}/report.md": False,
}
TARGETS = ("folder", "file", "dangling")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("plant", list(PLANTS))
def test_planted_symlink_is_refused_and_nothing_outside_changes(tmp_path: Path, plant: str, target: str) -> None:
    world, out, victim = _world(tmp_path)
    link = out / plant
    link.parent.mkdir(parents=True, exist_ok=True)
    points_to = {"folder": victim, "file": victim / "AML.md", "dangling": victim / "planted-new"}[target]
    link.symlink_to(points_to)
    before = _snapshot(world, out)

    errors = _drafts_run(out, "run")

    assert errors, "writing through a planted symlink must be refused"
    assert any(f"{plant!r} in output folder" in e and "is a symlink" in e for e in errors), errors
    assert all("\n" not in e and "Errno" not in e for e in errors)
    assert _snapshot(world, out) == before
    assert link.is_symlink() and os.readlink(link) == str(points_to)
    if plant in ("reports", MANIFEST, LOCK):  # what check_output_folder looks at before a run
        with pytest.raises(UnsafePathError, match=f"{plant!r} in output folder .* is a symlink"):
            check_output_folder(out)
    assert _snapshot(world, out) == before


@pytest.mark.parametrize("plant", ["reports", "policies", MANIFEST, LOCK, "Licensing_GAP-001.md"])
def test_special_files_in_the_way_are_refused_without_hanging(tmp_path: Path, plant: str) -> None:
    world, out, _ = _world(tmp_path)
    os.mkfifo(out / plant)  # opening a FIFO for reading would block a naive writer forever
    before = _snapshot(world, out)

    errors = _drafts_run(out, "run")

    assert any(f"{plant!r} in output folder" in e for e in errors), errors
    assert _snapshot(world, out) == before


def test_folder_swapped_for_a_symlink_between_two_writes(tmp_path: Path) -> None:
    world, out, victim = _world(tmp_path)
    with SafeWriter(out) as writer:
        writer.write("policies/a.md", "a\n")
        os.rename(out / "policies", world / "moved")
        (out / "policies").symlink_to(victim)
        before = _snapshot(world, out)

        with pytest.raises(UnsafePathError, match="'policies' in output folder .* is a symlink"):
            writer.write("policies/b.md", "b\n")

    assert _snapshot(world, out) == before
    assert sorted(p.name for p in (world / "moved").iterdir()) == ["a.md"]


def test_output_folder_swapped_after_opening_keeps_writing_into_the_folder_opened(tmp_path: Path) -> None:
    world, out, victim = _world(tmp_path)
    with SafeWriter(out) as writer:
        writer.write("a.md", "a\n")
        os.rename(out, world / "out-moved")
        out.symlink_to(victim)
        before = _snapshot(world, world / "out-moved")
        before.pop("out")

        writer.write("b.md", "b\n")

    after = _snapshot(world, world / "out-moved")
    after.pop("out")
    assert after == before
    assert (world / "out-moved" / "b.md").read_text() == "b\n"
    assert not (victim / "b.md").exists()


def test_folder_flipping_between_real_and_symlink_during_writes(tmp_path: Path) -> None:
    """A racing attacker keeps swapping `policies` for a symlink: every write lands inside or is refused."""
    world, out, victim = _world(tmp_path)
    (out / "policies").mkdir()
    before = _snapshot(world, out)
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for step in (
                lambda: os.rename(out / "policies", out / "held"),
                lambda: (out / "policies").symlink_to(victim),
                lambda: os.unlink(out / "policies"),
                lambda: os.rename(out / "held", out / "policies"),
            ):
                try:
                    step()
                except OSError:
                    pass  # the writer re-created the folder meanwhile; keep flipping

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    outcomes: Counter[str] = Counter()
    try:
        with SafeWriter(out) as writer:
            for i in range(400):
                try:
                    outcomes[writer.write(f"policies/Draft_{i % 7}.md", f"v{i}\n").action] += 1
                except UnsafePathError as exc:
                    assert str(exc).startswith("'policies") and " in output folder " in str(exc), exc
                    outcomes["refused"] += 1
    finally:
        stop.set()
        flipper.join(timeout=60)

    assert sum(outcomes.values()) == 400 and outcomes["kept_human_edit"] == 0, outcomes
    assert _snapshot(world, out) == before
    assert not _temps(out)


# --- concurrent and killed writers in other processes -------------------------------

POOL = [f"Draft_{i}.md" for i in range(6)] + ["sub/Shared.md", "IMPLEMENTATION_SUMMARY.md"]
BINARY = "Draft_0.docx"

CHILD = r"""
import json, random, sys
from tools.writer import SafeWriter

out, worker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
pool = json.loads(sys.argv[4])
rng = random.Random(worker)
actions = []
for r in range(rounds):
    with SafeWriter(out) as writer:
        for name in rng.sample(pool, len(pool)):
            body = f"{worker} round {r} {name}\n" * rng.randint(1, 4000)
            actions.append(writer.write(name, body).action)
            print(f"wrote {name}", flush=True)
        actions.append(writer.write_bytes("Draft_0.docx", bytes([r % 256]) * rng.randint(1, 50000) + worker.encode()).action)
    with SafeWriter(out, manifest_dir=f"reports/{worker}-{r}") as writer:
        actions.append(writer.write(f"reports/{worker}-{r}/report.md", f"report {worker} {r}\n" * 500).action)
        print("wrote report", flush=True)
print(json.dumps(actions), flush=True)
"""


def _child(out: Path, worker: str, rounds: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), worker, str(rounds), json.dumps(POOL)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def _assert_all_ours(out: Path) -> None:
    """A fresh writer: no temp left, every file on disk is in a manifest, and none counts as a person's edit."""
    with SafeWriter(out) as writer:
        assert not _temps(out)
        results = [writer.write(name, f"fresh {name}\n") for name in POOL]
        results.append(writer.write_bytes(BINARY, b"fresh docx"))
    assert [r for r in results if r.action == "kept_human_edit"] == []
    assert not list(out.rglob("*.proposed*"))
    top = json.loads((out / MANIFEST).read_text())["files"]
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "reports" not in p.parts}
    assert on_disk - {MANIFEST, LOCK} <= set(top)
    for folder in (out / "reports").iterdir() if (out / "reports").exists() else ():
        listed = set(json.loads((folder / MANIFEST).read_text())["files"]) if (folder / MANIFEST).exists() else set()
        assert {p.name for p in folder.iterdir()} - {MANIFEST} <= listed, folder


def _assert_human_edit_still_detected(out: Path) -> None:
    (out / "Draft_3.md").write_text("Reviewed by Legal; do not overwrite.\n")
    with SafeWriter(out) as writer:
        result = writer.write("Draft_3.md", "agent v-next\n")
    assert (result.action, result.written_as) == ("kept_human_edit", "Draft_3.proposed.md")
    assert (out / "Draft_3.md").read_text() == "Reviewed by Legal; do not overwrite.\n"


@pytest.mark.subprocess
def test_concurrent_writers_in_several_processes_keep_the_manifest_whole(tmp_path: Path) -> None:
    world, out, _ = _world(tmp_path)
    before = _snapshot(world, out)

    children = [_child(out, f"w{n}", rounds=6) for n in range(4)]
    actions: Counter[str] = Counter()
    for child in children:
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr
        actions.update(json.loads(stdout.splitlines()[-1]))

    assert actions["kept_human_edit"] == 0, actions  # every file in the way was written by another agent run
    _assert_all_ours(out)
    _assert_human_edit_still_detected(out)
    assert _snapshot(world, out) == before


@pytest.mark.subprocess
def test_writers_killed_at_random_instants_leave_nothing_unrecognised(tmp_path: Path) -> None:
    world, out, _ = _world(tmp_path)
    before = _snapshot(world, out)
    rng = random.Random(20260101)

    for trial in range(8):
        child = _child(out, f"k{trial}", rounds=1000)
        assert child.stdout is not None
        for _ in range(rng.randint(1, 40)):
            line = child.stdout.readline()
            assert line.startswith("wrote"), child.stderr.read() if child.stderr else line
        child.send_signal(signal.SIGKILL)  # mid-way through the next write, at some unknown instant
        child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL

        _assert_all_ours(out)

    _assert_human_edit_still_detected(out)
    assert _snapshot(world, out) == before


# --- the installed command ---------------------------------------------------------


def _agent(agent_exe: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AGENT_STATE_DIR": str(cwd / ".agent")}
    return subprocess.Popen([agent_exe, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.subprocess
def test_cli_refuses_a_symlinked_reports_folder(agent_exe: str, isolated: Path) -> None:
    world, out, victim = _world(isolated)
    (out / "reports").symlink_to(victim)
    before = _snapshot(world, out)

    res = _agent(agent_exe, "run", "stablecoin KZ", "--out", str(out), "--quiet", cwd=isolated)
    stdout, stderr = res.communicate(timeout=120)

    assert res.returncode == 2, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "'reports'" in stderr and "symlink" in stderr and "Traceback" not in stderr
    assert _snapshot(world, out) == before


@pytest.mark.subprocess
def test_cli_concurrent_runs_into_one_folder_then_nothing_counts_as_edited(agent_exe: str, isolated: Path) -> None:
    world, out, _ = _world(isolated)
    before = _snapshot(world, out)

    runs = [
        _agent(agent_exe, "run", query, "--policies", str(EXAMPLES), "--out", str(out), "--json", cwd=isolated)
        for query in ("stablecoin KZ", "custody KZ", "exchange KZ")
    ]
    for res in runs:
        _, stderr = res.communicate(timeout=300)
        assert res.returncode == 0, stderr

    fourth = _agent(agent_exe, "run", "stablecoin KZ", "--policies", str(EXAMPLES), "--out", str(out), "--json", cwd=isolated)
    stdout, stderr = fourth.communicate(timeout=300)
    assert fourth.returncode == 0, stderr
    actions = Counter(d["action"] for d in json.loads(stdout)["drafts"])
    assert actions["kept_human_edit"] == 0 and sum(actions.values()) > 0, actions
    assert not _temps(out) and not list(out.rglob("*.proposed*"))
    assert len(list((out / "reports").iterdir())) == 4
    assert _snapshot(world, out) == before
