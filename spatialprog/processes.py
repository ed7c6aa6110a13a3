"""One step beside another: a step of the run in a forked process.

Writing the tables and results.gpkg; drawing the maps and writing the QGIS
hand-off; writing the PDF maps and the report, and ``map.html`` and the PNG maps
(:func:`spatialprog.maps.draw_maps`, beside the hand-off as well): each pair reads
the run and writes files of its own into the stage; neither reads what the other
writes. In the middle of the run, a large plan's land-claim conflicts are found beside
its demand (:func:`spatialprog.pipeline.compute`, on the local engine), and a
large run's scale sums are summed beside the ranking of its variants
(:func:`spatialprog.ranking.rank_run`), and a large grid's candidate sites of the
variants other than the base are searched beside the base's
(:func:`spatialprog.siting.compute_siting`): pure computation, only the tables
go back. Both are Python-bound (matplotlib, pandas,
SQLite through GDAL, which keep the GIL), so a thread gains nothing:
:func:`beside` runs one of them in a child process forked from
the run, which shares the run's tables read back from the stage (copy on write:
nothing is pickled or read twice) and hands back only the paths it wrote, or the
error it met. On a machine with one core, or where ``fork`` is not a start
method (Windows, and macOS by Python's default), the step simply runs in this
process first: the same function, the same files.

A step that uses GDAL's worker threads (a COG written with ``NUM_THREADS``) must not run beside: GDAL
keeps one pool of threads per process, and a forked child inherits the pool but not its threads, so it
waits for them forever. The siting surfaces, written beside the ranking tables, are therefore compressed
on one core there (``write_cog(threads=False)``: the same bytes); the run takes the surfaces still left
once its own tables are written, one core each, the two drawing from one counter (:func:`turns`).

A :class:`~spatialprog.errors.SpatialprogError` or an ``OSError`` (a full disk, a
folder without write access) raised in the child is raised again in the parent as
itself, its one line and exit code, or the output folder's message naming the file;
anything else becomes a :class:`BesideFailed` carrying the child's traceback.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Beside", "BesideFailed", "beside", "can_fork", "long_lived", "turns"]

#: how many :func:`long_lived` blocks of this process froze the collector's objects (0 or 1)
_held = 0


class BesideFailed(RuntimeError):
    """A step run beside the run failed with something other than a SpatialprogError or an OSError (a bug:
    the child's traceback is the message), or its process died without an answer (killed, out of memory)."""


def can_fork() -> bool:
    """True when a step can run in a forked process here: ``fork`` is a start method and there are 2+ cores."""
    return (os.cpu_count() or 1) > 1 and "fork" in mp.get_all_start_methods()


def _child(conn, fn: Callable[..., Any], args: tuple) -> None:  # pragma: no cover (runs in the child)
    try:
        answer: tuple = ("ok", fn(*args))
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent
        from .errors import SpatialprogError

        if isinstance(e, SpatialprogError | OSError):
            try:
                answer = ("error", pickle.dumps(e))
            except Exception:  # noqa: BLE001 - an unpicklable error still goes back as its line
                answer = ("text", f"{type(e).__name__}: {e}")
        else:
            answer = ("text", "".join(traceback.format_exception(e)))
    try:
        conn.send(answer)
    finally:
        conn.close()


class Beside:
    """A step running beside the run (from :func:`beside`); :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., Any], args: tuple, *, fork: bool) -> None:
        self._process = None
        self._answer: tuple | None = None
        if not fork:
            try:
                self._answer = ("ok", fn(*args))
            except BaseException as e:
                self._answer = ("raise", e)
            return
        ctx = mp.get_context("fork")
        self._conn, child_end = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_child, args=(child_end, fn, args), daemon=True)
        # the child's collector leaves the run's objects alone (gc.freeze: they are collected in the run, not
        # there): its full collections would otherwise visit each of them, copying the pages they lie on
        held = _held > 0  # inside long_lived(): the run's objects stay frozen here too, until its end
        fresh = gc.get_freeze_count() == 0  # else frozen by someone else: theirs to manage
        if held or fresh:
            gc.freeze()
        try:
            self._process.start()
        finally:
            if fresh and not held:
                gc.unfreeze()
        child_end.close()

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """On leaving the block: the caller's own work failed, so the step is abandoned (:meth:`cancel`)."""
        if exc_type is not None:
            self.cancel()

    def result(self) -> Any:
        """The step's return value, once it is done; raises what it raised (see the module's docstring)."""
        if self._answer is None:
            try:
                self._answer = self._conn.recv()
            except EOFError:
                self._answer = ("text", f"the process died without an answer (exit code {self._wait()})")
            finally:
                self._conn.close()
                self._wait()
        kind, value = self._answer
        if kind == "ok":
            return value
        if kind == "raise":
            raise value
        if kind == "error":
            raise pickle.loads(value) from None
        raise BesideFailed(value)

    def cancel(self) -> None:
        """Stop the step if it still runs (the run failed elsewhere) and wait for its process to end."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
        if self._process is not None:
            self._wait()
            self._conn.close()

    def _wait(self) -> int | None:
        self._process.join()
        return self._process.exitcode


def beside(fn: Callable[..., Any], *args: Any, fork: bool | None = None) -> Beside:
    """Start ``fn(*args)`` beside the caller: in a forked process when :func:`can_fork` (or ``fork``), else now.

    Parameters
    ----------
    fn : callable
        Must not need what the caller does meanwhile; its return value must pickle (paths, say).
    *args
        Its arguments (shared with the child by the fork, not pickled).
    fork : bool, optional
        Default :func:`can_fork`. False runs ``fn`` here and now (the result waits in the handle).

    Returns
    -------
    Beside
        Call :meth:`Beside.result` for the value (or the error), :meth:`Beside.cancel` to abandon it. As a
        context manager around the caller's own work it is cancelled when that work raises::

            with beside(write_layers, result) as layers:
                write_tables(result)          # meanwhile, here
            files = layers.result()
    """
    return Beside(fn, args, fork=can_fork() if fork is None else fork)


@contextmanager
def long_lived() -> Iterator[Callable[[], None]]:
    """A block in which the objects alive at each call of the function it yields stay out of the collector.

    A national run holds tables of millions of rows for minutes; Python's full collections visit every
    object of every object-dtype column (texts, geometries) each time, about 0.2 s a pass and 3 s a run
    at 1e5 sites. Calling the yielded function after each stage moves what is alive then (the plan, the
    result, the ranking) to the collector's permanent generation (:func:`gc.freeze`): what those objects
    free by reference counting is still freed at once; only a cycle among them that becomes garbage waits
    for the end of the block, where everything is handed back (:func:`gc.unfreeze`). A process whose
    objects were frozen already (by the application around it) is left as it is: the function does nothing.

    Examples
    --------
    >>> with long_lived() as settle:
    ...     tables = [list(range(3))]
    ...     settle()
    """
    global _held
    if _held or gc.get_freeze_count():
        yield lambda: None
        return
    _held += 1
    try:
        yield gc.freeze
    finally:
        _held -= 1
        gc.unfreeze()


def turns(n: int, *, shared: bool) -> Callable[[], int | None]:
    """Hand out ``0 .. n-1`` once each, in order: a call returns the next, or None when all are taken.

    With ``shared``, this process and the processes it forks after this call draw from one counter in
    shared memory, so two that work through the same list share it out between them as they go (each
    item is done by one of them: a file has one writer). Without, a plain counter.

    Examples
    --------
    >>> take = turns(2, shared=False)
    >>> take(), take(), take()
    (0, 1, None)
    """
    if not shared:
        left = iter(range(n))
        return lambda: next(left, None)
    counter = mp.get_context("fork").Value("q", 0)

    def take() -> int | None:
        with counter.get_lock():
            i = counter.value
            if i >= n:
                return None
            counter.value = i + 1
            return i

    return take
