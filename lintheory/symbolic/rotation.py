"""Rotation by the SVD of ``Sigma_yx`` (paper A13-A25, A37-A49; theory §4 Eqs. 5, 9, 10).

With ``Sigma_yx = U S V^T`` and the rotation ``W1bar = W1 V``, ``W2bar = U^T W2``,
``Pbar = P U``, ``Sigma_yy_bar = U^T Sigma_yy U`` and ``Q`` *not* rotated, the flow is
equivariant::

    flow(W1 V, U^T W2, Q, P U, S, U^T Syy U) = (dW1 V, U^T dW2, dQ, dP U)

where ``(dW1, dW2, dQ, dP) = flow(W1, W2, Q, P, U S V^T, Syy)``. So the rotated system
(Eqs. 5, 9, 10) is the *same* function with ``S`` in place of ``Sigma_yx``. ``Q`` is
not rotated because it only ever meets the hidden layer (``W1 E^T P^T`` has ``V`` and
``U`` cancel inside it). Derivation: ``derivations/02_rotation.md``.

The identities are proven for :func:`rotate_state`. The integrator rotates with its own
code (:meth:`lintheory.weights.Weights.rotate`, reached through ``lintheory.dynamics``),
which works on float arrays only; ``rot.integrator`` (depth 2) and ``rot.integrator.deep``
(depth 3) close the gap: they call that very function, looked up in the integrator module
at run time, and require it to equal :func:`rotate_state` (a linear
map, compared at random weights with exact orthogonal ``U``, ``V``), and ``unrotate`` to
undo them. A bug in the integrator's rotation therefore fails ``verify``.
"""

from __future__ import annotations

import sympy as sp

from .checks import register
from .common import (
    SIZES,
    Explicit,
    Outcome,
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
    """theory §4 / A14, A37: ``(W1 V, U^T W2, Q, P U)``; ``Q`` is not rotated."""
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
    lam, wd, p_rate = sp.symbols("lambda wd p_rate", positive=True)
    orth = {(U.T, U): (1, None), (U, U.T): (1, None), (V.T, V): (1, None), (V, V.T): (1, None)}
    Syx = U @ S @ V.T  # A13
    rot = rotate(W1, W2, Q, P, U, V)
    lhs = call_flow(flow, rot, U.T @ Syx @ V, U.T @ Syy @ U, rule, lam=lam, wd=wd,
                    p_rate=p_rate)
    rhs = rotate(*call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, wd=wd,
                            p_rate=p_rate), U, V)
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
                  "s": (1, m)}, scalars=("lambda", "wd", "p_rate"), symmetric=("c",))
    W1, W2, Q, P, Syy = E["w1"], E["w2"], E["q"], E["p"], E["c"]
    lam, wd, p_rate = E["lambda"], E["wd"], E["p_rate"]
    U, V = E.const(cayley(m, 3)), E.const(cayley(n, 5))
    S = E.const(rect_diag([0] * m, m, n))
    for i in range(m):
        S[i, i] = E["s"][0, i]
    Syx = U @ S @ V.T
    lhs = call_flow(flow, rotate(W1, W2, Q, P, U, V), S, U.T @ Syy @ U, rule,
                    lam=lam, wd=wd, p_rate=p_rate)
    rhs = rotate(*call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, wd=wd,
                            p_rate=p_rate), U, V)
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


# ------------------------------------------- the integrators' own rotation functions

LINK_TOL = 1e-12


def _link_data(seed: int = 0):
    """Float ``U (m, m)``, ``V (n, n)`` (exact rational orthogonal matrices, as floats), a
    task-like namespace holding them and a ``numpy.random.Generator`` for the weights."""
    from types import SimpleNamespace

    import numpy as np

    m, n = SIZES["m"], SIZES["n"]
    U = np.array(cayley(m, 3).evalf(), dtype=float)
    V = np.array(cayley(n, 5).evalf(), dtype=float)
    return U, V, SimpleNamespace(U=U, V=V, m=m, n=n), np.random.default_rng(seed)


def _max_gap(got, want) -> float:
    import numpy as np

    return max(float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))
               for a, b in zip(got, want))


def check_integrator_rotation(rotate=None) -> Outcome:
    """The two-layer integrator's rotation equals ``rotate`` (default :func:`rotate_state`).

    Calls ``lintheory.dynamics.Weights(...).rotate(task)`` - the class the integrator
    module uses, looked up at run time - on random weights (m=3, n=4, k=3, r=2) and the
    exact orthogonal ``U``, ``V`` of the explicit checks; also ``unrotate`` must undo it.
    Residual: the largest entry difference (must be < 1e-12).
    """
    from .. import dynamics as integrator

    rotate = rotate or rotate_state
    U, V, task, rng = _link_data()
    m, n, k, r = (SIZES[c] for c in "mnkr")
    worst = 0.0
    for _ in range(3):
        W = (rng.normal(size=(k, n)), rng.normal(size=(m, k)), rng.normal(size=(k, r)),
             rng.normal(size=(r, m)))
        w = integrator.Weights.two_layer(*W)
        rot = w.rotate(task)
        worst = max(worst, _max_gap((rot.W1, rot.W2, rot.Q, rot.P), rotate(*W, U, V)))
        back = rot.unrotate(task)
        worst = max(worst, _max_gap((back.W1, back.W2, back.Q, back.P), W))
    ok = worst < LINK_TOL
    return Outcome(ok, "0" if ok else f"max |integrator rotation - rotate_state| = {worst:.3g}")


def check_deep_integrator_rotation(rotate=None) -> Outcome:
    """The integrator's rotation at depth 3 (``lintheory.dynamics.Weights.rotate``)
    equals ``rotate`` on the layers it touches (layered and direct).

    Expected: ``rotate(W_1, W_L, Q, P, U, V)`` gives ``W_1bar``, ``W_Lbar`` and, for every
    ``P`` that reads the output error (the last one, or all for direct rules), ``Q`` and
    ``Pbar``; hidden layers and the other ``Q``, ``P`` are unchanged; ``unrotate`` undoes it.
    """
    from .. import dynamics as integrator

    rotate = rotate or rotate_state
    U, V, task, rng = _link_data(1)
    m, n, k, r = (SIZES[c] for c in "mnkr")
    dims = (n, k, k, m)
    worst = 0.0
    for direct in (False, True):
        Ws = [rng.normal(size=(dims[i + 1], dims[i])) for i in range(3)]
        Qs = [rng.normal(size=(dims[j + 1], r)) for j in range(2)]
        Ps = [rng.normal(size=(r, m if direct else dims[j + 2])) for j in range(2)]
        w = integrator.Weights(tuple(Ws), tuple(Qs), tuple(Ps), direct=direct)
        rot = w.rotate(task)
        outs = (0, 1) if direct else (1,)
        want_W, want_Q, want_P = list(Ws), list(Qs), list(Ps)
        for j in outs:
            W1b, WLb, Qb, Pb = rotate(Ws[0], Ws[-1], Qs[j], Ps[j], U, V)
            want_W[0], want_W[-1], want_Q[j], want_P[j] = W1b, WLb, Qb, Pb
        worst = max(worst, _max_gap(rot.arrays, (*want_W, *want_Q, *want_P)))
        worst = max(worst, _max_gap(rot.unrotate(task).arrays, (*Ws, *Qs, *Ps)))
    ok = worst < LINK_TOL
    return Outcome(ok, "0" if ok else f"max |deep integrator rotation - rotate_state| = "
                                      f"{worst:.3g}")


register("rot.integrator", "A14, A37",
         "the ODE integrator's own rotation (Weights.rotate) = the rotation proven above")(
    check_integrator_rotation)
register("rot.integrator.deep", "A14, A37, Eq. 11",
         "the integrator's rotation at depth 3 (Weights.rotate) = the proven rotation")(
    check_deep_integrator_rotation)
