"""Output folders: staged beside themselves, swapped in as a whole, locked against a second writer.

The staging folder, the swap marker (``.NAME.swap``) and the lock
(``.NAME.lock``) sit beside the output folder, on the same file system, so
the renames that swap a folder in are atomic; an interrupted swap is finished
or undone by the next writer of that folder. See :class:`atomic_output_dir`.
Tables inside the folder are written by :mod:`spatialprog.writer`.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

from .errors import OutputError, SpatialprogError
from .writer import (
    MANIFEST,
    OS_HINTS,
    WriteFailed,
    fsync,
    manifest_kind,
    run_timestamp,
    write_manifest,
)

__all__ = ["atomic_output_dir"]

log = logging.getLogger("spatialprog")


# --------------------------------------------------------------------------------------
# the output folder: staged, swapped as a whole, locked

#: stages of this process: a writer asked to write into one of them writes straight into it
_ACTIVE: set[str] = set()
#: tokens of the locks this process holds (a lock with this pid but another token was left behind: stale)
_HELD: set[str] = set()


def _listing(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _legacy(name: str) -> bool:
    """A staging folder the writer before 0.1.1 left inside the output folder."""
    return name.startswith(".staging-")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


class _Lock:
    """``.NAME.lock`` beside the output folder: created with O_EXCL, holding pid, host and a token."""

    def __init__(self, path: Path, shown: Path, notice: Callable[[str], None]):
        self.path = path
        self.shown = shown
        self.notice = notice
        self.token = secrets.token_hex(8)
        self.text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": self.token})
        self.held = False

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            return ""

    def _stale(self, text: str, path: Path) -> tuple[bool, str]:
        """(whether the lock is left by a process that is gone, who holds it in words)."""
        try:
            holder = json.loads(text)
            pid, host = int(holder["pid"]), str(holder["host"])
        except (ValueError, KeyError, TypeError):  # half written, or not ours: stale once it is a few seconds old
            try:
                age = time.time() - path.stat().st_mtime
            except OSError:
                age = 0.0
            return age > 10, "another process"
        who = f"process {pid}" + ("" if host == socket.gethostname() else f" on {host}")
        if host != socket.gethostname():
            return False, who  # cannot tell: ask the user
        if pid == os.getpid():  # this process: stale unless it holds that lock now
            return holder.get("token") not in _HELD, who
        return not _pid_alive(pid), who

    def acquire(self) -> None:
        busy = ""
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                text = self._read(self.path)
                if text is None:
                    continue  # released meanwhile
                stale, who = self._stale(text, self.path)
                busy = who
                if not stale:
                    break
                # take a stale lock over: move it aside under a name of our own, check it is the one judged
                grave = self.path.with_name(f"{self.path.name}.stale-{self.token}")
                try:
                    os.rename(self.path, grave)
                except FileNotFoundError:
                    continue
                except OSError as e:
                    raise _lock_error(self.shown, self.path, e) from None
                moved = self._read(grave)
                if moved != text:  # another process locked meanwhile: give its lock back
                    try:
                        os.link(grave, self.path)
                    except OSError:
                        pass
                grave.unlink(missing_ok=True)
                if moved == text:
                    self.notice(f"{self.shown}: took over the lock left by {who}, which is no longer running")
                continue
            except OSError as e:
                raise _lock_error(self.shown, self.path, e) from None
            try:
                os.write(fd, self.text.encode("utf-8"))
            finally:
                os.close(fd)
            self.held = True
            _HELD.add(self.token)
            return
        raise OutputError(f"{self.shown}: {busy or 'another process'} is writing this folder (spatialprog) - wait "
                          f"until it has finished; if it is no longer running, delete {self.path}")

    def release(self) -> None:
        """Remove the lock if it is still ours; a lock that cannot be removed is taken over as stale later."""
        try:
            if self.held and self._read(self.path) == self.text:
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            self.held = False
            _HELD.discard(self.token)


def _lock_error(shown: Path, path: Path, e: OSError) -> OutputError:
    return OutputError(f"{shown}: cannot create the lock file {path.name} beside it: {e.strerror or e} - "
                       f"{OS_HINTS.get(e.errno or 0, 'choose a writable folder')}")


class atomic_output_dir:  # noqa: N801 - used as a context manager
    """Write an output folder all or nothing: stage it beside ``out_dir``, then swap it in as a whole.

    On entry the folder is locked (``.NAME.lock`` beside it: a second writer
    stops with a one-line :class:`~spatialprog.errors.OutputError`; a lock
    whose process is gone is taken over, with a notice), an interrupted
    earlier swap is finished or undone and stale staging folders are removed.
    ``out_dir`` must be missing, empty or an earlier output folder of
    spatialprog (it holds a ``manifest.json`` of spatialprog): anything else
    is refused, so the swap never deletes a user's own files.

    The body writes into the yielded staging folder ``.NAME.staging-XXXX``
    (same parent, so renames are atomic). On success ``manifest.json`` is
    made to list exactly the files of the folder (written, when the body
    wrote none, as a small manifest naming ``kind``), the files are
    flushed, and the folder is swapped: ``.NAME.swap`` is written (which
    folders are moved), ``out_dir`` is renamed aside to ``.NAME.old-XXXX``,
    the stage renamed to ``out_dir``, the marker removed, the old folder
    removed. Files of the earlier outputs that this writer does not produce
    are gone. Whatever fails (an exception, disk full, the process killed),
    ``out_dir`` is afterwards wholly the old or wholly the new folder; a
    swap killed between its two renames is completed by the next writer.

    Parameters
    ----------
    out_dir : path
        The output folder (created with its parents when missing).
    add : bool
        Add to the folder instead of replacing it (``map OUT_DIR``, ``export
        OUT_DIR``, the ranking): every file of the current folder that the
        body did not write is linked (hard links, copies where links are not
        possible) into the stage before the swap. The links are made after
        the body, so a writer that rewrites a file in place never changes
        the current folder. A folder that a writer of the same ``kind``
        wrote (an earlier ``map --out maps/``) is replaced instead, so no
        stale file of that earlier call stays.
    kind : str
        What writes the folder (``"run"``, ``"maps"``, ``"diff"`` ...): named
        in the manifest written when the body wrote none. A folder holding a
        run is replaced only by a run (``add=False``).

    Raises
    ------
    OutputError
        One line: the folder is locked, not spatialprog's, not writable, the
        disk is full, ... The previous outputs are left as they were.

    Notes
    -----
    A writer asked to write into a stage of this process (``write_run(result,
    stage)`` inside ``spatialprog.run``) writes straight into it: the
    outer writer swaps it in.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_output_dir(d, kind="example") as stage:
    ...     _ = (stage / "a.txt").write_text("x")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt', 'manifest.json']
    >>> with atomic_output_dir(d, add=True) as stage:
    ...     _ = (stage / "b.txt").write_text("y")
    >>> json.loads((d / "manifest.json").read_text())["outputs"]
    ['a.txt', 'b.txt', 'manifest.json']
    >>> sorted(p.name for p in d.parent.iterdir())
    ['out']
    """

    def __init__(self, out_dir: str | Path, *, add: bool = False, kind: str = "output"):
        self.out_dir = Path(out_dir)
        self.add = add
        self.kind = kind
        self.notices: list[str] = []
        self.nested = False
        self._lock: _Lock | None = None

    # ---- names beside the folder

    def _beside(self, what: str) -> Path:
        return self.out.parent / f".{self.out.name}.{what}"

    def _notice(self, text: str) -> None:
        self.notices.append(text)
        log.warning("notice: %s", text)

    # ---- entry

    def __enter__(self) -> Path:
        key = os.path.abspath(self.out_dir)
        if key in _ACTIVE:
            self.nested = True
            self.stage = self.out_dir
            return self.out_dir
        out = Path(key)
        if out.is_symlink():
            out = out.resolve()
        if not out.name:
            raise OutputError(f"{self.out_dir}: cannot be an output folder (it is the root of the disk) - give a "
                              f"folder inside it")
        self.out = out
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{self.out_dir}: cannot create the output folder: {e.strerror or e} - choose a "
                              f"writable folder") from None
        if out.exists() and not out.is_dir():
            raise OutputError(f"{self.out_dir}: is a file, not a folder - give a folder for the outputs")
        self._lock = _Lock(self._beside("lock"), self.out_dir, self._notice)
        self._lock.acquire()
        try:
            self._recover()
            if self.add and manifest_kind(out) == self.kind:
                self.add = False  # its own earlier output: replaced, so nothing stale stays
            self._check_replaceable()
            self.stage = self._make_stage()
        except OSError as e:
            self._lock.release()
            if isinstance(e, SpatialprogError):
                raise
            raise OutputError(f"{self.out_dir}: cannot prepare the output folder: {e.strerror or e} - "
                              f"{OS_HINTS.get(e.errno or 0, 'choose a writable folder')}") from None
        except BaseException:
            self._lock.release()
            raise
        _ACTIVE.add(str(self.stage))
        return self.stage

    def _recover(self) -> None:
        """Finish or undo a swap a killed writer left (its marker), then remove what stale writers left."""
        out, marker = self.out, self._beside("swap")
        prefix = f".{out.name}."
        if marker.exists():
            try:
                m = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                m = {}

            def folder(key: str) -> Path | None:
                name = str(m.get(key, "")) if isinstance(m, dict) else ""
                ok = name.startswith(prefix) and "/" not in name and os.sep not in name
                return out.parent / name if ok else None

            new, old = folder("new"), folder("old")
            if not os.path.lexists(out):
                if new is not None and new.is_dir():
                    os.rename(new, out)
                    self._notice(f"{self.out_dir}: finished the interrupted writing of an earlier run")
                elif old is not None and old.is_dir():
                    os.rename(old, out)
                    self._notice(f"{self.out_dir}: restored the outputs an interrupted run had moved aside")
            marker.unlink()
        esc = glob.escape(prefix)
        olds = sorted(out.parent.glob(esc + "old-*"), key=lambda p: p.stat().st_mtime)
        if not os.path.lexists(out) and olds and olds[-1].is_dir():  # no marker, yet moved aside: never delete it
            os.rename(olds[-1], out)
            self._notice(f"{self.out_dir}: restored the outputs an interrupted run had moved aside")
        for pattern in ("staging-*", "old-*", "swap.tmp-*", "lock.stale-*"):
            for p in out.parent.glob(esc + pattern):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink(missing_ok=True)

    def _check_replaceable(self) -> None:
        out = self.out
        if not out.is_dir():
            return
        entries = [p.name for p in out.iterdir() if not _legacy(p.name)]
        if not entries:
            return
        kind = manifest_kind(out)
        if kind is None:
            raise OutputError(f"{self.out_dir}: the folder holds files that are not outputs of spatialprog (no "
                              f"spatialprog {MANIFEST}) - give a new or empty folder; spatialprog replaces its "
                              f"output folder as a whole")
        if not self.add and kind == "run" and self.kind != "run":
            raise OutputError(f"{self.out_dir}: holds the outputs of 'spatialprog run', which writing the "
                              f"{self.kind} here would replace - give another folder")

    def _make_stage(self) -> Path:
        for _ in range(100):
            stage = self._beside(f"staging-{secrets.token_hex(4)}")
            try:
                stage.mkdir()  # the umask's permissions, not mkdtemp's 0700
            except FileExistsError:
                continue
            if self.out.is_dir():
                os.chmod(stage, stat.S_IMODE(self.out.stat().st_mode))
            return stage
        raise OutputError(f"{self.out_dir}: cannot create a staging folder beside it - choose a writable folder")

    # ---- exit

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.nested:
            return None
        try:
            if exc_type is None:
                try:
                    self._commit()
                except WriteFailed as e:
                    raise self._failed(e.path, e.reason, e.hint) from None
                except SpatialprogError:
                    raise
                except OSError as e:
                    raise self._failed(Path(e.filename) if e.filename else None, e.strerror or str(e),
                                       OS_HINTS.get(e.errno or 0, "choose a writable folder")) from None
            elif isinstance(exc, WriteFailed):
                raise self._failed(exc.path, exc.reason, exc.hint) from None
            elif (isinstance(exc, OSError) and not isinstance(exc, SpatialprogError)
                  and (exc.errno in OS_HINTS or self._in_stage(exc.filename))):
                raise self._failed(Path(exc.filename) if exc.filename else None, exc.strerror or str(exc),
                                   OS_HINTS.get(exc.errno or 0, "choose a writable folder")) from None
        finally:
            _ACTIVE.discard(str(self.stage))
            if self.stage.exists():
                shutil.rmtree(self.stage, ignore_errors=True)
            if self._lock is not None:
                self._lock.release()
        return None

    def _in_stage(self, filename: object) -> bool:
        return bool(filename) and os.path.abspath(str(filename)).startswith(str(self.stage) + os.sep)

    def _failed(self, path: Path | None, reason: str, hint: str) -> OutputError:
        what = ""
        if path is not None:
            p = os.path.abspath(path)
            what = f" {Path(p).relative_to(self.stage).as_posix()}" if self._in_stage(p) else f" {path}"
        return OutputError(f"{self.out_dir}: cannot write{what}: {reason} - {hint}; the previous outputs are left "
                           f"as they were")

    def _commit(self) -> None:
        stage, out = self.stage, self.out
        if self.add and out.is_dir():
            for src in sorted(out.rglob("*")):
                rel = src.relative_to(out)
                if _legacy(rel.parts[0]) or src.is_dir() and not src.is_symlink():
                    continue
                dst = stage / rel
                if os.path.lexists(dst):
                    continue  # written by this command
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(src, dst, follow_symlinks=False)
                except OSError:
                    shutil.copy2(src, dst, follow_symlinks=False)
        files = _listing(stage)
        man_path = stage / MANIFEST
        if man_path.is_file():
            man = json.loads(man_path.read_text(encoding="utf-8"))
            if man.get("outputs") != files:
                man["outputs"] = files
                man_path.unlink()  # may be a link to the current folder's manifest: a new file, not rewritten
                write_manifest(stage, man)
        else:
            from . import __version__

            write_manifest(stage, {"spatialprog_output": self.kind, "spatialprog": __version__,
                                   "run_date": run_timestamp().isoformat(timespec="seconds"),
                                   "outputs": sorted([*files, MANIFEST])})
        for f in _listing(stage):
            fsync(stage / f)
        fsync(stage, directory=True)
        self._swap()

    def _swap(self) -> None:
        """Mark, move the old folder aside, move the new one into place, unmark, remove the old one."""
        out, stage = self.out, self.stage
        old = self._beside(f"old-{secrets.token_hex(4)}")
        marker = self._beside("swap")
        tmp = self._beside(f"swap.tmp-{secrets.token_hex(4)}")
        tmp.write_text(json.dumps({"out": out.name, "new": stage.name, "old": old.name}) + "\n", encoding="utf-8")
        fsync(tmp)
        os.replace(tmp, marker)
        moved = False
        try:
            if os.path.lexists(out):
                os.rename(out, old)
                moved = True
            os.rename(stage, out)
        except BaseException as e:
            try:  # undo: the old folder back, no marker
                if moved and not os.path.lexists(out):
                    os.rename(old, out)
                marker.unlink(missing_ok=True)
            except OSError:
                pass  # the marker stays: the next writer restores the old folder
            if isinstance(e, OSError) and not isinstance(e, SpatialprogError):
                hint = OS_HINTS.get(e.errno or 0, "is a file in it open in another program, or is it a mount point?")
                raise OutputError(f"{self.out_dir}: cannot replace the folder: {e.strerror or e} - {hint}; the "
                                  f"previous outputs are left as they were") from None
            raise
        fsync(out.parent, directory=True)
        try:  # the new folder is in place: what follows is tidying, redone by the next writer if it fails
            marker.unlink()
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
