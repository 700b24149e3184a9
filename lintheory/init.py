"""Initial weights of linear networks of any depth: small random, or balanced and aligned.

``k`` is the hidden width of the two-layer network or a sequence of hidden widths
(``L - 1`` of them for depth ``L``); ``r`` one feedback rank or one per pathway. At depth 2
the draws are those of the paper's network (``W1``, ``W2``, then ``Q``, ``P``). Every draw
goes through the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_float, check_int
from .weights import Weights

MAX_SCALE = 1e3
"""Largest init scale: every weight then starts far below the divergence threshold
(``lintheory.dynamics.BLOWUP`` = 1e6), so that a blow-up can still be detected."""


def _feedback(rng: np.random.Generator, k: int, r: int, m: int):
    """Random ``Q`` (k x r, entries N(0, 1/r)) and ``P`` (r x m, entries N(0, 1/m))."""
    Q = rng.standard_normal((k, r)) / np.sqrt(r)
    P = rng.standard_normal((r, m)) / np.sqrt(m)
    return Q, P


def check_architecture(task, widths, ranks, direct: bool = False):
    """Validate hidden widths and feedback ranks; return ``(dims, ranks)`` as tuples.

    ``widths``: one int (the two-layer network's ``k``) or ``L - 1`` hidden widths.
    ``ranks``: one int (every pathway) or ``L - 1`` ints; the rank of pathway ``j`` must lie
    in ``[1, dim of the error it reads]`` (``m`` for the top pathway and direct rules).
    """
    two_layer = np.ndim(widths) == 0
    if two_layer:
        widths = [check_int("k (hidden width)", widths, low=1)]
    widths = tuple(check_int(f"widths[{i}]", k, low=1) for i, k in enumerate(widths))
    if len(widths) < 1:
        raise ValueError("widths must list at least one hidden width (depth L >= 2)")
    dims = (task.n,) + widths + (task.m,)
    L = len(dims) - 1
    if np.ndim(ranks) == 0:
        if two_layer:
            ranks = check_int("rank r", ranks, low=1, high=task.m)
        ranks = [ranks] * (L - 1)
    ranks = list(ranks)
    if len(ranks) != L - 1:
        raise ValueError(f"ranks must be one int or {L - 1} ints (one per feedback pathway "
                         f"of a depth-{L} network), got {len(ranks)}")
    out = []
    for j, r in enumerate(ranks):
        cols = dims[-1] if direct else dims[j + 2]
        out.append(check_int(f"ranks[{j}] (feedback rank into layer {j + 1})", r, low=1,
                             high=cols))
    return dims, tuple(out)


def _feedbacks(rng, dims, ranks, direct):
    Qs, Ps = [], []
    for j, r in enumerate(ranks):
        cols = dims[-1] if direct else dims[j + 2]
        Q, P = _feedback(rng, dims[j + 1], r, cols)
        Qs.append(Q)
        Ps.append(P)
    return Qs, Ps


def random_init(task, k, r, *, scale: float = 0.1, rng=None, direct: bool = False) -> Weights:
    """Small random weights in the *unrotated* frame.

    ``W_l`` entries ``N(0, scale^2 / fan_in)`` (two layers: ``W1`` ``N(0, scale^2/n)``,
    ``W2`` ``N(0, scale^2/k)``, so ``W2 W1`` starts at size ~``scale^2``; depth L:
    ~``scale^L``); ``Q`` entries ``N(0, 1/r)``, ``P`` entries ``N(0, 1/cols)``. Draw order:
    ``W_1 ... W_L``, then ``(Q, P)`` per pathway bottom-up.
    """
    dims, ranks = check_architecture(task, k, r, direct)
    scale = check_float("init scale", scale, low=0.0, low_open=True, high=MAX_SCALE)
    rng = np.random.default_rng(rng)
    Ws = [scale * rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])
          for i in range(len(dims) - 1)]
    Qs, Ps = _feedbacks(rng, dims, ranks, direct)
    return Weights(tuple(Ws), tuple(Qs), tuple(Ps), rotated=False, direct=direct)


def balanced_init(task, k, r, *, scale: float = 0.1, rng=None, direct: bool = False) -> Weights:
    """Balanced, mode-aligned weights (Saxe et al. 2013), *rotated* frame.

    With orthonormal ``O_l`` (k_l x d) drawn at random::

        W_1bar = scale O_1 [I_d 0],  W_l = scale O_l O_{l-1}^T,  W_Lbar = scale [I_d 0]^T O_{L-1}^T

    so every layer contributes ``scale`` to each of the first ``d`` modes,
    ``W_Lbar ... W_1bar = scale^L I_d`` on the signal block, and
    ``W_{l+1}^T W_{l+1} = W_l W_l^T`` (balance). Under BP each mode then follows
    ``da/dt = L a^(2 - 2/L) (s_i - a)`` from ``a0 = scale^L`` (two layers:
    ``2 a (s_i - a)``, the Saxe closed form). Needs every width ``>= d``. ``Q``, ``P`` are
    drawn as in :func:`random_init` (after the ``O_l``) and the output-reading ``P``
    rotated like any unrotated draw.
    """
    dims, ranks = check_architecture(task, k, r, direct)
    scale = check_float("init scale", scale, low=0.0, low_open=True, high=MAX_SCALE)
    d = task.d
    if min(dims[1:-1]) < d:
        what = "k (hidden width)" if len(dims) == 3 else "every hidden width"
        raise ValueError(f"balanced init needs {what} >= d = {d}, got {list(dims[1:-1])}")
    rng = np.random.default_rng(rng)
    Os = [np.linalg.qr(rng.standard_normal((w, d)))[0] for w in dims[1:-1]]
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
    # The forward weights above are already rotated: rotate only the P that read the output.
    for j in (range(L - 1) if direct else (L - 2,)):
        Ps[j] = Ps[j] @ task.U
    return Weights(tuple(Ws), tuple(Qs), tuple(Ps), rotated=True, direct=direct)


INITS = {"random": random_init, "balanced": balanced_init}


def make_init(task, k, r, kind: str = "random", *, scale: float = 0.1, rng=None,
              direct: bool = False) -> Weights:
    """Dispatch to :func:`random_init` or :func:`balanced_init` by name (``kind``).

    ``k``: hidden width (two layers) or widths; ``r``: rank or ranks; ``direct`` for
    rules whose pathways read the output error (dRAF, DFA).
    """
    try:
        fn = INITS[kind]
    except KeyError:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {kind!r}") from None
    return fn(task, k, r, scale=scale, rng=rng, direct=direct)


def init_for(task, rule, k, r, kind: str = "random", *, scale: float = 0.1, rng=None):
    """:func:`make_init` with ``direct`` taken from the rule (a name or a Rule)."""
    from .rules import get_rule

    return make_init(task, k, r, kind, scale=scale, rng=rng, direct=get_rule(rule).direct)
