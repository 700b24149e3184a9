"""Rotation by the SVD of ``Sigma_yx`` (paper A13-A25, A37-A49; SPEC §4 Eqs. 5, 9, 10).

With ``Sigma_yx = U S V^T`` and the rotation ``W1bar = W1 V``, ``W2bar = U^T W2``,
``Pbar = P U``, ``Sigma_yy_bar = U^T Sigma_yy U`` and ``Q`` *not* rotated, the flow is
equivariant::

    flow(W1 V, U^T W2, Q, P U, S, U^T Syy U) = (dW1 V, U^T dW2, dQ, dP U)

where ``(dW1, dW2, dQ, dP) = flow(W1, W2, Q, P, U S V^T, Syy)``. So the rotated system
(Eqs. 5, 9, 10) is the *same* function with ``S`` in place of ``Sigma_yx``. ``Q`` is
not rotated because it only ever meets the hidden layer (``W1 E^T P^T`` has ``V`` and
``U`` cancel inside it). Derivation: ``derivations/02_rotation.md``.
"""

from __future__ import annotations

import sympy as sp

from .checks import register
from .common import (
    SIZES,
    Explicit,
    call_flow,
    cayley,
    default_flow,
    rect_diag,
    rewrite_products,
    zero_outcome,
)

RULE_EQS = {"bp": "A13-A25, Eq. 5", "fa": "A13-A25, Eq. 5", "kp": "A37-A49, Eq. 9-10",
            "raf": "A37-A49, Eq. 9-10"}


def rotate_state(W1, W2, Q, P, U, V):
    """SPEC §4 / A14, A37: ``(W1 V, U^T W2, Q, P U)``; ``Q`` is not rotated."""
    return W1 @ V, U.T @ W2, Q, P @ U


def _names(res):
    return dict(zip(("dW1bar", "dW2bar", "dQ", "dPbar"), res))


def check_matrix(rule, flow=None, rotate=None):
    """General identity with matrix symbols; ``U^T U = U U^T = I`` (same for V) applied."""
    flow, rotate = flow or default_flow(), rotate or rotate_state
    m, n, k, r = (SIZES[c] for c in "mnkr")
    W1, W2 = sp.MatrixSymbol("W1", k, n), sp.MatrixSymbol("W2", m, k)
    Q, P = sp.MatrixSymbol("Q", k, r), sp.MatrixSymbol("P", r, m)
    U, V = sp.MatrixSymbol("U", m, m), sp.MatrixSymbol("V", n, n)
    S, Syy = sp.MatrixSymbol("S", m, n), sp.MatrixSymbol("Sigma_yy", m, m)
    lam, p_rate = sp.symbols("lambda p_rate", positive=True)
    orth = {(U.T, U): (1, None), (U, U.T): (1, None), (V.T, V): (1, None), (V, V.T): (1, None)}
    Syx = U @ S @ V.T  # A13
    rot = rotate(W1, W2, Q, P, U, V)
    lhs = call_flow(flow, rot, U.T @ Syx @ V, U.T @ Syy @ U, rule, lam=lam, p_rate=p_rate)
    rhs = rotate(*call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, p_rate=p_rate),
                 U, V)
    res = [rewrite_products(a - b, orth) for a, b in zip(lhs, rhs)]
    # The rotated frame really uses S: U^T Syx V = S (A19, A25).
    res_S = rewrite_products(U.T @ Syx @ V - S, orth)
    return zero_outcome(U_T_Syx_V_minus_S=res_S, **_names(res))


def check_explicit(rule, flow=None, rotate=None):
    """Explicit m=3, n=4, k=3, r=2: exact rational orthogonal U, V; symbolic everything else.

    The rotated flow is called with the diagonal ``S`` itself (what the integrator uses).
    """
    flow, rotate = flow or default_flow(), rotate or rotate_state
    m, n, k, r = (SIZES[c] for c in "mnkr")
    E = Explicit({"w1": (k, n), "w2": (m, k), "q": (k, r), "p": (r, m), "c": (m, m),
                  "s": (1, m)}, scalars=("lambda", "p_rate"), symmetric=("c",))
    W1, W2, Q, P, Syy = E["w1"], E["w2"], E["q"], E["p"], E["c"]
    lam, p_rate = E["lambda"], E["p_rate"]
    U, V = E.const(cayley(m, 3)), E.const(cayley(n, 5))
    S = E.const(rect_diag([0] * m, m, n))
    for i in range(m):
        S[i, i] = E["s"][0, i]
    Syx = U @ S @ V.T
    lhs = call_flow(flow, rotate(W1, W2, Q, P, U, V), S, U.T @ Syy @ U, rule,
                    lam=lam, p_rate=p_rate)
    rhs = rotate(*call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, p_rate=p_rate),
                 U, V)
    return zero_outcome(**_names([a - b for a, b in zip(lhs, rhs)]))


def _register(rule):
    eqs = RULE_EQS[rule]

    @register(f"rot.{rule}.matrix", eqs,
              f"{rule.upper()}: flow(rotated state) = rotated flow, Q unrotated (matrix symbols)")
    def _m(flow=None, rotate=None):
        return check_matrix(rule, flow, rotate)

    @register(f"rot.{rule}.explicit", eqs,
              f"{rule.upper()}: same, exact orthogonal U, V, symbolic weights (3,4,3,2)")
    def _e(flow=None, rotate=None):
        return check_explicit(rule, flow, rotate)


for _rule in ("bp", "fa", "kp", "raf"):
    _register(_rule)
