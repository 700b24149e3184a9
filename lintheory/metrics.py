"""Metrics of the linear theory (theory §4), pure functions of rotated weights.

All functions accept a single matrix or a stack over time (leading axis).
"""

from __future__ import annotations

import numpy as np


def product(W1bar: np.ndarray, W2bar: np.ndarray) -> np.ndarray:
    """``W2bar W1bar``, shape (..., m, n)."""
    return W2bar @ W1bar


def mode_strengths(M: np.ndarray, s: np.ndarray, d: int) -> np.ndarray:
    """``a_i = [W2bar W1bar]_ii / s_i`` for ``i <= d``; shape (..., d). 1 = mode learned."""
    idx = np.arange(d)
    return M[..., idx, idx] / s[:d]


def offdiag_leak(M: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``|offdiag(W2bar W1bar)|_F / |S|_F``; shape (...)."""
    off = M.copy()
    q = min(M.shape[-2:])
    off[..., np.arange(q), np.arange(q)] = 0.0
    return np.linalg.norm(off, axis=(-2, -1)) / np.linalg.norm(S)


def alignment(M: np.ndarray, d: int) -> np.ndarray:
    """Alignment of the top-d singular vectors of ``W2 W1`` with those of ``Sigma_yx``.

    In the rotated frame the singular vectors of ``Sigma_yx`` are the standard basis, so
    this is ``(|u_i[i]| + |v_i[i]|) / 2`` for the i-th left/right singular vectors
    ``u_i, v_i`` of ``W2bar W1bar``; shape (..., d). 1 = perfectly aligned.
    """
    u, _, vt = np.linalg.svd(M)
    idx = np.arange(d)
    return 0.5 * (np.abs(u[..., idx, idx]) + np.abs(vt[..., idx, idx]))


def loss(M: np.ndarray, task) -> np.ndarray:
    """Training loss ``(1/2N) sum |y - W2 W1 x|^2`` from rotated ``M = W2bar W1bar``.

    Uses the task's exact covariances, so it holds with or without whitening:
    ``(1/2) [tr Syy - 2 tr(M Syx_bar^T) + tr(M Sxx_bar M^T)]`` with ``Syx_bar = S``.
    """
    Sxx_bar = task.Sigma_xx_bar
    quad = np.einsum("...ij,jk,...ik->...", M, Sxx_bar, M)
    cross = np.einsum("...ij,ij->...", M, task.S)
    return 0.5 * (np.trace(task.Sigma_yy) - 2.0 * cross + quad)
