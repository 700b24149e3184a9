"""Float32 against float64 in the NumPy engine, one step of every rule (issue 14, item 6).

From identical weights (float32 values, copied exactly into a float64 model) and an
identical batch, one forward and backward pass in float32 must give every gradient and
every feedback update (the ``grad`` of Q and P) within a rounding-error bound of the
float64 computation of the same pass, which is the independent reference here.

The bound: a dot product of length ``K`` computed in float32 has a relative forward error
of at most about ``K u`` (``u = 2^-24``, worst case; typically ``sqrt(K) u``), and the pass
chains at most ``2 L`` such products (forward and backward through ``L`` weight layers),
so ``rtol = 2 L K_max u`` with ``K_max`` the longest inner dimension (the batch or a
width). Trajectories over many steps are another matter: there a pre-activation within
rounding of 0 flips a ReLU mask and the runs separate, as a float64 run from weights
perturbed by ``u`` does (measured in ``benchmarks/bench_dtype.py``).
"""

import numpy as np
import pytest

from lintheory.nn import build_model, losses
from lintheory.nn.feedback import FEEDBACK_RULES

U32 = float(np.finfo(np.float32).eps) / 2        # unit roundoff 2^-24
IN, HIDDEN, DEPTH, CLASSES, BATCH = 12, 16, 3, 5, 24
RANKED = ("fa", "kp", "raf", "draf", "dfa", "normative", "oja", "factorised")
N_LAYERS = DEPTH + 1
RTOL = 2 * N_LAYERS * max(IN, HIDDEN, BATCH) * U32      # 1.1e-5


def _pair(rule, seed):
    """A float32 model and a float64 model with exactly the same weights and factors."""
    rank = 3 if rule in RANKED else None
    kw = dict(rule=rule, rank=rank, hidden=HIDDEN, depth=DEPTH)
    m32 = build_model("mlp", (IN,), CLASSES, rng=np.random.default_rng(seed),
                      dtype=np.float32, **kw)
    m64 = build_model("mlp", (IN,), CLASSES, rng=np.random.default_rng(seed),
                      dtype=np.float64, **kw)
    m64.load_state_dict({k: v.astype(np.float64) for k, v in m32.state_dict().items()})
    return m32, m64


def _batch(seed):
    rng = np.random.default_rng(100 + seed)
    return (rng.normal(size=(BATCH, IN)).astype(np.float32),
            rng.integers(0, CLASSES, BATCH))


def _grads(model, X, y):
    logits = model.forward(X.astype(model.dtype), train=True)
    loss, e = losses.softmax_cross_entropy(logits, y)
    model.zero_grad()
    model.backward(e, targets_onehot=losses.one_hot(y, CLASSES, model.dtype))
    return loss, {p.name: p.grad.copy() for p in model.params() + model.feedback_params()}


def _rel(a, b):
    return np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b)


def _train_float64(m64, X, y, steps=30, lr=0.05):
    """Plain SGD in float64 (forward weights and feedback factors), to leave the
    initial weights: Oja's P near its subspace, Q P nearer W^T."""
    for _ in range(steps):
        _grads(m64, X, y)
        for p in m64.params() + m64.feedback_params():
            p.value -= lr * p.grad


@pytest.mark.parametrize("rule", sorted(FEEDBACK_RULES))
@pytest.mark.parametrize("seed", [0, 1])
def test_one_step_float32_equals_float64_within_rounding(rule, seed):
    m32, m64 = _pair(rule, seed)
    X, y = _batch(seed)
    l32, g32 = _grads(m32, X, y)
    l64, g64 = _grads(m64, X, y)
    assert set(g32) == set(g64)
    if rule in ("raf", "oja", "draf", "normative", "factorised"):
        assert any(".fb.P" in k for k in g64)          # the P update is exercised
    assert abs(l32 - l64) <= RTOL * abs(l64)
    for k, g in g32.items():
        assert g.dtype == np.float32, k                 # float32 really computed in float32
        assert _rel(g, g64[k]) <= RTOL, (k, _rel(g, g64[k]), RTOL)


@pytest.mark.parametrize("rule", ["raf", "oja", "draf", "normative", "factorised", "kp"])
def test_one_step_agrees_after_training_too(rule):
    """The same bound from weights after 30 float64 SGD steps (rounded to float32), where
    Oja's update and the normative residual are differences of closer terms."""
    m32, m64 = _pair(rule, 0)
    X, y = _batch(0)
    _train_float64(m64, X.astype(np.float64), y)
    m32.load_state_dict({k: v.astype(np.float32) for k, v in m64.state_dict().items()})
    m64.load_state_dict({k: v.astype(np.float64) for k, v in m32.state_dict().items()})
    _, g32 = _grads(m32, X, y)
    _, g64 = _grads(m64, X, y)
    for k, g in g32.items():
        assert _rel(g, g64[k]) <= RTOL, (k, _rel(g, g64[k]), RTOL)


def test_the_bound_would_catch_a_lower_precision():
    """The test can fail: gradients from weights rounded to float16 (u = 2^-11) are
    outside the bound (so a float32 pass that lost that much precision would be too)."""
    m32, m64 = _pair("raf", 0)
    X, y = _batch(0)
    m16 = _pair("raf", 0)[1]
    m16.load_state_dict({k: v.astype(np.float16).astype(np.float64)
                         for k, v in m64.state_dict().items()})
    _, g64 = _grads(m64, X, y)
    _, g16 = _grads(m16, X, y)
    assert max(_rel(g16[k], g64[k]) for k in g64) > 10 * RTOL


def test_softmax_cross_entropy_float32_keeps_confident_rows():
    """Rows with ``p_y`` near 1 (margins 5 to 30): the float32 loss and ``e_out`` within a
    few u of the exact values of the same float32 logits (mpmath, 40 digits; ``1 - p_y``
    taken as ``1 - exp(log p_y)`` gave 0 from margin ~17 on, relative error 1)."""
    import mpmath

    rng = np.random.default_rng(3)
    n = 40
    logits = rng.normal(size=(n, CLASSES))
    y = rng.integers(0, CLASSES, n)
    logits[np.arange(n), y] = logits.max(axis=1) + np.linspace(5, 30, n)
    L32 = logits.astype(np.float32)
    loss, e = losses.softmax_cross_entropy(L32, y)
    e_ref, nll = np.empty((n, CLASSES)), []
    with mpmath.workdps(40):
        for i in range(n):
            ex = [mpmath.exp(mpmath.mpf(float(v))) for v in L32[i]]
            S = mpmath.fsum(ex)
            rest = mpmath.fsum(x for j, x in enumerate(ex) if j != y[i])
            e_ref[i] = [float((rest if j == y[i] else -x) / S / n) for j, x in enumerate(ex)]
            nll.append(mpmath.log1p(rest / ex[y[i]]))
        loss_ref = float(mpmath.fsum(nll) / n)
    assert e.dtype == np.float32
    # entrywise relative error (the label's entry is as small as 1e-14 here); z = L - max
    # rounds with absolute error up to u |L| (|L| <= 33 here), which exp makes relative
    assert np.max(np.abs(e - e_ref) / np.abs(e_ref)) <= 64 * U32
    assert abs(loss - loss_ref) <= 64 * U32 * loss_ref
