"""A step beside the run (spatialprog.processes): answers, errors and their one line, a dead child; and a run
whose QGIS hand-off is written beside the maps gives the same bytes as one that writes them one after the other."""

from __future__ import annotations

import gc
import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from spatialprog import processes
from spatialprog.errors import LayerValidationError, Problem, SpatialprogError
from spatialprog.processes import BesideFailed, beside, can_fork, turns
from spatialprog.writer import WriteFailed

ROOT = Path(__file__).resolve().parents[1]
forks = pytest.mark.skipif(not can_fork(), reason="needs 'fork' and 2+ cores (spatialprog.processes)")


def _pid_and(x):
    return os.getpid(), x * 2


def _disk_full(path):
    raise WriteFailed(Path(path), OSError(28, "No space left on device"))


def _no_space(path):
    raise OSError(28, "No space left on device", path)


def _invalid():
    raise LayerValidationError([Problem(layer="woningbouw", feature="7", field="woningen", message="not a number")])


def _bug():
    return {}["no such key"]


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


@forks
def test_the_step_runs_in_another_process_and_hands_back_its_value():
    pid, value = beside(_pid_and, 21).result()
    assert value == 42 and pid != os.getpid()


@pytest.mark.parametrize("fork", [pytest.param(True, marks=forks), False])
def test_a_users_error_comes_back_as_itself(fork):
    with pytest.raises(WriteFailed) as e:
        beside(_disk_full, "/stage/spatialprog.gpkg", fork=fork).result()
    assert str(e.value) == "/stage/spatialprog.gpkg: cannot write: No space left on device - free disk space or " \
                           "choose another folder"
    assert e.value.path == Path("/stage/spatialprog.gpkg") and e.value.exit_code == 2
    with pytest.raises(LayerValidationError) as e:
        beside(_invalid, fork=fork).result()
    assert e.value.lines() == [str(Problem(layer="woningbouw", feature="7", field="woningen",
                                           message="not a number"))]
    with pytest.raises(OSError) as e:  # the output folder turns it into its one line, as for this process's own
        beside(_no_space, "/stage/kaart.png", fork=fork).result()
    assert (e.value.errno, e.value.strerror, e.value.filename) == (28, "No space left on device", "/stage/kaart.png")


@forks
def test_a_bug_comes_back_with_the_childs_traceback():
    with pytest.raises(BesideFailed, match=r"(?s)Traceback.*_bug.*KeyError: 'no such key'"):
        beside(_bug).result()


@forks
def test_a_child_that_dies_is_an_error_not_a_hang():
    with pytest.raises(BesideFailed, match="died without an answer"):
        beside(_die).result()


@forks
def test_cancel_stops_a_running_step(tmp_path):
    import time

    h = beside(time.sleep, 60)
    t = time.perf_counter()
    h.cancel()
    assert time.perf_counter() - t < 10 and not h._process.is_alive()


def test_every_spatialprog_error_pickles_as_itself():
    import pickle

    for e in (WriteFailed(Path("/x"), OSError(13, "Permission denied")), SpatialprogError("one line"),
              LayerValidationError([Problem(layer="a", feature="1", field="f", message="m")])):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e) and back.__dict__ == e.__dict__


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


@forks
def test_the_handoff_beside_the_maps_writes_the_same_files(tmp_path, monkeypatch):
    from spatialprog.workflow import run

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    project = ROOT / "layers" / "example_region.toml"
    steps: list[str] = []
    run(project, tmp_path / "beside", variants=["basis"], progress=steps.append)
    assert "writing spatialprog.gpkg (QGIS), beside the maps" in steps
    assert "drawing the interactive map and the PNG maps, beside the PDF maps" in steps
    monkeypatch.setattr(processes, "can_fork", lambda: False)
    run(project, tmp_path / "inline", variants=["basis"])
    beside_files, inline_files = _digest(tmp_path / "beside"), _digest(tmp_path / "inline")
    assert "spatialprog.gpkg" in beside_files and "map.html" in beside_files
    assert beside_files == inline_files


@forks
def test_a_failure_of_the_callers_own_work_cancels_the_step():
    import time

    with pytest.raises(ValueError, match="the tables failed"), beside(time.sleep, 60) as h:
        t = time.perf_counter()
        raise ValueError("the tables failed")
    assert time.perf_counter() - t < 10 and not h._process.is_alive()


@forks
def test_a_handoff_that_ends_after_the_maps_is_kept(tmp_path, monkeypatch):
    """The QGIS hand-off, in its own process, may end after the maps: its files are in the run and its
    manifest all the same."""
    import time

    import spatialprog.export as export
    import spatialprog.maps as maps
    from spatialprog.workflow import run

    done = tmp_path / "maps-done"
    draw, export_qgis = maps.draw_maps, export.export_qgis

    def maps_then_mark(*args, **kwargs):
        names = draw(*args, **kwargs)
        done.touch()
        return names

    def export_after_the_maps(*args, **kwargs):
        t = time.monotonic()
        while not done.exists() and time.monotonic() - t < 120:
            time.sleep(0.05)
        return export_qgis(*args, **kwargs)

    monkeypatch.setattr(maps, "draw_maps", maps_then_mark)
    monkeypatch.setattr(export, "export_qgis", export_after_the_maps)
    out = tmp_path / "out"
    run(ROOT / "layers" / "example_region.toml", out, variants=["basis"])
    assert done.exists()
    files = _digest(out)
    assert {"spatialprog.gpkg", "spatialprog.qgz", "map.html", "rapport.pdf"} <= set(files)
    import json

    assert set(json.loads((out / "manifest.json").read_text())["outputs"]) == {*files, "manifest.json"}


def _draw_all(take) -> list[int]:
    got = []
    while (i := take()) is not None:
        got.append(i)
        time.sleep(0.002)  # long enough that the other process draws in between
    return got


@forks
def test_turns_share_a_list_out_between_this_process_and_a_forked_one():
    """Each number is drawn once, by one of the two, and both draw (a file has one writer; both work)."""
    take = turns(200, shared=True)
    with beside(_draw_all, take) as child:
        mine = _draw_all(take)
    theirs = child.result()
    assert sorted(mine + theirs) == list(range(200))
    assert mine and theirs
    assert take() is None


def test_unshared_turns_count_through_once():
    take = turns(3, shared=False)
    assert [take() for _ in range(5)] == [0, 1, 2, None, None]


class _Cycle:
    """An object in a reference cycle with itself: only the collector frees it."""

    def __init__(self):
        self.me = self


def _frozen_in_child():
    return gc.get_freeze_count()


def test_long_lived_keeps_what_was_settled_out_of_the_collector_until_its_end():
    import weakref

    assert gc.get_freeze_count() == 0
    with processes.long_lived() as settle:
        kept = [object() for _ in range(10)]
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        settle()
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        del cycle
        gc.collect()
        assert gone() is not None  # a settled cycle waits for the end of the block
        with processes.long_lived() as inner:  # nested: the outer block manages the freeze
            inner()
            assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None and len(kept) == 10


def test_long_lived_leaves_a_process_frozen_by_someone_else_as_it_was():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with processes.long_lived() as settle:
            junk = [object() for _ in range(100)]
            settle()
            assert gc.get_freeze_count() == before
        assert gc.get_freeze_count() == before and junk
    finally:
        gc.unfreeze()


@forks
def test_a_forked_step_inherits_the_run_frozen_and_this_process_is_handed_back_its_objects():
    assert gc.get_freeze_count() == 0
    assert beside(_frozen_in_child).result() > 0  # the child's collector leaves the parent's objects alone
    assert gc.get_freeze_count() == 0  # outside a run: unfrozen again here at once
    with processes.long_lived():
        assert beside(_frozen_in_child).result() > 0
        assert gc.get_freeze_count() > 0  # inside: frozen until the block ends
    assert gc.get_freeze_count() == 0
