"""CSV through pyarrow: byte for byte what pandas' to_csv writes, text escaped (issue 13, item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spatialprog import writer as W


def pandas_csv(df: pd.DataFrame) -> bytes:
    """What write_csv must write: pandas' to_csv of the escaped frame."""
    return W.escape_frame(df).to_csv(index=False, float_format=W.CSV_FLOAT_FORMAT, lineterminator="\n").encode()


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
    assert W._csv_bytes(df) is not None  # the fast path, not the fallback
    assert (tmp_path / "t.csv").read_bytes() == pandas_csv(df)
    assert b"'=1+1" in (tmp_path / "t.csv").read_bytes()  # escaped once
    assert b"''=1+1" not in (tmp_path / "t.csv").read_bytes()


@pytest.mark.parametrize("extra", [
    pd.Series(pd.date_range("2025-01-01", periods=2000, freq="h")),  # dates: pandas writes them
    pd.Series([1, "x"] * 1000, dtype=object),  # mixed objects
])
def test_csv_falls_back_to_pandas(tmp_path, extra):
    df = table().assign(extra=extra.to_numpy())
    assert W._csv_bytes(df) is None
    W.write_csv(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == pandas_csv(df)


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


# --------------------------------------------------------------------------------------
# random frames: every kind of column the fast path writes, against pandas

HOSTILE_TEXT = ["=1+1", "+31", "-3", "@x", "\tx", "\rx", "'=x", "''+x", "'s-Hertogenbosch", "a,b", 'say "hi"',
                "two\nlines", "cr\rhere", "", " x ", "OS01", "ü€", "x\x00y", "\u2028", "1e5", "nan", "None"]
texts = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(st.characters(exclude_categories=("Cs",)), max_size=8))
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 1e16, 1e-5, 0.0001,
                     999999.5, 9999995.0, 1234565.0, 0.1234565, 123456.5, 100000.0, 1e22, 1e23, 1e-17, 1e-18]),
    st.integers(-10**7, 10**7).map(lambda i: i / 8.0),  # exact halves and eighths: ties in the sixth digit
    st.integers(1, 10**6).map(lambda i: i * 10.0 ** -6),
)


@st.composite
def column(draw, n: int):
    kind = draw(st.sampled_from(["float", "float32", "int", "uint8", "bool", "object", "str", "string", "Int64"]))
    if kind in ("float", "float32"):
        values = np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=float)
        if kind == "float32":
            with np.errstate(over="ignore"):  # too large for float32: inf
                return values.astype(np.float32)
        return values
    if kind == "int":
        return draw(hnp.arrays(np.int64, n))
    if kind == "uint8":
        return draw(hnp.arrays(np.uint8, n))
    if kind == "bool":
        return draw(hnp.arrays(np.bool_, n))
    cells = draw(st.lists(st.one_of(texts, st.none()), min_size=n, max_size=n))
    if kind == "object":  # missing as None or NaN
        return np.array([np.nan if v is None and i % 2 else v for i, v in enumerate(cells)], dtype=object)
    if kind == "Int64":
        return pd.array([None if v is None else len(v) - 3 for v in cells], dtype="Int64")
    return pd.array(cells, dtype="str" if kind == "str" else "string")


@st.composite
def frames(draw):
    n = draw(st.integers(0, 12))
    k = draw(st.integers(2, 5))
    names = draw(st.lists(texts, min_size=k, max_size=k, unique=True))
    return pd.DataFrame({name: draw(column(n)) for name in names})


@settings(max_examples=300, deadline=None)
@given(df=frames(), rows_per_piece=st.integers(1, 5))
def test_fast_csv_equals_pandas_on_random_frames(df, rows_per_piece):
    W._CSV_ROWS_PER_PIECE, keep = rows_per_piece, W._CSV_ROWS_PER_PIECE
    try:
        pieces = W._csv_bytes(df)
        assert pieces is not None  # every column kind here is one the fast path writes
        assert b"".join(bytes(p) for p in pieces) == pandas_csv(df)
    finally:
        W._CSV_ROWS_PER_PIECE = keep


@settings(max_examples=200, deadline=None)
@given(values=st.lists(floats, min_size=1, max_size=50))
def test_floats_as_pandas_writes_them(values):
    df = pd.DataFrame({"a_mw": values, "b": 1})
    assert b"".join(bytes(p) for p in W._csv_bytes(df)) == pandas_csv(df)



@settings(max_examples=300, deadline=None)
@given(values=st.lists(floats, min_size=1, max_size=40), precision=st.integers(1, 8))
def test_float_encoder_equals_printf(values, precision):
    # the numpy encoder of '%.Pg' against Python's own formatting, value by value (NaN: the empty text)
    got = W._format_g(np.array(values), precision, ",").to_pylist()
    assert got == [("" if v != v else f"%.{precision}g" % v) + "," for v in values]


def test_float_encoder_near_ties_and_decades():
    # values whose sixth digit sits on or next to a tie, and the decades where log10 may be one off
    rng = np.random.default_rng(3)
    base = rng.integers(100_000, 1_000_000, 5000) + 0.5
    x = np.concatenate([base * 10.0 ** rng.integers(-12, 12, 5000), np.nextafter(base, 0), np.nextafter(base, 1e9),
                        10.0 ** np.arange(-30, 30), np.nextafter(10.0 ** np.arange(-30, 30), 0), [99999.95, 999999.5]])
    x = np.concatenate([x, -x])
    assert W._format_g(x, 6, "\n").to_pylist() == ["%.6g\n" % v for v in x.tolist()]  # noqa: UP031 (printf, as pandas)
