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
           = G_{j+1} C_out G_{j+1}^T   (hidden layers of layered rules; error covariance)
    C_out = E[e_L e_L^T] = Syy - Syx M^T - M Syx^T + M M^T
"""

from __future__ import annotations


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


def deep_flow(Ws, Qs, Ps, Syx, Syy, transport, learns_Q, learns_P, direct, lam, wd, p_rate):
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

    Returns
    -------
    dWs, dQs, dPs : lists of matrices shaped like the inputs (formulas in the module doc).
    At ``L = 2`` this is :func:`lintheory.flow.flow` operation for operation.
    """
    L = len(Ws)
    H = forward_products(Ws)
    E = Syx - H[-1]
    R = [None] * L
    R[L - 1] = E
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
    dPs = []
    C = None
    if learns_P and not direct and L > 2:
        C = layer_error_covariances(Ws, Qs, Ps, Syx, Syy, transport, direct)
    for j in range(L - 1):
        if learns_P:
            Cj = Syy if (direct or j == L - 2) else C[j + 1]
            PS = Ps[j] @ Cj
            dPs.append(p_rate * (PS - (PS @ Ps[j].T) @ Ps[j]))
        else:
            dPs.append(0.0 * Ps[j])
    return dWs, dQs, dPs
