"""Dense layers, pointwise layers and containers with explicit forward and backward.

Each ``forward(x, ctx)`` returns ``(y, cache)``; ``backward(e, cache, ctx)`` maps the
error ``e = -dL/dy`` to ``-dL/dx`` and fills parameter grads (``dL/dparam``). Shapes are
``(B, ..., D)``: a Linear layer acts on the last axis (tokens of a transformer included).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from .base import BackwardContext, ForwardContext, Layer, Param, as_dtype

_INIT_GAIN = {"he": 2.0, "lecun": 1.0}
_RSQRT2 = float(1.0 / np.sqrt(2.0))
_RSQRT2PI = float(1.0 / np.sqrt(2.0 * np.pi))


class WeightLayer(Layer):
    """Shared by Linear and Conv2d: a weight ``W`` seen as ``Wm (D_out, D_in)`` and a
    feedback rule (``None`` for the first weight layer: no input error is needed)."""

    feedback = None
    is_output = False
    in_shape: tuple[int, ...] | None = None   # per-sample input shape, set on first forward

    def params(self):
        """``[W]`` plus ``b`` when the layer has a bias."""
        return [self.W] + ([self.b] if self.b is not None else [])

    def feedback_params(self):
        """The feedback rule's learned Q, P (empty without feedback)."""
        return [] if self.feedback is None else self.feedback.params()

    def weight_layers(self):
        """``[self]``."""
        return [self]

    @property
    def Wm(self) -> np.ndarray:
        """The weight as a matrix ``(D_out, D_in)``."""
        return self.W.value.reshape(self.W.value.shape[0], -1)

    def _send_error(self, x, hm, e, em, ctx: BackwardContext):
        """Record ``e`` and return the input error (matrix view, or input-shaped for
        direct rules; ``None`` when the layer has no feedback)."""
        ctx.errors[self.name] = e
        fb = self.feedback
        if fb is None:
            return None, False
        if fb.direct:
            e_s = ctx.source_error(fb.hyper["source"])
            d = fb.backward(x.reshape(x.shape[0], -1), e_s, None,
                            ctx.targets if fb.hyper["oja_drive"] == "targets" else e_s)
            if ctx.compare_bp:
                ctx.bp_cosines[self.name] = _cosine(d, self._bp_input_error(em, x.shape))
            return d.reshape(x.shape), True
        sig = ctx.targets if (self.is_output and ctx.targets is not None) else None
        Wm = self.Wm
        dm = fb.backward(hm, em, Wm, sig)
        if ctx.compare_bp:
            ctx.bp_cosines[self.name] = _cosine(dm, em @ Wm)
        return dm, False

    def _bp_input_error(self, em, x_shape):
        """``W^T e`` mapped to the input's shape (what BP would send)."""
        return em @ self.Wm


def _cosine(a, b) -> float:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


class Linear(WeightLayer):
    """``y = x W^T + b``; ``W (d_out, d_in)``; x ``(..., d_in)``."""

    def __init__(self, d_in: int, d_out: int, *, rng: np.random.Generator, name: str = "fc",
                 dtype=np.float32, init: str = "he", bias: bool = True):
        dt = as_dtype(dtype)
        if init not in _INIT_GAIN:
            raise ValueError(f"init must be one of {', '.join(_INIT_GAIN)}, got {init!r}")
        self.name, self.d_in, self.d_out = name, int(d_in), int(d_out)
        self.w_std = float(np.sqrt(_INIT_GAIN[init] / d_in))
        self.W = Param(rng.normal(0.0, self.w_std, size=(d_out, d_in)).astype(dt), f"{name}.W")
        self.b = Param(np.zeros(d_out, dt), f"{name}.b") if bias else None

    def forward(self, x, ctx):
        """x ``(..., d_in)`` -> y ``(..., d_out)``; caches x."""
        if self.in_shape is None:
            self.in_shape = tuple(x.shape[1:])
        y = x @ self.W.value.T
        if self.b is not None:
            y += self.b.value
        return y, x

    def backward(self, e, x, ctx):
        """e ``(..., d_out)`` -> input error ``(..., d_in)``: ``e_{l-1} = B e_l`` (theory §6),
        ``B = W^T`` (bp) or ``Q P`` (fa, kp, raf, ...); direct rules send ``B e_s`` from the
        source error; ``None`` without feedback. Fills ``W.grad = -e^T x``, ``b.grad = -sum e``.
        """
        em = e.reshape(-1, self.d_out)
        hm = x.reshape(-1, self.d_in)
        self.W.grad[...] = -(em.T @ hm)
        if self.b is not None:
            self.b.grad[...] = -em.sum(axis=0)
        d, shaped = self._send_error(x, hm, e, em, ctx)
        if d is None or shaped:
            return d
        return d.reshape(x.shape)


class ReLU(Layer):
    """``max(x, 0)``; the error is multiplied by ``f'(a) = [a > 0]``."""

    def __init__(self, name: str = "relu"):
        self.name = name

    def forward(self, x, ctx):
        """x -> ``x [x > 0]`` (same shape); caches the mask."""
        mask = x > 0
        return x * mask, mask

    def backward(self, e, mask, ctx):
        """e -> ``e [x > 0]`` (the ``* f'(a)`` of theory §6)."""
        return e * mask


class GELU(Layer):
    """Exact GELU ``x Phi(x)``; derivative ``Phi(x) + x phi(x)``."""

    def __init__(self, name: str = "gelu"):
        self.name = name

    def forward(self, x, ctx):
        """x -> ``x Phi(x)`` (same shape); caches ``(x, Phi(x))``."""
        cdf = 0.5 * (1.0 + erf(x * _RSQRT2))
        return x * cdf, (x, cdf)

    def backward(self, e, cache, ctx):
        """e -> ``e (Phi(x) + x phi(x))`` (the ``* f'(a)`` of theory §6)."""
        x, cdf = cache
        pdf = np.exp(-0.5 * x * x) * _RSQRT2PI
        return e * (cdf + x * pdf)


class Dropout(Layer):
    """Inverted dropout with probability ``p`` (identity when ``train`` is False)."""

    def __init__(self, p: float = 0.5, name: str = "dropout"):
        if not isinstance(p, (int, float, np.floating)) or not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be a number in [0, 1), got {p!r}")
        self.p, self.name = float(p), name

    def forward(self, x, ctx: ForwardContext):
        """x -> x times the scaled mask (same shape); caches the mask (None when off)."""
        if not ctx.train or self.p == 0.0:
            return x, None
        if ctx.rng is None:
            raise ValueError("Dropout in train mode needs ctx.rng (a numpy Generator)")
        mask = (ctx.rng.random(x.shape) >= self.p).astype(x.dtype) / (1.0 - self.p)
        return x * mask, mask

    def backward(self, e, mask, ctx):
        """e -> e times the cached mask."""
        return e if mask is None else e * mask


class Flatten(Layer):
    """``(B, ...)`` -> ``(B, prod(...))``; the error is reshaped back."""

    def __init__(self, name: str = "flatten"):
        self.name = name

    def forward(self, x, ctx):
        """x ``(B, ...)`` -> ``(B, prod(...))``; caches x's shape."""
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, e, shape, ctx):
        """e ``(B, D)`` -> e reshaped to the cached input shape."""
        return e.reshape(shape)


class LayerNorm(Layer):
    """Normalise the last axis: ``y = (x - mu) / sqrt(var + eps) * g + b``."""

    def __init__(self, dim: int, *, name: str = "ln", dtype=np.float32, eps: float = 1e-5):
        dt = as_dtype(dtype)
        self.name, self.eps = name, float(eps)
        self.g = Param(np.ones(dim, dt), f"{name}.g")
        self.b = Param(np.zeros(dim, dt), f"{name}.b")

    def params(self):
        """``[g, b]``, each ``(D,)``."""
        return [self.g, self.b]

    def forward(self, x, ctx):
        """x ``(..., D)`` -> same shape; caches ``(xhat, 1/std)``."""
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        inv = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + self.eps)
        xhat = xc * inv
        return xhat * self.g.value + self.b.value, (xhat, inv)

    def backward(self, e, cache, ctx):
        """e ``(..., D)`` -> exact input error (weight-free, theory §6); fills g/b grads."""
        xhat, inv = cache
        axes = tuple(range(e.ndim - 1))
        self.g.grad[...] = -(e * xhat).sum(axis=axes)
        self.b.grad[...] = -e.sum(axis=axes)
        gh = e * self.g.value
        return inv * (gh - gh.mean(axis=-1, keepdims=True)
                      - xhat * (gh * xhat).mean(axis=-1, keepdims=True))


class Sequential(Layer):
    """Layers applied in order; the cache is the list of the children's caches."""

    def __init__(self, layers, name: str = ""):
        self.layers, self.name = list(layers), name

    def forward(self, x, ctx):
        """Apply the layers in order; cache = list of their caches."""
        caches = []
        for layer in self.layers:
            x, c = layer.forward(x, ctx)
            caches.append(c)
        return x, caches

    def backward(self, e, caches, ctx):
        """Errors through the layers in reverse; stops and returns ``None`` once a layer does."""
        for layer, c in zip(reversed(self.layers), reversed(caches)):
            e = layer.backward(e, c, ctx)
            if e is None:
                return None
        return e

    def params(self):
        """Forward parameters of the children."""
        return [p for layer in self.layers for p in layer.params()]

    def feedback_params(self):
        """Learned feedback parameters (Q, P) of the children."""
        return [p for layer in self.layers for p in layer.feedback_params()]

    def weight_layers(self):
        """Weight layers of the children, in forward order."""
        return [w for layer in self.layers for w in layer.weight_layers()]


class Residual(Layer):
    """``y = x + block(x)``; the error passes the skip exactly and adds the block's."""

    def __init__(self, block: Layer, name: str = "res"):
        self.block, self.name = block, name

    def forward(self, x, ctx):
        """x -> ``x + block(x)`` (same shape); caches the block's cache."""
        y, c = self.block.forward(x, ctx)
        return x + y, c

    def backward(self, e, c, ctx):
        """e -> ``e + block.backward(e)`` (the skip passes e exactly)."""
        eb = self.block.backward(e, c, ctx)
        return e if eb is None else e + eb

    def params(self):
        """Forward parameters of the children."""
        return self.block.params()

    def feedback_params(self):
        """Learned feedback parameters (Q, P) of the children."""
        return self.block.feedback_params()

    def weight_layers(self):
        """Weight layers of the children, in forward order."""
        return self.block.weight_layers()
