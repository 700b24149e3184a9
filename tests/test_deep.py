"""Linear networks of any depth: flow, ODE, SGD, Saxe reference, learning outcomes.

Every numerical test compares against an independent reference: the paper's two-layer
equations written out here (depth 2), the fused two-layer kernels (depth 2), the scalar
Saxe et al. (2013) equation solved by DOP853 at rtol 1e-12, the ODE (full-batch GD is its
Euler scheme), the other integration frame, or the interpreted twin of a compiled kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import RULES, integrate, make_init, make_task
from lintheory.dynamics import saxe_modes as saxe_deep
from lintheory.errors import DivergenceError
from lintheory.flow import flat_flow, rule_flow
from lintheory.rules import get_rule as get_deep_rule
from lintheory.sgd import run_sgd

DEEP_RULES = RULES
integrate_deep = integrate
run_sgd_deep = run_sgd
make_deep_init = make_init


@pytest.fixture(scope="module")
def task():
    """Whitened task n=10, m=6, d=3, singular values (3, 2, 1), sigma=0.5, N=200."""
    return make_task(n=10, m=6, d=3, N=200, sigma=0.5, seed=0)


def _init(task, L, rule, r, *, scale=None, seed=1, width=12):
    rule = get_deep_rule(rule)
    scale = (1e-3) ** (1 / L) if scale is None else scale
    return make_deep_init(task, [width] * (L - 1), r, scale=scale, rng=seed, direct=rule.direct)


# --- depth 2 is the paper's network ----------------------------------------------------------

PAPER = {"bp": (True, False, False), "fa": (False, False, False), "kp": (False, True, False),
         "raf": (False, True, True)}
"""(weight transport, Q learns, P learns): the paper's table, independent of the rules."""


@pytest.mark.parametrize("name", list(PAPER))
def test_depth2_flow_is_paper_equations(task, name):
    """At depth 2 the flow (the rule's own functions) is Eqs. 5, 9, 10 written out here."""
    w = make_init(task, 12, 2, scale=0.5, rng=3).rotate(task)
    transport, learns_Q, learns_P = PAPER[name]
    S, Syy, lam, wd, pr = task.S, task.Sigma_yy_bar, 0.3, 0.01, 1.7
    E = S - w.W2 @ w.W1
    want = ((w.W2.T if transport else w.Q @ w.P) @ E - wd * w.W1, E @ w.W1.T - wd * w.W2,
            w.W1 @ E.T @ w.P.T - lam * w.Q if learns_Q else 0 * w.Q,
            pr * w.P @ Syy @ (np.eye(task.m) - w.P.T @ w.P) if learns_P else 0 * w.P)
    b = rule_flow(w.Ws, w.Qs, w.Ps, S, Syy, RULES[name], lam=lam, wd=wd, p_rate=pr)
    for x, y in zip(want, (b[0][0], b[0][1], b[1][0], b[2][0])):
        np.testing.assert_allclose(y, x, rtol=0, atol=1e-12)


def test_depth2_init_is_two_layer_init(task):
    for kind in ("random", "balanced"):
        w = make_init(task, 12, 2, kind=kind, scale=0.3, rng=5)
        d = make_init(task, [12], 2, kind=kind, scale=0.3, rng=5)
        assert d.rotated == w.rotated
        for x, y in zip((w.W1, w.W2, w.Q, w.P), d.arrays):
            assert np.array_equal(x, y)


@pytest.mark.parametrize("L", [2, 3])
def test_rotated_and_unrotated_frames_agree(task, L):
    """The ODE integrated in the SVD frame (Eqs. 5, 9, 10) and unrotated (A8, A34-A36)."""
    t = np.linspace(0, 20, 11)
    for name in ("bp", "raf", "draf") if L > 2 else ("bp", "raf"):
        w = _init(task, L, name, 2, scale=0.5, seed=2)
        a = integrate(task, name, w, t, lam=0.1, rtol=1e-10, atol=1e-12, frame="rotated")
        b = integrate(task, name, w, t, lam=0.1, rtol=1e-10, atol=1e-12, frame="unrotated")
        for x, y in zip(a.Ws + a.Qs + a.Ps, b.Ws + b.Qs + b.Ps):
            np.testing.assert_allclose(y, x, rtol=0, atol=1e-7)


@pytest.mark.parametrize("batch", ["full", "online", 7])
def test_fused_two_layer_kernels_match_general_kernel(task, batch):
    """Depth 2: the fused kernels (numba) and the general kernel (NumPy engine) agree."""
    w = make_init(task, 12, 2, scale=0.3, rng=2)
    t = np.linspace(0, 2, 5)
    for name in ("bp", "fa", "kp", "raf"):
        a = run_sgd(task, name, w, t, lr=0.01, batch=batch, rng=4, lam=0.1, p_rate=1.5)
        b = run_sgd(task, name, w, t, lr=0.01, batch=batch, rng=4, lam=0.1, p_rate=1.5,
                    engine="numpy")
        assert a.info["kernel"] == "fused two-layer kernels" != b.info["kernel"]
        for x, y in zip(a.Ws + a.Qs + a.Ps, b.Ws + b.Qs + b.Ps):
            np.testing.assert_allclose(y, x, rtol=0, atol=1e-10)


# --- compiled vs interpreted ------------------------------------------------------------------

@pytest.mark.parametrize("name,L", [("raf", 3), ("draf", 3), ("bp", 4), ("kp", 4)])
def test_flat_flow_matches_flow(task, name, L):
    w = _init(task, L, name, 2, scale=0.7).rotate(task)
    rule = get_deep_rule(name)
    offs, rows, cols = w.layout()
    Syx, Syy = np.ascontiguousarray(task.S), np.ascontiguousarray(task.Sigma_yy_bar)
    U = np.ascontiguousarray(task.U)
    drive = np.array([rule.drives_error(j, L) for j in range(L - 1)])
    got = flat_flow(w.pack(), offs, rows, cols, L, Syx, Syy, *rule.jitted(), rule.direct, drive,
                    0.1, 0.01, 1.3, True, U)
    ref = rule_flow(w.Ws, w.Qs, w.Ps, Syx, Syy, rule, lam=0.1, wd=0.01, p_rate=1.3,
                    oja_scale=True, out_basis=U)
    ref = np.concatenate([a.ravel() for part in ref for a in part])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)


def test_sgd_engines_agree(task):
    w = _init(task, 3, "raf", 2, scale=0.5)
    t = [0.0, 0.5]
    a = run_sgd_deep(task, "raf", w, t, lr=0.01, batch=5, rng=1, engine="numba")
    b = run_sgd_deep(task, "raf", w, t, lr=0.01, batch=5, rng=1, engine="numpy")
    for x, y in zip(a.Ws + a.Qs + a.Ps, b.Ws + b.Qs + b.Ps):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


# --- Saxe et al. (2013) for depth L ------------------------------------------------------------

@pytest.mark.parametrize("L", [2, 3, 4])
def test_balanced_bp_follows_saxe(task, L):
    """Balanced, mode-aligned BP: each mode obeys da/dt = L a^(2-2/L) (s - a).

    Reference: the scalar equation (closed form at L=2, DOP853 at rtol 1e-12 otherwise).
    Required: relative error < 1e-6 at every output time for every signal mode.
    """
    scale = 0.4
    w0 = make_deep_init(task, [8] * (L - 1), 2, kind="balanced", scale=scale, rng=0)
    t = np.linspace(0, 15, 16)
    tr = integrate_deep(task, "bp", w0, t, rtol=1e-10, atol=1e-12)
    a = tr.mode_strengths * task.s[: task.d]
    ref = np.stack([saxe_deep(task.s[i], scale**L, L, t) for i in range(task.d)], axis=1)
    assert a[-1].min() > 0.99 * task.s[task.d - 1]  # the run reaches the learned regime
    assert np.max(np.abs(a - ref) / ref) < 1e-6


# --- full-batch GD -> ODE, first order ----------------------------------------------------------

@pytest.mark.parametrize("name", list(DEEP_RULES))
def test_full_batch_gd_converges_first_order(name):
    """Full-batch GD is the Euler scheme of the deep ODE: error at T ~ lr^1 (L = 3).

    Max weight error at T = 2 against the ODE (rtol 1e-10) for lr = 0.04, 0.02, 0.01; the
    fitted slope of log(error) vs log(lr) must lie in [0.85, 1.15] and the error must
    shrink at each halving. Full-batch GD forms every per-sample error (no covariance
    shortcut), so this also checks the averaged algebra, the Oja scaling included.
    """
    task = make_task(n=6, m=4, d=2, N=24, sigma=0.5, seed=2)
    rule = get_deep_rule(name)
    w0 = make_deep_init(task, [5, 5], 2, scale=0.6, rng=3, direct=rule.direct)
    T = 2.0
    ref = integrate_deep(task, name, w0, [0.0, T], lam=0.2, p_rate=1.5, rtol=1e-10,
                         atol=1e-12).weights(-1).pack()
    lrs = np.array([0.04, 0.02, 0.01])
    errs = []
    for lr in lrs:
        got = run_sgd_deep(task, name, w0, [0.0, T], lr=lr, batch="full", lam=0.2,
                           p_rate=1.5).weights(-1).pack()
        errs.append(np.max(np.abs(got - ref)))
    errs = np.array(errs)
    slope = np.polyfit(np.log(lrs), np.log(errs), 1)[0]
    assert np.all(np.diff(errs) < 0), errs
    if not rule.smooth:  # sign(W): zero crossings shift by a step; the gap still shrinks
        assert slope > 0.85, (slope, errs)
        return
    assert 0.85 < slope < 1.15, (slope, errs)


# --- what the rules learn ----------------------------------------------------------------------

@pytest.mark.parametrize("L", [3, 4])
def test_rank_thresholds(task, L):
    """RAF r >= d learns every mode; RAF r < d exactly the top r; FA r < d stalls.

    Task d = 3 (s = 3, 2, 1), widths 12, product init ~1e-3, lam = 0.1, T = 60. The ODEs
    converge well before T (the slowest learned mode reaches a > 0.999 by t ~ 30 here), so:
    learned means a_i > 0.95, unlearned a_i < 0.05 (measured: < 0.012 at T for the third
    mode of RAF r = 2). FA with fixed random rank-2 feedback settles on a random projection
    of the task (theory §5): it has plateaued (a changes by < 0.02 between t = 40 and 60)
    with at least one mode below 0.9 (measured minima 0.58 at L = 3, 0.16 at L = 4).
    """
    t = np.array([0.0, 40.0, 60.0])
    a = integrate_deep(task, "raf", _init(task, L, "raf", 3), t, lam=0.1).mode_strengths
    assert np.all(a[-1] > 0.95), a[-1]
    a = integrate_deep(task, "raf", _init(task, L, "raf", 2), t, lam=0.1).mode_strengths
    assert np.all(a[-1, :2] > 0.95) and a[-1, 2] < 0.05, a[-1]
    a = integrate_deep(task, "draf", _init(task, L, "draf", 3), t, lam=0.1).mode_strengths
    assert np.all(a[-1] > 0.95), a[-1]
    a = integrate_deep(task, "fa", _init(task, L, "fa", 2), t).mode_strengths
    assert a[-1].min() < 0.9 and np.max(np.abs(a[-1] - a[-2])) < 0.02, a


# --- bad input -------------------------------------------------------------------------------

def test_bad_input(task):
    with pytest.raises(ValueError, match="ranks"):
        make_deep_init(task, [12, 12], [2], rng=0)
    with pytest.raises(ValueError, match="rank"):
        make_deep_init(task, [12, 12], 13, rng=0)
    with pytest.raises(ValueError, match="rule"):
        get_deep_rule("nope")
    w = make_deep_init(task, [12, 12], 2, rng=0)
    with pytest.raises(ValueError, match="direct"):
        integrate_deep(task, "draf", w, [0, 1])
    with pytest.raises(ValueError, match="lr"):
        run_sgd_deep(task, "bp", w, [0, 1], lr=-1)


def test_divergence_is_reported(task):
    w = _init(task, 3, "bp", 2, scale=1.0)
    with pytest.raises(DivergenceError, match="step"):
        run_sgd_deep(task, "bp", w, [0, 50], lr=2.0, batch="full")


def test_figure_deep_cli(tmp_path):
    """The command writes PNG, PDF and JSON with every curve (tiny sizes)."""
    from lintheory.cli import main
    from lintheory.io import read_json

    out = tmp_path / "fd"
    args = ["figure-deep", "--depths", "2,3", "--n", "6", "--m", "4", "--d", "2", "--N", "40",
            "--width", "5", "--low-rank", "1", "--T", "4", "--lr", "0.01", "--batch", "8",
            "--quiet"]
    code = main([*args, "--workers", "1", "--out", str(out)])
    assert code == 0
    # two worker processes give the same bytes as the serial run (issue 7)
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "fd2")]) == 0
    assert (tmp_path / "fd2.json").read_bytes() == (tmp_path / "fd.json").read_bytes()
    assert (tmp_path / "fd.png").stat().st_size > 0 and (tmp_path / "fd.pdf").exists()
    data = read_json(tmp_path / "fd.json")
    assert len(data["panels"]) == 10
    p = data["panels"][0]
    assert len(p["ode"]) == len(p["times"]) and len(p["sgd"]) == len(p["sgd_times"])
    assert data["config"]["oja_drive"] == "error"
    assert all(0 <= q["sgd_ode_gap"] < 0.2 for q in data["panels"]), \
        [q["sgd_ode_gap"] for q in data["panels"]]
    assert main(["figure-deep", "--depths", "1", "--out", str(out), "--quiet"]) == 2


def test_simulate_cli_depth(tmp_path):
    """``lintheory simulate --depth 3 --widths --ranks --method both`` writes the deep run."""
    from lintheory.cli import main
    from lintheory.io import read_json

    out = tmp_path / "run.json"
    code = main(["simulate", "--depth", "3", "--widths", "7,5", "--ranks", "2,3", "--n", "6",
                 "--m", "4", "--d", "2", "--samples", "40", "--rule", "raf", "--T", "2",
                 "--points", "3", "--method", "both", "--lr", "0.01", "--batch", "8",
                 "--init-scale", "0.3", "--lam", "0.1", "--out", str(out), "--quiet"])
    assert code == 0
    data = read_json(out)
    assert data["parameters"]["widths"] == [7, 5] and data["parameters"]["ranks"] == [2, 3]
    assert len(data["mode_strengths"]) == 3 and "sgd" in data
    assert main(["simulate", "--depth", "3", "--widths", "7", "--out", str(out)]) == 2
    # dRAF's Oja drive: default "error", "targets" on request (the option reaches the engines)
    base = ["simulate", "--depth", "3", "--widths", "5,5", "--n", "6", "--m", "4", "--d", "2",
            "--samples", "40", "--rule", "draf", "--T", "1", "--points", "2", "--lam", "0.1",
            "--init-scale", "0.5", "--quiet"]
    for drive in (None, "targets"):
        extra = [] if drive is None else ["--oja-drive", drive]
        assert main([*base, *extra, "--out", str(out)]) == 0
        data = read_json(out)
        assert data["parameters"]["oja_drive"] == data["info"]["oja_drive"] == (drive or "error")
