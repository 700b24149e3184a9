"""Averaged continuous-time dynamics of deep linear networks (derivations/deep_linear.md).

Like :func:`lintheory.flow.flow`, every function here uses matrix operations only
(``@``, ``.T``, ``+``, ``-``, scalar ``*``) on Python lists of matrices, so the *same*
code runs on NumPy arrays (the ODE integrator) and on SymPy matrices
(:mod:`lintheory.symbolic.deep` checks it against per-sample averages). Pass
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
       C_j = Syy                       (output-layer P of a layered rule; the P of a
                                        direct rule with oja_drive="targets")
           = z(K) K,  K = G_{j+1} C_out G_{j+1}^T
                                       (hidden layers of layered rules: the covariance of
                                        the arriving error)
           = z(C_out) C_out            (direct rules, oja_drive="error", the default:
                                        the covariance of the source error e_L)
       z(K) = 1 / (max_i K_ii + eps)   (oja_scale; SPEC §6 "divide by the largest
                                        per-unit std"), z = 1 without oja_scale
    C_out = E[e_L e_L^T] = Syy - Syx M^T - M Syx^T + M M^T

The normaliser ``z`` is a function of the *weights* (the data-averaged covariance), not
of a batch: the discrete rule (:mod:`lintheory.deep.sgd`) multiplies its batch second
moment by the same ``z(K(theta))``, so its batch average is exactly this right-hand side
and its small-step limit is this ODE (derivations/deep_linear.md, "Normalised Oja").
"""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import register_jitable


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
"""Added to the largest per-unit error variance before an error-driven Oja covariance is
divided by it (SPEC §6: scale the errors by their largest per-unit std plus a small epsilon)."""


@register_jitable
def oja_normaliser(C):
    """``z = 1 / (max_i C_ii + OJA_EPS)`` of an averaged error covariance ``C (D, D)``.

    A positive scalar of the *weights* (``C`` is the data-averaged covariance at the
    current weights), so the ODE and every SGD step use the same number. Plain Python on
    NumPy or SymPy-free input; compiled inline when called from numba code.
    """
    top = C[0, 0]
    for i in range(1, C.shape[0]):
        if C[i, i] > top:
            top = C[i, i]
    return 1.0 / (top + OJA_EPS)


def scaled_covariance(C):
    """``C / (max_i C_ii + OJA_EPS)``: errors divided by their largest per-unit std (SPEC §6)."""
    return C * oja_normaliser(C)


@register_jitable
def pushed_covariances(Ws, Qs, Ps, C_out, transport):
    """Covariances of the errors at the output of each ``Ws[i]`` of a *layered* rule.

    ``C_out (m, m)`` is the output-error covariance; returns a list of ``L`` matrices with
    ``C[L-1] = C_out`` and ``C[i] = B_{i+1} C[i+1] B_{i+1}^T`` for ``i = L-2 .. 1``
    (``B = Ws[i+1]^T`` with transport, else ``Qs[i] Ps[i]``); ``C[0]`` is left at
    ``C_out`` (no ``P`` reads the error at the output of ``Ws[0]``). Matrix operations
    only: runs on NumPy, SymPy and inside numba kernels.
    """
    L = len(Ws)
    C = [C_out] * L
    for i in range(L - 2, 0, -1):
        if transport:
            C[i] = Ws[i + 1].T @ C[i + 1] @ Ws[i + 1]
        else:
            B = Qs[i] @ Ps[i]
            C[i] = B @ C[i + 1] @ B.T
    return C


def deep_flow(Ws, Qs, Ps, Syx, Syy, transport, learns_Q, learns_P, direct, lam, wd, p_rate,
              oja_scale=True, drive_error=True, out_basis=None):
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
        Multiply every *error* covariance that drives Oja by its normaliser
        :func:`oja_normaliser` (``1 / (max_i C_ii + OJA_EPS)``), as SPEC §6 prescribes (the
        authors scale the errors by their largest per-unit std). Target-driven ``P`` use
        the raw ``Syy``, as in the two-layer theory. Without it the hidden-layer Oja rate
        grows with ``|G|^2`` (products of feedback matrices) and the ODE becomes stiff;
        ``False`` keeps the function polynomial (SymPy checks).
    drive_error : bool
        Direct rules only (dRAF): ``True`` (``oja_drive="error"``, the default) drives each
        ``P`` by the covariance of the source error ``C_out``; ``False``
        (``oja_drive="targets"``) by ``Syy``. Layered rules ignore it.
    out_basis : (m, m) array or None
        ``U`` when the weights are rotated (``None``: the identity, unrotated). Only the
        normaliser of the *output* error covariance needs it: "the largest per-unit
        variance" is taken over the network's output units, ``max_i [U C_out_bar U^T]_ii``,
        which is not invariant under the rotation (hidden-layer covariances are).

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
    # covariances of the errors that drive Oja (only where they are needed); C[i] is the
    # covariance of the error at the output of Ws[i]
    C = [Syy] * L
    if learns_P and ((direct and drive_error) or (not direct and L > 2)):
        M = H[L - 1]
        C_out = Syy - Syx @ M.T - M @ Syx.T + M @ M.T
        C = [C_out] * L if direct else pushed_covariances(Ws, Qs, Ps, C_out, transport)
    z_out = 1.0  # normaliser of the output-error covariance, in the output units' basis
    if learns_P and direct and drive_error and oja_scale:
        if out_basis is None:
            z_out = oja_normaliser(C[L - 1])
        else:
            z_out = oja_normaliser(out_basis @ C[L - 1] @ out_basis.T)
    dPs = []
    for j in range(L - 1):
        if learns_P:
            if (not direct and j == L - 2) or (direct and not drive_error):
                Cj = Syy
            elif oja_scale:
                Cj = C[j + 1] * (z_out if direct else oja_normaliser(C[j + 1]))
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
              lam, wd, p_rate, oja_scale, drive_error, out_basis):
    """:func:`deep_flow` compiled by numba on a flat state ``theta = Ws + Qs + Ps``.

    ``out_basis (m, m)``: ``U`` for rotated weights, the identity for unrotated ones.

    ``offs``, ``rows``, ``cols`` (int64, length ``3L - 2``) locate each matrix in ``theta``;
    returns the flat time derivative (the ODE right-hand side).
    """
    nm = 3 * L - 2
    mats = [theta[offs[a] : offs[a] + rows[a] * cols[a]].reshape((rows[a], cols[a]))
            for a in range(nm)]
    dWs, dQs, dPs = _deep_flow_jit(mats[:L], mats[L : 2 * L - 1], mats[2 * L - 1 :], Syx, Syy,
                                   transport, learns_Q, learns_P, direct, lam, wd, p_rate,
                                   oja_scale, drive_error, out_basis)
    out = np.empty_like(theta)
    parts = dWs + dQs + dPs
    for a in range(nm):
        out[offs[a] : offs[a] + rows[a] * cols[a]] = parts[a].ravel()
    return out
