"""Initial weights of deep linear networks: small random, or balanced and mode-aligned.

Both reduce to :mod:`lintheory.init` at depth 2 (same draws in the same order, so the same
generator gives the same weights). Every draw goes through the ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_float, check_int
from ..init import _feedback
from .weights import DeepWeights


def check_architecture(task, widths, ranks, direct: bool = False):
    """Validate hidden widths and feedback ranks; return ``(dims, ranks)`` as tuples.

    ``widths`` is a sequence of ``L - 1`` hidden widths (``L >= 2``). ``ranks`` is one int
    (used for every feedback pathway) or ``L - 1`` ints; the rank of pathway ``j`` must lie
    in ``[1, dim of the error it reads]`` (``m`` for the output layer and direct rules).
    """
    if np.ndim(widths) == 0:
        widths = [widths]
    widths = tuple(check_int(f"widths[{i}]", k, low=1) for i, k in enumerate(widths))
    if len(widths) < 1:
        raise ValueError("widths must list at least one hidden width (depth L >= 2)")
    dims = (task.n,) + widths + (task.m,)
    L = len(dims) - 1
    if np.ndim(ranks) == 0:
        ranks = [ranks] * (L - 1)
    ranks = list(ranks)
    if len(ranks) != L - 1:
        raise ValueError(f"ranks must be one int or {L - 1} ints (one per feedback pathway "
                         f"of a depth-{L} network), got {len(ranks)}")
    out = []
    for j, r in enumerate(ranks):
        cols = dims[-1] if direct else dims[j + 2]
        out.append(check_int(f"ranks[{j}] (feedback rank into layer {j + 1})", r, low=1, high=cols))
    return dims, tuple(out)


def _feedbacks(rng, dims, ranks, direct):
    Qs, Ps = [], []
    for j, r in enumerate(ranks):
        cols = dims[-1] if direct else dims[j + 2]
        Q, P = _feedback(rng, dims[j + 1], r, cols)
        Qs.append(Q)
        Ps.append(P)
    return Qs, Ps


def random_deep_init(task, widths, ranks, *, scale: float = 0.1, rng=None,
                     direct: bool = False) -> DeepWeights:
    """Small random weights in the *unrotated* frame.

    ``W_l`` entries ``N(0, scale^2 / fan_in)``; ``Q`` entries ``N(0, 1/r)``, ``P`` entries
    ``N(0, 1/cols)``. Draw order: ``W_1 ... W_L``, then ``(Q, P)`` per pathway bottom-up
    (at depth 2 exactly :func:`lintheory.init.random_init`). The product ``W_L ... W_1``
    starts at size ~``scale^L``.
    """
    dims, ranks = check_architecture(task, widths, ranks, direct)
    scale = check_float("init scale", scale, low=0.0, low_open=True)
    rng = np.random.default_rng(rng)
    Ws = [scale * rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])
          for i in range(len(dims) - 1)]
    Qs, Ps = _feedbacks(rng, dims, ranks, direct)
    return DeepWeights(tuple(Ws), tuple(Qs), tuple(Ps), rotated=False, direct=direct)


def balanced_deep_init(task, widths, ranks, *, scale: float = 0.1, rng=None,
                       direct: bool = False) -> DeepWeights:
    """Balanced, mode-aligned weights (Saxe et al. 2013), *rotated* frame.

    With orthonormal ``O_l`` (k_l x d) drawn at random::

        W_1bar = scale O_1 [I_d 0],  W_l = scale O_l O_{l-1}^T,  W_Lbar = scale [I_d 0]^T O_{L-1}^T

    so every layer contributes ``scale`` to each of the first ``d`` modes,
    ``W_Lbar ... W_1bar = scale^L I_d`` on the signal block, and
    ``W_{l+1}^T W_{l+1} = W_l W_l^T`` (balance). Under BP each mode then follows
    ``da/dt = L a^(2 - 2/L) (s_i - a)`` from ``a0 = scale^L``. Needs every width ``>= d``.
    ``Q``, ``P`` are drawn as in :func:`random_deep_init` (after the ``O_l``) and the
    output-reading ``P`` rotated like any unrotated draw.
    """
    dims, ranks = check_architecture(task, widths, ranks, direct)
    scale = check_float("init scale", scale, low=0.0, low_open=True)
    d = task.d
    if min(dims[1:-1]) < d:
        raise ValueError(f"balanced init needs every hidden width >= d = {d}, got {dims[1:-1]}")
    rng = np.random.default_rng(rng)
    Os = [np.linalg.qr(rng.standard_normal((k, d)))[0] for k in dims[1:-1]]
    L = len(dims) - 1
    Ws = []
    for i in range(L):
        W = np.zeros((dims[i + 1], dims[i]))
        if i == 0:
            W[:, :d] = scale * Os[0]
        elif i == L - 1:
            W[:d, :] = scale * Os[-1].T
        else:
            W[:] = scale * Os[i] @ Os[i - 1].T
        Ws.append(W)
    Qs, Ps = _feedbacks(rng, dims, ranks, direct)
    w = DeepWeights(tuple(Ws), tuple(Qs), tuple(Ps), rotated=False, direct=direct)
    # The forward weights above are already rotated: rotate only the P that read the output.
    Ps = list(w.Ps)
    for j in (range(L - 1) if direct else (L - 2,)):
        Ps[j] = Ps[j] @ task.U
    return DeepWeights(w.Ws, w.Qs, tuple(Ps), rotated=True, direct=direct)


DEEP_INITS = {"random": random_deep_init, "balanced": balanced_deep_init}


def make_deep_init(task, widths, ranks, kind: str = "random", *, scale: float = 0.1,
                   rng=None, direct: bool = False) -> DeepWeights:
    """Dispatch to :func:`random_deep_init` or :func:`balanced_deep_init` by name."""
    try:
        fn = DEEP_INITS[kind]
    except KeyError:
        raise ValueError(f"init must be one of {', '.join(DEEP_INITS)}; got {kind!r}") from None
    return fn(task, widths, ranks, scale=scale, rng=rng, direct=direct)
