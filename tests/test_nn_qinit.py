"""``q_init_scale``: the initial Q is scaled (0: zero), and KP then builds Q from h (P e)^T."""

import numpy as np
import pytest

from lintheory.nn import optimisers
from lintheory.nn.base import BackwardContext, ForwardContext
from lintheory.nn.feedback import make_feedback
from lintheory.nn.layers import Linear

F64 = np.float64


def _layer(rule, rank, **hyper):
    layer = Linear(6, 5, rng=np.random.default_rng(0), dtype=F64)
    layer.feedback = make_feedback(rule, **hyper)
    layer.feedback.setup("fc", 6, 5, rank, 0.4, np.random.default_rng(1), F64)
    return layer


@pytest.mark.parametrize("rule", ["kp", "raf", "fa"])
def test_q_init_scale_scales_the_same_draw(rule):
    Q1 = _layer(rule, 2).feedback.Q.value
    Qh = _layer(rule, 2, q_init_scale=0.5).feedback.Q.value
    Q0 = _layer(rule, 2, q_init_scale=0.0).feedback.Q.value
    assert np.abs(Q1).max() > 0.05
    np.testing.assert_allclose(Qh, 0.5 * Q1, rtol=1e-15)
    np.testing.assert_array_equal(Q0, np.zeros_like(Q1))
    np.testing.assert_array_equal(                       # P is unchanged
        _layer(rule, 2, q_init_scale=0.0).feedback.P.value, _layer(rule, 2).feedback.P.value)


def test_zero_q_tracks_the_change_of_w_under_sgd():
    """KP with P fixed, no decay, same SGD on W and Q, Q(0) = 0: Q = (W - W0)^T P^T (theory §5)."""
    layer = _layer("kp", 3, q_init_scale=0.0)
    fb = layer.feedback
    W0 = layer.W.value.copy()
    opt_w = optimisers.SGD([layer.W], lr=0.05, momentum=0.9)
    opt_q = optimisers.SGD([fb.Q], lr=0.05, momentum=0.9)
    rng = np.random.default_rng(2)
    for _ in range(20):
        h, e = rng.normal(size=(8, 6)), rng.normal(size=(8, 5)) / 8
        layer.W.grad[...] = 0
        fb.Q.grad[...] = 0
        _, c = layer.forward(h, ForwardContext(False))
        layer.backward(e, c, BackwardContext(e))
        opt_w.step()
        opt_q.step()
    dW = layer.W.value - W0
    assert np.linalg.norm(dW) > 0.1
    np.testing.assert_allclose(fb.Q.value, dW.T @ fb.P.value.T, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "x"])
def test_q_init_scale_bad_values(bad):
    with pytest.raises(ValueError, match=r"q_init_scale must be a number in \[0, 1e\+06\]"):
        make_feedback("raf", q_init_scale=bad)
