"""The later version's rules in the linear theory: Oja-only, normative, factorised, sign.

Each is one registry entry (lintheory.rules); every engine and check picks it up (the
averaging checks deep.avg.oja, deep.avg.normative, deep.avg.sign and their broken
variants run in tests/test_symbolic.py; numba = NumPy and GD -> ODE in the rule-generic
tests). Here: what they learn at r < d in Figure 2's setting, against the prediction
``a_i = Pi_ii`` with ``Pi`` the projector onto the row space of ``Pbar S`` for ``Pbar`` the
top-r eigenvectors of ``Sigma_yy_bar`` (numpy.linalg.eigh): the top r modes.
"""

from __future__ import annotations

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


def test_factorised_learns_the_top_r_modes(task):
    """Factorised local (dQ = h (P e)^T, dP = (Q^T h) e^T): the top r modes too, not the
    S Pi of its initial P (measured |a - prediction| <= 1.7e-3 at T = 30 and 200)."""
    w0 = make_init(task, 40, 2, scale=1e-3, rng=np.random.default_rng([0, 1]))
    a = integrate(task, "factorised", w0, [0.0, 30.0], rtol=1e-8, atol=1e-10).mode_strengths[-1]
    np.testing.assert_allclose(a, predicted_mode_strengths(task, oja_limit(task, 2)), atol=3e-3)
    stall = predicted_mode_strengths(task, w0.rotate(task).P)
    assert np.max(np.abs(a - stall)) > 0.1


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
