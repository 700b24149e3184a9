"""The averaged continuous-time learning dynamics (SPEC §4; paper Eqs. 5, 9, 10, A8-A12, A34-A36).

:func:`flow` is written with matrix operations only (``@``, ``.T``, ``+``, ``-``, scalar
``*``), so the *same* function runs on NumPy arrays (the ODE integrator, through its
numba-compiled twin :data:`flow_jit`) and on SymPy matrices (``lintheory.symbolic``
checks it against the derivation in ``derivations/``). Unrotated and rotated dynamics are
the same function: pass ``(Sigma_yx, Sigma_yy)`` with unrotated weights, or
``(S, Sigma_yy_bar)`` with rotated weights ``W1bar = W1 V``, ``W2bar = U^T W2``,
``Pbar = P U`` (``Q`` is not rotated).
"""

from __future__ import annotations

import numba


def flow(W1, W2, Q, P, Syx, Syy, transport, learns_Q, learns_P, lam, wd, p_rate):
    """Right-hand side ``tau d(W1, W2, Q, P)/dt`` of the averaged dynamics, ``tau = 1``.

    Parameters
    ----------
    W1 : (k, n)   W2 : (m, k)   Q : (k, r)   P : (r, m)
        Weights (rotated or unrotated, matching ``Syx``/``Syy``).
    Syx : (m, n)
        ``Sigma_yx`` (or ``S`` in the rotated frame). Inputs are assumed whitened.
    Syy : (m, m)
        ``Sigma_yy`` (or ``Sigma_yy_bar``), drives Oja's rule.
    transport, learns_Q, learns_P : bool
        The rule's switches (:class:`lintheory.rules.Rule`).
    lam : float
        Decay of ``Q`` (KP-Q / RAF).
    wd : float
        Weight decay on ``W1`` and ``W2``.
    p_rate : float
        Time-scale ratio ``eta_P / eta`` of Oja's rule.

    Returns
    -------
    dW1, dW2, dQ, dP
        Same shapes as the inputs::

            E   = Syx - W2 W1
            dW2 = E W1^T - wd W2                       (Eq. 5)
            dW1 = B E - wd W1, B = W2^T or Q P         (Eqs. 5, 9)
            dQ  = W1 E^T P^T - lam Q                   (Eq. 10, KP-Q / RAF)
            dP  = p_rate P Syy (I - P^T P)             (Oja, RAF)
    """
    E = Syx - W2 @ W1
    if transport:
        dW1 = W2.T @ E - wd * W1
    else:
        dW1 = Q @ (P @ E) - wd * W1
    dW2 = E @ W1.T - wd * W2
    if learns_Q:
        dQ = W1 @ (E.T @ P.T) - lam * Q
    else:
        dQ = 0.0 * Q
    if learns_P:
        PS = P @ Syy
        dP = p_rate * (PS - (PS @ P.T) @ P)
    else:
        dP = 0.0 * P
    return dW1, dW2, dQ, dP


flow_jit = numba.njit(cache=True)(flow)
"""``flow`` compiled by numba (float64 C-contiguous arrays, bool flags, float scalars)."""
