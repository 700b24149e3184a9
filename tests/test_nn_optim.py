"""Optimisers against textbook scalar recursions and a closed-form quadratic."""

import math

import numpy as np
import pytest

from lintheory.nn import Param, optimisers


def _param(v, g):
    p = Param(np.array(v, dtype=np.float64), "w")
    p.grad[...] = g
    return p


def test_sgd_momentum_matches_recursion():
    p = _param([1.0, -2.0], 0.0)
    opt = optimisers.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for t in range(5):
        g = np.array([0.3, -0.1]) * (t + 1)
        p.grad[...] = g
        opt.step()
        v = 0.9 * v + g + 0.01 * w
        w = w - 0.1 * v
    np.testing.assert_allclose(p.value, w, rtol=1e-14)


def test_sgd_on_quadratic_closed_form():
    """Gradient descent on L = a w^2 / 2: w_t = (1 - lr a)^t w_0."""
    p = _param([2.0], 0.0)
    opt = optimisers.SGD([p], lr=0.1)
    for _ in range(20):
        p.grad[...] = 3.0 * p.value
        opt.step()
    assert np.isclose(p.value[0], 2.0 * (1 - 0.3) ** 20, rtol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_scalar_recursion(amsgrad):
    p = _param([0.5], 0.0)
    opt = optimisers.Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1,
                          amsgrad=amsgrad)
    w, m, v, vmax = 0.5, 0.0, 0.0, 0.0
    grads = [1.0, -3.0, 0.2, 0.1, 5.0, -0.5]
    for t, g0 in enumerate(grads, start=1):
        p.grad[...] = g0
        opt.step()
        g = g0 + 0.1 * w
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        vmax = max(vmax, v)
        vv = vmax if amsgrad else v
        w = w - 0.01 * (m / (1 - 0.8 ** t)) / (math.sqrt(vv / (1 - 0.9 ** t)) + 1e-6)
    assert abs(p.value[0] - w) < 1e-14


def test_float32_kept_and_zero_grad_and_decay():
    p = Param(np.ones(3, np.float32), "w")
    p.grad[...] = 1
    opt = optimisers.Adam([p], lr=0.1)
    opt.step()
    assert p.value.dtype == np.float32
    opt.zero_grad()
    assert not p.grad.any()
    sched = optimisers.ExponentialDecay(opt, 0.5)
    for _ in range(3):
        sched.step()
    assert np.isclose(opt.lr, 0.1 * 0.5 ** 3)


def test_bad_settings():
    p = _param([1.0], 0.0)
    with pytest.raises(ValueError, match="lr"):
        optimisers.SGD([p], lr=0)
    with pytest.raises(ValueError, match="momentum"):
        optimisers.SGD([p], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="betas"):
        optimisers.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="gamma"):
        optimisers.ExponentialDecay(optimisers.SGD([p], lr=0.1), 0)
    with pytest.raises(ValueError, match="Param"):
        optimisers.SGD([np.zeros(2)], lr=0.1)
