"""An independent plain NumPy implementation of the two-layer per-sample rules (the paper's
table: h = W1 x, e = y - W2 h, dW2 = e h^T, dW1 = B e x^T, dQ = h (P e)^T - lam Q, Oja on y).

Written straight from the equations, with no tricks, as the test oracle of the fused
two-layer kernels (:mod:`lintheory.kernels`): per-sample updates with ``np.outer``, and
mini-batch / full-batch steps that form every sample's error explicitly and average the
per-sample updates (the full batch does *not* use the covariance shortcut of the kernels).

Same signatures as the kernels: weights in the unrotated frame, natural layout
(``W1`` (k, n), ``W2`` (m, k), ``Q`` (k, r), ``P`` (r, m)), updated in place.
"""
from __future__ import annotations

import numpy as np


def _step(W1, W2, Q, P, Xb, Yb, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
    """One step: the mean over the rows of ``Xb`` (B, n), ``Yb`` (B, m) of the per-sample
    updates of theory §3, all computed from the pre-step weights, then applied."""
    B = Xb.shape[0]
    H = Xb @ W1.T                  # rows h_b = W1 x_b
    E = Yb - H @ W2.T              # rows e_b = y_b - W2 h_b
    if transport:
        A = E @ W2                 # rows (W2^T e_b)^T
    else:
        A = (E @ P.T) @ Q.T        # rows (Q P e_b)^T
    dW2 = eta * (E.T @ H / B) - eta * wd * W2
    dW1 = eta * (A.T @ Xb / B) - eta * wd * W1
    dQ = eta * (H.T @ (E @ P.T) / B) - eta * lam * Q if learns_Q else None
    if learns_P:
        PY = Yb @ P.T              # rows (P y_b)^T
        Z = Yb - PY @ P            # rows (y_b - P^T P y_b)^T
        dP = eta_P * (PY.T @ Z / B)
    W2 += dW2
    W1 += dW1
    if learns_Q:
        Q += dQ
    if learns_P:
        P += dP


def online_steps(W1, W2, Q, P, X, Y, idx, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
    """``len(idx)`` single-sample steps, sample ``t`` being ``X[idx[t]]``, ``Y[idx[t]]``."""
    for t in idx:
        x, y = X[t], Y[t]
        h = W1 @ x
        e = y - W2 @ h
        a = W2.T @ e if transport else Q @ (P @ e)
        if learns_Q:
            dQ = eta * np.outer(h, P @ e) - eta * lam * Q
        if learns_P:
            py = P @ y
            dP = eta_P * np.outer(py, y - P.T @ py)
        W2 += eta * np.outer(e, h) - eta * wd * W2
        W1 += eta * np.outer(a, x) - eta * wd * W1
        if learns_Q:
            Q += dQ
        if learns_P:
            P += dP


def minibatch_steps(W1, W2, Q, P, X, Y, idx, B, transport, learns_Q, learns_P,
                    eta, lam, wd, eta_P):
    """``len(idx) // B`` steps, step ``s`` averaging over the samples ``idx[s*B:(s+1)*B]``."""
    for s in range(len(idx) // B):
        batch = idx[s * B : (s + 1) * B]
        _step(W1, W2, Q, P, X[batch], Y[batch], transport, learns_Q, learns_P,
              eta, lam, wd, eta_P)


def full_steps(W1, W2, Q, P, X, Y, steps, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
    """``steps`` full-batch steps: each averages the per-sample updates over all of ``X``."""
    for _ in range(steps):
        _step(W1, W2, Q, P, X, Y, transport, learns_Q, learns_P, eta, lam, wd, eta_P)
