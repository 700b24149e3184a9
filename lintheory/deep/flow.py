"""Averaged continuous-time dynamics of deep linear networks (derivations/deep_linear.md).

Like :func:`lintheory.flow.flow`, every function here uses matrix operations only
(``@``, ``.T``, ``+``, ``-``, scalar ``*``) on Python lists of matrices, so the *same*
code runs on NumPy arrays (the ODE integrator) and on SymPy matrices
(:mod:`lintheory.deep.symbolic` checks it against per-sample averages). Pass
``(Sigma_yx, Sigma_yy)`` with unrotated weights or ``(S, Sigma_yy_bar)`` with rotated ones.

Notation (0-based lists, see :mod:`lintheory.deep.weights`): ``Ws[i]`` is ``W_{i+1}``;
feedback ``j`` (``Qs[j]``, ``Ps[j]``) delivers the error to the output of ``Ws[j]``.
With whitened inputs every averaged quantity is a closed-form function of the weights:

    H_i = Ws[i-1] ... Ws[0]         (input of Ws[i] is H_i x; H_0 = I)
    M   = Ws[L-1] ... Ws[0],  E = Syx - M       (E = E[e_L x^T])
    R_{L-1} = E;  R_j = E[e_j x^T] = Ws[j+1]^T R_{j+1}            (BP)
                                   = Q_j P_j R_{j+1}             (layered FA/KP/RAF)
                                   = Q_j P_j E                   (direct: dFA, dRAF)
    dWs[i]/dt = R_i H_i^T - wd Ws[i]
    dQs[j]/dt = H_{j+1} Rsrc_j^T P_j^T - lam Q_j,   Rsrc_j = R_{j+1} (layered) or E (direct)
    dPs[j]/dt = p_rate P_j C_j (I - P_j^T P_j)
       C_j = Syy                       (P_j reads the output: j = L-2, or direct rules)
           = K / (max_i K_ii + eps),   K = G_{j+1} C_out G_{j+1}^T
                                       (hidden layers of layered rules: the covariance of
                                        the arriving error, scaled as SPEC §6 says)
    C_out = E[e_L e_L^T] = Syy - Syx M^T - M Syx^T + M M^T
"""

from __future__ import annotations

import numba
import numpy as np


def forward_products(Ws):
    """``[H_1, ..., H_L]``: ``H_i = Ws[i-1] ... Ws[0]``; ``H_L`` is ``M``."""
    H = [Ws[0]]
    for W in Ws[1:]:
        H.append(W @ H[-1])
    return H


def output_error_covariance(M, Syx, Syy):
    """``E[e e^T]`` of the output error ``e = y - M x`` with whitened inputs (m x m).

    ``Syy - Syx M^T - M Syx^T + M M^T``.
    """
    return Syy - Syx @ M.T - M @ Syx.T + M @ M.T


def error_maps(Ws, Qs, Ps, transport, direct):
    """Linear maps ``G_i`` with ``e_i = G_i e_L`` (error at the output of ``Ws[i]``).

    Returns a list of ``L`` entries; ``G_{L-1}`` is ``None`` (the identity).
    """
    L = len(Ws)
    G = [None] * L
    for j in range(L - 2, -1, -1):
        if transport:
            B = Ws[j + 1].T
        else:
            B = Qs[j] @ Ps[j]
        G[j] = B if (direct or G[j + 1] is None) else B @ G[j + 1]
    return G


def layer_error_covariances(Ws, Qs, Ps, Syx, Syy, transport, direct):
    """``E[e_i e_i^T]`` for the error at the output of each ``Ws[i]`` (list of ``L``).

    ``C_{L-1} = Syy - Syx M^T - M Syx^T + M M^T`` and ``C_i = G_i C_{L-1} G_i^T``.
    """
    M = forward_products(Ws)[-1]
    C_out = output_error_covariance(M, Syx, Syy)
    return [C_out if g is None else g @ C_out @ g.T
            for g in error_maps(Ws, Qs, Ps, transport, direct)]


OJA_EPS = 1e-8
"""Added to the largest per-unit error variance before the hidden-layer Oja covariance is
divided by it (SPEC §6: scale the errors by their largest per-unit std plus a small epsilon)."""


def scaled_covariance(C):
    """``C / (max_i C_ii + OJA_EPS)``: errors divided by their largest per-unit std (SPEC §6)."""
    top = C[0, 0]
    for i in range(1, C.shape[0]):
        if C[i, i] > top:
            top = C[i, i]
    return C * (1.0 / (top + OJA_EPS))


def deep_flow(Ws, Qs, Ps, Syx, Syy, transport, learns_Q, learns_P, direct, lam, wd, p_rate,
              oja_scale=True):
    """Right-hand side ``tau d(Ws, Qs, Ps)/dt`` of the averaged deep dynamics (``tau = 1``).

    Parameters
    ----------
    Ws : list of L matrices      Qs, Ps : lists of L-1 matrices
        Weights (rotated or unrotated, matching ``Syx``/``Syy``); shapes as in
        :mod:`lintheory.deep.weights`.
    Syx : (m, n)  ``Sigma_yx`` or ``S``.   Syy : (m, m)  ``Sigma_yy`` or ``Sigma_yy_bar``.
    transport, learns_Q, learns_P, direct : bool
        The rule's switches (:class:`lintheory.deep.rules.DeepRule`).
    lam, wd, p_rate : float
        Q decay, weight decay on every ``W``, Oja time-scale ratio.
    oja_scale : bool
        Divide each *hidden-layer* error covariance by its largest diagonal entry (plus
        ``OJA_EPS``) before Oja uses it, as SPEC §6 prescribes (the authors scale the
        errors by their largest per-unit std). Output-reading ``P`` always use the raw
        ``Syy``, as in the two-layer theory. Without it the hidden-layer Oja rate grows with
        ``|G|^2`` (products of feedback matrices) and the ODE becomes stiff; ``False`` keeps
        the function polynomial (SymPy checks).

    Returns
    -------
    dWs, dQs, dPs : lists of matrices shaped like the inputs (formulas in the module doc).
    At ``L = 2`` this is :func:`lintheory.flow.flow` operation for operation.
    """
    L = len(Ws)
    H = [Ws[0]]  # H[i] = Ws[i] ... Ws[0]: the input of Ws[i+1]; H[L-1] = M
    for i in range(1, L):
        H.append(Ws[i] @ H[i - 1])
    E = Syx - H[L - 1]
    R = [E] * L
    for j in range(L - 2, -1, -1):
        if transport:
            R[j] = Ws[j + 1].T @ R[j + 1]
        else:
            R[j] = Qs[j] @ (Ps[j] @ (E if direct else R[j + 1]))
    dWs = [R[0] - wd * Ws[0]]
    for i in range(1, L):
        dWs.append(R[i] @ H[i - 1].T - wd * Ws[i])
    dQs = []
    for j in range(L - 1):
        if learns_Q:
            src = E if direct else R[j + 1]
            dQs.append(H[j] @ (src.T @ Ps[j].T) - lam * Qs[j])
        else:
            dQs.append(0.0 * Qs[j])
    # covariances of the errors arriving at the hidden layers (only where Oja needs them)
    C = [Syy] * L
    if learns_P and not direct and L > 2:
        M = H[L - 1]
        C[L - 1] = Syy - Syx @ M.T - M @ Syx.T + M @ M.T
        for i in range(L - 2, 0, -1):
            if transport:
                C[i] = Ws[i + 1].T @ C[i + 1] @ Ws[i + 1]
            else:
                B = Qs[i] @ Ps[i]
                C[i] = B @ C[i + 1] @ B.T
    dPs = []
    for j in range(L - 1):
        if learns_P:
            if direct or j == L - 2:
                Cj = Syy
            elif oja_scale:  # scaled_covariance, inlined so that numba compiles it
                top = C[j + 1][0, 0]
                for u in range(1, C[j + 1].shape[0]):
                    if C[j + 1][u, u] > top:
                        top = C[j + 1][u, u]
                Cj = C[j + 1] * (1.0 / (top + OJA_EPS))
            else:
                Cj = C[j + 1]
            PS = Ps[j] @ Cj
            dPs.append(p_rate * (PS - (PS @ Ps[j].T) @ Ps[j]))
        else:
            dPs.append(0.0 * Ps[j])
    return dWs, dQs, dPs


_deep_flow_jit = numba.njit(cache=True)(deep_flow)


@numba.njit(cache=True)
def flat_flow(theta, offs, rows, cols, L, Syx, Syy, transport, learns_Q, learns_P, direct,
              lam, wd, p_rate, oja_scale):
    """:func:`deep_flow` compiled by numba on a flat state ``theta = Ws + Qs + Ps``.

    ``offs``, ``rows``, ``cols`` (int64, length ``3L - 2``) locate each matrix in ``theta``;
    returns the flat time derivative (the ODE right-hand side).
    """
    nm = 3 * L - 2
    mats = [theta[offs[a] : offs[a] + rows[a] * cols[a]].reshape((rows[a], cols[a]))
            for a in range(nm)]
    dWs, dQs, dPs = _deep_flow_jit(mats[:L], mats[L : 2 * L - 1], mats[2 * L - 1 :], Syx, Syy,
                                   transport, learns_Q, learns_P, direct, lam, wd, p_rate,
                                   oja_scale)
    out = np.empty_like(theta)
    parts = dWs + dQs + dPs
    for a in range(nm):
        out[offs[a] : offs[a] + rows[a] * cols[a]] = parts[a].ravel()
    return out
