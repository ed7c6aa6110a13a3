"""The one writer of tables and output folders: CSV, XLSX, the manifest and the folder swap.

Every table spatialprog writes (the run's CSVs and spreadsheets, the ranking,
the diff, the conflicts command) goes through :func:`write_tables`,
:func:`write_csv` and :func:`write_xlsx`, and every output folder through
:class:`spatialprog.folders.atomic_output_dir`, so what follows holds for all of them.

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
    :class:`spatialprog.folders.atomic_output_dir` writes a complete staging folder beside the
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
file itself.

The module is long because it is the one writer (about 1,100 lines): every CSV, XLSX,
GeoPackage finish, text and manifest goes through it, with the cell safety they share, and
with the encoders that write a national run's tables (millions of rows) as pandas and
openpyxl would, byte for byte, in a fraction of their time: CSV (:func:`_csv_bytes`, floats
by :func:`_format_g`) and long sheets (:func:`_sheet_rows`).
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputError

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
    "write_parquet",
    "write_text",
    "read_csv",
    "write_tables",
    "write_xlsx",
    "finish_geopackage",
    "write_manifest",
    "manifest_kind",
    "fsync",
    "WriteFailed",
    "OS_HINTS",
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
    changed: dict[int, list | pd.Series] = {}
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if not _is_text_column(s):
            continue
        if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
            mapped = _map_arrow_text(s, fn)
            if mapped is not None:
                changed[i] = mapped
            continue
        values = s.to_numpy(dtype=object)
        # each distinct value looked at once (strings equal only strings, so a text's code is its own)
        codes, uniques = pd.factorize(values)
        repl = np.empty(len(uniques), dtype=object)
        hit = np.zeros(len(uniques) + 1, dtype=bool)  # the last entry: missing values (code -1)
        for k, v in enumerate(uniques.tolist()):
            if isinstance(v, str) and v[:1] in _FIRST:
                w = fn(v)
                if w is not v:
                    repl[k], hit[k] = w, True
        at = np.flatnonzero(hit[codes])
        if len(at):
            new = values.copy()
            new[at] = repl[codes[at]]
            changed[i] = new.tolist()
    names = df.columns.tolist()  # once: a pyarrow-backed Index gives a new str object at every look
    cols = [fn(c) if isinstance(c, str) and c[:1] in _FIRST else c for c in names]
    renamed = any(a is not b for a, b in zip(cols, names, strict=True))
    if not changed and not renamed:
        return df
    out = df.copy()
    for i, new in changed.items():
        out.isetitem(i, new if isinstance(new, pd.Series) else _series(new, out.index, df.iloc[:, i].dtype))
    if renamed:
        out.columns = cols
    return out


def _map_arrow_text(s: pd.Series, fn: Callable[[str], str]) -> pd.Series | None:
    """``fn`` applied to the texts of a pyarrow-backed column that start with a character of ``_FIRST`` (found in
    pyarrow: a national table holds millions of cells, hardly any of them such); None when nothing changes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    hit = pc.fill_null(pc.match_substring_regex(arr, "^['=+@\t\r-]"), False)
    if not pc.any(hit).as_py():
        return None
    before = arr.filter(hit).to_pylist()
    after = [fn(v) for v in before]
    if all(a is b for a, b in zip(after, before, strict=True)):
        return None
    return pd.Series(pc.replace_with_mask(arr, hit, pa.array(after, arr.type)), index=s.index, dtype=s.dtype,
                     name=s.name)


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
OS_HINTS = {
    errno.ENOSPC: "free disk space or choose another folder",
    errno.EDQUOT: "free disk space (quota) or choose another folder",
    errno.EROFS: "the disk is read-only - choose a writable folder",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EFBIG: "the file is too large for this disk",
}


class WriteFailed(OutputError):
    """A file could not be written (one line: the file, the reason, what to do)."""

    def __init__(self, path: Path, e: OSError):
        self.path = Path(path)
        self.reason = e.strerror or str(e)
        self.hint = OS_HINTS.get(e.errno or 0, "choose a writable folder")
        super().__init__(f"{self.path}: cannot write: {self.reason} - {self.hint}")


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise WriteFailed(path, e) from None


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write one table as CSV (the machine format), text cells escaped (:func:`escape_text`).

    The bytes are those of ``escape_frame(df).to_csv(index=False,
    float_format=CSV_FLOAT_FORMAT, lineterminator="\\n")``; most tables are
    encoded by :func:`_csv_bytes` (column by column, each distinct value once),
    the others (dates, mixed objects, one column) by pandas.

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
        pieces = _csv_bytes(df)
        if pieces is None:  # a column of dates, mixed objects or one column only: pandas writes it
            escape_frame(df).to_csv(path, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
        else:
            _write_pieces(path, pieces)
    except OSError as e:
        raise WriteFailed(path, e) from None
    return path


def _write_pieces(path: Path, pieces: Iterable) -> None:
    """Write the pieces in order, each while the next one is made (the write releases the GIL): the same bytes."""
    from concurrent.futures import ThreadPoolExecutor

    with open(path, "wb") as f, ThreadPoolExecutor(1, thread_name_prefix="spatialprog-csv") as pool:
        pending = None
        for piece in pieces:
            if pending is not None:
                pending.result()
            pending = pool.submit(f.write, piece)
        if pending is not None:
            pending.result()


#: rows per piece of a CSV written by :func:`_csv_bytes`
_CSV_ROWS_PER_PIECE = 200_000


def _csv_quote_chars() -> str:
    """The characters that make Python's csv writer (pandas' ``to_csv``, ``QUOTE_MINIMAL``, line end ``\\n``) quote
    a field: the delimiter, the quote and the line end, and, depending on the Python version, ``\\r``."""
    import csv

    found = ',"\n'
    for ch in "\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028 ":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([f"a{ch}b", "c"])
        if buf.getvalue().startswith('"'):
            found += ch
    return found


_CSV_QUOTE_CHARS = _csv_quote_chars()
_CSV_QUOTE = re.compile("[" + re.escape(_CSV_QUOTE_CHARS) + "]")


def _csv_text(value: str) -> str:
    """One text field as the csv writer writes it: quoted (quotes doubled) where it must be."""
    return '"' + value.replace('"', '""') + '"' if _CSV_QUOTE.search(value) else value


class _Encoded:
    """A column as CSV fields: ``texts[codes[i]]`` is the field of row ``i`` (each distinct value formatted once);
    ``texts`` is a pyarrow string array, each field with the comma or line end that follows it."""

    __slots__ = ("codes", "texts")

    def __init__(self, codes: np.ndarray, texts):
        self.codes = codes
        self.texts = texts


def _with_end(texts, end: str):
    """A pyarrow string array with ``end`` after each text (large_string)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pa.large_string()
    return pc.binary_join_element_wise(texts.cast(t), pa.scalar(end, t), pa.scalar("", t))


#: powers of ten a double holds exactly (1e0 .. 1e22)
_POW10 = 10.0 ** np.arange(23)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _g_format_precision(fmt: str) -> int | None:
    """P of a ``%.Pg`` format that :func:`_format_g` can write (P from 1 to 8); None for any other format."""
    m = re.fullmatch(r"%\.([1-8])g", fmt)
    return int(m.group(1)) if m else None


def _format_g(values: np.ndarray, precision: int, end: str):
    """``"%.{precision}g" % v + end`` for each float ``v`` (NaN: ``end`` alone), as a pyarrow large_string array.

    The digits in numpy: the value scaled by an exact power of ten to ``precision`` digits before the point
    (one rounding, so within 1.2e-10 of the exact product for ``precision`` 6) and rounded half to even, as
    C's and Python's ``%g`` round the exact value; where the scaled value lies within 1e-6 of a tie, or the
    value is subnormal, huge or tiny (no exact power of ten to scale by), Python formats it. Then C99's rules of
    ``%g``: exponent X of the rounded value; fixed notation when -4 <= X < precision, else ``d.ddde+XX``;
    trailing zeros and a bare point dropped.
    """
    import pyarrow as pa

    v = np.asarray(values, dtype=np.float64)
    n, p = len(v), precision
    sep = end.encode("utf-8")
    width = p + 7 + len(sep)  # sign, digits, point, 'e', exponent sign and 3 digits, the end
    out = np.zeros((n, width), dtype=np.uint8)
    length = np.zeros(n, dtype=np.int64)
    a = np.abs(v)
    neg = np.signbit(v)
    regular = np.isfinite(a) & (a > 0)
    e = np.zeros(n, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e[regular] = np.floor(np.log10(a[regular])).astype(np.int64)
    regular &= (e >= p - 22) & (e <= p + 20)  # room for e +- 1 with an exact power of ten
    ix = np.flatnonzero(regular)
    ae = a[ix]

    def scaled(k: np.ndarray, x: np.ndarray) -> np.ndarray:
        up = k >= 0
        return np.where(up, x * _POW10[np.clip(k, 0, 22)], x / _POW10[np.clip(-k, 0, 22)])

    ee = e[ix]
    x = scaled(p - 1 - ee, ae)
    r = np.rint(x)
    tie = np.abs(x - np.floor(x) - 0.5) <= 1e-6  # too close to a tie to trust the rounding: Python formats it
    move = np.where(r >= 10.0 ** p, 1, np.where(r < 10.0 ** (p - 1), -1, 0))  # log10 one off near 10^k
    if move.any():
        ee = ee + move
        x = np.where(move != 0, scaled(p - 1 - ee, ae), x)
        r = np.rint(x)
    tie |= np.abs(x - np.floor(x) - 0.5) <= 1e-6
    exact = (r >= 10.0 ** (p - 1)) & (r < 10.0 ** p) & ~tie
    python = np.r_[ix[~exact], np.flatnonzero(np.isfinite(a) & (a > 0) & ~regular)]
    ix, ee, m = ix[exact], ee[exact], r[exact].astype(np.int64)
    # the digits of m, first to last, and how many of them are significant (trailing zeros dropped)
    digits = np.empty((len(m), p), dtype=np.uint8)
    rest = m.copy()
    for i in range(p - 1, -1, -1):
        rest, d = np.divmod(rest, 10)
        digits[:, i] = _DIGITS[d]
    sig = np.full(len(m), p, dtype=np.int64)
    for i in range(p - 1, 0, -1):
        sig -= (sig == i + 1) & (digits[:, i] == ord("0"))
    fixed = (ee >= -4) & (ee < p)
    three = np.abs(ee) >= 100
    form = np.where(fixed, ee + 4, np.where(three, p + 5, p + 4))
    key = (form * p + (sig - 1)) * 2 + neg[ix]
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    ends = np.append(starts[1:], len(order))[:len(starts)]
    xdig = np.empty((len(m), 3), dtype=np.uint8)
    ax = np.abs(ee)
    xdig[:, 0], xdig[:, 1], xdig[:, 2] = _DIGITS[ax // 100], _DIGITS[ax // 10 % 10], _DIGITS[ax % 10]
    xsign = np.where(ee < 0, ord("-"), ord("+")).astype(np.uint8)
    for k, lo, hi in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
        at = order[lo:hi]
        rows = ix[at]
        f, s, minus = k // 2 // p, k // 2 % p + 1, k % 2
        # each byte of the text: ("d", i) the i-th digit, ("x", j) the j-th exponent digit, ("s",) its sign
        slots: list[tuple] = [("=", ord("-"))] if minus else []
        if f >= p + 4:  # d.ddde+XX
            slots += [("d", 0)] + ([("=", ord("."))] + [("d", i) for i in range(1, s)] if s > 1 else [])
            slots += [("=", ord("e")), ("s",)] + [("x", j) for j in ((0, 1, 2) if f == p + 5 else (1, 2))]
        elif f >= 4:  # fixed, exponent f - 4 >= 0
            slots += [("d", i) for i in range(f - 3)]
            slots += [("=", ord("."))] + [("d", i) for i in range(f - 3, s)] if s > f - 3 else []
        else:  # fixed, 0.000ddd
            slots += [("=", ord("0")), ("=", ord("."))] + [("=", ord("0"))] * (3 - f) + [("d", i) for i in range(s)]
        for pos, src in enumerate(slots):
            if src[0] == "=":
                out[rows, pos] = src[1]
            elif src[0] == "d":
                out[rows, pos] = digits[at, src[1]]
            elif src[0] == "x":
                out[rows, pos] = xdig[at, src[1]]
            else:
                out[rows, pos] = xsign[at]
        length[rows] = len(slots)
    # the rest: zeros, infinities, NaN (the empty field) and the values Python formats
    fmt = f"%.{p}g"
    for i in np.r_[python, np.flatnonzero(~np.isfinite(a) | (a == 0))].tolist():
        text = b"" if v[i] != v[i] else (fmt % v[i]).encode("ascii")
        out[i, :len(text)] = np.frombuffer(text, dtype=np.uint8)
        length[i] = len(text)
    # the end after each text, then the rows' bytes without their padding
    for j, b in enumerate(sep):
        out[np.arange(n), length + j] = b
    length += len(sep)
    data = out[np.arange(width) < length[:, None]]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _encode_floats(values: np.ndarray, end: str) -> _Encoded:
    """``CSV_FLOAT_FORMAT`` of each distinct bit pattern (so 0.0 and -0.0 stay apart); NaN is the empty field."""
    import pyarrow as pa

    codes, uniques = pd.factorize(values.astype(np.float64).view(np.int64))
    uniques = uniques.view(np.float64)
    p = _g_format_precision(CSV_FLOAT_FORMAT)
    if p is not None:
        return _Encoded(codes, _format_g(uniques, p, end))
    return _Encoded(codes, pa.array([("" if v != v else CSV_FLOAT_FORMAT % v) + end for v in uniques.tolist()],
                                    pa.large_string()))


#: a text a spreadsheet could run (:func:`escape_text`), and the characters that make a field quoted, for pyarrow
_ESCAPE_RE2 = "^'*[=+@\t\r-]"


def _encode_text(values, end: str, *, escape: bool) -> _Encoded:
    """Text (a pyarrow string array, nulls for missing cells) as fields: escaped, quoted where needed; missing empty.

    The distinct texts are found, checked and (mostly) left as they are in pyarrow; only those to escape or
    quote pass through Python.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    enc = pc.dictionary_encode(values)
    texts = enc.dictionary.cast(pa.large_string())
    if escape:
        texts = _replace_where(texts, pc.match_substring_regex(texts, _ESCAPE_RE2), escape_text)
    quote = None
    for ch in _CSV_QUOTE_CHARS:
        hit = pc.match_substring(texts, ch)
        quote = hit if quote is None else pc.or_(quote, hit)
    texts = _replace_where(texts, quote, _csv_text)
    texts = pa.concat_arrays([_with_end(texts, end), pa.array([end], pa.large_string())])  # the last: missing
    codes = pc.fill_null(enc.indices, len(texts) - 1).to_numpy(zero_copy_only=False)
    return _Encoded(codes, texts)


def _replace_where(texts, hit, fn: Callable[[str], str]):
    """``texts`` with ``fn`` applied to the texts where ``hit`` (a few, usually none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if hit is None or not pc.any(hit).as_py():
        return texts
    new = pa.array([fn(v) for v in texts.filter(hit).to_pylist()], pa.large_string())
    return pc.replace_with_mask(texts, hit, new)


def _encode_column(s: pd.Series, end: str, *, escape: bool) -> _Encoded | None:
    """One column's fields as ``DataFrame.to_csv(float_format=CSV_FLOAT_FORMAT)`` writes them, each followed by
    ``end`` (text escaped with ``escape``); None where this function cannot say (pandas writes the table then)."""
    import pyarrow as pa

    t = s.dtype
    if isinstance(t, pd.StringDtype):
        if t.storage == "pyarrow":
            return _encode_text(pa.array(s.array), end, escape=escape)
        return _encode_text(pa.array(s.to_numpy(dtype=object, na_value=None), pa.large_string()), end,
                            escape=escape)
    if isinstance(t, pd.api.extensions.ExtensionDtype):
        if t.kind not in "iu":
            return None
        # nullable integers: the numbers as text, <NA> as the empty field (as pandas writes them)
        missing = s.isna().to_numpy()
        codes, uniques = pd.factorize(s.to_numpy(dtype=np.int64, na_value=0))
        codes = np.where(missing, len(uniques), codes)
        return _Encoded(codes, _with_end(pa.concat_arrays([pa.array(uniques).cast(pa.large_string()),
                                                           pa.array([""], pa.large_string())]), end))
    values = s.to_numpy()
    if t.kind == "f":
        return _encode_floats(values, end)
    if t.kind in "iu":
        codes, uniques = pd.factorize(values)
        return _Encoded(codes, _with_end(pa.array(uniques).cast(pa.large_string()), end))
    if t.kind == "b":
        return _Encoded(values.astype(np.intp), _with_end(pa.array(["False", "True"]), end))
    if t.kind != "O" or pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    return _encode_text(pa.array(values, pa.large_string(), from_pandas=True), end, escape=escape)


def _csv_bytes(df: pd.DataFrame) -> Iterator | None:
    """The CSV :func:`write_csv` writes for ``df``, in pieces (bytes-like); None where pandas must write it.

    Byte for byte ``escape_frame(df).to_csv(index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\\n")``,
    at a fraction of its time: each column is encoded as the distinct fields it holds (each formatted, escaped
    and quoted once) and the code of each cell; all fields of the table, each with the comma or line end that
    follows it, make one pyarrow string array, and the cells' codes taken from it row by row are the CSV's bytes
    (one ``take``, in C++, per piece of :data:`_CSV_ROWS_PER_PIECE` rows).
    """
    import pyarrow as pa

    if df.shape[1] < 2 or isinstance(df.columns, pd.MultiIndex):
        return None
    cols = []
    for j in range(df.shape[1]):
        enc = _encode_column(df.iloc[:, j], "," if j < df.shape[1] - 1 else "\n", escape=True)
        if enc is None:
            return None
        cols.append(enc)
    head = ",".join(_csv_text(escape_text(c) if isinstance(c, str) else str(c)) for c in df.columns) + "\n"
    base = np.cumsum([0] + [len(enc.texts) for enc in cols[:-1]])
    table = pa.concat_arrays([enc.texts for enc in cols])

    def pieces() -> Iterator:
        yield head.encode("utf-8")
        for i in range(0, len(df), _CSV_ROWS_PER_PIECE):
            n = min(_CSV_ROWS_PER_PIECE, len(df) - i)
            at = np.empty((n, len(cols)), dtype=np.int64)  # row by row, the field of each column
            for j, enc in enumerate(cols):
                np.add(enc.codes[i:i + n], base[j], out=at[:, j])
            rows = table.take(pa.array(at.reshape(-1)))
            offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset: rows.offset + len(rows) + 1]
            yield memoryview(rows.buffers()[2])[offsets[0]: offsets[-1]]

    return pieces()


def write_text(path: str | Path, text: str) -> Path:
    """Write a plain-text summary (UTF-8, one trailing newline).

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    path = Path(path)
    _write_bytes(path, (text.rstrip("\n") + "\n").encode("utf-8"))
    return path


def read_csv(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` (``pandas.read_csv`` options), text cells as they were given."""
    return unescape_frame(pd.read_csv(path, **kwargs))


def write_tables(folder: str | Path, tables: Mapping[str, pd.DataFrame], *, parquet: bool = False) -> list[str]:
    """Write each table as ``NAME.csv`` into ``folder`` (and ``NAME.parquet`` with ``parquet``); return the file
    names, in order."""
    folder = Path(folder)
    names = []
    for name, df in tables.items():
        write_csv(df, folder / f"{name}.csv")
        names.append(f"{name}.csv")
        if parquet:
            write_parquet(df, folder / f"{name}.parquet")
            names.append(f"{name}.parquet")
    return names


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write one table as Parquet (typed columns, zstd; the same table gives the same bytes).

    Parquet holds types, not text for a spreadsheet: its text cells are
    written as they are (no formula escape, see :func:`escape_text`). The
    file records the versions of pyarrow and pandas that wrote it.

    Raises
    ------
    OutputError
        When the file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> p = write_parquet(pd.DataFrame({"a_mw": [1.5, None], "id": ["=1+1", "B"]}), Path(tempfile.mkdtemp()) / "t.parquet")
    >>> pd.read_parquet(p)["id"].tolist()
    ['=1+1', 'B']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    try:
        pq.write_table(table, path, compression="zstd")
    except OSError as e:
        raise WriteFailed(path, e) from None
    return path


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
            values = s.to_numpy(dtype=object, copy=True)
            text = np.flatnonzero([isinstance(v, str) for v in values])
            if len(text):  # each distinct text cleaned once
                codes, uniques = pd.factorize(values[text])
                values[text] = np.array([clean(v) for v in uniques], dtype=object)[codes]
            out.isetitem(i, pd.Series(values, index=out.index, dtype=object))
    out.columns = [clean(c) for c in out.columns]
    return out


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, run_date: datetime | None = None,
               layout: Mapping[str, Callable] | None = None) -> Path:
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
    layout : mapping of str -> callable, optional
        Per sheet (keyed as ``sheets``), a function called with its openpyxl
        worksheet once the cells are written, to set number formats, widths,
        frozen panes, filters and colours (:mod:`spatialprog.sheets`); the
        cell-safety pass runs after it, over every cell.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        When the file cannot be written.

    Notes
    -----
    A table longer than a sheet holds (:data:`SHEET_MAX_ROWS`) continues on
    sheets ``NAME (2)``, ``NAME (3)``, ... (the CSV has it whole).

    A sheet of :data:`LONG_SHEET_ROWS` rows or more, holding only text,
    numbers, booleans and empty cells, is not built cell by cell in openpyxl
    (a national run's sheets hold millions of cells): openpyxl gets its header
    and first data row (and knows the true last row), the layout styles them,
    and the data rows are then written as whole columns, each cell with the
    style of its column's first data cell (:func:`_sheet_rows`): the very
    bytes openpyxl would write. A layout that styles single cells further down
    such a sheet gets the sheet built by openpyxl after all. A sheet of
    :data:`FAST_ZIP_ROWS` rows or more is compressed at zlib level 1.
    """
    from openpyxl.xml.functions import tostring

    path = Path(path)
    when = run_timestamp(run_date)
    sheets, layout = _split_long(sheets, layout)
    names = _sheet_names(sheets)
    frames = [_excel_ready(df) for df in sheets.values()]
    long = [len(df) >= LONG_SHEET_ROWS and _streamable(df) for df in frames]
    while True:
        built = _build_book(sheets, names, frames, long, layout)
        if isinstance(built, int):  # that sheet's layout styled single cells: build it cell by cell
            long[built] = False
            continue
        buf, book, streamed = built
        break
    props = book.properties  # saving set 'modified' to the wall clock: written again below
    props.created = props.modified = when.replace(tzinfo=None)
    core = tostring(props.to_tree())
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_zip_time(when))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            data = core if info.filename == "docProps/core.xml" else src.read(info.filename)
            if info.filename in streamed:  # written in pieces: the sheet's XML is never whole in memory
                df, styles = streamed[info.filename]
                # ZIP64 where the sheet may pass 2 GiB (80 bytes a cell is ample; the true size is set on close)
                entry.file_size = 1 << 31 if 80 * len(df) * max(df.shape[1], 1) > 1 << 29 else 0
                if len(df) >= FAST_ZIP_ROWS:  # compressing a national sheet at level 6 took longer than writing it
                    entry._compresslevel = 1  # ZipInfo.compress_level from Python 3.13
                with z.open(entry, "w") as f:
                    for piece in _with_rows(data, df, styles):
                        f.write(piece)
            else:
                z.writestr(entry, data)
    _write_bytes(path, out.getvalue())
    return path


def _build_book(sheets: Mapping[str, pd.DataFrame], names: list[str], frames: list[pd.DataFrame], long: list[bool],
                layout: Mapping[str, Callable] | None):
    """The workbook saved by openpyxl (long sheets with their first data row only), or the position of a long
    sheet whose layout styled cells below its first data row."""
    buf = io.BytesIO()
    #: sheet file in the zip -> the frame whose data rows are written into it, and the style of each column
    streamed: dict[str, tuple[pd.DataFrame, list[str]]] = {}
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df, is_long in zip(names, frames, long, strict=True):
            (df.head(1) if is_long else df).to_excel(xw, sheet_name=name, index=False)
            if is_long:  # the layout sees the sheet's true extent; the rows stay out of openpyxl
                xw.book[name].cell(row=len(df) + 1, column=1)
        for pos, (key, name, is_long) in enumerate(zip(sheets, names, long, strict=True)):
            if layout and key in layout:
                ws = xw.book[name]
                if is_long:
                    ws.iter_rows = _first_data_row(ws)
                layout[key](ws)
                if is_long:
                    del ws.iter_rows
                    if any(2 < r <= len(frames[pos]) for r, _ in ws._cells):
                        return pos
        for idx, (ws, df, is_long) in enumerate(zip(xw.book.worksheets, frames, long, strict=True), start=1):
            cells = ws._cells.values() if is_long else (c for row in ws.iter_rows() for c in row)
            for cell in cells:
                if cell.data_type in ("f", "e") and isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl makes '=...' a formula and '#N/A' an error
            # the styles numbered in the order openpyxl's writer meets them (sheet by sheet, row by row), so
            # that a long sheet's data cells (written apart) and the others number them alike
            for key in sorted(ws._cells):
                if ws._cells[key].has_style:
                    ws._cells[key].style_id  # noqa: B018 (reading it registers the style)
            if is_long:  # every data row takes the style of the first one, column by column
                probe = [ws.cell(row=2, column=j) for j in range(1, df.shape[1] + 1)]
                streamed[f"xl/worksheets/sheet{idx}.xml"] = (
                    df, [f' s="{c.style_id}"' if c.has_style else "" for c in probe])
    return buf, xw.book, streamed


#: the data rows a sheet holds (Excel's 1,048,576 rows, one of them the header)
SHEET_MAX_ROWS = 1_048_575


def _split_long(sheets: Mapping[str, pd.DataFrame], layout: Mapping[str, Callable] | None
                ) -> tuple[dict, dict | None]:
    """A table longer than a sheet holds continued on sheets ``NAME (2)``, ``NAME (3)``, ... with the same layout."""
    if all(len(df) <= SHEET_MAX_ROWS for df in sheets.values()):
        return dict(sheets), dict(layout) if layout is not None else None
    out: dict = {}
    lay: dict = {}
    for key, df in sheets.items():
        parts = [df.iloc[i:i + SHEET_MAX_ROWS] for i in range(0, len(df), SHEET_MAX_ROWS)] or [df]
        for k, part in enumerate(parts, start=1):
            name = key if k == 1 else f"{str(key)[:31 - len(f' ({k})')]} ({k})"
            out[name] = part.reset_index(drop=True)
            if layout and key in layout:
                lay[name] = layout[key]
    return out, lay


#: sheets of at least this many data rows are compressed at zlib level 1 (fast; a larger file), not 6
FAST_ZIP_ROWS = 200_000

#: sheets of at least this many data rows have their cells written as whole columns (:func:`_sheet_rows`)
LONG_SHEET_ROWS = 200


def _first_data_row(ws) -> Callable:
    """``ws.iter_rows`` that stops at the first data row: a layout styles a long sheet's columns there."""
    full = type(ws).iter_rows

    def iter_rows(min_row=None, max_row=None, min_col=None, max_col=None, values_only=False):
        return full(ws, min_row, 2 if max_row is None else min(max_row, 2), min_col, max_col, values_only)

    return iter_rows


def _kind(values: np.ndarray) -> str | None:
    """How a column's cells are written: ``num``, ``bool``, ``text``, ``obj`` (mixed), or None (by openpyxl)."""
    t = values.dtype
    if t.kind in "iuf":
        return "num"
    if t.kind == "b":
        return "bool"
    if t.kind == "O":
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            text = values[~pd.isna(values)]
            return "text" if not len(text) or max(map(len, pd.unique(text))) <= 32767 else None
        ok = all(v is None or isinstance(v, (str, bool, int, float, np.integer, np.floating)) or v is pd.NA
                 for v in values)
        return "obj" if ok and not any(isinstance(v, str) and len(v) > 32767 for v in values) else None
    return None


def _streamable(df: pd.DataFrame) -> bool:
    """Every column holds text, numbers, booleans or nothing (dates and the like go through openpyxl)."""
    return isinstance(df.columns, pd.Index) and not isinstance(df.columns, pd.MultiIndex) and all(
        _kind(_column_values(df, j)) is not None for j in range(df.shape[1]))


def _column_values(df: pd.DataFrame, j: int) -> np.ndarray:
    s = df.iloc[:, j]
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):  # nullable numbers, booleans: NA as None
        return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
    return s.to_numpy()


#: data rows per piece of a long sheet's XML
_ROWS_PER_PIECE = 50_000


def _with_rows(xml: bytes, df: pd.DataFrame, styles: list[str]) -> Iterator[bytes]:
    """The sheet's XML, in pieces, with the data rows of ``df`` in place of the one openpyxl wrote (header kept)."""
    start = xml.index(b"<sheetData>")
    head_end = xml.index(b"</row>", start) + len(b"</row>")
    yield xml[:head_end]
    for i in range(0, len(df), _ROWS_PER_PIECE):
        yield _sheet_rows(df.iloc[i:i + _ROWS_PER_PIECE], styles, first_row=i + 2)
    yield xml[xml.index(b"</sheetData>"):]


def _sheet_rows(df: pd.DataFrame, styles: list[str], *, first_row: int = 2) -> bytes:
    """The ``<row>`` elements of ``df`` from ``first_row``, the very bytes openpyxl writes for these values.

    Built column by column with pyarrow's string kernels, so a sheet of a
    million rows takes seconds and no cell objects: numbers as ``%.16g``
    (``t="n"``), booleans ``t="b"``, text as inline strings escaped as
    ElementTree does (``xml:space="preserve"`` where it has outer blanks),
    empty cells (NaN, None, ``""``) as empty inline strings, infinities as the
    text ``inf`` (pandas' ``inf_rep``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from openpyxl.utils import get_column_letter

    def text(t: str):
        return pa.scalar(t, pa.large_string())

    n = len(df)
    rn = pa.array(np.arange(first_row, first_row + n)).cast(pa.large_string())
    parts = [pc.binary_join_element_wise(text('<row r="'), rn, text('">'), text(""))]
    for j, style in enumerate(styles):
        head = pc.binary_join_element_wise(text(f'<c r="{get_column_letter(j + 1)}'), rn, text(f'"{style}'), text(""))
        parts.append(pc.binary_join_element_wise(head, _cell_tails(_column_values(df, j)), text("")))
    parts.append(text("</row>"))
    rows = pc.binary_join_element_wise(*parts, text(""))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset: rows.offset + n + 1]
    return rows.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]]


_EMPTY = ' t="inlineStr" />'


def _cell_tails(values: np.ndarray):
    """Per cell, what follows ``<c r="A2" s="1"``: its type, its value and the end tag."""
    import pyarrow as pa

    kind = _kind(values)
    if kind == "num":
        return _num_tails(values.astype(float) if values.dtype.kind == "f" else values)
    if kind == "bool":
        return pa.array(np.where(values, ' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>').astype(object),
                        pa.large_string())
    out = np.full(len(values), _EMPTY, dtype=object)
    if kind == "text":  # text and empty cells only
        is_str = ~pd.isna(values)
        if is_str.any():
            out[is_str] = _text_tails(values[is_str])
        return pa.array(out, pa.large_string())
    is_bool = np.array([isinstance(v, bool | np.bool_) for v in values], dtype=bool)
    is_str = np.array([isinstance(v, str) for v in values], dtype=bool)
    is_num = ~is_bool & ~is_str & np.array([isinstance(v, int | float | np.integer | np.floating) for v in values],
                                           dtype=bool)
    if is_bool.any():
        out[is_bool] = [' t="b"><v>1</v></c>' if v else ' t="b"><v>0</v></c>' for v in values[is_bool]]
    if is_num.any():
        out[is_num] = _num_tails(np.array(values[is_num].tolist(), dtype=float)).to_numpy(zero_copy_only=False)
    if is_str.any():
        out[is_str] = _text_tails(values[is_str])
    return pa.array(out, pa.large_string())


def _num_tails(values: np.ndarray):
    """Numbers as openpyxl writes them (``"%.16g"``); NaN empty, infinities the text ``inf`` / ``-inf``."""
    import pyarrow as pa

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = []
    for v in uniques.tolist():
        if v != v:
            text.append(_EMPTY)
        elif v in (float("inf"), float("-inf")):
            text.append(' t="inlineStr"><is><t>' + ("inf" if v > 0 else "-inf") + "</t></is></c>")
        else:
            text.append(' t="n"><v>' + "%.16g" % v + "</v></c>")  # noqa: UP031 (openpyxl's own format)
    text.append(_EMPTY)  # the NaN code (-1) takes the last entry
    return pa.array(text, pa.large_string()).take(pa.array(np.where(codes < 0, len(uniques), codes)))


def _text_tails(values: np.ndarray) -> np.ndarray:
    """Text cells as inline strings, escaped as ElementTree escapes text (``&``, ``<``, ``>``); each text once."""
    codes, uniques = pd.factorize(values)
    out = []
    for v in uniques.tolist():
        if v == "":
            out.append(_EMPTY)
            continue
        e = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        st = v.strip()
        space = ' xml:space="preserve"' if st and v != st else ""
        out.append(f' t="inlineStr"><is><t{space}>{e}</t></is></c>')
    return np.array(out, dtype=object)[codes]


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
        fsync(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise WriteFailed(path, e) from None
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


def fsync(path: Path, *, directory: bool = False) -> None:
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



