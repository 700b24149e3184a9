"""Discrete SGD engine (lintheory.sgd): numba kernels vs the NumPy reference, full-batch GD vs
the ODE (fitted order of convergence), mini-batch = mean of per-sample updates, explicit
one-step formulas of theory §3, reproducibility, divergence and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import two_layer_reference as reference

from lintheory import (
    DivergenceError,
    Weights,
    get_rule,
    integrate,
    kernels,
    make_init,
    make_task,
    sgd,
)
from lintheory.sgd import SampleStream, run_sgd

HYPER = {"lam": 0.1, "wd": 0.05, "p_rate": 0.5}  # every term of theory §3 switched on
ENGINE_MODULES = {"numba": kernels, "numpy": reference}


def max_diff(a, b) -> float:
    return max(float(np.max(np.abs(getattr(a, x) - getattr(b, x)))) for x in ("W1", "W2", "Q", "P"))


@pytest.mark.parametrize("batch", ["online", 5, "full"])
def test_numba_equals_numpy_reference(small_task, small_init, rule_name, batch):
    times = [0.0, 0.3, 0.6]
    kw = dict(lr=0.01, batch=batch, **HYPER)
    a = run_sgd(small_task, rule_name, small_init, times, rng=7, engine="numba", **kw)
    b = run_sgd(small_task, rule_name, small_init, times, rng=7, engine="numpy", **kw)
    assert a.info["steps"] == b.info["steps"] == [0, 30, 60]
    moved = np.max(np.abs(a.W1[-1] - a.W1[0]))
    assert moved > 1e-2  # the comparison is not between two unchanged copies
    assert max_diff(a, b) < 1e-10


def test_chunking_does_not_change_the_run(small_task, small_init, monkeypatch):
    """Sample order and kernels are independent of how the run is cut into engine calls."""
    for batch in ("online", 3, "full"):
        ref = run_sgd(small_task, "raf", small_init, [0.5], lr=0.01, batch=batch, rng=2, **HYPER)
        with monkeypatch.context() as mp:
            mp.setattr(sgd, "CHUNK_SAMPLES", 7)
            mp.setattr(sgd, "CHUNK_FULL_STEPS", 3)
            cut = run_sgd(small_task, "raf", small_init, [0.5], lr=0.01, batch=batch, rng=2,
                          **HYPER)
        assert max_diff(ref, cut) == 0.0


def _one_step_by_formula(W, x, y, rule, eta, lam, wd, eta_P):
    """theory §3 per-sample update, written out with einsum (independent of both engines)."""
    W1, W2, Q, P = W
    h = np.einsum("ij,j->i", W1, x)
    e = y - np.einsum("ij,j->i", W2, h)
    B = W2.T if rule.fused[0] else np.einsum("ia,aj->ij", Q, P)
    dW2 = eta * np.einsum("i,j->ij", e, h) - eta * wd * W2
    dW1 = eta * np.einsum("ij,j,l->il", B, e, x) - eta * wd * W1
    dQ = eta * np.einsum("i,a->ia", h, P @ e) - eta * lam * Q if rule.fused[1] else 0 * Q
    Imm = np.eye(len(y))
    dP = (eta_P * P @ np.outer(y, y) @ (Imm - P.T @ P)) if rule.fused[2] else 0 * P
    return [W1 + dW1, W2 + dW2, Q + dQ, P + dP]


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_minibatch_step_is_mean_of_explicit_per_sample_updates(small_task, small_init,
                                                               paper_rule, engine):
    rule = get_rule(paper_rule)
    mod = ENGINE_MODULES[engine]
    eta, lam, wd, eta_P = 0.05, 0.2, 0.1, 0.03
    W = [np.array(a) for a in (small_init.W1, small_init.W2, small_init.Q, small_init.P)]
    X, Y = small_task.X, small_task.Y
    batch = np.array([3, 17, 17, 40, 63], dtype=np.int64)
    expect = [np.zeros_like(a) for a in W]
    for i in batch:
        for acc, new in zip(expect, _one_step_by_formula(W, X[i], Y[i], rule, eta, lam, wd, eta_P)):
            acc += new / len(batch)
    args = (*rule.fused, eta, lam, wd, eta_P)
    got = [a.copy() for a in W]
    mod.minibatch_steps(*got, X, Y, batch, len(batch), *args)
    for g, ex in zip(got, expect):
        np.testing.assert_allclose(g, ex, rtol=0, atol=1e-13)
    # one online step is the same formula with a batch of one
    one = [a.copy() for a in W]
    mod.online_steps(*one, X, Y, batch[:1], *args)
    for g, ex in zip(one, _one_step_by_formula(W, X[3], Y[3], rule, eta, lam, wd, eta_P)):
        np.testing.assert_allclose(g, ex, rtol=0, atol=1e-13)


def test_full_batch_gd_converges_to_the_ode_with_order_one(small_task, small_init, rule_name):
    """Full-batch GD is forward Euler on the averaged ODE (whitened task): at t = eta * steps
    its error vs the ODE is O(eta)."""
    T = 1.0
    ode = integrate(small_task, rule_name, small_init, [T], solver="DOP853", rtol=1e-12,
                    atol=1e-14, **HYPER)
    etas = np.array([0.04, 0.02, 0.01, 0.005])
    errs = np.array([
        max_diff(run_sgd(small_task, rule_name, small_init, [T], lr=eta, batch="full", **HYPER),
                 ode)
        for eta in etas
    ])
    order = np.polyfit(np.log(etas), np.log(errs), 1)[0]
    assert 0.8 <= order <= 1.2, (order, errs)
    assert errs[-1] < 0.02 * np.max(np.abs(ode.W1)), errs


def test_online_sgd_with_small_lr_tracks_the_ode(small_task, small_init):
    """Online SGD at small lr stays close to the averaged dynamics (loose: SGD noise)."""
    T = 1.0
    ode = integrate(small_task, "raf", small_init, [T], **HYPER)
    sgd_run = run_sgd(small_task, "raf", small_init, [T], lr=1e-3, batch="online", rng=0, **HYPER)
    start = Weights.two_layer(small_init.W1, small_init.W2, small_init.Q,
                              small_init.P).rotate(small_task)
    moved = np.max(np.abs(ode.M[-1] - start.W2 @ start.W1))
    assert np.max(np.abs(sgd_run.M[-1] - ode.M[-1])) < 0.1 * moved


def test_trajectory_fields(small_task, small_init):
    traj = run_sgd(small_task, "fa", small_init, [0.0, 0.25, 0.5], lr=0.05, batch=4, rng=1)
    assert traj.method == "sgd" and traj.rule == "fa"
    np.testing.assert_allclose(traj.times, [0.0, 0.25, 0.5])
    assert traj.info["steps"] == [0, 5, 10]
    assert traj.info["batch_size"] == 4 and traj.info["engine"] == "numba"
    start = small_init.rotate(small_task)
    np.testing.assert_array_equal(traj.W1[0], start.W1)
    np.testing.assert_array_equal(traj.P[0], start.P)
    assert traj.mode_strengths.shape == (3, small_task.d)
    # init is not modified
    again = run_sgd(small_task, "fa", small_init, [0.5], lr=0.05, batch=4, rng=1)
    np.testing.assert_array_equal(again.W1[-1], traj.W1[-1])


def test_same_seed_same_numbers(small_task, small_init):
    for batch in ("online", 6):
        a = run_sgd(small_task, "raf", small_init, [0.4], lr=0.01, batch=batch,
                    rng=np.random.default_rng(5))
        b = run_sgd(small_task, "raf", small_init, [0.4], lr=0.01, batch=batch,
                    rng=np.random.default_rng(5))
        c = run_sgd(small_task, "raf", small_init, [0.4], lr=0.01, batch=batch,
                    rng=np.random.default_rng(6))
        assert max_diff(a, b) == 0.0
        assert max_diff(a, c) > 1e-8


def test_default_rng_is_seeded_and_progress_bar_changes_nothing(small_task, small_init):
    a = run_sgd(small_task, "kp", small_init, [0.2], lr=0.01, batch="online")
    b = run_sgd(small_task, "kp", small_init, [0.2], lr=0.01, batch="online", progress=True)
    assert max_diff(a, b) == 0.0


def test_sample_stream_is_shuffled_epochs_independent_of_chunking():
    N = 7
    whole = SampleStream(N, np.random.default_rng(3)).take(3 * N + 2)
    s = SampleStream(N, np.random.default_rng(3))
    parts = np.concatenate([s.take(c) for c in (1, 5, 9, 0, 8)])
    np.testing.assert_array_equal(whole, parts)
    for ep in range(3):
        assert sorted(whole[ep * N : (ep + 1) * N]) == list(range(N))
    assert s.epochs == 4
    assert not np.array_equal(whole[:N], whole[N : 2 * N])


@pytest.mark.parametrize(("batch", "engine"),
                         [("online", "numba"), (4, "numba"), ("full", "numba"), (4, "numpy")])
def test_divergence_names_the_first_bad_step(small_task, small_init, batch, engine):
    lr = 20.0
    with pytest.raises(DivergenceError, match=r"diverged at step \d+") as info:
        run_sgd(small_task, "bp", small_init, [lr * 50], lr=lr, batch=batch, rng=0,
                engine=engine)
    err = info.value
    assert err.step >= 1 and err.time == pytest.approx(err.step * lr)
    assert err.suggestion == pytest.approx(lr / 4)
    assert "lr=5" in str(err)
    # the step before is still finite and bounded: the reported step is the first bad one
    if err.step > 1:
        ok = run_sgd(small_task, "bp", small_init, [lr * (err.step - 1)], lr=lr, batch=batch,
                     rng=0, engine=engine)
        assert np.all(np.isfinite(ok.W1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"p_rate": -0.1}, "p_rate"),
        ({"lam": -1.0}, "lam"),
        ({"wd": -1.0}, "wd"),
        ({"batch": 0}, "batch"),
        ({"batch": 65}, "batch"),
        ({"batch": 2.5}, "batch"),
        ({"batch": "minibatch"}, "batch"),
        ({"engine": "torch"}, "engine"),
        ({"times": [0.0, 0.001]}, "map to step"),
        ({"times": [0.5, 0.2]}, "times"),
        ({"rule": "sgd"}, "rule"),
    ],
)
def test_bad_arguments(small_task, small_init, kwargs, match):
    args = {"rule": "raf", "times": [0.1], "lr": 0.01, **kwargs}
    rule, times = args.pop("rule"), args.pop("times")
    with pytest.raises(ValueError, match=match):
        run_sgd(small_task, rule, small_init, times, **args)


def test_weights_that_do_not_fit_the_task(small_task):
    other = make_task(n=5, m=6, d=2, N=20, seed=1)
    w = make_init(other, k=4, r=2, rng=0)
    with pytest.raises(ValueError, match="n=5"):
        run_sgd(small_task, "bp", w, [0.1], lr=0.01)
