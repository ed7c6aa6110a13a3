"""CSV through pyarrow's string kernels: byte for byte what pandas' to_csv writes (issue 13, item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatialprog import writer as W


def table(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1e3, n) * 10.0 ** rng.integers(-8, 8, n)
    x[::9] = np.nan
    x[1:4] = [np.inf, -np.inf, -0.0]
    x[4] = 0.0
    text = np.array(["OS01", "=1+1", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "", " x ", "Zuid-Holland"],
                    dtype=object)
    t = text[rng.integers(0, len(text), n)]
    t[::13] = None
    return pd.DataFrame({
        "substation_id": t,
        "year": rng.integers(2025, 2041, n),
        "headroom_mw": x,
        "f32": x.astype(np.float32),
        "short": rng.random(n) < 0.4,
        "first_year": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(2025, 2041, n)), dtype="Int64"),
        "name": pd.array(np.where(rng.random(n) < 0.1, None, "Laarveld, Oost"), dtype="string"),
        "a,b": 1,
    })


def test_csv_bytes_equal_pandas(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "_CSV_ROWS_PER_PIECE", 333)  # written in several pieces
    df = table()
    W.write_csv(df, tmp_path / "t.csv")
    want = W.escape_frame(df).to_csv(index=False, float_format=W.CSV_FLOAT_FORMAT).encode()
    assert W._csv_bytes(W.escape_frame(df)) is not None  # the fast path, not the fallback
    assert (tmp_path / "t.csv").read_bytes() == want


@pytest.mark.parametrize("extra", [
    pd.Series(pd.date_range("2025-01-01", periods=2000, freq="h")),  # dates: pandas writes them
    pd.Series([1, "x"] * 1000, dtype=object),  # mixed objects
])
def test_csv_falls_back_to_pandas(tmp_path, extra):
    df = table().assign(extra=extra.to_numpy())
    assert W._csv_bytes(W.escape_frame(df)) is None
    W.write_csv(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == W.escape_frame(df).to_csv(
        index=False, float_format=W.CSV_FLOAT_FORMAT).encode()


def test_one_column_and_empty_tables(tmp_path):
    for df in (pd.DataFrame({"a": ["", "x"]}), pd.DataFrame({"a": [], "b": []}), pd.DataFrame()):
        W.write_csv(df, tmp_path / "t.csv")
        assert (tmp_path / "t.csv").read_bytes() == df.to_csv(index=False, float_format=W.CSV_FLOAT_FORMAT).encode()


def test_parquet_beside_csv(tmp_path):
    df = table(300)
    names = W.write_tables(tmp_path, {"t": df}, parquet=True)
    assert names == ["t.csv", "t.parquet"]
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    first = (tmp_path / "t.parquet").read_bytes()
    W.write_tables(tmp_path, {"t": df}, parquet=True)
    assert (tmp_path / "t.parquet").read_bytes() == first  # the same table, the same bytes
    assert W.write_tables(tmp_path, {"u": df}) == ["u.csv"]  # CSV only by default
