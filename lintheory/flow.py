"""The averaged continuous-time dynamics of linear networks of any depth.

Paper Eqs. 5, 9, 10 (two layers) and Eq. 11 (deep); derivations in ``derivations/``.
:func:`flow` uses matrix operations only (``@``, ``.T``, ``+``, ``-``, scalar ``*``) on
Python lists of matrices, and it reaches the learning rule only through the rule's three
functions (:mod:`lintheory.rules`). So the *same* code runs on NumPy arrays (the NumPy
right-hand side), compiled by numba (:func:`flat_flow`, what the integrator calls, with the
rule's functions as first-class arguments) and on SymPy matrices (``lintheory verify``).
Pass ``(Sigma_yx, Sigma_yy)`` with unrotated weights or ``(S, Sigma_yy_bar)`` with rotated
ones (``W_1 V``, ``U^T W_L``, output-reading ``P U``; ``Q`` and hidden layers unrotated).

Notation (0-based lists, see :class:`lintheory.weights.Weights`): ``Ws[i]`` is ``W_{i+1}``;
feedback pathway ``j`` (``Qs[j]``, ``Ps[j]``) delivers the error to the output of
``Ws[j]``; ``fb_j(e) = feedback(Ws[j+1], Qs[j], Ps[j], e)``. With whitened inputs every
averaged quantity is a closed-form function of the weights::

    H_i = Ws[i] ... Ws[0]           (the output of Ws[i] is H_i x)
    M   = H_{L-1},  E = Syx - M     (E = E[e_L x^T])
    R_{L-1} = E;  R_j = E[e_j x^T] = fb_j(src_j),  src_j = R_{j+1} (layered) or E (direct)
    dWs[0]/dt = R_0 - wd Ws[0];  dWs[i]/dt = R_i H_{i-1}^T - wd Ws[i]
    dQs[j]/dt = q_update(Ws[j+1], Qs[j], Ps[j], H_j, src_j, lam)
    dPs[j]/dt = p_rate p_update(Ws[j+1], Qs[j], Ps[j], C_j, H_j, src_j)
       C_j = Syy                       (a P that learns from the targets)
           = z(K) K                    (from the error it reads: K its covariance)
       K = C_out (direct), or C_out pushed down through fb (layered hidden pathways)
       z(K) = 1 / (max_i K_ii + eps)   (oja_normaliser; z = 1 without oja_scale)
    C_out = E[e_L e_L^T] = Syy - Syx M^T - M Syx^T + M M^T

For the built-in rules this is (two layers) ``dW1 = B E - wd W1``, ``dW2 = E W1^T - wd W2``,
``dQ = W1 E^T P^T - lam Q``, ``dP = p_rate P Syy (I - P^T P)`` with ``B = W2^T`` (BP) or
``Q P``: paper Eqs. 5, 9, 10. The normaliser ``z`` is a function of the *weights*, not of
a batch: the discrete rule (:mod:`lintheory.batch`) multiplies its batch second moment by
the same ``z``, so its mean step is exactly ``lr`` times this right-hand side
(``derivations/deep_linear.md``, "Normalised Oja").
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import register_jitable

from ._jit import lazy_njit
from .ops import contiguous
from .rules import A2, FEEDBACK_LIST, P_UPDATE_LIST, Q_UPDATE_LIST

OJA_EPS = 1e-8
"""Added to the largest per-unit error variance before an error-driven Oja covariance is
divided by it (the errors are scaled by their largest per-unit std plus a small epsilon)."""


@register_jitable
def oja_normaliser(C):
    """``z = 1 / (max_i C_ii + OJA_EPS)`` of an averaged error covariance ``C (D, D)``.

    A positive scalar of the *weights*, so the ODE and every SGD step use the same number.
    """
    top = C[0, 0]
    for i in range(1, C.shape[0]):
        if C[i, i] > top:
            top = C[i, i]
    return 1.0 / (top + OJA_EPS)


def scaled_covariance(C):
    """``C / (max_i C_ii + OJA_EPS)``: errors divided by their largest per-unit std."""
    return C * oja_normaliser(C)


def forward_products(Ws):
    """``[H_0, ..., H_{L-1}]``: ``H_i = Ws[i] ... Ws[0]``; the last is ``M``."""
    H = [Ws[0]]
    for W in Ws[1:]:
        H.append(W @ H[-1])
    return H


@register_jitable
def output_error_covariance(M, Syx, Syy):
    """``E[e e^T]`` of the output error ``e = y - M x`` with whitened inputs (m x m).

    ``Syy - Syx M^T - M Syx^T + M M^T``.
    """
    return Syy - Syx @ M.T - M @ Syx.T + M @ M.T


@register_jitable
def push_covariance(feedback, W, Q, P, C):
    """``B C B^T`` for the pathway's linear feedback ``B e = feedback(W, Q, P, e)`` and a
    symmetric ``C``: two calls of ``feedback`` (``B (B C)^T``)."""
    BC = feedback(W, Q, P, C)
    return feedback(W, Q, P, contiguous(BC.T))


@register_jitable
def drive_covariances(Ws, Qs, Ps, C_out, feedback, direct):
    """Covariances ``K_j`` of the error each pathway ``j`` reads (list of ``L - 1``).

    Direct rules: ``C_out`` for every pathway. Layered: ``K_{L-2} = C_out`` and
    ``K_j = B_{j+1} K_{j+1} B_{j+1}^T`` (the error arriving at the output of ``Ws[j+1]``).
    """
    L = len(Ws)
    K = [C_out] * (L - 1)
    if not direct:
        for j in range(L - 3, -1, -1):
            K[j] = push_covariance(feedback, Ws[j + 2], Qs[j + 1], Ps[j + 1], K[j + 1])
    return K


def error_covariances(Ws, Qs, Ps, Syx, Syy, rule):
    """``E[e_i e_i^T]`` for the error at the output of each ``Ws[i]`` (list of ``L``), with
    whitened inputs: ``C_out = Syy - Syx M^T - M Syx^T + M M^T`` at the top and each
    pathway's feedback applied below it (``G_i C_out G_i^T``)."""
    M = forward_products(Ws)[-1]
    C_out = output_error_covariance(M, Syx, Syy)
    L = len(Ws)
    C = [C_out] * L
    for j in range(L - 2, -1, -1):  # e_j = B_j e_L (direct) or B_j e_{j+1} (layered)
        src = C_out if rule.direct else C[j + 1]
        C[j] = push_covariance(rule.feedback, Ws[j + 1], Qs[j], Ps[j], src)
    return C


def flow(Ws, Qs, Ps, Syx, Syy, feedback, q_update, p_update, direct, drive_error, lam, wd,
         p_rate, oja_scale, out_basis):
    """Right-hand side ``tau d(Ws, Qs, Ps)/dt`` of the averaged dynamics (``tau = 1``).

    Parameters
    ----------
    Ws : list of L matrices      Qs, Ps : lists of L-1 matrices
        Weights (rotated or unrotated, matching ``Syx``/``Syy``); shapes as in
        :class:`lintheory.weights.Weights`.
    Syx : (m, n)  ``Sigma_yx`` or ``S``.   Syy : (m, m)  ``Sigma_yy`` or ``Sigma_yy_bar``.
    feedback, q_update, p_update : callables
        The rule's functions (:class:`lintheory.rules.Rule`; compiled ones in numba).
    direct : bool
        The rule's pathways read the output error.
    drive_error : sequence of L-1 bools
        ``Rule.drives_error(j, L, oja_drive)``: pathway ``j``'s ``P`` learns from the error
        covariance it reads (else from ``Syy``).
    lam, wd, p_rate : float
        Q decay, weight decay on every ``W``, Oja time-scale ratio ``eta_P / eta``.
    oja_scale : bool
        Multiply every *error* covariance that drives Oja by :func:`oja_normaliser`;
        ``False`` keeps the function polynomial (SymPy checks).
    out_basis : (m, m) array or None
        ``U`` when the weights are rotated (``None``: the identity). Only the normaliser of
        the *output*-error covariance of a direct rule needs it: the largest variance is
        taken over the network's output units, ``max_i [U C_out_bar U^T]_ii``.

    Returns
    -------
    dWs, dQs, dPs : lists of matrices shaped like the inputs (formulas in the module doc).
    """
    L = len(Ws)
    H = [Ws[0]]
    for i in range(1, L):
        H.append(Ws[i] @ H[i - 1])
    E = Syx - H[L - 1]
    R = [E] * L
    for j in range(L - 2, -1, -1):
        R[j] = feedback(Ws[j + 1], Qs[j], Ps[j], E if direct else R[j + 1])
    dWs = [R[0] - wd * Ws[0]]
    for i in range(1, L):
        dWs.append(R[i] @ H[i - 1].T - wd * Ws[i])
    dQs = []
    for j in range(L - 1):
        dQs.append(q_update(Ws[j + 1], Qs[j], Ps[j], H[j], E if direct else R[j + 1], lam))
    any_error = False
    for j in range(L - 1):
        if drive_error[j]:
            any_error = True
    K = [Syy] * (L - 1)
    z = [1.0] * (L - 1)
    if any_error:
        C_out = output_error_covariance(H[L - 1], Syx, Syy)
        K = drive_covariances(Ws, Qs, Ps, C_out, feedback, direct)
        if oja_scale:
            for j in range(L - 1):
                if direct:  # the output error: the variances of the output units
                    if out_basis is None:
                        z[j] = oja_normaliser(C_out)
                    else:
                        z[j] = oja_normaliser(out_basis @ C_out @ out_basis.T)
                else:
                    z[j] = oja_normaliser(K[j])
    dPs = []
    for j in range(L - 1):
        if drive_error[j]:
            Cj = K[j] * z[j] if oja_scale else K[j]
        else:
            Cj = Syy
        dPs.append(p_rate * p_update(Ws[j + 1], Qs[j], Ps[j], Cj, H[j],
                                     E if direct else R[j + 1]))
    return dWs, dQs, dPs


def rule_flow(Ws, Qs, Ps, Syx, Syy, rule, *, lam=0.0, wd=0.0, p_rate=1.0, oja_scale=False,
              oja_drive="error", out_basis=None):
    """:func:`flow` for a :class:`~lintheory.rules.Rule` object (NumPy or SymPy matrices).

    The interpreted right-hand side; ``oja_scale`` defaults to False (polynomial), as the
    symbolic checks use it.
    """
    L = len(Ws)
    drive = [rule.drives_error(j, L, oja_drive) for j in range(L - 1)]
    return flow(list(Ws), list(Qs), list(Ps), Syx, Syy, rule.feedback, rule.q_update,
                rule.p_update, rule.direct, drive, lam, wd, p_rate, oja_scale, out_basis)


def two_layer_flow(W1, W2, Q, P, Syx, Syy, rule, lam=0.0, wd=0.0, p_rate=1.0):
    """``(dW1, dW2, dQ, dP)`` of the two-layer network: :func:`flow` at depth 2.

    Paper Eqs. 5, 9, 10 in the rotated frame (``S``, ``Sigma_yy_bar``), A8 and A34-A36
    unrotated. ``rule`` is a :class:`~lintheory.rules.Rule` (or its name).
    """
    from .rules import get_rule

    dWs, dQs, dPs = rule_flow([W1, W2], [Q], [P], Syx, Syy, get_rule(rule), lam=lam, wd=wd,
                              p_rate=p_rate)
    return dWs[0], dWs[1], dQs[0], dPs[0]


_flow_jit = numba.njit(cache=True)(flow)

_I64 = types.int64[::1]
_RHS_SIG = types.float64[::1](
    types.float64[::1], _I64, _I64, _I64, types.int64, A2, A2, FEEDBACK_LIST, Q_UPDATE_LIST,
    P_UPDATE_LIST, types.boolean, types.boolean[::1], types.float64, types.float64,
    types.float64, types.boolean, A2)


@lazy_njit(_RHS_SIG, cache=True)
def flat_flow(theta, offs, rows, cols, L, Syx, Syy, feedback, q_update, p_update, direct,
              drive_error, lam, wd, p_rate, oja_scale, out_basis):
    """:func:`flow` compiled by numba on a flat state ``theta = Ws + Qs + Ps``.

    ``offs``, ``rows``, ``cols`` (int64, length ``3L - 2``) locate each matrix in ``theta``;
    the rule's compiled functions arrive as one-element typed lists
    (:meth:`lintheory.rules.Rule.jitted`), so this one compiled function serves every rule.
    ``out_basis (m, m)``: ``U`` for rotated weights, the identity for unrotated ones.
    Returns the flat time derivative.
    """
    nm = 3 * L - 2
    mats = [theta[offs[a] : offs[a] + rows[a] * cols[a]].reshape((rows[a], cols[a]))
            for a in range(nm)]
    dWs, dQs, dPs = _flow_jit(mats[:L], mats[L : 2 * L - 1], mats[2 * L - 1 :], Syx, Syy,
                              feedback[0], q_update[0], p_update[0], direct, drive_error, lam,
                              wd, p_rate, oja_scale, out_basis)
    out = np.empty_like(theta)
    parts = dWs + dQs + dPs
    for a in range(nm):
        out[offs[a] : offs[a] + rows[a] * cols[a]] = parts[a].ravel()
    return out
