"""Extreme inputs end at once with one line naming the option (issue 14, items 4 and 5).

Families: sizes that cannot fit in memory (checked before anything is allocated), values
whose numbers would overflow or whose run could not finish (ranges, SGD step counts,
``T x rate`` of the ODE, the divergence guard with large initial weights), non-integer
spec fields, advice that fits the cause (non-finite data, an overflowing step count, a
stiff solve), and a closed stdout. Each command family runs in one real subprocess
(``tests/robustness_batch.py``: every case in its own empty folder, with a per-case alarm
and a subprocess timeout, so a hang fails); each case must exit 2 with exactly one line
on stderr that names the option, no traceback, no new file, within a few seconds.

The memory cases run with ``LINTHEORY_MAX_MEMORY=8G`` so that the result does not depend
on the machine; a control run of normal size passes under the same cap. The limits'
bases are checked against independent references: the parameter count against
``Weights.pack``, the layer gains against explicit matrix products, and the measured
solver evaluations against the ``2 T x rate`` that the stiffness limit assumes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lintheory import make_init, make_task, run_sgd
from lintheory.dynamics import integrate
from lintheory.errors import SolverError

HERE = Path(__file__).resolve().parent
SMALL = ["--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--quiet"]
SIM = ["simulate", *SMALL, "--T", "2", "--points", "5", "--out", "run.json"]
FIG2 = ["figure2", *SMALL, "--rank-low", "1", "--T", "2", "--points", "5", "--sgd-points", "3",
        "--lr", "0.05", "--batch", "10", "--out", "figs/f"]
FDEEP = ["figure-deep", "--depths", "2,3", "--width", "6", "--n", "6", "--m", "5", "--d", "3",
         "--samples", "60", "--low-rank", "1", "--T", "2", "--quiet", "--out", "fd/f"]
ANIM = ["animate", "--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--T",
        "1", "--frames", "3", "--quiet", "--out", "a.gif"]
SWEEP = ["sweep", "--kind", "linear", "--workers", "1", "--quiet", "--results", "res",
         "--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60", "--T", "2",
         "--ranks", "2", "--rules", "raf"]
CAP = {"LINTHEORY_MAX_MEMORY": "8G"}
SPEC_OK = {"kind": "linear", "rule": "raf", "r": 2, "n": 6, "k": 8, "m": 5, "d": 3, "N": 60,
           "T": 2}
SPECS = "\n".join(json.dumps(s) for s in (SPEC_OK, {**SPEC_OK, "r": 1.7})) + "\n"
LINEAR_RUN = ["--run", "lintheory.linear_run:linear_run", "--workers", "1", "--quiet",
              "--results", "res"]

# (id, argv, what the error line must contain, extra case fields)
MEMORY = [
    ("sim-k-1e7", [*SIM, "--k", "10000000"], ["--k 10000000", "memory"]),
    ("sim-samples-1e10", [*SIM, "--samples", "10000000000"], ["--samples 10000000000"]),
    ("sim-points-1e9", [*SIM, "--points", "1000000000"], ["--points 1000000000"]),
    ("sim-depth-1e8", [*SIM, "--depth", "100000000"], ["--depth 100000000"]),
    ("fig2-samples-1e10", [*FIG2, "--samples", "10000000000"], ["--samples 10000000000"]),
    ("fdeep-width-1e8", [*FDEEP, "--width", "100000000"], ["--width 100000000"]),
    ("anim-frames-1e8", [*ANIM, "--frames", "100000000"], ["--frames 100000000"]),
    ("sweep-samples-1e10", [*SWEEP, "--samples", "10000000000"], ["--samples 10000000000"]),
]
RANGES = [
    ("sim-init-scale-1e7", [*SIM, "--init-scale", "1e7"], ["--init-scale", "(0.0, 1000.0]"]),
    ("sim-init-scale-1e300", [*SIM, "--init-scale", "1e300"], ["--init-scale"]),
    ("sim-lam-1e300", [*SIM, "--lam", "1e300"], ["lam must be in [0.0, 1e+06]"]),
    ("sim-wd-1e300", [*SIM, "--wd", "1e300"], ["wd (weight decay) must be in [0.0, 1e+06]"]),
    ("sim-p-rate-1e300", [*SIM, "--p-rate", "1e300"], ["p_rate must be in [0.0, 1e+06]"]),
    ("sim-sv-1e200", [*SIM, "--singular-values", "1e200,1,1"],
     ["--singular-values must be in (0.0, 1e+06]"]),
    ("sim-noise-1e200", [*SIM, "--noise", "1e200"], ["--noise (sigma) must be in [0.0, 1e+06]"]),
    ("sim-T-1e308", [*SIM, "--T", "1e308"], ["--T", "1e+308", "--solver"]),
    ("sim-lam-stiff", [*SIM, "--lam", "1e5"], ["--lam", "T x rate", "LSODA"]),
    ("sim-lr-1e-300", [*SIM, "--method", "sgd", "--lr", "1e-300"],
     ["--lr = 1e-300", "SGD steps, at most 1e+10"]),
    ("sim-T-steps", [*SIM, "--method", "both", "--T", "1e9", "--lr", "0.01", "--solver",
                     "LSODA"], ["--T = 1e+09", "--lr"]),
    ("fig2-lr-1e-300", [*FIG2, "--lr", "1e-300"], ["--lr = 1e-300"]),
    ("fig2-init-scale-1e7", [*FIG2, "--init-scale", "1e7"], ["--init-scale"]),
    ("fdeep-depths-1000", [*FDEEP, "--depths", "2,1000"], ["--depths 1000"]),
    ("fdeep-product-init-1e300", [*FDEEP, "--product-init", "1e300"], ["--product-init"]),
    ("sweep-init-scale-1e7", [*SWEEP, "--init-scale", "1e7"], ["--init-scale"]),
    ("sweep-T-1e308", [*SWEEP, "--T", "1e308"], ["--T", "1e+308"]),
    ("sweep-lam-1e300", [*SWEEP, "--lam", "1e300"], ["lam must be in [0.0, 1e+06]"]),
    ("sweep-spec-r-1.7", ["sweep", "--specs", "specs.jsonl", *LINEAR_RUN],
     ["--specs specs.jsonl line 2", "r must be an integer, got 1.7"]),
    ("train-q-decay-1e308", ["train", "--hidden", "8", "--depth", "1", "--epochs", "1",
                             "--rule", "raf", "--rank", "2", "--feedback-arg",
                             "q_decay=1e308", "--quiet", "--out", "t.json"],
     ["q_decay must be a number in [0, 1e+06], got 1e+308"]),
]
FAMILIES = {"memory": MEMORY, "ranges": RANGES}
CASE_SECONDS = 60  # per case: measured 0.01-0.4 s after the imports (train: 6.6 s, it loads
# the data first); the margin is for a loaded shared machine, a hang still fails


def _cases(family):
    out = []
    for case_id, argv, _ in FAMILIES[family]:
        case = {"id": case_id, "argv": argv, "env": CAP if family == "memory" else {}}
        if "specs.jsonl" in argv:
            case["files"] = {"specs.jsonl": SPECS}
        out.append(case)
    return out


def _run_batch(cases, tmp_path, case_seconds=CASE_SECONDS):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    proc = subprocess.run(
        [sys.executable, str(HERE / "robustness_batch.py"), str(path)],
        capture_output=True, text=True, timeout=60 + case_seconds * len(cases),
        env={**os.environ, "ROBUSTNESS_CASE_SECONDS": str(case_seconds)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every case of every family, one subprocess per family."""
    tmp = tmp_path_factory.mktemp("robust-inputs")
    out = {}
    for family in FAMILIES:
        out.update(_run_batch(_cases(family), tmp))
    return out


@pytest.mark.parametrize("case_id, argv, fragments",
                         [c for f in FAMILIES.values() for c in f],
                         ids=[c[0] for f in FAMILIES.values() for c in f])
def test_extreme_input_is_one_line_at_once_and_writes_nothing(reports, case_id, argv,
                                                              fragments):
    r = reports[case_id]
    assert not r["timeout"], f"{case_id} ran longer than {CASE_SECONDS} s"
    lines = r["stderr"].strip().splitlines()
    assert r["code"] == 2, r
    assert "Traceback" not in r["stderr"] and "Warning" not in r["stderr"], r["stderr"]
    assert len(lines) == 1, r["stderr"]
    assert lines[0].startswith(f"lintheory {argv[0]}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "larger than twice" not in lines[0] and "learning rate" not in lines[0]
    assert r["new_files"] == [], r["new_files"]
    assert r["seconds"] < CASE_SECONDS


def test_normal_runs_pass_under_the_same_memory_cap(tmp_path):
    """The checks refuse only what does not fit: small runs of every command succeed."""
    cases = [
        {"id": "sim", "argv": [*SIM, "--method", "both", "--batch", "10"], "env": CAP},
        {"id": "sweep", "argv": SWEEP, "env": CAP},
        {"id": "sweep-specs", "argv": ["sweep", "--specs", "specs.jsonl", *LINEAR_RUN],
         "env": CAP, "files": {"specs.jsonl": json.dumps(SPEC_OK) + "\n"}},
        {"id": "sweep-N-alias", "argv": [*SWEEP[:-4], "--N", "60", "--dry-run"]},
    ]
    r = _run_batch(cases, tmp_path, case_seconds=300)  # real work (and maybe compiling)
    assert r["sim"]["code"] == 0 and {"run.json", "run.npz"} <= set(r["sim"]["new_files"])
    assert r["sweep"]["code"] == 0, r["sweep"]["stderr"]
    assert r["sweep-specs"]["code"] == 0, r["sweep-specs"]["stderr"]
    alias = r["sweep-N-alias"]
    assert alias["code"] == 0
    assert alias["stderr"].strip() == ("lintheory sweep: note: --N is deprecated and will be "
                                       "removed; use --samples")


def test_memory_check_flips_at_the_estimate(monkeypatch):
    """Refused just below the run's own estimate, accepted just above it."""
    from lintheory.preflight import PreflightError, check_memory, linear_memory

    terms = linear_memory(n=20, m=10, N=2000, widths=[40], ranks=4, points=61)
    total = sum(b for _, b in terms)
    monkeypatch.setenv("LINTHEORY_MAX_MEMORY", str(int(total / 0.8 * 1.01)))
    assert check_memory(terms) == total
    monkeypatch.setenv("LINTHEORY_MAX_MEMORY", str(int(total / 0.8 * 0.99)))
    with pytest.raises(PreflightError, match="N \\(samples\\) = 2000"):
        check_memory(terms)


@pytest.mark.parametrize("widths, ranks, direct", [([7], 3, False), ([7, 5], [2, 3], False),
                                                   ([7, 5, 4], 2, True)])
def test_parameter_count_matches_the_weights(widths, ranks, direct):
    from lintheory.preflight import _params, parameter_count

    task = make_task(6, 5, 2, 30, seed=0)
    w0 = make_init(task, widths if len(widths) > 1 else widths[0], ranks, rng=0,
                   direct=direct)
    assert parameter_count(6, 5, widths, ranks, direct) == w0.pack().size
    if len(set(widths)) == 1 and np.ndim(ranks) == 0:
        assert _params(6, 5, {"width": widths[0], "depth": len(widths) + 1}, ranks,
                       direct) == w0.pack().size


def test_layer_gains_match_explicit_products():
    from lintheory.preflight import _layer_gains

    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((7, 4)), rng.standard_normal((6, 7)),
          rng.standard_normal((80, 6)), rng.standard_normal((3, 80))]
    norm = lambda A: np.linalg.norm(A, 2) ** 2  # noqa: E731
    ref = [norm(Ws[3] @ Ws[2] @ Ws[1]), norm(Ws[3] @ Ws[2]) * norm(Ws[0]),
           norm(Ws[3]) * norm(Ws[1] @ Ws[0]), norm(Ws[2] @ Ws[1] @ Ws[0])]
    np.testing.assert_allclose(_layer_gains(Ws), ref, rtol=1e-6)


def test_rk45_evaluations_are_about_twice_T_times_rate():
    """The basis of the stiffness limit: a Q-decay-dominated RAF run takes ~2 T x lam
    right-hand-side evaluations (measured 6068 for T x lam = 3000)."""
    task = make_task(6, 5, 3, 60, seed=0)
    w0 = make_init(task, 8, 2, rng=1, scale=1e-3)
    traj = integrate(task, "raf", w0, np.linspace(0, 30, 3), lam=100.0)
    assert 0.5 < traj.info["nfev"] / (2 * 30 * 100.0) < 2


def test_nonfinite_data_names_the_input_not_the_learning_rate():
    task = make_task(6, 5, 3, 60, seed=0)
    w0 = make_init(task, 8, 2, rng=1)
    X = task.X.copy()
    X[3, 2] = np.nan
    Y = task.Y.copy()
    Y[0, 0] = np.inf
    for bad, name in ((dataclasses.replace(task, X=X), "task.X holds 1 NaN"),
                      (dataclasses.replace(task, Y=Y), "task.Y holds 1 NaN")):
        with pytest.raises(ValueError, match=name) as info:
            run_sgd(bad, "raf", w0, [0.0, 0.1], lr=0.01, batch=5)
        assert "cannot help" in str(info.value)
    bad = dataclasses.replace(task, Sigma_yx=np.full_like(task.Sigma_yx, np.nan))
    with pytest.raises(ValueError, match="task.Sigma_yx holds 30 NaN"):
        integrate(bad, "raf", w0, [0.0, 1.0])


def test_initial_weights_above_the_guard_are_refused():
    task = make_task(6, 5, 3, 60, seed=0)
    w0 = make_init(task, 8, 2, rng=1)
    big = w0.replace(w0.pack() * 1e9)
    for call in (lambda: integrate(task, "bp", big, [0.0, 1.0]),
                 lambda: run_sgd(task, "bp", big, [0.0, 1.0], lr=0.01)):
        with pytest.raises(ValueError, match="divergence threshold 1e\\+06"):
            call()


def test_a_stiff_solve_stops_at_its_budget_and_names_the_run(monkeypatch):
    import lintheory.preflight as preflight

    task = make_task(6, 5, 3, 60, seed=0)
    w0 = make_init(task, [6, 6], 2, rng=1)
    monkeypatch.setattr(preflight, "MAX_WORK", 50_000)  # 50 evaluations of <= 1000 weights
    monkeypatch.setattr(preflight, "check_stiffness", lambda *a, **k: 0.0)  # let it start
    with pytest.raises(SolverError, match=r"ODE raf L=3: the RK45 solver stopped after 50 "
                                          r"right-hand-side evaluations .*--depths"):
        integrate(task, "raf", w0, [0.0, 30.0])


def _closed_pipe_run(argv):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the child writes anything
    try:
        return subprocess.run([sys.executable, "-m", "lintheory", *argv], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)


def test_a_closed_stdout_exits_141_quietly(tmp_path):
    out = tmp_path / "r.json"
    p = _closed_pipe_run(["simulate", "--n", "6", "--k", "8", "--m", "5", "--d", "3",
                          "--samples", "60", "--T", "1", "--points", "3", "--out", str(out)])
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert out.exists()  # the work was done; only the report line had no reader
    p = _closed_pipe_run(["simulate", "--help"])
    assert p.returncode in (0, 141) and p.stderr == "", p.stderr


def test_the_work_limit_can_be_raised(monkeypatch):
    """figure-deep --depths 1000 at T = 2 (71,955 weights, rate 8.5e3): refused by default,
    accepted with LINTHEORY_MAX_WORK=1e10 (2 x 1.7e4 evaluations x 71,955 = 2.4e9)."""
    from lintheory.preflight import PreflightError, check_stiffness

    args, kw = (2.0, 8.5e3, "the task", "RK45"), {"params": 71955, "size": "--depths 1000"}
    monkeypatch.delenv("LINTHEORY_MAX_WORK", raising=False)
    with pytest.raises(PreflightError, match=r"2\.45e\+09 weight updates .*--depths"):
        check_stiffness(*args, **kw)
    monkeypatch.setenv("LINTHEORY_MAX_WORK", "1e10")
    assert check_stiffness(*args, **kw) == pytest.approx(1.7e4)
