"""Nothing lost: an output folder is wholly the old or wholly the new one, whatever fails.

``spatialprog.folders.atomic_output_dir`` stages the folder beside itself and swaps it in as a whole
(marker, rename aside, rename into place, unmark, remove the old). The tests inject a failure at every
filesystem step of that swap, in this process (an exception) and in a child process that is killed at
that step (``os._exit``), and check the folder afterwards and once the next writer has finished or
undone the swap. On Linux an open file does not block a rename and root ignores permissions, so the
failures are injected at the operating-system calls the swap makes rather than provoked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from spatialprog import writer
from spatialprog.cli import cli
from spatialprog.errors import OutputError
from spatialprog.folders import atomic_output_dir
from spatialprog.writer import MANIFEST

from .conftest import EXAMPLE, ROOT, write_tiny_project

#: the operating-system calls the swap changes the disk with
FS_CALLS = ("rename", "replace", "unlink", "link", "rmdir", "mkdir")


@pytest.fixture(autouse=True)
def _one_date(monkeypatch):
    """Every run here writes the same date (a run just after midnight would otherwise differ)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _beside(out: Path) -> list[str]:
    """What lies beside the output folder other than itself (staging, marker, lock, old folders)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name and p.name.startswith(f".{out.name}."))


def _outputs(folder: Path) -> list[str]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["outputs"]


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def _one_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


# --------------------------------------------------------------------------------------
# a small folder written twice, and failures at every step of the swap


def _write_old(out: Path) -> dict[str, str]:
    with atomic_output_dir(out, kind="earlier") as stage:  # another kind: add=True adds to it
        (stage / "a.txt").write_text("old a")
        (stage / "only_old.txt").write_text("old only")
        (stage / "sub").mkdir()
        (stage / "sub" / "c.txt").write_text("old c")
    return _digest(out)


def _new_files(stage: Path) -> None:
    (stage / "a.txt").write_text("new a")
    (stage / "b.txt").write_text("new b")


def _expected_new(tmp_path: Path, *, add: bool) -> dict[str, str]:
    ref = tmp_path / "ref" / "out"
    _write_old(ref)
    with atomic_output_dir(ref, add=add, kind="test") as stage:
        _new_files(stage)
    return _digest(ref)


def _recover(out: Path) -> None:
    """What the next writer does first (lock, finish or undo a swap, remove stale folders); then it gives up."""
    class Abort(Exception):
        pass

    with pytest.raises(Abort), atomic_output_dir(out, kind="test"):
        raise Abort


class _Injected(Exception):
    pass


def _failing_at(monkeypatch, n: int, exc: BaseException) -> list[str]:
    """Make the n-th disk-changing os call from now on raise ``exc``; return the calls seen."""
    seen: list[str] = []
    for name in FS_CALLS:
        real = getattr(os, name)

        def call(*a, _real=real, _name=name, **k):
            seen.append(_name)
            if len(seen) == n:
                raise exc
            return _real(*a, **k)

        monkeypatch.setattr(os, name, call)
    return seen


@pytest.mark.parametrize("add", [False, True])
def test_a_failure_at_any_step_leaves_the_folder_wholly_old_or_wholly_new(tmp_path, monkeypatch, add):
    new = _expected_new(tmp_path, add=add)
    n, outcomes = 0, set()
    while True:
        n += 1
        out = tmp_path / f"run{n}" / "out"
        old = _write_old(out)
        failed = False
        with monkeypatch.context() as mp:
            try:
                with atomic_output_dir(out, add=add, kind="test") as stage:
                    _new_files(stage)
                    seen = _failing_at(mp, n, OSError(errno.EIO, "Input/output error (injected)"))
            except OutputError as e:
                failed = True
                assert "\n" not in str(e) and "injected" in str(e)
        state = _digest(out) if out.is_dir() else None
        assert state in (old, new), (n, seen)
        if failed:
            assert state == old, f"failed at call {n} ({seen[-1]}) but the folder is not the old one"
        outcomes.add("old" if state == old else "new")
        _recover(out)
        assert _digest(out) == state and _beside(out) == [], (n, seen)
        if len(seen) < n:  # the commit made fewer calls: every step has had its failure
            break
    assert n > 5 and outcomes == {"old", "new"}


KILL_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from spatialprog.folders import atomic_output_dir
    out, n, add = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "add"
    seen = []
    with atomic_output_dir(out, add=add, kind="test") as stage:
        (stage / "a.txt").write_text("new a")
        (stage / "b.txt").write_text("new b")
        for name in {calls!r}:
            real = getattr(os, name)
            def call(*a, _real=real, **k):
                seen.append(1)
                if len(seen) == n:
                    os._exit(9)  # killed: no finally, no cleanup
                return _real(*a, **k)
            setattr(os, name, call)
    """).format(calls=FS_CALLS)


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("add", [False, True])
def test_a_run_killed_at_any_step_is_finished_or_undone_by_the_next(tmp_path, add, caplog):
    new = _expected_new(tmp_path, add=add)
    n = 0
    while True:
        n += 1
        out = tmp_path / f"run{n}" / "out"
        old = _write_old(out)
        p = subprocess.run([sys.executable, "-c", KILL_CHILD, str(out), str(n), "add" if add else "replace"],
                           capture_output=True, text=True, env=_child_env())
        assert p.returncode in (0, 9), p.stderr
        if out.is_dir():
            assert _digest(out) in (old, new), n
        else:  # killed between the two renames: the marker says where both folders are
            assert f".{out.name}.swap" in _beside(out), n
        _recover(out)
        assert _digest(out) in (old, new) and _beside(out) == [], n
        if p.returncode == 0:
            assert _digest(out) == new
            break
    assert n > 5


def test_a_killed_swap_is_completed_by_the_next_writer_and_reported(tmp_path, caplog):
    """Killed right after the old folder was moved aside: the next writer puts the new folder in place."""
    killed_at = None
    for n in range(1, 40):  # find the call that moves the old folder aside: after it, 'out' is gone
        out_n = tmp_path / f"k{n}" / "out"
        _write_old(out_n)
        subprocess.run([sys.executable, "-c", KILL_CHILD, str(out_n), str(n), "replace"], env=_child_env(),
                       capture_output=True)
        if not out_n.exists():
            killed_at = out_n
            break
    assert killed_at is not None, "no call of the swap moved the old folder aside: the kill point was not reached"
    with pytest.raises(OutputError, match="interrupted"):
        from spatialprog.outputs import RunOutputs

        RunOutputs.read(killed_at)
    with caplog.at_level("WARNING", logger="spatialprog"):
        _recover(killed_at)
    assert (killed_at / "b.txt").read_text() == "new b"  # the stage was complete: the swap is finished
    assert not (killed_at / "only_old.txt").exists()
    text = caplog.text
    assert "finished the interrupted writing" in text and "took over the lock" in text


# --------------------------------------------------------------------------------------
# the rules of the folder


def test_a_folder_with_other_files_is_refused(tmp_path, example_project):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "hoofdstuk1.docx").write_text("mine")
    r = _invoke("run", str(example_project), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 2
    line = _one_line(r)
    assert "not outputs of spatialprog" in line and str(out) in line
    assert sorted(p.name for p in out.iterdir()) == ["hoofdstuk1.docx"] and _beside(out) == []


def test_a_run_folder_is_not_replaced_by_another_command(tmp_path, example_run):
    out = tmp_path / "out"
    shutil.copytree(example_run.out, out)
    before = _digest(out)
    r = _invoke("conflicts", str(EXAMPLE), "--out", str(out))
    assert r.exit_code == 2 and "holds the outputs of 'spatialprog run'" in _one_line(r)
    assert _digest(out) == before


def test_an_empty_folder_and_a_new_one_are_fine(tmp_path):
    for out in (tmp_path / "empty", tmp_path / "new" / "deeper"):
        if out.name == "empty":
            out.mkdir()
        with atomic_output_dir(out, kind="test") as stage:
            (stage / "x.txt").write_text("x")
        assert _outputs(out) == [MANIFEST, "x.txt"] and _beside(out) == []


def test_the_folder_keeps_its_permissions(tmp_path):
    out = tmp_path / "out"
    _write_old(out)
    os.chmod(out, 0o750)
    with atomic_output_dir(out, kind="test") as stage:
        (stage / "x.txt").write_text("x")
    assert (out.stat().st_mode & 0o777) == 0o750


def test_a_file_is_not_a_folder(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        with atomic_output_dir(f):
            pass


def test_the_manifest_lists_exactly_the_files(example_run, example_run_bare):
    for run in (example_run, example_run_bare):
        assert _outputs(run.out) == sorted(p.name for p in run.out.iterdir())


# --------------------------------------------------------------------------------------
# runs into one folder


@pytest.fixture
def tiny(tmp_path, tiny_housing) -> Path:
    (tmp_path / "project").mkdir()
    return write_tiny_project(tmp_path / "project", housing=tiny_housing)


def test_a_rerun_leaves_nothing_of_the_earlier_run(tmp_path, tiny):
    out = tmp_path / "out"
    (out / ".staging-1a2b").mkdir(parents=True)  # what the writer before 0.1.1 left inside a folder
    (out / ".staging-1a2b" / "headroom.csv").write_text("half")
    r = _invoke("run", str(tiny), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert {"map.html", "netruimte_afname.png", "spatialprog.gpkg", "spatialprog.qgz"} <= set(_outputs(out))
    r = _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert not {"map.html", "netruimte_afname.png", "netruimte_afname.pdf", "spatialprog.gpkg",
                "spatialprog.qgz"} & set(names)
    assert not [n for n in names if n.startswith(".")]
    assert _outputs(out) == names and _beside(out) == []


def test_a_second_run_into_the_same_folder_stops(tmp_path, tiny):
    """Two runs at the same time: the one that finds the folder locked stops in one line; the other wins."""
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "spatialprog", "run", str(EXAMPLE), "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_child_env(),
                             cwd=ROOT)
    lock = tmp_path / ".out.lock"
    try:
        for _ in range(600):
            if lock.exists() or first.poll() is not None:
                break
            time.sleep(0.05)
        assert lock.exists(), "the first run never locked the folder"
        r = _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis")
        assert r.exit_code == 2
        line = _one_line(r)
        assert f"process {first.pid}" in line and "is writing this folder" in line
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads((out / MANIFEST).read_text(encoding="utf-8"))["project"] != "tiny"  # the first run's
    assert _beside(out) == []


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, tiny):
    out = tmp_path / "out"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = tmp_path / ".out.lock"
    import socket

    lock.write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(), "token": "x"}))
    p = subprocess.run([sys.executable, "-m", "spatialprog", "run", str(tiny), "--out", str(out), "--no-maps",
                        "--no-qgis"], capture_output=True, text=True, env=_child_env(), cwd=ROOT)  # as a user
    assert p.returncode == 0, p.stderr
    assert [ln for ln in p.stderr.splitlines() if ln.strip()] == [
        f"notice: {out}: took over the lock left by process {gone.pid}, which is no longer running"]
    assert not lock.exists() and _beside(out) == []


def test_a_killed_run_leaves_nothing_the_next_run_does_not_remove(tmp_path, tiny):
    out = tmp_path / "out"
    r = _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output
    before = _digest(out)
    p = subprocess.Popen([sys.executable, "-m", "spatialprog", "run", str(EXAMPLE), "--out", str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_child_env(), cwd=ROOT)
    for _ in range(600):  # killed while it writes its stage
        if list(tmp_path.glob(".out.staging-*/*.csv")) or p.poll() is not None:
            break
        time.sleep(0.02)
    p.kill()
    p.wait()
    assert _digest(out) == before  # the previous outputs, untouched
    assert _beside(out), "the killed run left no trace to clean up: the test did not kill it in time"
    r = _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 0, r.output
    assert _beside(out) == [] and _digest(out) == before


def test_disk_full_is_one_line_and_the_previous_outputs_stay(tmp_path, tiny, monkeypatch):
    out = tmp_path / "out"
    assert _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis").exit_code == 0
    before = _digest(out)

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    def pieces_then_full(df):  # the CSV writer's pieces: the disk fills up on the first one
        yield b"layer,site_id\n"
        raise OSError(errno.ENOSPC, "No space left on device")

    from spatialprog import writer

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)  # the tables pandas writes (dates, mixed objects)
    monkeypatch.setattr(writer, "_csv_bytes", pieces_then_full)  # and those written in pyarrow's pieces
    r = _invoke("run", str(tiny), "--out", str(out))
    assert r.exit_code == 2
    line = _one_line(r)
    assert "No space left on device" in line and "previous outputs are left as they were" in line
    assert ".staging" not in line  # the file is named inside the output folder, not the stage
    assert _digest(out) == before and _beside(out) == []


def test_no_permission_is_one_line_and_the_previous_outputs_stay(tmp_path, tiny, monkeypatch):
    out = tmp_path / "out"
    assert _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis").exit_code == 0
    before = _digest(out)
    real = os.mkdir

    def denied(path, *a, **k):
        if ".staging-" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", denied)
    r = _invoke("run", str(tiny), "--out", str(out))
    assert r.exit_code == 2 and "Permission denied" in _one_line(r)
    assert _digest(out) == before and _beside(out) == []


# --------------------------------------------------------------------------------------
# commands that add to a run folder go through the same swap


def test_map_export_and_rank_add_to_the_run_folder(tmp_path, tiny):
    out = tmp_path / "out"
    assert _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis").exit_code == 0
    core = _digest(out)
    r = _invoke("map", str(out))
    assert r.exit_code == 0, r.output
    r = _invoke("export", str(out))
    assert r.exit_code == 0, r.output
    r = _invoke("rank", str(tiny), "--out", str(out))
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert {"map.html", "netruimte_afname.png", "spatialprog.gpkg", "spatialprog.qgz"} <= set(names)
    assert _outputs(out) == names and _beside(out) == []
    after = _digest(out)
    kept = ["results.gpkg", "headroom.csv", "headroom.xlsx", "demand.csv", "assignment.csv", "shortfall.csv"]
    assert {n: after[n] for n in kept} == {n: core[n] for n in kept}  # the run's own files, kept as they were


@pytest.mark.parametrize("writer", ["save_pdf", "save_png"])  # this process's part and the part beside it
def test_a_failing_map_leaves_the_run_folder_as_it_was(tmp_path, tiny, monkeypatch, writer):
    out = tmp_path / "out"
    assert _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis").exit_code == 0
    before = _digest(out)
    from spatialprog.maps import static

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(static, writer, boom)
    r = _invoke("map", str(out))
    assert r.exit_code == 2 and "No space left on device" in _one_line(r)
    assert _digest(out) == before and _beside(out) == []


def test_adding_keeps_the_other_files_and_a_folder_of_the_same_kind_is_replaced(tmp_path):
    out = tmp_path / "out"
    _write_old(out)
    with atomic_output_dir(out, add=True, kind="maps") as stage:
        (stage / "map.html").write_text("1")
        (stage / "extra.png").write_text("1")
    assert _outputs(out) == sorted([MANIFEST, "a.txt", "extra.png", "map.html", "only_old.txt", "sub/c.txt"])
    assert json.loads((out / MANIFEST).read_text())["spatialprog_output"] == "earlier"  # still the earlier's
    maps = tmp_path / "maps"
    for names in (["map.html", "extra.png"], ["map.html"]):
        with atomic_output_dir(maps, add=True, kind="maps") as stage:
            for n in names:
                (stage / n).write_text("x")
    assert _outputs(maps) == [MANIFEST, "map.html"]


def test_adding_never_changes_the_current_folder_before_the_swap(tmp_path):
    """The current files are linked into the stage after the body: rewriting one in place cannot reach them."""
    out = tmp_path / "out"
    old = _write_old(out)

    class Stop(Exception):
        pass

    with pytest.raises(Stop), atomic_output_dir(out, add=True, kind="test") as stage:
        with (stage / "a.txt").open("w") as fh:  # in place, as a careless writer would
            fh.write("changed")
        raise Stop
    assert _digest(out) == old


def test_source_date_epoch_must_be_a_number(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(OutputError, match="SOURCE_DATE_EPOCH"):
        writer.run_timestamp()


@pytest.mark.parametrize("part", ["surfaces", "ranking"])  # the part beside, and this process's part meanwhile
def test_a_failing_siting_surface_or_ranking_table_leaves_the_run_folder_as_it_was(tmp_path, tiny, monkeypatch, part):
    """The siting surfaces are written beside the ranking tables: a full disk in either stops the run with its
    one line and leaves the previous run as it was (the other part stopped, nothing left beside the folder)."""
    out = tmp_path / "out"
    assert _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis").exit_code == 0
    before = _digest(out)
    assert any(n.startswith("siting_") and n.endswith(".tif") for n in before)

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    if part == "surfaces":
        from spatialprog.export import raster

        monkeypatch.setattr(raster, "write_cog", boom)
    else:
        from spatialprog import ranking

        monkeypatch.setattr(ranking, "write_ranking", boom)
    r = _invoke("run", str(tiny), "--out", str(out), "--no-maps", "--no-qgis")
    assert r.exit_code == 2 and "No space left on device" in _one_line(r)
    assert _digest(out) == before and _beside(out) == []
