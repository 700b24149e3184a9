"""Initial weights for the linear theory: small random, or balanced and mode-aligned.

Every draw goes through the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_float
from .weights import Weights, check_sizes


def _feedback(rng: np.random.Generator, k: int, r: int, m: int):
    """Random ``Q`` (k x r, entries N(0, 1/r)) and ``P`` (r x m, entries N(0, 1/m))."""
    Q = rng.standard_normal((k, r)) / np.sqrt(r)
    P = rng.standard_normal((r, m)) / np.sqrt(m)
    return Q, P


def random_init(task, k: int, r: int, *, scale: float = 0.1, rng=None) -> Weights:
    """Small random weights in the *unrotated* frame (SPEC §1 shapes).

    Returns :class:`Weights` with ``W1 (k, n)``, ``W2 (m, k)``, ``Q (k, r)``, ``P (r, m)``.
    ``W1`` entries ``N(0, scale^2 / n)``, ``W2`` entries ``N(0, scale^2 / k)``, so the
    product ``W2 W1`` starts at size ~``scale^2``; ``Q``, ``P`` as in :func:`_feedback`.
    Draw order: W1, W2, Q, P.
    """
    k, r = check_sizes(task, k, r)
    scale = check_float("init scale", scale, low=0.0, low_open=True)
    rng = np.random.default_rng(rng)
    n, m = task.n, task.m
    W1 = scale * rng.standard_normal((k, n)) / np.sqrt(n)
    W2 = scale * rng.standard_normal((m, k)) / np.sqrt(k)
    Q, P = _feedback(rng, k, r, m)
    return Weights(W1, W2, Q, P, rotated=False)


def balanced_init(task, k: int, r: int, *, scale: float = 0.1, rng=None) -> Weights:
    """Balanced, mode-aligned initial weights (Saxe et al. 2013), *rotated* frame.

    ``W1bar = sum_i sqrt(a0) o_i e_i^T`` and ``W2bar = sum_i sqrt(a0) e_i o_i^T`` over the
    first ``d`` modes, with ``o_i`` orthonormal in the hidden layer (needs ``k >= d``) and
    ``a0 = scale**2``: then ``W2bar W1bar = a0 I_d`` on the signal modes and
    ``W1bar W1bar^T = W2bar^T W2bar``. Under BP each mode follows ``da/dt = 2 a (s_i - a)``
    (SPEC §4, Saxe closed form). Shapes as :func:`random_init`, rotated frame (SPEC §4).
    """
    k, r = check_sizes(task, k, r)
    scale = check_float("init scale", scale, low=0.0, low_open=True)
    d = task.d
    if k < d:
        raise ValueError(f"balanced init needs k (hidden width) >= d = {d}, got k={k}")
    rng = np.random.default_rng(rng)
    n, m = task.n, task.m
    O, _ = np.linalg.qr(rng.standard_normal((k, d)))
    W1 = np.zeros((k, n))
    W2 = np.zeros((m, k))
    W1[:, :d] = scale * O
    W2[:d, :] = scale * O.T
    Q, P = _feedback(rng, k, r, m)
    # Q, P are drawn in the unrotated frame; rotate P like any other draw.
    return Weights(W1, W2, Q, P @ task.U, rotated=True)


INITS = {"random": random_init, "balanced": balanced_init}


def make_init(task, k: int, r: int, kind: str = "random", *, scale: float = 0.1, rng=None):
    """Dispatch to :func:`random_init` or :func:`balanced_init` by name (``kind``).

    Returns :class:`Weights` ``W1 (k, n)``, ``W2 (m, k)``, ``Q (k, r)``, ``P (r, m)``.
    """
    try:
        fn = INITS[kind]
    except KeyError:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {kind!r}") from None
    return fn(task, k, r, scale=scale, rng=rng)
