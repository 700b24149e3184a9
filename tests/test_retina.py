"""The retina model (lintheory.nn.retina): layout, feedback wiring, gradients vs finite
differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from lintheory.nn import losses
from lintheory.nn.retina import RETINA_FEEDBACK, build_retina_model, retina_layers

# the central-difference helper of the layer tests (pytest puts tests/ on sys.path)
from test_nn_layers import _fd  # noqa: E402  isort: skip

F64 = np.float64
SIZES = dict(channels=3, kernel=3, ventral=2, dense=5)


def _loss_and_grads(model, X, y):
    _, e = losses.softmax_cross_entropy(model.forward(X, train=True), y)
    model.zero_grad()
    model.backward(e, targets_onehot=np.eye(4)[y])
    return lambda: losses.softmax_cross_entropy(model.forward(X, train=True), y)[0]


@pytest.mark.parametrize("bottleneck", [None, 1])
def test_retina_bp_gradients_match_central_finite_differences(bottleneck):
    rng = np.random.default_rng(0)
    model = build_retina_model((1, 5, 5), 4, rng=rng, dtype=F64, bottleneck=bottleneck,
                               **SIZES)
    X = rng.normal(size=(3, 1, 5, 5))
    y = np.array([0, 3, 1])
    loss = _loss_and_grads(model, X, y)
    checked = 0
    for p in model.params():
        idx, fd = _fd(loss, p.value, max_entries=6, rng=np.random.default_rng(1))
        grad = p.grad.reshape(-1)[idx]
        assert np.all(np.abs(grad - fd) <= 1e-6 * np.maximum(1.0, np.abs(fd))), p.name
        checked += idx.size
    assert checked > 30


def test_layout_and_feedback_wiring():
    rng = np.random.default_rng(0)
    model = build_retina_model((1, 6, 6), 10, rule="bp", retina_rule="raf", retina_rank=2,
                               rng=rng, bottleneck=2, **SIZES)
    names = [la.name for la in model.weight_layers]
    assert names == ["retina1", "retina2", "vvs1", "vvs2", "fc1", "fc2"]
    assert model.weight_layers[1].W.value.shape == (2, 3, 3, 3)     # the bottleneck
    assert model.weight_layers[2].W.value.shape == (3, 2, 3, 3)
    fbs = [la.feedback for la in model.feedback_layers]
    assert model.feedback_layers[RETINA_FEEDBACK].name == "vvs1"
    assert [f.name for f in fbs] == ["bp", "raf", "bp", "bp", "bp"]
    # RAF into the retina: P is a 1x1 conv (rank 2 of vvs1's 3 output channels), Q is
    # kernel-sized from the 2 retina-output channels
    assert fbs[1].P.value.shape == (2, 3) and fbs[1].Q.value.shape == (3 * 3 * 2, 2)
    assert [la.name for la in retina_layers(model)][::2] == ["retina1", "retina2"]
    logits = model.forward(rng.normal(size=(2, 1, 6, 6)), train=False)
    assert logits.shape == (2, 10)


def test_draf_into_retina_sends_the_dense_error_through_its_feedback_only():
    rng = np.random.default_rng(0)
    model = build_retina_model((1, 5, 5), 4, retina_rule="draf", rng=rng, dtype=F64,
                               bottleneck=1, feedback_kwargs={"source": "penultimate"},
                               **SIZES)
    fb = model.feedback_layers[RETINA_FEEDBACK].feedback
    assert fb.direct and fb.Q.value.shape == (1 * 5 * 5, 5)          # from fc1 (dense 5)
    X = rng.normal(size=(3, 1, 5, 5))
    y = np.array([0, 3, 1])
    _loss_and_grads(model, X, y)
    # the error at retina2's output is Q e_fc1 (e_fc1 the error at fc1's output)
    e_fc1 = model.errors["fc1"].reshape(3, -1)
    sent = (e_fc1 @ fb.Q.value.T).reshape(3, 1, 5, 5)
    assert np.allclose(model.errors["retina2"], sent * _retina2_mask(model, X))


def _retina2_mask(model, X):
    """Where retina2's pre-activation is positive (its ReLU's mask)."""
    from lintheory.nn.base import ForwardContext

    x = X
    for layer in model.root.layers[:3]:
        x, _ = layer.forward(x, ForwardContext(False))
    return x > 0


def test_bad_sizes_name_the_argument():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kernel must be odd"):
        build_retina_model((1, 6, 6), 3, rng=rng, channels=2, kernel=4)
    with pytest.raises(ValueError, match="bottleneck"):
        build_retina_model((1, 6, 6), 3, rng=rng, channels=2, kernel=3, bottleneck=0)
    with pytest.raises(ValueError, match="rank of layer 'vvs1'"):
        build_retina_model((1, 6, 6), 3, rng=rng, channels=2, kernel=3, retina_rule="raf",
                           retina_rank=5)
