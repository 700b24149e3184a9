"""Linear runs check their inputs before any work, and give the same bytes on any thread
count (issue 14): references are the error text, and the byte-exact JSON of a run with
one BLAS thread."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from lintheory import make_init, make_task, run_sgd


def test_fewer_samples_than_modes_is_refused():
    with pytest.raises(ValueError, match=r"N \(samples\) must be >= d = 3"):
        make_task(n=8, m=6, d=3, N=2, whiten=False, sigma=0.0)


def test_task_data_of_the_wrong_shape_stops_before_the_kernels():
    task = make_task(n=6, m=4, d=2, N=30, seed=0)
    w0 = make_init(task, 5, 2, rng=1)
    bad = dataclasses.replace(task, Y=task.Y[:20])   # fewer target rows than samples
    for engine in ("numba", "numpy"):
        with pytest.raises(ValueError, match=r"task data must be X \(N, n\) = \(30, 6\) and "
                                             r"Y \(N, m\) = \(30, 4\).*Y \(20, 4\)"):
            run_sgd(bad, "raf", w0, [0.0, 0.1], lr=0.01, batch=5, engine=engine)


def test_simulate_gives_the_same_bytes_for_one_and_two_blas_threads(tmp_path):
    argv = [sys.executable, "-m", "lintheory", "simulate", "--n", "60", "--k", "60",
            "--m", "40", "--d", "4", "--T", "4", "--points", "5", "--method", "both",
            "--batch", "50", "--quiet"]
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}.json"
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        subprocess.run([*argv, "--out", str(out)], env=env, check=True, timeout=300)
        outs.append((out.read_bytes(), out.with_suffix(".npz").read_bytes()))
    assert outs[0][0] == outs[1][0]
