"""Oja's subspace rule (paper Eq. 8) and the Saxe et al. (2013) mode equation (theory §4).

Oja: with ``Sigma_yy_bar = diag(l1, l2, l3)``, ``l1 > l2 > l3 > 0`` (written as
``l3 = c, l2 = c + b, l1 = c + b + a`` with ``a, b, c > 0`` so SymPy can decide signs),
every ``Pbar = O E^T`` whose rows span r eigenvectors is stationary; the linearisation of
flow's ``dPbar`` there has only eigenvalues ``<= 0`` (zero exactly ``r(r-1)/2`` times: the
rotations within the subspace) for the top-r eigenvectors, and a positive eigenvalue for
any other choice. Saxe: BP on balanced, mode-aligned weights gives
``da/dt = 2 a (s - a)`` per mode, whose solution (``sympy.dsolve``) is theory §4's curve.
Derivations: ``derivations/05_oja.md``, ``derivations/06_saxe.md``.
"""

from __future__ import annotations

import itertools

import sympy as sp

from .checks import register
from .common import Outcome, call_flow, cayley, default_flow, first_failure, zero_outcome
from .fixed_points import classify_eigenvalues, oja_jacobian

m = 3


def _oja_dP(flow, P, Syy):
    r = P.rows
    return sp.Matrix(call_flow(flow, (sp.zeros(1, 1), sp.zeros(m, 1), sp.zeros(1, r), P),
                               sp.zeros(m, 1), Syy, "raf")[3])


def _spectrum():
    a, b, c = sp.symbols("a b c", positive=True)
    return sp.diag(a + b + c, b + c, c)


def _rows(subset, r):
    E = sp.zeros(r, m)
    for i, j in enumerate(subset):
        E[i, j] = 1
    return E


@register("oja.stationary", "Eq. 8, theory §3",
          "Pbar = O E^T (rows span any r eigenvectors) is stationary; other Pbar are not")
def check_oja_stationary(flow=None):
    """Eq. 8, theory §3: ``Pbar = O E^T`` (rows spanning any r eigenvectors of Sigma_yy_bar)
    is stationary under Oja's rule; other Pbar are not."""
    flow = flow or default_flow()
    Syy = _spectrum()
    res = {}
    for r in (1, 2):
        O = cayley(r, 2) if r > 1 else sp.Matrix([[-1]])
        for subset in itertools.combinations(range(m), r):
            res[f"r{r}_{subset}"] = _oja_dP(flow, O * _rows(subset, r), Syy)
    ok = zero_outcome(**res)
    # Unit-norm rows that mix eigenvectors (3/5 e1 + 4/5 e3) must NOT be stationary.
    mixed = sp.Matrix([[sp.Rational(3, 5), 0, sp.Rational(4, 5)]])
    if sp.expand(_oja_dP(flow, mixed, Syy)).is_zero_matrix:
        return Outcome(False, "a Pbar mixing eigenvectors is reported stationary")
    return first_failure(ok, Outcome(True, "0", "all eigenvector subsets stationary; mix is not"))


@register("oja.stability", "Eq. 8, theory §3, §5 (iii)",
          "linearised Oja: top-r eigenvectors stable (zeros = rotations), all others unstable")
def check_oja_stability(flow=None):
    """Eq. 8, theory §3, §5 (iii): linearised Oja - top-r eigenvectors stable (zero
    eigenvalues = rotations), all other eigenvector subsets unstable."""
    flow = flow or default_flow()
    Syy = _spectrum()
    notes = []
    for r in (1, 2):
        P = sp.Matrix(r, m, lambda i, j: sp.Symbol(f"p_{i + 1}{j + 1}"))
        for subset in itertools.combinations(range(m), r):
            neg, zero, pos, und = classify_eigenvalues(
                oja_jacobian(flow, P, Syy, _rows(subset, r)))
            top = subset == tuple(range(r))
            if und:
                return Outcome(False, f"r={r} {subset}: {und} eigenvalue signs undecided")
            if top and (pos or zero != r * (r - 1) // 2):
                return Outcome(False, f"r={r} top {subset}: (neg, zero, pos) = {(neg, zero, pos)}"
                               f", expected pos = 0, zero = {r * (r - 1) // 2}")
            if not top and pos == 0:
                return Outcome(False, f"r={r} {subset}: no positive eigenvalue (not unstable)")
            notes.append(f"r={r}{subset}:{'stable' if top else f'{pos} unstable'}")
    return Outcome(True, "0", ", ".join(notes))


def saxe_closed_form(s, a0, t):
    """theory §4: ``a(t) = s e^{2st} / (e^{2st} - 1 + s/a0)`` (``tau = 1``)."""
    E = sp.exp(2 * s * t)
    return s * E / (E - 1 + s / a0)


@register("saxe.dsolve", "theory §4 (Saxe et al. 2013)",
          "sympy.dsolve of da/dt = 2 a (s - a), a(0) = a0 equals the closed form")
def check_saxe_dsolve(closed_form=None):
    """theory §4: ``sympy.dsolve`` of ``da/dt = 2 a (s - a)``, ``a(0) = a0``, equals
    ``closed_form`` (default :func:`saxe_closed_form`)."""
    closed_form = closed_form or saxe_closed_form
    t = sp.Symbol("t", nonnegative=True)
    s, a0 = sp.symbols("s a0", positive=True)
    a = sp.Function("a")
    sol = sp.dsolve(sp.Eq(a(t).diff(t), 2 * a(t) * (s - a(t))), a(t), ics={a(0): a0})
    f = closed_form(s, a0, t)

    def normal(e):  # exp(x + log y) -> y exp(x), then one fraction, cancelled
        return sp.cancel(sp.together(sp.expand(e, power_exp=True, mul=True, force=True)))

    # Also independent of dsolve: f must satisfy the ODE and the initial condition.
    return zero_outcome(dsolve_minus_closed_form=normal(sol.rhs - f),
                        ode_residual=normal(f.diff(t) - 2 * f * (s - f)),
                        initial_value=normal(f.subs(t, 0) - a0))


@register("saxe.flow", "Eq. 5, theory §4",
          "BP flow on balanced mode-aligned weights: d a_i/dt = 2 a_i (s_i - a_i); balance kept")
def check_saxe_flow(flow=None):
    """Eq. 5, theory §4: BP flow on balanced mode-aligned weights gives
    ``da_i/dt = 2 a_i (s_i - a_i)`` and keeps the balance."""
    flow = flow or default_flow()
    w1, w2, s1, s2 = sp.symbols("w1 w2 s1 s2", positive=True)
    S = sp.diag(s1, s2)
    W = sp.diag(w1, w2)  # W1bar = W2bar = diag(w): balanced and aligned, a_i = w_i^2
    Z = sp.zeros(2, 1)
    dW1, dW2, _, _ = call_flow(flow, (W, W, Z, Z.T), S, sp.eye(2), "bp")
    dM = sp.Matrix(dW2) * W + W * sp.Matrix(dW1)
    a = [w1**2, w2**2]
    want = sp.diag(*[2 * ai * (si - ai) for ai, si in zip(a, (s1, s2))])
    # General conserved quantity of BP (STYLE): d/dt (W1 W1^T - W2^T W2) = 0.
    W1, W2 = sp.MatrixSymbol("W1", 3, 4), sp.MatrixSymbol("W2", 3, 3)
    Syx = sp.MatrixSymbol("Sigma_yx", 3, 4)
    g1, g2, _, _ = call_flow(flow, (W1, W2, sp.ZeroMatrix(3, 1), sp.ZeroMatrix(1, 3)), Syx,
                             sp.Identity(3), "bp")
    conserved = g1 @ W1.T + W1 @ g1.T - g2.T @ W2 - W2.T @ g2
    return zero_outcome(dM_minus_2a_s_minus_a=dM - want, balance=sp.Matrix(dW1) - sp.Matrix(dW2).T,
                        d_W1W1T_minus_W2TW2=conserved)
