"""Sweep results as a table (``load_results(..., as_frame=True)``, ``records_table``).

Reference: the records themselves (their spec and result fields, read back by
``load_results``); pandas' frame must hold the same numbers (skipped without pandas).
"""

from __future__ import annotations

import pytest

from lintheory.sweep import grid, load_results, records_table, run_sweep

RUN = "lintheory.linear_run:linear_run"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("table")
    specs = grid(kind="linear", rule=["fa", "raf"], r=2, seed=0, n=6, k=5, m=4, d=2, N=40,
                 T=2.0)
    run_sweep(RUN, specs, out, progress=False)
    return out, specs


def test_rows_hold_every_spec_field_and_scalar_result(folder):
    out, specs = folder
    recs = load_results(out, specs, RUN)
    rows = records_table(recs)
    assert [r["spec.rule"] for r in rows] == ["fa", "raf"]
    for row, rec in zip(rows, recs):
        assert row["leak"] == rec["result"]["leak"] and row["loss"] == rec["result"]["loss"]
        assert [row[f"a[{i}]"] for i in range(2)] == rec["result"]["a"]
        assert row["run"] == RUN


def test_as_frame(folder):
    pd = pytest.importorskip("pandas", reason="pandas not installed (the tables extra)")
    out, specs = folder
    frame = load_results(out, specs, RUN, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert list(frame["spec.rule"]) == ["fa", "raf"]
    assert list(frame["a[0]"]) == [r["result"]["a"][0] for r in load_results(out, specs, RUN)]
