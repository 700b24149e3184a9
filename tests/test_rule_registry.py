"""A rule defined in this file alone runs through every engine and check.

Sign-symmetry feedback (Liao, Leibo & Poggio 2016): the hidden layer receives
``sign(W2)^T e`` instead of ``W2^T e``. It is registered here and nowhere else; the ODE
(numba and NumPy right-hand sides), both SGD engines and the averaging check of
``lintheory verify`` pick it up from the registry. It does not commute with the SVD
rotation (``sign(U^T W2) != U^T sign(W2)``), so the ODE runs in the unrotated frame.

References: the NumPy engine for the numba one (1e-10), the ODE for full-batch GD (first
order in lr), the closed form ``dW1 = sign(W2)^T E - wd W1`` written here for the flow, and
the per-sample rule averaged over an exactly whitened symbolic data set (SymPy).
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import integrate, make_init, make_task, run_sgd
from lintheory.flow import rule_flow
from lintheory.ops import sign
from lintheory.rules import RULES, Rule, fixed_p, fixed_q, register, unregister


def sign_feedback(W, Q, P, e):
    """Sign-symmetry: ``sign(W)^T e``."""
    return sign(W).T @ e


SIGN = Rule("sign_test", "sign-symmetry feedback sign(W)^T (test-only)", sign_feedback,
            fixed_q, fixed_p, uses_feedback=False, rotatable=False)


@pytest.fixture(scope="module")
def rule():
    from lintheory.symbolic.checks import CHECKS

    register(SIGN)
    yield SIGN
    unregister(SIGN.name)
    for name in [n for n in CHECKS if SIGN.name in n]:
        del CHECKS[name]


@pytest.fixture(scope="module")
def task():
    return make_task(n=6, m=4, d=2, N=40, sigma=0.3, seed=3)


def test_registered_and_unrotated(rule, task):
    assert RULES["sign_test"] is rule
    w = make_init(task, 5, 2, scale=0.5, rng=1)
    with pytest.raises(ValueError, match="frame must be 'unrotated' for rule sign_test"):
        integrate(task, "sign_test", w, [0.0, 1.0], frame="rotated")


def test_flow_is_sign_symmetry(rule, task):
    w = make_init(task, 5, 2, scale=0.5, rng=1)
    E = task.Sigma_yx - w.W2 @ w.W1
    dWs, dQs, dPs = rule_flow(w.Ws, w.Qs, w.Ps, task.Sigma_yx, task.Sigma_yy, rule, wd=0.1)
    np.testing.assert_allclose(dWs[0], np.sign(w.W2).T @ E - 0.1 * w.W1, atol=1e-14)
    np.testing.assert_allclose(dWs[1], E @ w.W1.T - 0.1 * w.W2, atol=1e-14)
    assert not np.any(dQs[0]) and not np.any(dPs[0])


@pytest.mark.parametrize("L", [2, 3])
def test_ode_engines_agree(rule, task, L):
    w = make_init(task, [5] * (L - 1), 2, scale=0.5, rng=1)
    t = np.linspace(0, 3, 4)
    a = integrate(task, "sign_test", w, t, rtol=1e-10, atol=1e-12)
    b = integrate(task, "sign_test", w, t, rtol=1e-10, atol=1e-12, engine="numpy")
    assert a.info["frame"] == "unrotated"
    for x, y in zip(a.Ws, b.Ws):
        np.testing.assert_allclose(x, y, atol=1e-9)


@pytest.mark.parametrize("batch", ["online", 7, "full"])
def test_sgd_engines_agree(rule, task, batch):
    w = make_init(task, [5, 4], 2, scale=0.5, rng=1)
    kw = dict(lr=0.01, batch=batch, rng=2, wd=0.01)
    a = run_sgd(task, "sign_test", w, [0.0, 0.5, 1.0], engine="numba", **kw)
    b = run_sgd(task, "sign_test", w, [0.0, 0.5, 1.0], engine="numpy", **kw)
    assert a.info["kernel"] == "general kernel"
    for x, y in zip(a.Ws + a.Qs + a.Ps, b.Ws + b.Qs + b.Ps):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-10)


def test_full_batch_gd_converges_to_the_ode_first_order(rule):
    task = make_task(n=6, m=4, d=2, N=24, sigma=0.5, seed=2)
    w0 = make_init(task, 5, 2, scale=0.6, rng=3)
    ref = integrate(task, "sign_test", w0, [0.0, 2.0], rtol=1e-11, atol=1e-13)
    lrs = np.array([0.04, 0.02, 0.01])
    errs = [np.max(np.abs(run_sgd(task, "sign_test", w0, [0.0, 2.0], lr=lr).M[-1]
                          - ref.M[-1])) for lr in lrs]
    slope = np.polyfit(np.log(lrs), np.log(errs), 1)[0]
    assert 0.9 < slope < 1.1, (slope, errs)


def test_averaging_check_picks_it_up(rule):
    from lintheory.symbolic import select
    from lintheory.symbolic.deep import check_deep

    names = {c.name for c in select("*sign_test*")}
    assert {"deep.avg.sign_test", "deep.avg2.sign_test"} <= names
    for c in select("*sign_test*"):
        res = c.run()
        assert res.ok, (c.name, res.residual)
    # and the check can fail: a wrong flow (dW1 with W2^T instead of sign(W2)^T)
    from dataclasses import replace

    from lintheory.rules import transport_feedback

    def wrong_flow(Ws, Qs, Ps, Syx, Syy, r, **kw):
        return rule_flow(Ws, Qs, Ps, Syx, Syy, replace(r, feedback=transport_feedback), **kw)

    res = check_deep("sign_test", widths=(3,), weights="rational", flow=wrong_flow)
    assert not res["dW_1"] and res["dW_2"]


def test_a_replaced_rule_compiles_its_own_functions():
    """``dataclasses.replace`` of a rule gets its own compiled functions, not the cache of
    the rule it was made from (the compiled feedback of BP's transport is W^T e)."""
    from dataclasses import replace

    from lintheory.rules import RULES, transport_feedback

    raf = RULES["raf"]
    raf.jitted()
    other = replace(raf, name="raf_transport", feedback=transport_feedback)
    W, Q, P, e = (np.ones((3, 4)), np.ones((4, 2)), np.ones((2, 3)), np.arange(3.0)[:, None])
    np.testing.assert_array_equal(other.jitted()[0][0](W, Q, P, e), W.T @ e)
    np.testing.assert_array_equal(raf.jitted()[0][0](W, Q, P, e), Q @ (P @ e))
