"""Every layer's backward (rule bp) against central finite differences in float64."""

import numpy as np
import pytest

from lintheory.nn import build_model, losses
from lintheory.nn.attention import ClassToken, MultiHeadSelfAttention, PatchEmbed
from lintheory.nn.base import BackwardContext, ForwardContext
from lintheory.nn.conv import BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d
from lintheory.nn.feedback import make_feedback
from lintheory.nn.layers import (
    GELU,
    Dropout,
    Flatten,
    LayerNorm,
    Linear,
    ReLU,
    Residual,
    Sequential,
)

F64 = np.float64
TOL = 1e-6


def _rel(a, b):
    """Relative error; a gradient that is exactly zero (e.g. the key bias, to which
    softmax is invariant) is compared in absolute terms against FD round-off."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale < 1e-6:
        return np.linalg.norm(a - b) * 1e-2
    return np.linalg.norm(a - b) / scale


def _with_bp(layer):
    """Give every weight layer inside ``layer`` transported feedback (input errors)."""
    for w in layer.weight_layers():
        w.feedback = make_feedback("bp")
    return layer


def _fd(f, arr, h=1e-6, max_entries=60, rng=None):
    """Central differences of scalar ``f()`` w.r.t. (a random subset of) ``arr`` entries."""
    flat = arr.reshape(-1)
    idx = np.arange(flat.size)
    if flat.size > max_entries:
        idx = (rng or np.random.default_rng(0)).choice(flat.size, max_entries, replace=False)
    out = np.zeros(idx.size)
    for n, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        out[n] = (fp - fm) / (2 * h)
    return idx, out


def check_layer(layer, x, *, train=True, seed=0):
    """dL/dx and dL/dparam from backward vs finite differences, L = sum(G * y)."""
    def run():
        return layer.forward(x, ForwardContext(train, np.random.default_rng(seed)))

    y, cache = run()
    G = np.random.default_rng(1).normal(size=y.shape)
    e_in = layer.backward(-G, cache, BackwardContext(np.zeros((1, 1))))
    loss = lambda: float((G * run()[0]).sum())
    idx, fd = _fd(loss, x)
    assert _rel(-e_in.reshape(-1)[idx], fd) < TOL
    for p in layer.params():
        idx, fd = _fd(loss, p.value)
        assert _rel(p.grad.reshape(-1)[idx], fd) < TOL, p.name
    return y


def _x(*shape, seed=2):
    return np.random.default_rng(seed).normal(size=shape)


def _rng():
    return np.random.default_rng(3)


def test_linear_2d_and_tokens():
    check_layer(_with_bp(Linear(5, 4, rng=_rng(), dtype=F64)), _x(3, 5))
    check_layer(_with_bp(Linear(5, 4, rng=_rng(), dtype=F64)), _x(2, 3, 5))


@pytest.mark.parametrize("layer", [ReLU(), GELU(), Flatten()])
def test_pointwise(layer):
    check_layer(layer, _x(3, 2, 4))


def test_dropout_train_and_eval():
    y = check_layer(Dropout(0.3), _x(50, 4))
    assert np.mean(y == 0) > 0.1
    x = _x(5, 4)
    assert np.array_equal(Dropout(0.3).forward(x, ForwardContext(False))[0], x)


def test_layernorm():
    ln = LayerNorm(6, dtype=F64)
    ln.g.value[...] = _x(6, seed=5)
    ln.b.value[...] = _x(6, seed=6)
    check_layer(ln, _x(2, 3, 6))


@pytest.mark.parametrize("stride,padding,kernel", [(1, 1, 3), (2, 1, 3), (1, 0, 2), (2, 0, 3)])
def test_conv2d(stride, padding, kernel):
    conv = _with_bp(Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=_rng(), dtype=F64))
    check_layer(conv, _x(2, 3, 7, 6))


def test_conv2d_matches_direct_sum():
    """Forward against an explicit loop definition of cross-correlation."""
    conv = Conv2d(2, 3, 3, stride=2, padding=1, rng=_rng(), dtype=F64)
    x = _x(2, 2, 5, 5)
    y = conv.forward(x, ForwardContext(False))[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    W = conv.W.value
    ref = np.zeros_like(y)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            ref[:, :, i, j] = np.einsum("bckl,ockl->bo", patch, W) + conv.b.value
    np.testing.assert_allclose(y, ref, atol=1e-12)


@pytest.mark.parametrize("kernel,stride", [(2, None), (3, 2), (2, 1)])
def test_maxpool(kernel, stride):
    check_layer(MaxPool2d(kernel, stride), _x(2, 3, 7, 6))


@pytest.mark.parametrize("shape", [(4, 3, 3, 3), (6, 3)])
def test_batchnorm_train_and_eval(shape):
    """BatchNorm2d on images and BatchNorm1d on (B, C) rows: finite differences."""
    bn = (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(3, dtype=F64)
    bn.g.value[...] = [1.5, 0.5, 2.0]
    check_layer(bn, _x(*shape), train=True)
    check_layer(bn, _x(*shape), train=False)


def test_batchnorm1d_normalises_each_unit_over_the_batch():
    x = _x(50, 4) * np.array([1.0, 3.0, 0.2, 7.0]) + 5.0
    y, _ = BatchNorm1d(4, dtype=F64).forward(x, ForwardContext(True))
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_attention_patch_embed_cls_residual():
    attn = _with_bp(MultiHeadSelfAttention(8, 2, rng=_rng(), dtype=F64))
    check_layer(attn, _x(2, 5, 8))
    check_layer(_with_bp(PatchEmbed((2, 4, 4), 2, 6, rng=_rng(), dtype=F64)), _x(2, 2, 4, 4))
    check_layer(ClassToken(), _x(3, 4, 5))
    block = Residual(Sequential([LayerNorm(8, dtype=F64), GELU(),
                                 Linear(8, 8, rng=_rng(), dtype=F64)]))
    check_layer(_with_bp(block), _x(2, 3, 8))


def test_losses_finite_differences():
    z = _x(4, 5)
    y = np.array([0, 3, 1, 4])
    _, e = losses.softmax_cross_entropy(z, y)
    idx, fd = _fd(lambda: losses.softmax_cross_entropy(z, y)[0], z)
    assert _rel(-e.reshape(-1)[idx], fd) < TOL
    t = _x(4, 5, seed=9)
    _, e = losses.mse(z, t)
    idx, fd = _fd(lambda: losses.mse(z, t)[0], z)
    assert _rel(-e.reshape(-1)[idx], fd) < TOL
    # softmax cross-entropy against the textbook formula
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert np.isclose(losses.softmax_cross_entropy(z, y)[0], -np.log(p[np.arange(4), y]).mean())


@pytest.mark.parametrize("kind,shape,kw", [
    ("mlp", (6,), dict(hidden=7, depth=3)),
    ("mlp", (1, 4, 4), dict(hidden=5, depth=2, dropout=0.2)),
    ("mlp", (6,), dict(hidden=7, depth=2, batchnorm=True)),
    ("cnn", (1, 4, 4), dict(hidden=6, channels=(2, 3, 4))),
    ("cnn", (2, 4, 4), dict(hidden=6, channels=(2, 2, 3), batchnorm=True)),
    ("vit", (1, 4, 4), dict(hidden=8, depth=1, heads=2)),
])
def test_whole_models_bp_finite_differences(kind, shape, kw):
    model = build_model(kind, shape, 3, rule="bp", rng=np.random.default_rng(0),
                        dtype=F64, **kw)
    X = _x(5, *shape)
    y = np.array([0, 1, 2, 1, 0])

    def loss():
        model.rng = np.random.default_rng(7)          # same dropout mask every pass
        return losses.softmax_cross_entropy(model.forward(X, train=True), y)[0]

    model.rng = np.random.default_rng(7)
    _, e = losses.softmax_cross_entropy(model.forward(X, train=True), y)
    model.backward(e)
    for p in model.params():
        idx, fd = _fd(loss, p.value, max_entries=12)
        assert _rel(p.grad.reshape(-1)[idx], fd) < TOL, p.name
