"""Symbolic checks: all pass on the real flow, each fails on a deliberately broken variant,
and the symbolic fixed points agree with the ODE integrator on the same small case."""

from __future__ import annotations

import fnmatch

import numpy as np
import pytest
import sympy as sp

from lintheory.deep import DEEP_RULES
from lintheory.dynamics import integrate
from lintheory.flow import two_layer_flow as flow
from lintheory.symbolic import CHECKS, mutants, run_checks, select
from lintheory.symbolic.fixed_points import s_pi, stationary_product
from lintheory.task import make_task
from lintheory.weights import Weights

# For every check: the broken variant(s) (see lintheory.symbolic.mutants) it must catch.
BROKEN = {
    "avg.*": ["sign_flip", "wd_sign_flip", "wd_missing"],
    "avg.bp.*": ["missing_transpose"],
    "rot.bp.*": ["missing_transpose", "rotate_missing_transpose"],
    "rot.fa.*": ["rotate_q_too", "rotate_missing_transpose"],
    "rot.kp.*": ["rotate_q_too"],
    "rot.raf.*": ["rotate_q_too"],
    "rot.integrator*": ["rotate_q_too", "rotate_missing_transpose"],
    "fp.eq6": ["transport_always"],
    "fp.spi.matrix": ["transport_always"],
    "fp.spi.explicit": ["claim_unique", "claim_missing_transpose"],
    "fp.unique": ["drop_feedback_row"],
    "fp.family": ["transport_always"],
    "fp.raf.topr": ["oja_sign_flip"],
    "fp.oja.topr": ["oja_sign_flip"],
    "fp.normative.best": ["q_sign_flip", "oja_sign_flip"],
    "fp.factorised.invariants": ["q_sign_flip"],
    "fp.factorised.frozen": ["p_reads_targets"],
    "kp.align.*": ["q_sign_flip"],
    "oja.stationary": ["oja_no_decay"],
    "oja.stability": ["oja_sign_flip"],
    "saxe.dsolve": ["saxe_missing_two"],
    "saxe.flow": ["sign_flip"],
    "deep.avg.*": ["deep_sign_flip", "deep_drop_mmt"],
    "deep.avg2.*": ["deep_sign_flip", "deep_drop_mmt"],
    "deep.depth2.*": ["deep_sign_flip"],
}
PAIRS = sorted({(name, v) for pat, vs in BROKEN.items() for name in CHECKS
                if fnmatch.fnmatchcase(name, pat) for v in vs})


@pytest.fixture(scope="module")
def results():
    return {r.name: r for r in run_checks()}


def test_every_check_verified(results):
    assert len(results) >= 28
    bad = {n: r.residual for n, r in results.items() if not r.ok}
    assert not bad


def test_every_check_has_a_broken_variant():
    covered = {name for name, _ in PAIRS}
    assert covered == set(CHECKS)


@pytest.mark.parametrize(("name", "variant"), PAIRS)
def test_broken_variant_fails(name, variant):
    res = CHECKS[name].run(**mutants.overrides(variant))
    assert not res.ok, f"{name} did not catch {variant}"
    assert res.residual not in ("", "0")


def test_select_patterns():
    assert [c.name for c in select("saxe")] == ["saxe.dsolve", "saxe.flow"]
    assert {c.name for c in select("*raf*")} >= {"avg.raf.matrix", "rot.raf.explicit",
                                                 "fp.raf.topr"}
    assert select("nothing-like-this") == []


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="broken variant must be one of"):
        mutants.overrides("nope")


def test_checks_use_the_integrators_flow():
    # The integrator compiles lintheory.flow.flow; the checks default to the same function
    # at depth 2 (two_layer_flow calls it with the rule's own functions).
    from lintheory.flow import two_layer_flow
    from lintheory.symbolic.common import default_flow

    assert default_flow() is two_layer_flow


# ------------------------------------------------------------- symbolic vs numerical


def _rational(A):
    return sp.Matrix(A.shape[0], A.shape[1], [sp.Rational(float(v)) for v in A.ravel()])


@pytest.fixture(scope="module")
def task():
    return make_task(n=4, m=3, d=2, N=400, sigma=0.3, singular_values=[2.0, 1.0], seed=3)


def _small_init(task, k, P, seed, scale=1e-3):
    rng = np.random.default_rng(seed)
    W1 = scale * rng.standard_normal((k, task.n))
    W2 = scale * rng.standard_normal((task.m, k))
    Q = rng.standard_normal((k, P.shape[0]))
    return Weights.two_layer(W1, W2, Q, P, rotated=True)


def test_fa_fixed_point_symbolic_equals_ode(task):
    """FA, r = 1 < d: the ODE ends at the fixed point that SymPy solves exactly from flow."""
    Pbar = sp.Matrix([[1, 2, -1]]) / 3
    S = _rational(task.S)
    M_sym = stationary_product(flow, "fa", S, Pbar)
    assert (M_sym - s_pi(S, Pbar)).applyfunc(sp.simplify).is_zero_matrix
    M_sym = np.array(M_sym.evalf(), dtype=float)
    init = _small_init(task, 5, np.array(Pbar, dtype=float), seed=1)
    traj = integrate(task, "fa", init, [300.0], rtol=1e-9, atol=1e-12)
    err = np.abs(traj.M[-1] - M_sym).max()
    assert err < 1e-3 * np.abs(task.S).max()
    # and it is a spurious fixed point: far from S
    assert np.abs(M_sym - task.S).max() > 0.1


def test_raf_fixed_point_symbolic_equals_ode(task):
    """RAF, r = 1: Pbar -> top eigenvector of Sigma_yy_bar and M -> S Pi(Pbar) (= top mode)."""
    P0 = np.array([[0.3, 0.5, -0.4]])
    init = _small_init(task, 5, P0, seed=2)
    traj = integrate(task, "raf", init, [300.0], rtol=1e-9, atol=1e-12)
    Pbar = traj.P[-1]
    evals, evecs = np.linalg.eigh(task.Sigma_yy_bar)
    top = evecs[:, -1]
    assert abs(abs(Pbar[0] @ top) - 1) < 1e-6 and abs(np.linalg.norm(Pbar) - 1) < 1e-6
    M_sym = np.array(s_pi(_rational(task.S), _rational(Pbar)).evalf(), dtype=float)
    assert np.abs(traj.M[-1] - M_sym).max() < 1e-3 * np.abs(task.S).max()
    assert abs(traj.M[-1][0, 0] - task.S[0, 0]) < 0.05 * task.S[0, 0]


def test_kp_alignment_numerically(task):
    """KP-Q with wd = lam: |Q - W2bar^T Pbar^T| decays like exp(-lam t) (kp.align.*)."""
    P0 = np.array([[0.6, -0.8, 0.0], [0.0, 0.6, 0.8]])
    init = _small_init(task, 5, P0, seed=4, scale=0.3)
    lam = 0.2
    traj = integrate(task, "kp", init, [0.0, 10.0, 80.0], lam=lam, wd=lam,
                     rtol=1e-10, atol=1e-12)
    dist = [np.linalg.norm(traj.Q[i] - traj.W2[i].T @ traj.P[i].T) for i in range(3)]
    np.testing.assert_allclose(dist[1], dist[0] * np.exp(-lam * 10.0), rtol=1e-6)
    assert dist[2] < 1e-6


# --- deep linear networks (lintheory.symbolic.deep) ------------------------------


@pytest.mark.parametrize("name,drive", [(n, "error") for n in DEEP_RULES] + [("draf", "targets")])
def test_symbolic_covariances_and_flow(name, drive):
    """SymPy: averages of per-sample rules over an exactly whitened data set (symbolic
    targets) equal the closed forms (layer-error covariances, every dW, dQ, dP) at L = 3.
    The weights are exact random nonzero rationals (a generic point of a polynomial
    identity); the run with every weight a symbol, ``python -m lintheory.symbolic.deep``,
    passes too but takes minutes."""
    from lintheory.symbolic.deep import check_deep

    res = check_deep(name, weights="rational", oja_drive=drive)
    assert res and all(res.values()), res


def test_symbolic_check_catches_a_wrong_covariance(monkeypatch):
    """The check fails when the M M^T term of the output-error covariance is dropped."""
    import lintheory.symbolic.deep as sym

    def wrong(M, Syx, Syy):
        return Syy - Syx @ M.T - M @ Syx.T

    from lintheory import flow as fl

    def wrong_layers(Ws, Qs, Ps, Syx, Syy, rule):
        C = [wrong(fl.forward_products(Ws)[-1], Syx, Syy)] * len(Ws)
        for j in range(len(Ws) - 2, -1, -1):
            C[j] = fl.push_covariance(rule.feedback, Ws[j + 1], Qs[j], Ps[j], C[j + 1])
        return C

    monkeypatch.setattr(sym, "error_covariances", wrong_layers)
    res = sym.check_deep("fa", weights="rational")
    assert not res["C_3"] and not res["C_2"] and not res["C_1"]


def test_symbolic_depth2_is_two_layer_flow():
    from lintheory.symbolic.deep import check_depth2

    assert check_depth2("raf")
