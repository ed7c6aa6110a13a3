"""The one writer of tables and run folders: CSV, XLSX and the staged output folder.

Every table spatialprog writes (the run's CSVs and spreadsheets, the ranking,
the diff, the conflicts command) goes through :func:`write_tables` and
:func:`write_xlsx`, so how a table is written (number format, text columns,
later: escaping and Parquet) is decided in one place. Folders are written
through :class:`atomic_output_dir`: files are staged in a hidden folder and
moved into place only when everything has been written.

This is the output edge of the one-way flow (read -> compute -> write): the
computation hands finished DataFrames to these functions and never opens a
file itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .errors import OutputError

__all__ = ["CSV_FLOAT_FORMAT", "write_csv", "write_tables", "write_xlsx", "atomic_output_dir"]

#: CSV is the machine format: six significant digits, dot decimal, no index
CSV_FLOAT_FORMAT = "%.6g"


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write one table as CSV (the machine format).

    Examples
    --------
    >>> import tempfile
    >>> p = write_csv(pd.DataFrame({"a_mw": [1 / 3]}), Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text()
    'a_mw\\n0.333333\\n'
    """
    path = Path(path)
    df.to_csv(path, index=False, float_format=CSV_FLOAT_FORMAT)
    return path


def write_tables(folder: str | Path, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Write each table as ``NAME.csv`` into ``folder``; return the file names, in order."""
    folder = Path(folder)
    names = []
    for name, df in tables.items():
        write_csv(df, folder / f"{name}.csv")
        names.append(f"{name}.csv")
    return names


def _excel_ready(df: pd.DataFrame) -> pd.DataFrame:
    """openpyxl writes object columns, not pandas' string dtype."""
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype) in ("string", "str"):
            out[c] = out[c].astype(object)
    return out


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write a workbook with one sheet per table (sheet names cut to Excel's 31 characters)."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            _excel_ready(df).to_excel(xw, sheet_name=str(name)[:31], index=False)
    return path


class atomic_output_dir:  # noqa: N801 - used as a context manager
    """Stage files in a hidden folder inside ``out_dir``; move them into place on success.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(d) as stage:
    ...     _ = (stage / "a.txt").write_text("x")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt']
    """

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)

    def __enter__(self) -> Path:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.out_dir))
        except OSError as e:
            raise OutputError(f"--out {self.out_dir}: cannot create the output folder: {e.strerror} - choose a "
                              f"writable folder") from None
        return self.stage

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                for p in sorted(self.stage.iterdir()):
                    os.replace(p, self.out_dir / p.name)
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
