"""Averaging the per-sample learning rules (paper A1-A12, A27-A36; theory §3-4).

The per-sample rules below are written independently from theory §3's table (with the
learning rate ``eta`` divided out). Averaging them over the data set must give exactly
the right-hand side :func:`lintheory.flow.flow` that the ODE integrator compiles (at depth
2, with each rule's own functions from :mod:`lintheory.rules`), once
the inputs are whitened (``Sigma_xx = I``); the continuous-time limit (A8, A12, A34-A36)
is then ``dW/dt = <Delta W> / eta`` with ``t = eta * steps`` (``tau = 1``).

Every decay is a symbol (``lambda`` on ``Q``, ``wd`` on ``W1`` and ``W2``), so the decay
terms of the flow are checked against the per-sample rule too (a wrong sign or a missing
``- wd W`` fails: broken variants ``wd_sign_flip``, ``wd_missing``).

Derivation: ``derivations/01_fa_averaging.md`` and ``derivations/03_raf_averaging.md``.
"""

from __future__ import annotations

import sympy as sp

from ..rules import get_rule
from .checks import register
from .common import (
    SIZES,
    Explicit,
    call_flow,
    cayley,
    default_flow,
    first_failure,
    rewrite_products,
    zero_outcome,
)

PAPER_RULES = {
    "bp": (True, False, False),
    "fa": (False, False, False),
    "kp": (False, True, False),
    "raf": (False, True, True),
}
"""The paper's table of the two-layer rules, written here independently of
:mod:`lintheory.rules`: ``(weight transport, Q learns by KP-Q, P learns by Oja)``."""


def sample_update(W1, W2, Q, P, x, y, rule, *, lam=0, wd=0, p_rate=1, count=1, eye_m=None):
    """One sample's update divided by ``eta`` (theory §3 table; paper A1, A27, Eq. 8).

    ``h = W1 x``, ``e = y - W2 h``; ``Delta W2 = e h^T - wd W2``; ``Delta W1 = W2^T e x^T``
    (BP) or ``Q P e x^T``, minus ``wd W1``; ``Delta Q = h (P e)^T - lam Q``;
    ``Delta P = p_rate P y y^T (I - P^T P)``. ``wd`` is the optional weight decay on the
    forward weights (theory §3), ``lam`` the decay of ``Q``.

    With ``x`` (n x N) and ``y`` (m x N) holding N samples as columns, the products
    ``a b^T`` become sums over samples, so the result is the *sum* of the N updates;
    pass ``count=N`` so that the constant decay terms ``-lam Q``, ``-wd W`` are also
    summed N times.
    """
    transport, learns_Q, learns_P = PAPER_RULES[get_rule(rule).name]
    h = W1 @ x
    e = y - W2 @ h
    dW2 = e @ h.T - W2 * (count * wd)
    dW1 = (W2.T @ e if transport else Q @ (P @ e)) @ x.T - W1 * (count * wd)
    dQ = h @ (P @ e).T - Q * (count * lam) if learns_Q else None
    if learns_P:
        I = eye_m if eye_m is not None else sp.eye(P.shape[1])
        dP = p_rate * P @ y @ y.T @ (I - P.T @ P)
    else:
        dP = None
    return dW1, dW2, dQ, dP


def _compare(avg, rhs, names=("dW1", "dW2", "dQ", "dP")):
    res = {}
    for name, a, f in zip(names, avg, rhs):
        if a is None:  # the rule does not learn this factor: the flow must return 0
            res[name] = f
        else:
            res[name] = a - f
    return res


def check_matrix(rule, flow=None):
    """Matrix-symbol level: sum over samples as products of data matrices X, Y.

    ``sum_mu a_mu b_mu^T = A B^T``; then ``X X^T = N I`` (whitened), ``Y X^T = N Syx``,
    ``Y Y^T = N Syy`` (A2-A4) are applied with :func:`rewrite_products`.
    """
    flow = flow or default_flow()
    m, n, k, r = (SIZES[c] for c in "mnkr")
    N = sp.Symbol("N", positive=True)
    Ns = 5  # column count of the data matrices (any value; N stays a symbol)
    W1, W2 = sp.MatrixSymbol("W1", k, n), sp.MatrixSymbol("W2", m, k)
    Q, P = sp.MatrixSymbol("Q", k, r), sp.MatrixSymbol("P", r, m)
    X, Y = sp.MatrixSymbol("X", n, Ns), sp.MatrixSymbol("Y", m, Ns)
    Syx, Syy = sp.MatrixSymbol("Sigma_yx", m, n), sp.MatrixSymbol("Sigma_yy", m, m)
    lam, wd, p_rate = sp.symbols("lambda wd p_rate", positive=True)
    rules = {
        (X, X.T): (N, None),
        (Y, X.T): (N, Syx),
        (X, Y.T): (N, Syx.T),
        (Y, Y.T): (N, Syy),
    }
    sums = sample_update(W1, W2, Q, P, X, Y, rule, lam=lam, wd=wd, p_rate=p_rate, count=N,
                         eye_m=sp.Identity(m))
    avg = [None if s is None else rewrite_products(s / N, rules) for s in sums]
    rhs = call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, wd=wd, p_rate=p_rate)
    return zero_outcome(**_compare(avg, rhs))


def whitened_inputs(n: int, seed: int = 11) -> tuple[sp.Matrix, int]:
    """N = n exact input samples (columns) with ``(1/N) X X^T = I_n`` exactly.

    ``X = sqrt(n) O`` with ``O`` an exact rational orthogonal matrix (n = 4: ``X = 2 O``).
    """
    X = sp.sqrt(n) * cayley(n, seed)
    return X, n


def check_explicit(rule, flow=None):
    """Explicit level: symbolic weights and targets, exact whitened inputs, sample by sample."""
    flow = flow or default_flow()
    m, n, k, r = (SIZES[c] for c in "mnkr")
    Xs, N = whitened_inputs(n)
    E = Explicit({"w1": (k, n), "w2": (m, k), "q": (k, r), "p": (r, m), "y": (m, N)},
                 scalars=("lambda", "wd", "p_rate"))
    W1, W2, Q, P, Y = E["w1"], E["w2"], E["q"], E["p"], E["y"]
    lam, wd, p_rate = E["lambda"], E["wd"], E["p_rate"]
    X = E.const(Xs)
    sums = None
    for mu in range(N):
        upd = sample_update(W1, W2, Q, P, X[:, mu : mu + 1], Y[:, mu : mu + 1], rule,
                            lam=lam, wd=wd, p_rate=p_rate, eye_m=E.eye(m))
        sums = list(upd) if sums is None else [
            None if a is None else a + b for a, b in zip(sums, upd)
        ]
    avg = [None if v is None else v / N for v in sums]
    Sxx, Syx, Syy = X @ X.T / N, Y @ X.T / N, Y @ Y.T / N
    rhs = call_flow(flow, (W1, W2, Q, P), Syx, Syy, rule, lam=lam, wd=wd, p_rate=p_rate)
    whitened = zero_outcome(Sigma_xx_minus_I=Sxx - E.eye(n))
    return first_failure(whitened, zero_outcome(**_compare(avg, rhs)))


def _register(rule):
    eqs = get_rule(rule).equations

    @register(f"avg.{rule}.matrix", eqs,
              f"{rule.upper()}: averaged per-sample rule = flow (matrix symbols)")
    def _m(flow=None):
        return check_matrix(rule, flow)

    @register(f"avg.{rule}.explicit", eqs,
              f"{rule.upper()}: averaged per-sample rule = flow (m=3,n=4,k=3,r=2, N=4)")
    def _e(flow=None):
        return check_explicit(rule, flow)


for _rule in PAPER_RULES:
    _register(_rule)
