"""The later version's rules in the linear theory: Oja-only, normative, factorised, sign.

Each is one registry entry (lintheory.rules); every engine and check picks it up (the
averaging checks deep.avg.oja, deep.avg.normative, deep.avg.sign and their broken
variants run in tests/test_symbolic.py; numba = NumPy and GD -> ODE in the rule-generic
tests). Here: what they learn at r < d in Figure 2's setting, against the prediction
``a_i = Pi_ii`` with ``Pi`` the projector onto the row space of ``Pbar S`` for ``Pbar`` the
top-r eigenvectors of ``Sigma_yy_bar`` (numpy.linalg.eigh): the top r modes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lintheory import RULES, integrate, make_init, make_task
from lintheory.experiments import oja_limit, predicted_mode_strengths


@pytest.fixture(scope="module")
def task():
    return make_task(20, 10, 4, 2000, sigma=1.0, seed=0)


@pytest.mark.parametrize("rule", ["oja", "normative"])
@pytest.mark.parametrize("r", [2, 4])
def test_learns_the_top_r_modes(task, rule, r):
    """Oja-only (Q fixed) and normative (Q P -> best rank-r approximation of W2^T) both end
    at S Pi with Pi from Oja's limit: the top r modes (measured error 1e-4 at T = 30)."""
    w0 = make_init(task, 40, r, scale=1e-3, rng=np.random.default_rng([0, 1]))
    a = integrate(task, rule, w0, [0.0, 30.0], rtol=1e-8, atol=1e-10).mode_strengths[-1]
    pred = predicted_mode_strengths(task, oja_limit(task, r))
    np.testing.assert_allclose(a, pred, atol=1e-3)


def test_normative_feedback_is_the_best_rank_r_approximation(task):
    """Normative at r < d: Q P ends at the best rank-r approximation of W2^T (Eckart-Young,
    from numpy.linalg.svd), to 1e-3 relative."""
    w0 = make_init(task, 40, 2, scale=1e-3, rng=np.random.default_rng([0, 1]))
    w = integrate(task, "normative", w0, [0.0, 30.0], rtol=1e-9, atol=1e-11).weights(-1)
    U, s, Vt = np.linalg.svd(w.W2.T)
    best = (U[:, :2] * s[:2]) @ Vt[:2]
    B = w.Q @ w.P
    assert np.linalg.norm(B - best) < 1e-3 * np.linalg.norm(best)


def _factorised_run(task, p_scale=1.0, T=30.0):
    w0 = make_init(task, 40, 2, scale=1e-3, rng=np.random.default_rng([0, 1]))
    w0 = dataclasses.replace(w0, Ps=tuple(p_scale * P for P in w0.Ps))
    tr = integrate(task, "factorised", w0, [0.0, T], rtol=1e-9, atol=1e-11)
    return w0.rotate(task), tr


def test_factorised_stops_at_the_s_pi_of_its_final_p(task):
    """Factorised local (dQ = h (P e)^T, dP = (Q^T h) e^T), theory §6.2: the network stops
    at the FA-type fixed point S Pi of its *final* Pbar (measured 5e-5 at T = 30), whose
    columns of the unlearned modes 3..10 keep their initial values (they move by < 10%
    while the learned block grows about 5x). So it learns the top r modes only
    approximately (1.7e-3 here), far from the S Pi of its initial Pbar."""
    w0, tr = _factorised_run(task)
    a, P = tr.mode_strengths[-1], tr.weights(-1).P
    np.testing.assert_allclose(a, predicted_mode_strengths(task, P), atol=1e-3)
    rest0 = np.linalg.norm(w0.P[:, 2:])
    assert np.linalg.norm(P[:, 2:] - w0.P[:, 2:]) < 0.1 * rest0
    assert np.linalg.norm(P[:, :2]) > 3 * np.linalg.norm(w0.P[:, :2])
    top = predicted_mode_strengths(task, oja_limit(task, 2))
    assert 1e-3 < np.max(np.abs(a - top)) < 3e-3
    assert np.max(np.abs(a - predicted_mode_strengths(task, w0.P))) > 0.1


def test_factorised_gap_to_the_top_r_modes_shrinks_with_the_initial_p(task):
    """The gap to the top r modes comes from the frozen initial columns: halving the
    initial Pbar divides it by about 4 (measured 1.67e-3 -> 3.5e-4), as the leading order
    |A^-1 C|^2 of theory §6.2 says (A the learned block, C the frozen one)."""
    top = predicted_mode_strengths(task, oja_limit(task, 2))
    gaps = [np.max(np.abs(_factorised_run(task, c)[1].mode_strengths[-1] - top))
            for c in (1.0, 0.5)]
    assert 2.5 < gaps[0] / gaps[1] < 6.0


def test_factorised_conserves_its_two_invariants_along_the_ode(task):
    """lam = wd = 0: Q^T Q - Pbar Pbar^T and W1bar W1bar^T - Q Q^T are constant along the
    integrated ODE (numerically, to the solver's tolerance; SymPy proves it exactly in
    fp.factorised.invariants)."""
    _, tr = _factorised_run(task, T=10.0)
    w0, w1 = tr.weights(0), tr.weights(-1)
    for f in (lambda w: w.Q.T @ w.Q - w.P @ w.P.T, lambda w: w.W1 @ w.W1.T - w.Q @ w.Q.T):
        scale = np.linalg.norm(f(w0)) + np.linalg.norm(w1.Q) ** 2
        assert np.linalg.norm(f(w1) - f(w0)) < 1e-6 * scale


def test_weight_mirror_stalls_at_the_s_pi_of_its_initial_p_and_mirrors_w2(task):
    """Weight mirror (dQ = W^T P^T - (1 + lam) Q, P fixed) at r = 2 < d: the FA-type fixed
    point S Pi of its fixed P (measured 4.5e-5 at T = 30), with Q = W2^T P^T (measured
    1.5e-8 relative): B = W2^T P^T P."""
    w0 = make_init(task, 40, 2, scale=1e-3, rng=np.random.default_rng([0, 1]))
    tr = integrate(task, "mirror", w0, [0.0, 30.0], rtol=1e-8, atol=1e-10)
    w = tr.weights(-1)
    pred = predicted_mode_strengths(task, w0.rotate(task).P)
    np.testing.assert_allclose(tr.mode_strengths[-1], pred, atol=1e-3)
    assert np.linalg.norm(w.Q - w.W2.T @ w.P.T) < 1e-6 * np.linalg.norm(w.Q)


def test_sign_symmetry_learns_every_mode(task):
    """Sign-symmetry (full rank, integrated unrotated): at a fixed point sign(W2)^T E = 0,
    and sign(W2)^T has full column rank m (numpy.linalg.matrix_rank), so E = 0: every mode
    is learned, a_i = 1 (measured 1e-8 at T = 30)."""
    w0 = make_init(task, 40, 4, scale=1e-3, rng=np.random.default_rng([0, 1]))
    tr = integrate(task, "sign", w0, [0.0, 30.0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(tr.mode_strengths[-1], 1.0, atol=1e-3)
    W2 = tr.weights(-1).unrotate(task).W2
    assert np.linalg.matrix_rank(np.sign(W2)) == task.m


def test_sign_symmetry_is_registered_unrotated():
    rule = RULES["sign"]
    assert not rule.rotatable and not rule.uses_feedback and not rule.smooth


def test_figure_rules_command_draws_each_rule_with_its_prediction(tmp_path):
    """``lintheory figure-rules`` (small sizes): two panels per rule, the r < d panels end
    on their prediction (top r modes) to 1e-2 at this short T."""
    import json

    from lintheory.cli import main

    argv = ["figure-rules", "--quiet", "--out-dir", str(tmp_path), "--rules", "oja,fa",
            "--n", "8", "--k", "12", "--m", "6", "--d", "3", "--rank-low", "1",
            "--samples", "200", "--T", "20", "--points", "20", "--no-sgd"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "figure_rules.json").read_text())
    assert [p["rule"] for p in data["panels"]] == ["oja", "oja", "fa", "fa"]
    for p in data["panels"]:
        np.testing.assert_allclose(p["ode"][-1], p["prediction"], atol=1e-2)
    assert (tmp_path / "figure_rules.png").is_file() and (tmp_path / "figure_rules.pdf").is_file()
