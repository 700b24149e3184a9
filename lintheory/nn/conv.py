"""Convolution, max pooling and batch normalisation on ``(B, C, H, W)`` arrays.

Conv2d uses im2col (channels-last, one copy of a ``sliding_window_view``, no Python loop)
and one matrix product, over chunks of whole images (:data:`CHUNK_ENTRIES`). The patches are
not cached: the backward pass rebuilds them from the cached input (one more im2col,
cheaper than the products), so the memory of a deep stack is one chunk's patch matrix at a
time, not one full patch matrix per layer (learned feedback rules still get the full one:
their updates read it). The transpose of a stride-1 convolution's
patch product, ``col2im(em M)``, is itself a stride-1 convolution of the error with the
flipped kernel (:func:`col2im_matmul`), which BP uses; col2im proper (a loop over the
``k x k`` kernel offsets) serves strided layers and learned feedback (``Q``'s output).

In the matrix view of ``feedback.py`` a convolution is
``hm = cols (B*Ho*Wo, k*k*C_in)``, ``em (B*Ho*Wo, C_out)``, ``Wm (C_out, k*k*C_in)``, so
the feedback factors are ``P (r, C_out)`` - a 1x1 convolution from C_out to r channels -
and ``Q (k*k*C_in, r)`` - a kernel-sized transposed convolution from r back to C_in with
the forward stride and padding (theory §6, Appendix C); Oja's covariance is over batch and
all positions.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer, Param, as_dtype
from .layers import WeightLayer

#: im2col works on chunks of whole images holding at most this many patch entries (4 MB
#: in float32, or one image), so the patch matrix stays small (benchmarks/bench_conv.py)
CHUNK_ENTRIES = 1 << 20


def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _chunks(B: int, per_image: int):
    """Slices of whole images with at most :data:`CHUNK_ENTRIES` patch entries each."""
    step = max(1, CHUNK_ENTRIES // max(1, per_image))
    return [slice(b, min(B, b + step)) for b in range(0, B, step)]


def im2col(x: np.ndarray, k: int, s: int, p: int):
    """``(B, C, H, W)`` -> ``cols (B*Ho*Wo, k*k*C)`` (rows ordered ``(i, j, c)``), Ho, Wo.

    Works channels-last internally: one copy of a sliding-window view, no Python loop.
    """
    B, C, H, W = x.shape
    Ho, Wo = _out_size(H, k, s, p), _out_size(W, k, s, p)
    xh = x.transpose(0, 2, 3, 1)
    if p:
        xh = np.pad(xh, ((0, 0), (p, p), (p, p), (0, 0)))
    win = sliding_window_view(xh, (k, k), axis=(1, 2))[:, ::s, ::s][:, :Ho, :Wo]
    # (B, Ho, Wo, C, k, k) -> (B, Ho, Wo, k, k, C) in one copy: 3-8x faster than k*k
    # slice copies (benchmarks/bench_conv.py)
    cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3))
    return cols.reshape(B * Ho * Wo, k * k * C), Ho, Wo


def col2im(dcols: np.ndarray, x_shape, k: int, s: int, p: int, Ho: int, Wo: int):
    """Adjoint of :func:`im2col`: sum the patch errors back onto ``(B, C, H, W)``
    (returned as a channels-last array viewed as NCHW)."""
    B, C, H, W = x_shape
    d = dcols.reshape(B, Ho, Wo, k, k, C)
    dxp = np.zeros((B, H + 2 * p, W + 2 * p, C), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + s * Ho:s, j:j + s * Wo:s] += d[:, :, :, i, j]
    return dxp[:, p:p + H, p:p + W].transpose(0, 3, 1, 2)


def col2im_matmul(em: np.ndarray, M: np.ndarray, x_shape, k: int, s: int, p: int,
                  Ho: int, Wo: int):
    """``col2im(em @ M)`` for ``em (B*Ho*Wo, R)``, ``M (R, k*k*C)`` (columns ``(i, j, c)``).

    For stride 1 and ``p <= k - 1`` this is a stride-1 convolution of the error (R
    channels) with the kernel ``M`` flipped in both spatial axes and padding ``k - 1 - p``:
    one im2col and one product ``(B*H*W, k*k*R) (k*k*R, C)``, no ``(B*Ho*Wo, k*k*C)``
    intermediate and no loop. Otherwise (strided layers) the product and col2im.
    """
    B, C, H, W = x_shape
    if s != 1 or p > k - 1:
        return col2im(em @ M, x_shape, k, s, p, Ho, Wo)
    R = M.shape[0]
    Mf = M.reshape(R, k, k, C)[:, ::-1, ::-1, :].transpose(1, 2, 0, 3).reshape(k * k * R, C)
    e_img = em.reshape(B, Ho, Wo, R).transpose(0, 3, 1, 2)
    cols, _, _ = im2col(e_img, k, 1, k - 1 - p)
    return (cols @ Mf).reshape(B, H, W, C).transpose(0, 3, 1, 2)


class Conv2d(WeightLayer):
    """2-D convolution, ``W (C_out, C_in, k, k)``, square kernel, stride and zero padding."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, *, stride: int = 1,
                 padding: int = 0, rng: np.random.Generator, name: str = "conv",
                 dtype=np.float32, init: str = "he", bias: bool = True):
        dt = as_dtype(dtype)
        for nm, v, lo in (("c_in", c_in, 1), ("c_out", c_out, 1), ("kernel", kernel, 1),
                          ("stride", stride, 1), ("padding", padding, 0)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{nm} must be an int >= {lo}, got {v!r}")
        self.name, self.k, self.s, self.p = name, int(kernel), int(stride), int(padding)
        fan_in = c_in * kernel * kernel
        self.w_std = float(np.sqrt((2.0 if init == "he" else 1.0) / fan_in))
        self.W = Param(rng.normal(0.0, self.w_std, size=(c_out, c_in, kernel, kernel))
                       .astype(dt), f"{name}.W")
        self.b = Param(np.zeros(c_out, dt), f"{name}.b") if bias else None

    @property
    def Wm(self) -> np.ndarray:
        """``(C_out, k*k*C_in)``, columns ordered ``(i, j, c)`` like :func:`im2col`."""
        W = self.W.value
        return W.transpose(0, 2, 3, 1).reshape(W.shape[0], -1)

    def forward(self, x, ctx):
        """x ``(B, C_in, H, W)`` -> y ``(B, C_out, Ho, Wo)``; caches ``(x, Ho, Wo)``."""
        if self.in_shape is None:
            self.in_shape = tuple(x.shape[1:])
        B = x.shape[0]
        if x.shape[2] + 2 * self.p < self.k or x.shape[3] + 2 * self.p < self.k:
            raise ValueError(f"{self.name}: input {x.shape[2:]} smaller than kernel {self.k}")
        k, s, p = self.k, self.s, self.p
        Ho, Wo = _out_size(x.shape[2], k, s, p), _out_size(x.shape[3], k, s, p)
        WmT = np.ascontiguousarray(self.Wm.T)
        y = np.empty((B, Ho * Wo, WmT.shape[1]), x.dtype)
        for sl in _chunks(B, Ho * Wo * WmT.shape[0]):
            cols = im2col(x[sl], k, s, p)[0]
            np.matmul(cols, WmT, out=y[sl].reshape(-1, WmT.shape[1]))
        if self.b is not None:
            y += self.b.value
        # channels-last memory viewed as NCHW; elementwise layers keep that layout
        return y.reshape(B, Ho, Wo, -1).transpose(0, 3, 1, 2), (x, Ho, Wo)

    def _bp_input_error(self, em, x_shape):
        B, _, H, W = x_shape
        Ho, Wo = _out_size(H, self.k, self.s, self.p), _out_size(W, self.k, self.s, self.p)
        return col2im_matmul(em, self.Wm, x_shape, self.k, self.s, self.p, Ho, Wo)

    def backward(self, e, cache, ctx):
        """e ``(B, C_out, Ho, Wo)`` -> input error ``(B, C_in, H, W)`` (col2im of ``em B^T``),
        ``B = Wm^T`` (bp) or ``Q P`` (theory §6, Appendix C); direct rules send ``B e_s``
        (input-shaped); ``None`` without feedback.
        Fills ``W.grad = -(em^T cols)`` (cols rebuilt from the cached x) and ``b.grad``."""
        x, Ho, Wo = cache
        em = e.transpose(0, 2, 3, 1).reshape(-1, e.shape[1])
        co, ci, k, _ = self.W.value.shape
        if self.b is not None:
            self.b.grad[...] = -em.sum(axis=0)
        fb = self.feedback
        if fb is None or (fb.transport and not ctx.compare_bp):
            # no full patch matrix: per chunk of images, the weight gradient and (BP) the
            # input error as the flipped-kernel convolution
            B, n = x.shape[0], Ho * Wo
            gW = np.zeros((co, k * k * ci), e.dtype)
            dx = None if fb is None else np.empty((B, ci) + x.shape[2:], e.dtype)
            Wm = self.Wm
            for sl in _chunks(B, n * k * k * ci):
                rows = slice(sl.start * n, sl.stop * n)
                gW += em[rows].T @ im2col(x[sl], self.k, self.s, self.p)[0]
                if dx is not None:
                    dx[sl] = col2im_matmul(em[rows], Wm, (sl.stop - sl.start,) + x.shape[1:],
                                           self.k, self.s, self.p, Ho, Wo)
            self.W.grad[...] = -gW.reshape(co, k, k, ci).transpose(0, 3, 1, 2)
            ctx.errors[self.name] = e                   # as _send_error records it
            return dx
        cols = im2col(x, self.k, self.s, self.p)[0]     # rebuilt: not cached (memory)
        self.W.grad[...] = -(em.T @ cols).reshape(co, k, k, ci).transpose(0, 3, 1, 2)
        d, shaped = self._send_error(x, cols, e, em, ctx)
        if d is None or shaped:
            return d
        return col2im(d, x.shape, self.k, self.s, self.p, Ho, Wo)


class MaxPool2d(Layer):
    """Max over ``k x k`` windows with stride ``stride`` (default ``k``), no padding.

    The error goes to the (first) maximal entry of each window.
    """

    def __init__(self, kernel: int = 2, stride: int | None = None, name: str = "pool"):
        stride = kernel if stride is None else stride
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel and stride must be >= 1, got {kernel}, {stride}")
        self.k, self.s, self.name = int(kernel), int(stride), name

    def forward(self, x, ctx):
        """x ``(B, C, H, W)`` -> ``(B, C, Ho, Wo)``; caches x's shape and the argmax per window."""
        B, C, H, W = x.shape
        k, s = self.k, self.s
        if H < k or W < k:
            raise ValueError(f"{self.name}: input {H}x{W} smaller than the window {k}")
        Ho, Wo = _out_size(H, k, s, 0), _out_size(W, k, s, 0)
        win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
        win = win.reshape(B, C, Ho, Wo, k * k)
        idx = win.argmax(axis=-1)
        y = np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
        return y, (x.shape, idx)

    def backward(self, e, cache, ctx):
        """e ``(B, C, Ho, Wo)`` -> ``(B, C, H, W)``, each error routed to its window's argmax."""
        (B, C, H, W), idx = cache
        k, s = self.k, self.s
        Ho, Wo = idx.shape[2:]
        rows = np.arange(Ho)[:, None] * s + idx // k                  # (B,C,Ho,Wo)
        cols = np.arange(Wo)[None, :] * s + idx % k
        bc = np.arange(B * C).reshape(B, C, 1, 1)
        flat = (bc * H + rows) * W + cols
        dx = np.bincount(flat.ravel(), weights=e.ravel(), minlength=B * C * H * W)
        return dx.reshape(B, C, H, W).astype(e.dtype, copy=False)


class BatchNorm(Layer):
    """Per-channel batch normalisation of ``(B, C)`` or ``(B, C, H, W)`` inputs.

    Statistics are taken over every axis but the channel axis 1 (the batch, and the
    positions of an image); the running statistics are used when ``train`` is False.
    """

    def __init__(self, channels: int, *, name: str = "bn", dtype=np.float32,
                 momentum: float = 0.1, eps: float = 1e-5):
        dt = as_dtype(dtype)
        self.name, self.momentum, self.eps = name, float(momentum), float(eps)
        self.g = Param(np.ones(channels, dt), f"{name}.g")
        self.b = Param(np.zeros(channels, dt), f"{name}.b")
        self.running_mean = np.zeros(channels, dt)
        self.running_var = np.ones(channels, dt)

    def params(self):
        """``[g, b]``, each ``(C,)``."""
        return [self.g, self.b]

    def state_buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state kept by the model (``Model.state_dict``): the running
        ``mean`` and ``var``, each ``(C,)``, keyed ``"<name>.running_mean"`` etc. The
        arrays are live (updated in place), not copies."""
        return {f"{self.name}.running_mean": self.running_mean,
                f"{self.name}.running_var": self.running_var}

    @staticmethod
    def _axes(x):
        """(reduction axes, broadcast shape) for an input with channels on axis 1."""
        return (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)

    def forward(self, x, ctx):
        """x ``(B, C, ...)`` -> same shape; batch statistics (and running update) in train
        mode, running ones otherwise; caches ``(xhat, inv, train)``."""
        ax, sh = self._axes(x)
        if ctx.train:
            mu = x.mean(axis=ax)
            var = x.var(axis=ax)
            n = x.size // x.shape[1]
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mu
            self.running_var[...] = (1 - m) * self.running_var + m * var * n / max(n - 1, 1)
        else:
            mu, var = self.running_mean, self.running_var
        inv = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        xhat = (x - mu.reshape(sh)) * inv.reshape(sh)
        y = xhat * self.g.value.reshape(sh) + self.b.value.reshape(sh)
        return y, (xhat, inv, bool(ctx.train))

    def backward(self, e, cache, ctx):
        """e ``(B, C, ...)`` -> exact input error (weight-free, theory §6); fills g/b grads."""
        xhat, inv, train = cache
        ax, sh = self._axes(e)
        self.g.grad[...] = -(e * xhat).sum(axis=ax)
        self.b.grad[...] = -e.sum(axis=ax)
        gh = e * self.g.value.reshape(sh)
        if not train:
            return gh * inv.reshape(sh)
        return inv.reshape(sh) * (gh - gh.mean(axis=ax, keepdims=True)
                                  - xhat * (gh * xhat).mean(axis=ax, keepdims=True))


#: the same layer, named for its use after convolutions ``(B, C, H, W)``
BatchNorm2d = BatchNorm
#: the same layer, named for its use after Linear layers ``(B, C)``
BatchNorm1d = BatchNorm
