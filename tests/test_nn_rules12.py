"""Issue 12's rules in the NumPy engine (oja, sign, mirror, factorised) against
independent references: ``np.sign``, BP itself, ``numpy.linalg.eigh``, finite differences.
"""

import numpy as np
import pytest

from lintheory.nn import build_model, losses, optimisers
from lintheory.nn.data import load_dataset
from lintheory.nn.feedback import make_feedback
from lintheory.nn.train import TrainConfig, train

F64 = np.float64
NEW = ("oja", "sign", "mirror", "factorised")
SHAPES = {"mlp": (6,), "cnn": (1, 5, 5), "vit": (1, 4, 4)}
KW = {"mlp": dict(hidden=7, depth=3), "cnn": dict(hidden=6, channels=(2, 3, 4)),
      "vit": dict(hidden=8, depth=1, heads=2)}


def _batch(kind, B=5, seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B,) + SHAPES[kind]), rng.integers(0, 3, B)


def _backward(model, X, y):
    _, e = losses.softmax_cross_entropy(model.forward(X, train=True), y)
    model.zero_grad()
    model.backward(e, targets_onehot=losses.one_hot(y, 3, F64))


def _model(kind, rule, rank=None, seed=0):
    return build_model(kind, SHAPES[kind], 3, rule=rule, rank=rank,
                       rng=np.random.default_rng(seed), dtype=F64, **KW[kind])


# ----------------------------------------------------------------------------- sign
def test_sign_input_error_is_sign_W_transpose_e_exactly():
    model = build_model("mlp", (6,), 4, rule="sign", hidden=[9, 8], depth=2,
                        rng=np.random.default_rng(1), dtype=F64)
    X, y = _batch("mlp")
    _, e = losses.softmax_cross_entropy(model.forward(X, train=False), y)
    model.backward(e)
    fc1, fc2, fc3 = model.weight_layers
    a1 = X @ fc1.W.value.T + fc1.b.value
    a2 = np.maximum(a1, 0) @ fc2.W.value.T + fc2.b.value
    for below, above, a in ((fc1, fc2, a1), (fc2, fc3, a2)):
        e_above = model.errors[above.name]                       # (B, D_out)
        expect = (np.sign(above.W.value).T @ e_above.T).T * (a > 0)
        np.testing.assert_array_equal(model.errors[below.name], expect)
        assert above.feedback.Q is None and above.feedback.params() == []
    rep = model.feedback_report()
    B = np.sign(fc2.W.value).T
    cos = (B * fc2.W.value.T).sum() / np.linalg.norm(B) / np.linalg.norm(fc2.W.value)
    assert np.isclose(rep[0]["angle_deg"], np.degrees(np.arccos(cos)), rtol=1e-10)
    assert rep[0]["q_dist"] is None


def test_sign_in_a_conv_is_bp_with_the_signed_kernel():
    """The sign rule's col2im path against BP's flipped-kernel convolution run with the
    kernel replaced by its sign after the forward pass (W.grad does not read W)."""
    X, y = _batch("cnn")
    sign, bp = _model("cnn", "sign"), _model("cnn", "bp")
    _backward(sign, X, y)
    _, e = losses.softmax_cross_entropy(bp.forward(X, train=True), y)
    for layer in bp.feedback_layers:
        layer.W.value[...] = np.sign(layer.W.value)
    bp.backward(e)
    for name, err in bp.errors.items():
        np.testing.assert_allclose(sign.errors[name], err, rtol=1e-12, atol=1e-14,
                                   err_msg=name)


# --------------------------------------------------------------------------- mirror
@pytest.mark.parametrize("rule", ["mirror", "kp"])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_mirror_and_full_rank_kp_with_Q_equal_WT_give_bp_updates_exactly(rule, kind):
    """Started at Q = W^T, KP's Delta Q = (Delta W)^T keeps B = W^T: five SGD steps of
    mirror (and kp at full rank, the same rule) equal BP's, and Q stays W^T."""
    bp, other = _model(kind, "bp"), _model(kind, rule)
    for layer in other.feedback_layers:
        assert layer.feedback.P is None                        # P = I, B = Q
        layer.feedback.Q.value[...] = layer.Wm.T
    opt_bp = optimisers.SGD(bp.params(), lr=0.05)
    opt = optimisers.SGD(other.params() + other.feedback_params(), lr=0.05)
    for step in range(5):
        X, y = _batch(kind, seed=10 + step)
        _backward(bp, X, y)
        _backward(other, X, y)
        for pa, pb in zip(bp.params(), other.params()):
            np.testing.assert_allclose(pb.grad, pa.grad, rtol=1e-10, atol=1e-13)
        opt_bp.step()
        opt.step()
    for pa, pb in zip(bp.params(), other.params()):
        np.testing.assert_allclose(pb.value, pa.value, rtol=1e-10, atol=1e-13)
    for layer in other.feedback_layers:
        np.testing.assert_allclose(layer.feedback.Q.value, layer.Wm.T, atol=1e-12)


def test_mirror_is_full_rank_only():
    model = _model("mlp", "mirror", rank=[7, 7, 3])          # rank = D_out: full
    assert all(la.feedback.P is None for la in model.feedback_layers)
    with pytest.raises(ValueError, match="rule mirror is Kolen-Pollack at full rank"):
        _model("mlp", "mirror", rank=2)


# ------------------------------------------------------------------------------ oja
def test_oja_keeps_Q_fixed_while_training():
    model = _model("mlp", "oja", rank=2)
    q0 = {la.name: la.feedback.Q.value.copy() for la in model.feedback_layers}
    p0 = {la.name: la.feedback.P.value.copy() for la in model.feedback_layers}
    assert [p.name for p in model.feedback_params()] == [f"{n}.fb.P" for n in q0]
    opt = optimisers.Adam(model.params() + model.feedback_params(), lr=1e-2)
    for step in range(20):
        _backward(model, *_batch("mlp", B=16, seed=step))
        for la in model.feedback_layers:
            assert not la.feedback.Q.grad.any()
        opt.step()
    for la in model.feedback_layers:
        np.testing.assert_array_equal(la.feedback.Q.value, q0[la.name])
        assert not np.allclose(la.feedback.P.value, p0[la.name])


def test_oja_P_converges_to_top_eigenvectors_of_the_error_covariance():
    """On a fixed synthetic error stream (covariance with a clear top-3 gap) P's rows
    span the top-3 eigenvectors of the stream's covariance (numpy.linalg.eigh)."""
    rng = np.random.default_rng(3)
    D, r, N = 8, 3, 400
    U = np.linalg.qr(rng.normal(size=(D, D)))[0]
    scales = np.array([3.0, 2.5, 2.0, 0.6, 0.5, 0.4, 0.3, 0.2])
    stream = [rng.normal(size=(N, D)) * scales @ U.T for _ in range(10)]
    fb = make_feedback("oja")
    fb.setup("fc", 5, D, r, 0.3, np.random.default_rng(0), F64)
    hm = rng.normal(size=(N, 5))
    for step in range(400):
        em = stream[step % len(stream)]
        fb.backward(hm, em, np.zeros((D, 5)), None)
        fb.P.value -= 0.1 * fb.P.grad
    E = np.concatenate(stream)
    E = E - E.mean(axis=0)
    evecs = np.linalg.eigh(E.T @ E / len(E))[1][:, ::-1][:, :r]
    P = fb.P.value
    np.testing.assert_allclose(P @ P.T, np.eye(r), atol=1e-3)
    cos = np.linalg.svd(evecs.T @ np.linalg.qr(P.T)[0], compute_uv=False)
    assert cos.min() > 0.999


# ----------------------------------------------------------------------- factorised
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_factorised_update_is_the_factorised_gradient_of_the_forward_update(kind):
    """Q.grad, P.grad equal the gradients of ``-<Q P, G>`` with ``G = (Delta W)^T`` the
    layer's own forward update (``-W.grad^T`` in the matrix view), by central finite
    differences, plus the decay terms."""
    lam_q, lam_p = 0.03, 0.07
    model = build_model(kind, SHAPES[kind], 3, rule="factorised", rank=2,
                        rng=np.random.default_rng(0), dtype=F64,
                        feedback_kwargs={"q_decay": lam_q, "p_decay": lam_p}, **KW[kind])
    _backward(model, *_batch(kind))
    for layer in model.feedback_layers:
        fb = layer.feedback
        Wg = layer.W.grad
        G = -(Wg.transpose(0, 2, 3, 1).reshape(Wg.shape[0], -1) if Wg.ndim == 4 else Wg).T
        Q, P = fb.Q.value.copy(), fb.P.value.copy()

        def surrogate(Qx, Px, G=G):
            return (-(Qx @ Px * G).sum() + 0.5 * lam_q * (Qx ** 2).sum()
                    + 0.5 * lam_p * (Px ** 2).sum())

        for A, grad, which in ((Q, fb.Q.grad, "Q"), (P, fb.P.grad, "P")):
            num = np.zeros_like(A)
            h = 1e-6
            for idx in np.ndindex(A.shape):
                Ap, Am = A.copy(), A.copy()
                Ap[idx] += h
                Am[idx] -= h
                args_p = (Ap, P) if which == "Q" else (Q, Ap)
                args_m = (Am, P) if which == "Q" else (Q, Am)
                num[idx] = (surrogate(*args_p) - surrogate(*args_m)) / (2 * h)
            np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9,
                                       err_msg=f"{layer.name} {which}")


# ---------------------------------------------------------------------- every rule
@pytest.mark.parametrize("rule", ["oja", "factorised", "mirror"])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "vit"])
def test_QP_equal_WT_gives_bp_forward_updates(rule, kind):
    """At full rank with Q P = W^T every factored new rule sends BP's errors."""
    bp, other = _model(kind, "bp"), _model(kind, rule)
    for layer in other.feedback_layers:
        fb = layer.feedback
        fb.Q.value[...] = layer.Wm.T if fb.P is None else layer.Wm.T @ fb.P.value.T
        np.testing.assert_allclose(fb.matrix(), layer.Wm.T, atol=1e-12)
    X, y = _batch(kind)
    _backward(bp, X, y)
    _backward(other, X, y)
    for pa, pb in zip(bp.params(), other.params()):
        np.testing.assert_allclose(pb.grad, pa.grad, rtol=1e-10, atol=1e-13, err_msg=pa.name)


@pytest.mark.parametrize("rule", NEW)
@pytest.mark.parametrize("kind", ["cnn", "vit"])
def test_every_new_rule_runs_in_convs_and_attention(rule, kind):
    rank = None if rule in ("sign", "mirror") else 2
    model = _model(kind, rule, rank=rank)
    _backward(model, *_batch(kind))
    for p in model.params() + model.feedback_params():
        assert np.isfinite(p.grad).all() and p.grad.any(), p.name
    rep = model.feedback_report(model.errors)
    assert all(0 <= r["angle_deg"] <= 180 for r in rep)


def test_sign_refuses_a_rank():
    with pytest.raises(ValueError, match="rule sign has no feedback factors"):
        _model("mlp", "sign", rank=2)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.parametrize("rule", NEW)
def test_every_new_rule_trains_a_small_mlp_on_digits(rule, digits):
    rank = None if rule in ("sign", "mirror") else 10
    h = train(TrainConfig(rule=rule, rank=rank, hidden=64, depth=2, epochs=4, lr=2e-3,
                          seed=0), data=digits)
    assert all(np.isfinite(h["train_loss"]))
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["test_acc"][-1] > 0.6                         # chance is 0.1


def test_new_rules_mix_per_layer_with_the_others():
    model = build_model("mlp", (6,), 3, rule=["sign", "oja", "factorised", "mirror", "raf"],
                        rank=[None, 2, 3, None, 2], hidden=7, depth=5,
                        rng=np.random.default_rng(0), dtype=F64)
    names = [type(la.feedback).__name__ for la in model.feedback_layers]
    assert names == ["Sign", "OjaOnly", "Factorised", "Mirror", "RAF"]
    assert [la.feedback.rank for la in model.feedback_layers] == [None, 2, 3, 7, 2]
    _backward(model, *_batch("mlp"))
    fb = [p.name for p in model.feedback_params()]
    assert fb == ["fc3.fb.P", "fc4.fb.Q", "fc4.fb.P", "fc5.fb.Q", "fc6.fb.Q", "fc6.fb.P"]
    assert all(np.isfinite(p.grad).all() for p in model.params())


@pytest.mark.parametrize("rule, rank", [("sign", None), ("oja", 2), ("factorised", 2),
                                        ("mirror", None)])
def test_new_rules_save_and_load(rule, rank, tmp_path):
    from lintheory.nn.checkpoint import load_model, save_model

    model = build_model("mlp", (6,), 3, rule=rule, rank=rank, hidden=5, depth=2,
                        rng=np.random.default_rng(0), dtype=F64)
    _backward(model, *_batch("mlp"))
    state = model.state_dict()
    again = load_model(save_model(tmp_path / "m.npz", model)).state_dict()
    assert sorted(again) == sorted(state)
    for k, v in state.items():
        np.testing.assert_array_equal(again[k], v, err_msg=k)


def test_train_command_takes_one_rule_per_layer(tmp_path, digits):
    """``lintheory train --rule oja,raf`` (one per feedback layer) gives exactly the
    numbers of the Python API with the same per-layer rules and ranks (a second route to
    the same model), and names the result file after the rule list."""
    from lintheory.cli import main

    out = tmp_path / "r.json"
    args = ["train", "--rule", "oja,raf", "--rank", "3,2", "--hidden", "16",
            "--depth", "2", "--epochs", "2", "--lr", "2e-3", "--quiet", "--out", str(out)]
    assert main(args) == 0
    import json

    got = json.loads(out.read_text())
    assert got["config"]["rule"] == ["oja", "raf"]
    ref = train(TrainConfig(rule=("oja", "raf"), rank=(3, 2),
                            hidden=16, depth=2, epochs=2, lr=2e-3, seed=0), data=digits)
    assert got["summary"]["test_acc"]["values"] == [ref["final"]["test_acc"]]
    with pytest.raises(ValueError, match="comma-separated list"):
        TrainConfig(rule="raf,nope")
