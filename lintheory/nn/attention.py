"""Transformer pieces: multi-head self-attention, patch embedding, class-token readout.

Every weight matrix is its own :class:`~lintheory.nn.layers.Linear` (q, k, v, output,
patch projection), so each sends its input error through its own feedback rule; the
weight-free parts (scaled dot products, softmax mixing, head split/merge, token
concatenation, position embeddings) pass errors exactly (theory §6, Transformer).
Shapes: tokens ``(B, T, D)``; heads ``(B, h, T, D/h)``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, Param, as_dtype
from .layers import Linear


class MultiHeadSelfAttention(Layer):
    """``y = W_o concat_h softmax(q_h k_h^T / sqrt(d_h)) v_h`` with q, k, v = x W^T."""

    def __init__(self, dim: int, heads: int, *, rng: np.random.Generator, name: str = "attn",
                 dtype=np.float32):
        if heads < 1 or dim % heads:
            raise ValueError(f"heads must be >= 1 and divide dim={dim}, got {heads}")
        self.name, self.dim, self.heads = name, int(dim), int(heads)
        mk = lambda s: Linear(dim, dim, rng=rng, name=f"{name}.{s}", dtype=dtype, init="lecun")
        self.q, self.k, self.v, self.o = mk("q"), mk("k"), mk("v"), mk("o")

    def _split(self, x):
        B, T, _ = x.shape
        return x.reshape(B, T, self.heads, -1).transpose(0, 2, 1, 3)

    def _merge(self, x):
        B, h, T, dh = x.shape
        return x.transpose(0, 2, 1, 3).reshape(B, T, h * dh)

    def forward(self, x, ctx):
        """x ``(B, T, D)`` -> y ``(B, T, D)``; caches the q/k/v/o caches, heads and attention A."""
        q, cq = self.q.forward(x, ctx)
        k, ck = self.k.forward(x, ctx)
        v, cv = self.v.forward(x, ctx)
        qh, kh, vh = self._split(q), self._split(k), self._split(v)
        scale = float(1.0 / np.sqrt(qh.shape[-1]))
        S = (qh @ kh.transpose(0, 1, 3, 2)) * scale
        S -= S.max(axis=-1, keepdims=True)
        A = np.exp(S)
        A /= A.sum(axis=-1, keepdims=True)
        y, co = self.o.forward(self._merge(A @ vh), ctx)
        return y, (cq, ck, cv, co, qh, kh, vh, A, scale)

    def backward(self, e, cache, ctx):
        """e ``(B, T, D)`` -> input error ``(B, T, D)``: softmax mixing passed exactly, each of
        q, k, v, o sends its error through its own feedback (``B = W^T`` or ``Q P``, theory §6);
        ``None`` if q has no feedback."""
        cq, ck, cv, co, qh, kh, vh, A, scale = cache
        eO = self._split(self.o.backward(e, co, ctx))
        eA = eO @ vh.transpose(0, 1, 3, 2)
        ev = A.transpose(0, 1, 3, 2) @ eO
        eS = A * (eA - (eA * A).sum(axis=-1, keepdims=True)) * scale
        eq = eS @ kh
        ek = eS.transpose(0, 1, 3, 2) @ qh
        dq = self.q.backward(self._merge(eq), cq, ctx)
        dk = self.k.backward(self._merge(ek), ck, ctx)
        dv = self.v.backward(self._merge(ev), cv, ctx)
        if dq is None:
            return None
        return dq + dk + dv

    def _children(self):
        return (self.q, self.k, self.v, self.o)

    def params(self):
        """Forward parameters of q, k, v and o."""
        return [p for c in self._children() for p in c.params()]

    def feedback_params(self):
        """Learned feedback parameters (Q, P) of q, k, v and o."""
        return [p for c in self._children() for p in c.feedback_params()]

    def weight_layers(self):
        """``[q, k, v, o]``."""
        return list(self._children())


class PatchEmbed(Layer):
    """``(B, C, H, W)`` -> ``(B, 1 + T, D)``: p x p patches through a Linear projection,
    a learned class token in front, learned position embeddings added."""

    def __init__(self, input_shape, patch: int, dim: int, *, rng: np.random.Generator,
                 name: str = "embed", dtype=np.float32):
        dt = as_dtype(dtype)
        C, H, W = input_shape
        if patch < 1 or H % patch or W % patch:
            raise ValueError(f"patch must be >= 1 and divide H={H} and W={W}, got {patch}")
        self.name, self.p, self.C = name, int(patch), int(C)
        self.n_tokens = (H // patch) * (W // patch)
        self.proj = Linear(C * patch * patch, dim, rng=rng, name=f"{name}.proj", dtype=dtype,
                           init="lecun")
        self.cls = Param(rng.normal(0.0, 0.02, size=(dim,)).astype(dt), f"{name}.cls")
        self.pos = Param(rng.normal(0.0, 0.02, size=(self.n_tokens + 1, dim)).astype(dt),
                         f"{name}.pos")

    def patches(self, x):
        """``(B, C, H, W)`` -> ``(B, T, C*p*p)``, patches in row-major order."""
        B, C, H, W = x.shape
        p = self.p
        x = x.reshape(B, C, H // p, p, W // p, p).transpose(0, 2, 4, 1, 3, 5)
        return x.reshape(B, (H // p) * (W // p), C * p * p)

    def forward(self, x, ctx):
        """x ``(B, C, H, W)`` -> tokens ``(B, 1 + T, D)``; caches (projection cache, x.shape)."""
        tok, c = self.proj.forward(self.patches(x), ctx)
        B, _, D = tok.shape
        y = np.concatenate([np.broadcast_to(self.cls.value, (B, 1, D)), tok], axis=1)
        return y + self.pos.value, (c, x.shape)

    def backward(self, e, cache, ctx):
        """e ``(B, 1 + T, D)`` -> input error ``(B, C, H, W)`` through the projection's feedback
        (``B = W^T`` or ``Q P``, theory §6), or ``None`` without feedback; fills cls/pos grads."""
        c, (B, C, H, W) = cache
        self.pos.grad[...] = -e.sum(axis=0)
        self.cls.grad[...] = -e[:, 0].sum(axis=0)
        d = self.proj.backward(e[:, 1:], c, ctx)
        if d is None:
            return None
        p = self.p
        d = d.reshape(B, H // p, W // p, C, p, p).transpose(0, 3, 1, 4, 2, 5)
        return d.reshape(B, C, H, W)

    def params(self):
        """The projection's parameters, the class token ``(D,)`` and positions ``(1 + T, D)``."""
        return self.proj.params() + [self.cls, self.pos]

    def feedback_params(self):
        """Learned feedback parameters (Q, P) of the projection."""
        return self.proj.feedback_params()

    def weight_layers(self):
        """``[proj]``."""
        return [self.proj]


class ClassToken(Layer):
    """``(B, T, D)`` -> ``(B, D)``: the first (class) token; the error goes back to it."""

    def __init__(self, name: str = "cls"):
        self.name = name

    def forward(self, x, ctx):
        """x ``(B, T, D)`` -> ``x[:, 0]`` ``(B, D)``; caches x's shape."""
        return x[:, 0], x.shape

    def backward(self, e, shape, ctx):
        """e ``(B, D)`` -> ``(B, T, D)``: e at token 0, zeros elsewhere."""
        d = np.zeros(shape, e.dtype)
        d[:, 0] = e
        return d
