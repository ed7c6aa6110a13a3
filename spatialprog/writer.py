"""The one writer of tables and output folders: CSV, XLSX, the manifest and the folder swap.

Every table spatialprog writes (the run's CSVs and spreadsheets, the ranking,
the diff, the conflicts command) goes through :func:`write_tables`,
:func:`write_csv` and :func:`write_xlsx`, and every output folder through
:class:`atomic_output_dir`, so what follows holds for all of them.

Cell safety
    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (:data:`FORMULA_START`) could be run as a formula by a spreadsheet
    (CSV injection). In CSV such a cell is written with a single quote in
    front (OWASP); :func:`read_csv`, the reader of spatialprog's own outputs
    (``RunOutputs.read``), removes it again, so ids still join. A text that
    already starts with quotes followed by one of those characters gets one
    more quote, so the round trip is exact; other texts (``'s-Hertogenbosch``)
    are left as they are. In XLSX every text cell is a typed string cell
    (never a formula or an error value); numbers stay numbers. Numeric
    columns are never touched, also not their negative values.
All or nothing
    :class:`atomic_output_dir` writes a complete staging folder beside the
    output folder and then replaces the output folder as a whole; an
    interrupted swap is finished or undone by the next writer of that folder,
    and a lock stops a second writer. See its docstring.
Reproducible
    Every timestamp inside an output comes from :func:`run_timestamp`:
    ``SOURCE_DATE_EPOCH`` when it is set, else the run's date (UTC, at day
    resolution). XLSX workbooks carry it in their document properties and
    zip entries.

This is the output edge of the one-way flow (read -> compute -> write): the
computation hands finished DataFrames to these functions and never opens a
file itself. The module is longer than 500 lines because the folder swap
(stage, lock, marker, recovery) lives with the table writers it guards: how
anything reaches the disk is decided in this one file.
"""

from __future__ import annotations

import errno
import glob
import io
import json
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .errors import OutputError, SpatialprogError

__all__ = [
    "CSV_FLOAT_FORMAT",
    "FORMULA_START",
    "MANIFEST",
    "run_timestamp",
    "gpkg_timestamp",
    "escape_text",
    "unescape_text",
    "escape_frame",
    "unescape_frame",
    "write_csv",
    "read_csv",
    "write_tables",
    "write_xlsx",
    "finish_geopackage",
    "write_manifest",
    "manifest_kind",
    "atomic_output_dir",
]

#: CSV is the machine format: six significant digits, dot decimal, no index
CSV_FLOAT_FORMAT = "%.6g"

#: a text cell starting with one of these may be run as a formula by a spreadsheet (OWASP, CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: the file every output folder holds: what wrote it, and exactly which files are in it (``outputs``)
MANIFEST = "manifest.json"

log = logging.getLogger("spatialprog")

# --------------------------------------------------------------------------------------
# the one date of a run


def run_timestamp(run_date: datetime | None = None) -> datetime:
    """The date written into every output: the manifest, GeoPackages, workbooks, the QGIS project.

    Parameters
    ----------
    run_date : datetime, optional
        Given by the caller (naive means UTC): used as it is.

    Returns
    -------
    datetime
        In UTC. Without ``run_date``: ``SOURCE_DATE_EPOCH`` (seconds since
        1970-01-01 UTC) when that environment variable is set, else today's
        date at 00:00 UTC, so two runs of the same inputs on one day write the
        same bytes.

    Raises
    ------
    OutputError
        When ``SOURCE_DATE_EPOCH`` is set but not a whole number of seconds.

    Examples
    --------
    >>> run_timestamp(datetime(2026, 3, 14, 9, 30)).isoformat()
    '2026-03-14T09:30:00+00:00'
    """
    if run_date is not None:
        return (run_date if run_date.tzinfo else run_date.replace(tzinfo=UTC)).astimezone(UTC)
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            return datetime.fromtimestamp(int(raw), UTC)
        except (ValueError, OverflowError, OSError):
            raise OutputError(f"SOURCE_DATE_EPOCH={raw!r}: not a whole number of seconds since 1970-01-01 - unset "
                              f"it or give one, e.g. SOURCE_DATE_EPOCH=$(date +%s)") from None
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def gpkg_timestamp(when: datetime | None = None) -> str:
    """A :func:`run_timestamp` as GeoPackage timestamp (``YYYY-MM-DDTHH:MM:SS.sssZ``, UTC).

    Examples
    --------
    >>> gpkg_timestamp(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
    '2026-03-14T09:30:00.000Z'
    """
    return run_timestamp(when).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry's date (1980-2107, even seconds; UTC, as no zip reader knows the time zone)."""
    if when.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if when.year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second - when.second % 2)


# --------------------------------------------------------------------------------------
# cell safety

_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
_FIRST = frozenset("'=+-@\t\r")


def escape_text(value: str) -> str:
    """A text as it is written into a CSV cell: a quote in front when a spreadsheet could run it.

    Examples
    --------
    >>> escape_text("=HYPERLINK(1)"), escape_text("-3.5"), escape_text("'=x"), escape_text("'s-Hertogenbosch")
    ("'=HYPERLINK(1)", "'-3.5", "''=x", "'s-Hertogenbosch")
    """
    return "'" + value if value[:1] in _FIRST and _NEEDS_QUOTE.match(value) else value


def unescape_text(value: str) -> str:
    """The text :func:`escape_text` was given.

    Examples
    --------
    >>> [unescape_text(escape_text(v)) for v in ("=1", "'=1", "''+1", "'s-Hertogenbosch", "x")]
    ['=1', "'=1", "''+1", "'s-Hertogenbosch", 'x']
    """
    return value[1:] if value[:1] == "'" and _QUOTED.match(value) else value


def _is_text_column(s: pd.Series) -> bool:
    """Numbers, booleans and dates are never touched; everything else may hold text."""
    t = pd.api.types
    return not (t.is_numeric_dtype(s.dtype) or t.is_bool_dtype(s.dtype) or t.is_datetime64_any_dtype(s.dtype)
                or t.is_timedelta64_dtype(s.dtype))


def _map_text(df: pd.DataFrame, fn: Callable[[str], str]) -> pd.DataFrame:
    """Apply ``fn`` to every text cell and text column name; ``df`` itself when nothing changes."""
    changed: dict[int, list] = {}
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if not _is_text_column(s):
            continue
        values = s.tolist()
        new = [fn(v) if isinstance(v, str) and v[:1] in _FIRST else v for v in values]
        if any(a is not b for a, b in zip(new, values, strict=True)):
            changed[i] = new
    cols = [fn(c) if isinstance(c, str) and c[:1] in _FIRST else c for c in df.columns]
    renamed = any(a is not b for a, b in zip(cols, df.columns, strict=True))
    if not changed and not renamed:
        return df
    out = df.copy()
    for i, new in changed.items():
        out.isetitem(i, _series(new, out.index, df.iloc[:, i].dtype))
    if renamed:
        out.columns = cols
    return out


def _series(values: list, index: pd.Index, dtype) -> pd.Series:
    """The values in the column's own dtype (pandas' string dtypes stay), else as objects."""
    if isinstance(dtype, pd.StringDtype):
        try:
            return pd.Series(values, index=index, dtype=dtype)
        except (TypeError, ValueError):
            pass
    return pd.Series(values, index=index, dtype=object)


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell and column name through :func:`escape_text` (numeric columns untouched)."""
    return _map_text(df, escape_text)


def unescape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The reverse of :func:`escape_frame`."""
    return _map_text(df, unescape_text)


# --------------------------------------------------------------------------------------
# tables

#: the errors of writing a file, with what the user can do about them
_HINTS = {
    errno.ENOSPC: "free disk space or choose another folder",
    errno.EDQUOT: "free disk space (quota) or choose another folder",
    errno.EROFS: "the disk is read-only - choose a writable folder",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EFBIG: "the file is too large for this disk",
}


class _WriteFailed(OutputError):
    """A file could not be written (one line: the file, the reason, what to do)."""

    def __init__(self, path: Path, e: OSError):
        self.path = Path(path)
        self.reason = e.strerror or str(e)
        self.hint = _HINTS.get(e.errno or 0, "choose a writable folder")
        super().__init__(f"{self.path}: cannot write: {self.reason} - {self.hint}")


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise _WriteFailed(path, e) from None


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write one table as CSV (the machine format), text cells escaped (:func:`escape_text`).

    Raises
    ------
    OutputError
        When the file cannot be written (disk full, no permission).

    Examples
    --------
    >>> import tempfile
    >>> p = write_csv(pd.DataFrame({"a_mw": [1 / 3, -3.5], "id": ["=1+1", "B"]}), Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text()
    "a_mw,id\\n0.333333,'=1+1\\n-3.5,B\\n"
    >>> read_csv(p)["id"].tolist()
    ['=1+1', 'B']
    """
    path = Path(path)
    try:
        escape_frame(df).to_csv(path, index=False, float_format=CSV_FLOAT_FORMAT)
    except OSError as e:
        raise _WriteFailed(path, e) from None
    return path


def read_csv(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` (``pandas.read_csv`` options), text cells as they were given."""
    return unescape_frame(pd.read_csv(path, **kwargs))


def write_tables(folder: str | Path, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Write each table as ``NAME.csv`` into ``folder``; return the file names, in order."""
    folder = Path(folder)
    names = []
    for name, df in tables.items():
        write_csv(df, folder / f"{name}.csv")
        names.append(f"{name}.csv")
    return names


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(names: Iterable[object]) -> list[str]:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``, no quote at either end, unique."""
    out: list[str] = []
    for name in names:
        s = _SHEET_BAD.sub("_", str(name)).strip("'")[:31] or "sheet"
        base, k = s, 2
        while s.lower() in (o.lower() for o in out):
            s = f"{base[:31 - len(str(k)) - 1]}_{k}"
            k += 1
        out.append(s)
    return out


def _excel_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object (openpyxl writes no pandas string dtype), without characters XML cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(v: object) -> object:
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v

    out = df.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if _is_text_column(s):
            out.isetitem(i, pd.Series([clean(v) for v in s.tolist()], index=out.index, dtype=object))
    out.columns = [clean(c) for c in out.columns]
    return out


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, run_date: datetime | None = None) -> Path:
    """Write a workbook with one sheet per table (the human format).

    Every text cell is a typed string (``=...`` is text, never a formula;
    ``#N/A`` text, never an error value); numbers stay numbers. Characters
    XML cannot hold (control characters other than tab, LF and CR) become
    U+FFFD. The document properties (created, modified) and every zip
    entry carry :func:`run_timestamp` ``(run_date)``, so the same tables give
    the same bytes.

    Parameters
    ----------
    path : path
    sheets : mapping of str -> DataFrame
        Sheet names are made valid for Excel (31 characters, no ``[]:*?/\\``).
    run_date : datetime, optional
        See :func:`run_timestamp`.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    from openpyxl.xml.functions import tostring

    path = Path(path)
    when = run_timestamp(run_date)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in zip(_sheet_names(sheets), sheets.values(), strict=True):
            _excel_ready(df).to_excel(xw, sheet_name=name, index=False)
        for ws in xw.book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type in ("f", "e") and isinstance(cell.value, str):
                        cell.data_type = "s"  # openpyxl makes '=...' a formula and '#N/A' an error
    props = xw.book.properties  # saving set 'modified' to the wall clock: written again below
    props.created = props.modified = when.replace(tzinfo=None)
    core = tostring(props.to_tree())
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_zip_time(when))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            z.writestr(entry, core if info.filename == "docProps/core.xml" else src.read(info.filename))
    _write_bytes(path, out.getvalue())
    return path


def finish_geopackage(path: str | Path, when: datetime | str | None = None) -> Path:
    """Make a written GeoPackage reproducible: one date in ``gpkg_contents``, a header without write counts.

    Sets ``gpkg_contents.last_change`` of every table (GDAL writes the wall
    clock) to ``when`` and rewrites the file compacted (``VACUUM INTO``), so
    its header holds no count of the transactions that built it (which
    varies from run to run when GDAL writes without syncing) and the same
    layers give the same bytes.

    Parameters
    ----------
    path : path
        The GeoPackage; replaced atomically.
    when : datetime or str, optional
        A :func:`run_timestamp` argument, or a GeoPackage timestamp string.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        When the file cannot be written (disk full, ...).
    """
    import sqlite3

    path = Path(path)
    ts = when if isinstance(when, str) else gpkg_timestamp(when)
    tmp = path.with_name(f".{path.name}.compact-{secrets.token_hex(4)}")
    try:
        con = sqlite3.connect(path)
        try:
            with con:
                con.execute("UPDATE gpkg_contents SET last_change = ?", (ts,))
            con.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            con.close()
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise _WriteFailed(path, e) from None
    except sqlite3.Error as e:
        raise OutputError(f"{path}: cannot write: {e} - free disk space or choose a writable folder") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _dump_json(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def write_manifest(folder: str | Path, manifest: Mapping) -> Path:
    """Write ``manifest.json`` into ``folder`` (UTF-8, indented; the one format of every manifest)."""
    path = Path(folder) / MANIFEST
    _write_bytes(path, _dump_json(manifest).encode("utf-8"))
    return path


def manifest_kind(folder: str | Path) -> str | None:
    """What wrote ``folder``: ``"run"``, another command (``"maps"``, ``"diff"`` ...) or None (not spatialprog).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> manifest_kind(d) is None
    True
    >>> _ = write_manifest(d, {"spatialprog_output": "diff", "outputs": []})
    >>> manifest_kind(d)
    'diff'
    """
    try:
        man = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(man, dict):
        return None
    if "spatialprog_run" in man:
        return "run"
    kind = man.get("spatialprog_output")
    return str(kind) if kind else None


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


def _fsync(path: Path, *, directory: bool = False) -> None:
    if directory and os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
                       f"{_HINTS.get(e.errno or 0, 'choose a writable folder')}")


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
                              f"{_HINTS.get(e.errno or 0, 'choose a writable folder')}") from None
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
                except _WriteFailed as e:
                    raise self._failed(e.path, e.reason, e.hint) from None
                except SpatialprogError:
                    raise
                except OSError as e:
                    raise self._failed(Path(e.filename) if e.filename else None, e.strerror or str(e),
                                       _HINTS.get(e.errno or 0, "choose a writable folder")) from None
            elif isinstance(exc, _WriteFailed):
                raise self._failed(exc.path, exc.reason, exc.hint) from None
            elif (isinstance(exc, OSError) and not isinstance(exc, SpatialprogError)
                  and (exc.errno in _HINTS or self._in_stage(exc.filename))):
                raise self._failed(Path(exc.filename) if exc.filename else None, exc.strerror or str(exc),
                                   _HINTS.get(exc.errno or 0, "choose a writable folder")) from None
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
            _fsync(stage / f)
        _fsync(stage, directory=True)
        self._swap()

    def _swap(self) -> None:
        """Mark, move the old folder aside, move the new one into place, unmark, remove the old one."""
        out, stage = self.out, self.stage
        old = self._beside(f"old-{secrets.token_hex(4)}")
        marker = self._beside("swap")
        tmp = self._beside(f"swap.tmp-{secrets.token_hex(4)}")
        tmp.write_text(json.dumps({"out": out.name, "new": stage.name, "old": old.name}) + "\n", encoding="utf-8")
        _fsync(tmp)
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
                hint = _HINTS.get(e.errno or 0, "is a file in it open in another program, or is it a mount point?")
                raise OutputError(f"{self.out_dir}: cannot replace the folder: {e.strerror or e} - {hint}; the "
                                  f"previous outputs are left as they were") from None
            raise
        _fsync(out.parent, directory=True)
        try:  # the new folder is in place: what follows is tidying, redone by the next writer if it fails
            marker.unlink()
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
