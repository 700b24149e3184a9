"""Feedback rules against their explicit formulas and independent references."""

import numpy as np
import pytest

from lintheory.nn import FEEDBACK_RULES, build_model, losses, optimisers
from lintheory.nn.base import BackwardContext, ForwardContext
from lintheory.nn.feedback import centred_scaled, make_feedback
from lintheory.nn.layers import Linear
from lintheory.nn.models import feedback_alignment

F64 = np.float64
SHAPES = {"mlp": (6,), "cnn": (1, 4, 4), "vit": (1, 4, 4)}
KW = {"mlp": dict(hidden=7, depth=3), "cnn": dict(hidden=6, channels=(2, 3, 4)),
      "vit": dict(hidden=8, depth=1, heads=2)}


def _batch(kind, B=5, seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B,) + SHAPES[kind]), rng.integers(0, 3, B)


def _grads(model, X, y):
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e, targets_onehot=losses.one_hot(y, 3, F64), compare_bp=True)
    return {p.name: p.grad.copy() for p in model.params()}


@pytest.mark.parametrize("kind", ["mlp", "cnn", "vit"])
@pytest.mark.parametrize("rule", ["raf", "kp", "normative", "fa"])
def test_full_rank_QP_equal_WT_gives_bp_updates(kind, rule):
    """With P orthogonal and Q = W^T P^T (so Q P = W^T) the forward updates equal BP's."""
    bp = build_model(kind, SHAPES[kind], 3, rule="bp", rng=np.random.default_rng(0),
                     dtype=F64, **KW[kind])
    other = build_model(kind, SHAPES[kind], 3, rule=rule, rng=np.random.default_rng(0),
                        dtype=F64, **KW[kind])
    for pa, pb in zip(bp.params(), other.params()):
        np.testing.assert_array_equal(pa.value, pb.value)
    for layer in other.feedback_layers:
        fb = layer.feedback
        assert fb.rank == layer.Wm.shape[0]
        if fb.P is None:
            fb.Q.value[...] = layer.Wm.T
        else:
            P = fb.P.value
            np.testing.assert_allclose(P @ P.T, np.eye(P.shape[0]), atol=1e-12)
            fb.Q.value[...] = layer.Wm.T @ P.T
        np.testing.assert_allclose(fb.matrix(), layer.Wm.T, atol=1e-12)
    X, y = _batch(kind)
    g_bp, g_other = _grads(bp, X, y), _grads(other, X, y)
    for name, g in g_bp.items():
        np.testing.assert_allclose(g_other[name], g, rtol=1e-10, atol=1e-13, err_msg=name)
    rep = other.feedback_report()
    assert max(r["angle_deg"] for r in rep) < 1e-4
    assert min(r["bp_cos"] for r in rep) > 1 - 1e-12
    if rule in ("raf", "kp", "normative"):
        assert max(r["q_dist"] for r in rep) < 1e-12


@pytest.mark.parametrize("rank", [None, 3])
def test_fa_input_error_is_B_e(rank):
    model = build_model("mlp", (6,), 4, rule="fa", rank=rank, hidden=[9, 8], depth=2,
                        rng=np.random.default_rng(1), dtype=F64)
    X, y = _batch("mlp")
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e, compare_bp=True)
    fc1, fc2, fc3 = model.weight_layers
    a1 = X @ fc1.W.value.T + fc1.b.value
    a2 = np.maximum(a1, 0) @ fc2.W.value.T + fc2.b.value
    for below, above, a in ((fc1, fc2, a1), (fc2, fc3, a2)):
        B = above.feedback.matrix()
        assert B.shape == (above.Wm.shape[1], above.Wm.shape[0])
        if rank is not None:
            assert np.linalg.matrix_rank(B) == rank
        expect = (model.errors[above.name] @ B.T) * (a > 0)
        np.testing.assert_allclose(model.errors[below.name], expect, rtol=1e-13, atol=1e-15)
        ea = model.errors[above.name]
        a, b = (ea @ B.T).ravel(), (ea @ above.Wm).ravel()
        assert np.isclose(model.bp_cosines[above.name], a @ b / np.linalg.norm(a)
                          / np.linalg.norm(b), rtol=1e-12)
    assert model.feedback_params() == []          # fixed B is not trained


def test_fa_linear_layer_returns_exactly_B_e():
    layer = Linear(5, 4, rng=np.random.default_rng(0), dtype=F64)
    layer.feedback = make_feedback("fa")
    layer.feedback.setup("fc", 5, 4, None, 0.3, np.random.default_rng(1), F64)
    x = np.random.default_rng(2).normal(size=(3, 5))
    e = np.random.default_rng(3).normal(size=(3, 4))
    _, c = layer.forward(x, ForwardContext(False))
    d = layer.backward(e, c, BackwardContext(e))
    B = layer.feedback.matrix()
    assert np.array_equal(d, e @ B.T)


def _one_layer(rule, rank, **hyper):
    layer = Linear(6, 5, rng=np.random.default_rng(0), dtype=F64)
    layer.feedback = make_feedback(rule, **hyper)
    layer.feedback.setup("fc", 6, 5, rank, 0.4, np.random.default_rng(1), F64)
    rng = np.random.default_rng(2)
    return layer, rng.normal(size=(8, 6)), rng.normal(size=(8, 5)) / 8


def test_raf_updates_equal_explicit_formulas():
    lam, lp, s = 0.03, 0.02, 0.7
    layer, h, e = _one_layer("raf", 2, q_decay=lam, p_decay=lp, p_lr_scale=s)
    fb = layer.feedback
    Q, P = fb.Q.value.copy(), fb.P.value.copy()
    _, c = layer.forward(h, ForwardContext(False))
    d = layer.backward(e, c, BackwardContext(e))
    np.testing.assert_allclose(d, e @ (Q @ P).T, rtol=1e-12)
    # Delta Q = sum_samples h (P e)^T - lam Q ;  grad = -Delta
    dQ = sum(np.outer(h[i], P @ e[i]) for i in range(8)) - lam * Q
    np.testing.assert_allclose(fb.Q.grad, -dQ, rtol=1e-12)
    # Oja: Delta P = s P C (I - P^T P) - lp P, C of centred errors scaled by max std
    Ec = (e - e.mean(0)) / (e.std(0).max() + 1e-8)
    C = Ec.T @ Ec / 8
    dP = s * P @ C @ (np.eye(5) - P.T @ P) - lp * P
    np.testing.assert_allclose(fb.P.grad, -dP, rtol=1e-12)


def test_output_layer_oja_uses_centred_targets():
    model = build_model("mlp", (6,), 3, rule="raf", rank=2, hidden=5, depth=1,
                        rng=np.random.default_rng(0), dtype=F64)
    X, y = _batch("mlp", B=12)
    T = losses.one_hot(y, 3, F64)
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e, targets_onehot=T)
    P = model.feedback_layers[-1].feedback.P
    Tc = (T - T.mean(0)) / (T.std(0).max() + 1e-8)
    C = Tc.T @ Tc / 12
    np.testing.assert_allclose(P.grad, -(P.value @ C @ (np.eye(3) - P.value.T @ P.value)),
                               rtol=1e-12)


def test_kp_with_equal_decay_contracts_Q_to_WT_PT():
    """One SGD step with decay lam on W and Q: Q - W^T P^T shrinks by (1 - lr lam)."""
    lam, lr = 0.1, 0.05
    layer, h, e = _one_layer("kp", 3, q_decay=lam)
    fb = layer.feedback
    gap0 = fb.Q.value - layer.W.value.T @ fb.P.value.T
    _, c = layer.forward(h, ForwardContext(False))
    layer.backward(e, c, BackwardContext(e))
    optimisers.SGD([layer.W], lr=lr, weight_decay=lam).step()
    optimisers.SGD([fb.Q], lr=lr).step()
    gap1 = fb.Q.value - layer.W.value.T @ fb.P.value.T
    np.testing.assert_allclose(gap1, (1 - lr * lam) * gap0, rtol=1e-10, atol=1e-14)


def test_oja_converges_to_top_r_eigenvectors():
    rng = np.random.default_rng(0)
    D, r, N = 8, 3, 400
    evecs = np.linalg.qr(rng.normal(size=(D, D)))[0]
    E = (rng.normal(size=(N, D)) * np.linspace(3.0, 0.5, D)) @ evecs.T
    layer, _, _ = _one_layer("raf", r)
    fb = make_feedback("raf")
    fb.setup("fc", 4, D, r, 0.3, np.random.default_rng(3), F64)
    opt = optimisers.SGD([fb.P], lr=0.1)
    for _ in range(600):
        fb.backward(np.zeros((N, 4)), E, np.zeros((D, 4)), E)
        opt.step()
    Ec = centred_scaled(E, 1e-8)
    w, v = np.linalg.eigh(Ec.T @ Ec / N)
    top = v[:, ::-1][:, :r]
    P = fb.P.value
    np.testing.assert_allclose(P @ P.T, np.eye(r), atol=1e-6)
    cos = np.linalg.svd(top.T @ P.T, compute_uv=False)
    assert cos.min() > 1 - 1e-6
    rep = feedback_alignment("fc", fb, np.zeros((D, 4)), E)
    assert rep["overlap"] > 1 - 1e-6 and rep["orth_err"] < 1e-5


def test_normative_reaches_best_rank_r_approximation():
    layer, h, e = _one_layer("normative", 2)
    fb = layer.feedback
    opt = optimisers.SGD(fb.params(), lr=0.2)
    for _ in range(3000):
        fb.backward(h, e, layer.Wm, None)
        opt.step()
    U, s, Vt = np.linalg.svd(layer.Wm.T)
    best = (U[:, :2] * s[:2]) @ Vt[:2]                   # Eckart-Young
    np.testing.assert_allclose(fb.matrix(), best, atol=1e-6)


@pytest.mark.parametrize("rule", ["dfa", "draf"])
@pytest.mark.parametrize("source", ["output", "penultimate"])
def test_direct_rules_send_source_error(rule, source):
    model = build_model("mlp", (6,), 3, rule=[rule, rule, "raf"] if source == "penultimate"
                        else rule, rank=2, hidden=[5, 4, 6], depth=3,
                        rng=np.random.default_rng(0), dtype=F64,
                        feedback_kwargs={"source": source})
    X, y = _batch("mlp")
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e, targets_onehot=losses.one_hot(y, 3, F64))
    fc1, fc2, fc3, fc4 = model.weight_layers
    e_s = e if source == "output" else model.errors["fc3"]
    fb = fc2.feedback                                  # sends fc1's error
    assert fb.direct and fb.Q.value.shape == (5, 2) and fb.P.value.shape == (2, e_s.shape[1])
    a1 = X @ fc1.W.value.T + fc1.b.value
    np.testing.assert_allclose(model.errors["fc1"], (e_s @ fb.matrix().T) * (a1 > 0),
                               rtol=1e-12, atol=1e-15)
    if rule == "draf":
        h1 = np.maximum(a1, 0)
        np.testing.assert_allclose(fb.Q.grad, -(h1.T @ (e_s @ fb.P.value.T)), rtol=1e-12)
        Ec = centred_scaled(e_s, 1e-8)
        np.testing.assert_allclose(
            fb.P.grad, -(fb.P.value @ (Ec.T @ Ec / 5) @ (np.eye(e_s.shape[1])
                                                         - fb.P.value.T @ fb.P.value)),
            rtol=1e-10)
    else:
        assert model.feedback_params() == [p for la in (fc2, fc3, fc4)
                                           for p in la.feedback.params()]


def test_feedback_report_fields():
    model = build_model("cnn", (1, 4, 4), 3, rule="raf", rank=[2, 3, 4, 3], hidden=6,
                        channels=(2, 3, 4), rng=np.random.default_rng(0))
    X, y = _batch("cnn")
    _, e = losses.softmax_cross_entropy(model.forward(X, train=True), y)
    model.backward(e, targets_onehot=losses.one_hot(y, 3))
    rep = model.feedback_report(model.errors)
    assert [r["name"] for r in rep] == ["conv2", "conv3", "fc1", "fc2"]
    assert [r["rank"] for r in rep] == [2, 3, 4, 3]
    for r in rep:
        assert 0 <= r["angle_deg"] <= 180 and r["norm_ratio"] > 0
        assert len(r["principal_cos"]) == r["rank"] and 0 <= r["overlap"] <= 1 + 1e-9
    conv2 = model.weight_layers[1]
    assert conv2.feedback.Q.value.shape == (9 * 2, 2) and conv2.feedback.P.value.shape == (2, 3)


def test_registry_and_bad_inputs():
    assert set(FEEDBACK_RULES) == {"bp", "fa", "kp", "raf", "draf", "dfa", "normative", "oja",
                                   "sign", "mirror", "factorised"}
    rng = np.random.default_rng(0)
    mk = lambda **kw: build_model(**{"kind": "mlp", "input_shape": (6,), "n_classes": 3,
                                      "hidden": 5, "depth": 2, "rng": rng, **kw})
    with pytest.raises(ValueError, match="rule must be one of"):
        mk(rule="hebb")
    with pytest.raises(ValueError, match="kind must be one of"):
        mk(kind="rnn")
    for bad in (0, -2):
        with pytest.raises(ValueError, match=r"rank of layer 'fc2' must be >= 1"):
            mk(rule="raf", rank=bad)
    with pytest.raises(ValueError, match=r"rank of layer 'fc2' must be in \[1, 5\].*got 6"):
        mk(rule="raf", rank=6)
    with pytest.raises(ValueError, match=r"rank of layer 'fc3' must be in \[1, 3\].*got 4"):
        mk(rule="fa", rank=[2, 4])
    with pytest.raises(ValueError, match="one entry per feedback layer"):
        mk(rule="raf", rank=[2, 2, 2])
    with pytest.raises(ValueError, match="must be an int"):
        mk(rule="raf", rank=2.5)
    with pytest.raises(ValueError, match="unknown feedback hyperparameter"):
        mk(rule="raf", feedback_kwargs={"eta_q": 1.0})
    with pytest.raises(ValueError, match="dtype"):
        mk(dtype=np.int32)
    with pytest.raises(ValueError, match="output layer"):
        mk(rule="draf", feedback_kwargs={"source": "penultimate"})
    with pytest.raises(ValueError, match="direct rules"):
        build_model("vit", (1, 4, 4), 3, rule="dfa", hidden=8, depth=1, heads=2, rng=rng)
    with pytest.raises(ValueError, match="rank of layer 'conv2' must be in"):
        build_model("cnn", (1, 4, 4), 3, rule="raf", rank=[4, 1, 1, 1], hidden=6,
                    channels=(2, 3, 4), rng=rng)
    with pytest.raises(ValueError, match="unknown option"):
        build_model("cnn", (1, 4, 4), 3, heads=2, rng=rng)
    with pytest.raises(ValueError, match="depth is not an option"):
        build_model("cnn", (1, 4, 4), 3, depth=3, rng=rng)
    with pytest.raises(ValueError, match="disagree"):
        build_model("vit", (1, 4, 4), 3, hidden=8, dim=16, rng=rng)
    vit = build_model("vit", (1, 4, 4), 3, dim=8, blocks=1, heads=2, rng=rng)
    assert len(vit.feedback_layers) == 7 and vit.weight_layers[0].W.value.shape == (8, 4)
    model = mk()
    with pytest.raises(ValueError, match="X must have shape"):
        model.forward(np.zeros((2, 7)), train=False)


def _prototype_data(n=600, d=64, c=10, seed=0):
    rng = np.random.default_rng(seed)
    protos = rng.normal(size=(c, d))
    y = rng.integers(0, c, n)
    return (protos[y] + 1.5 * rng.normal(size=(n, d))).astype(np.float32), y


def test_raf_rank10_mlp_learns_synthetic_digits():
    X, y = _prototype_data()
    model = build_model("mlp", (64,), 10, rule="raf", rank=10, hidden=64, depth=2,
                        rng=np.random.default_rng(0))
    opt = optimisers.Adam(model.params() + model.feedback_params(), lr=1e-3, amsgrad=True)
    order = np.random.default_rng(1)
    first = None
    for _ in range(8):
        idx = order.permutation(len(y))
        for b in range(0, len(y), 32):
            j = idx[b:b + 32]
            loss, e = losses.softmax_cross_entropy(model.forward(X[j], train=True), y[j])
            first = loss if first is None else first
            opt.zero_grad()
            model.backward(e, targets_onehot=losses.one_hot(y[j], 10))
            opt.step()
    final, _ = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    acc = np.mean(model.forward(X, train=False).argmax(1) == y)
    assert final < 0.3 * first and acc > 0.9
    rep = model.feedback_report()
    assert rep[-1]["angle_deg"] < 80          # the output layer's feedback aligns with W^T


def test_conv_raf_is_1x1_P_then_transposed_conv_Q():
    """theory §6 conv form, written out with loops: P mixes channels at every position
    (1x1 conv C_out -> r), Q is a k x k transposed convolution r -> C_in."""
    from lintheory.nn.conv import Conv2d

    k, s, p, r = 3, 2, 1, 2
    conv = Conv2d(3, 4, k, stride=s, padding=p, rng=np.random.default_rng(0), dtype=F64)
    conv.feedback = make_feedback("raf")
    conv.feedback.setup("conv", k * k * 3, 4, r, 0.3, np.random.default_rng(1), F64)
    x = np.random.default_rng(2).normal(size=(2, 3, 5, 6))
    y, c = conv.forward(x, ForwardContext(False))
    e = np.random.default_rng(3).normal(size=y.shape)
    d = conv.backward(e, c, BackwardContext(e))
    Q, P = conv.feedback.Q.value, conv.feedback.P.value
    Pe = np.einsum("ro,bohw->brhw", P, e)                       # 1x1 convolution
    Qk = Q.reshape(k, k, 3, r).transpose(3, 2, 0, 1)            # (r, C_in, k, k)
    ref = np.zeros((2, 3, 5 + 2 * p, 6 + 2 * p))
    for oy in range(y.shape[2]):
        for ox in range(y.shape[3]):
            ref[:, :, oy * s:oy * s + k, ox * s:ox * s + k] += np.einsum(
                "rcij,br->bcij", Qk, Pe[:, :, oy, ox])
    np.testing.assert_allclose(d, ref[:, :, p:-p, p:-p], rtol=1e-12)
    # Delta Q pairs each input patch with P e at that position, summed over positions
    cols = np.zeros((k, k, 3, r))
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    for oy in range(y.shape[2]):
        for ox in range(y.shape[3]):
            patch = xp[:, :, oy * s:oy * s + k, ox * s:ox * s + k]     # (B, C, k, k)
            cols += np.einsum("bcij,br->ijcr", patch, Pe[:, :, oy, ox])
    np.testing.assert_allclose(conv.feedback.Q.grad, -cols.reshape(-1, r), rtol=1e-12)


def test_oja_delta_both_product_orders_equal_the_formula():
    """Both orders of ``oja_delta`` equal ``P C (I - P^T P)`` written out with numpy."""
    from lintheory.nn.feedback import oja_delta

    rng = np.random.default_rng(3)
    for n, d, r in ((32, 40, 3), (8, 40, 40), (5, 6, 6)):     # small r, and r = D
        P = rng.normal(size=(r, d)) / np.sqrt(d)
        Ec = rng.normal(size=(n, d))
        ref = P @ (Ec.T @ Ec / n) @ (np.eye(d) - P.T @ P)
        np.testing.assert_allclose(oja_delta(P, Ec), ref, rtol=1e-12, atol=1e-13)


def test_full_rank_raf_stores_no_P_and_is_kp_with_P_identity():
    """Oja's update of an orthonormal square P is zero, so RAF at r = D_out keeps P = I:
    no P is stored, and its Q update equals KP's with P = I (Delta Q = h e^T)."""
    rng = np.random.default_rng(4)
    P = np.linalg.qr(rng.normal(size=(7, 7)))[0]
    Ec = rng.normal(size=(20, 7))
    np.testing.assert_allclose(P @ (Ec.T @ Ec) @ (np.eye(7) - P.T @ P), 0, atol=1e-12)
    for rank in (None, 5):                        # 5 = the layer's 5 outputs
        fb = make_feedback("raf")
        fb.setup("fc", 6, 5, rank, 0.3, np.random.default_rng(0), np.float64)
        assert fb.P is None and fb.rank == 5 and [p.name for p in fb.params()] == ["fc.fb.Q"]
        h, e = rng.normal(size=(9, 6)), rng.normal(size=(9, 5))
        d = fb.backward(h, e, np.zeros((5, 6)), None)
        np.testing.assert_allclose(d, e @ fb.Q.value.T, atol=1e-12)
        np.testing.assert_allclose(fb.Q.grad, -(h.T @ e), atol=1e-12)
    fb = make_feedback("raf")                     # below full rank P is learned
    fb.setup("fc", 6, 5, 4, 0.3, np.random.default_rng(0), np.float64)
    assert fb.P is not None and fb.P.shape == (4, 5)
