"""Numerical robustness (issue 6, item 7).

* The NumPy NN engine in float32 and float64 (``TrainConfig.dtype``) gives the same
  training curve: per-epoch losses within 1e-4 relative over 8 epochs (measured: at most
  1.0e-5 over 15 epochs for BP with SGD + momentum and 1.7e-6 for RAF rank 4 with Adam, a
  32 x 2 MLP on digits), the same accuracies to one test example.
* The linear SGD engine is float64 only; a long online run (20,000 single-sample steps)
  with the numba kernels equals the NumPy reference to 1e-12 (measured 1.3e-14).
* A diverging linear run stops at the *first* step whose weights exceed 1e6 or become
  non-finite (the step before is fine), within a few steps of the loss running away, and
  the error names the step, the time and lr / 4; a diverging NN run names epoch and step.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import make_init, make_task, run_sgd
from lintheory.dynamics import BLOWUP
from lintheory.errors import DivergenceError
from lintheory.nn.data import load_dataset
from lintheory.nn.train import TrainConfig, train


@pytest.fixture(scope="module")
def digits():
    return {dt: load_dataset("digits", shape="flat", seed=0, val_fraction=0.15,
                             dtype=np.dtype(dt)) for dt in ("float32", "float64")}


@pytest.mark.parametrize("rule, rank, optimizer, lr", [
    ("raf", 4, "adam", 1e-3),
    ("bp", None, "sgd", 0.05),
])
def test_float32_and_float64_training_agree(digits, rule, rank, optimizer, lr):
    hist = {}
    for dt in ("float32", "float64"):
        cfg = TrainConfig(hidden=32, depth=2, epochs=8, rule=rule, rank=rank,
                          optimizer=optimizer, lr=lr, dtype=dt)
        hist[dt] = train(cfg, data=digits[dt])
    for key in ("train_loss", "test_loss"):
        a, b = np.array(hist["float32"][key]), np.array(hist["float64"][key])
        rel = np.abs(a - b) / np.abs(b)
        assert rel.max() < 1e-4, (key, rel)
        assert rel.max() > 0  # the two precisions really differ (float32 is in effect)
    for key in ("train", "test"):  # accuracies: at most one example apart
        n = hist["float64"]["data"][f"n_{key}"]
        diff = np.abs(np.array(hist["float32"][f"{key}_acc"]) - hist["float64"][f"{key}_acc"])
        assert diff.max() <= 1.0 / n + 1e-12, (key, diff)
    # the learning actually happened (the comparison is not between two flat curves)
    assert hist["float64"]["train_loss"][-1] < 0.8 * hist["float64"]["train_loss"][0]


def test_long_online_run_numba_equals_numpy():
    task = make_task(8, 6, 3, 64, sigma=0.5, seed=0)
    w0 = make_init(task, 10, 2, scale=0.5, rng=np.random.default_rng(1))
    times = np.linspace(0.0, 200.0, 5)  # lr 0.01: 20,000 single-sample steps
    a, b = (run_sgd(task, "raf", w0, times, lr=0.01, batch="online", rng=3, engine=e)
            for e in ("numba", "numpy"))
    assert a.info["steps"][-1] == 20000
    for x, y in ((a.W1, b.W1), (a.W2, b.W2), (a.Q, b.Q), (a.P, b.P)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)
    # and the long run went somewhere: RAF r = 2 learns the top two modes (to SGD noise)
    np.testing.assert_allclose(a.mode_strengths[-1][:2], [1, 1], atol=0.05)


def _max_abs(traj, i):
    return max(np.abs(w[i]).max() for w in (traj.W1, traj.W2, traj.Q, traj.P))


@pytest.mark.parametrize("batch, lr", [("full", 0.25), ("full", 0.3), (8, 0.15), (8, 0.2),
                                       ("online", 1.0)])
def test_divergence_is_caught_at_the_first_bad_step_and_early(batch, lr):
    task = make_task(8, 6, 3, 64, sigma=0.5, seed=0)
    w0 = make_init(task, 10, 2, scale=0.5, rng=np.random.default_rng(1))
    with pytest.raises(DivergenceError) as ei:
        run_sgd(task, "raf", w0, lr * np.arange(0.0, 3000.0, 10.0), lr=lr, batch=batch, rng=0)
    err = ei.value
    s = err.step
    assert f"diverged at step {s} " in str(err) and f"lr={lr / 4:.3g} (lr/4)" in str(err)
    assert err.suggestion == lr / 4 and err.time == pytest.approx(s * lr)
    # every step before s is fine: record them all with the NumPy reference
    traj = run_sgd(task, "raf", w0, lr * np.arange(s), lr=lr, batch=batch, rng=0,
                   engine="numpy")
    assert all(_max_abs(traj, i) <= BLOWUP for i in range(s))
    # ... and step s is not: one more step gives the same error at the same step
    with pytest.raises(DivergenceError) as again:
        run_sgd(task, "raf", w0, lr * np.arange(s + 1), lr=lr, batch=batch, rng=0,
                engine="numpy")
    assert again.value.step == s
    # early: at most 12 steps after the loss first exceeds 10x its best value so far
    loss = traj.loss
    away = np.flatnonzero(loss > 10 * np.minimum.accumulate(loss))
    start = int(away[0]) if away.size else s
    assert s - start <= 12, (s, start)


def test_nn_divergence_names_epoch_step_and_a_smaller_lr(digits):
    cfg = TrainConfig(hidden=16, depth=2, epochs=2, optimizer="sgd", lr=1e6)
    with pytest.raises(DivergenceError) as ei:
        train(cfg, data=digits["float32"])
    err = ei.value
    assert 1 <= err.step <= 5  # a few mini-batches, not the end of the epoch
    assert f"at epoch 1, step {err.step} " in str(err) and "e.g. --lr 250000" in str(err)
    assert err.suggestion == 1e6 / 4
