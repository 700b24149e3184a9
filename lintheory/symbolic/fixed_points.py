"""Fixed points of the rotated dynamics (paper Eq. 6, Sec. 3.1-3.2; theory §5).

All checks solve the stationarity equations *of* :func:`lintheory.flow.flow` (they are
linear in ``W2bar`` once ``W1bar`` is given), with ``W1bar = G Q Pbar S`` (the row space a
``W1bar`` grown from small weights through ``dW1 = Q Pbar E`` ends up in), and compare
the product ``M = W2bar W1bar`` with the claim ``S Pi``, ``Pi`` the orthogonal projector
onto the row space of ``Pbar S``. Derivation: ``derivations/04_fixed_points.md``.
"""

from __future__ import annotations

import sympy as sp

from ..rules import get_rule
from .checks import register
from .common import (
    Outcome,
    call_flow,
    cayley,
    default_flow,
    first_failure,
    full_rank_rational,
    rect_diag,
    rewrite_products,
    symmat,
    zero_outcome,
)

m, n, k = 3, 4, 3  # sizes of the explicit fixed-point checks


def s_pi(S, Pbar):
    """theory §5 claim: ``S Pi``, ``Pi = M^T (M M^T)^{-1} M`` with ``M = Pbar S`` full row rank."""
    M = Pbar * S
    return S * M.T * (M * M.T).inv() * M


def stationary_product(flow, rule, S, Pbar, *, G=None, Q=None, Syy=None, lam=0):
    """Solve ``flow(...) = 0`` for ``W2bar`` with ``W1bar`` grown from small weights.

    From ``W1bar = W2bar = 0`` the flow moves ``W1bar`` along ``dW1(0) = Q Pbar S`` (for
    the real flow); ``W1bar`` stays in that row space, so we take
    ``W1bar = G dW1(0)`` with ``G`` a fixed full-rank k x k matrix. The equations
    ``dW1 = 0``, ``dW2 = 0`` (and ``dQ = 0`` for rules that learn Q) are then linear in
    the entries of ``W2bar``. Returns ``M = W2bar W1bar``; raises ``ValueError`` if there
    is no solution or the product is not determined by the equations.
    """
    rule = get_rule(rule)
    r = Pbar.rows
    G = G if G is not None else full_rank_rational(k, k, 7)
    Q = Q if Q is not None else full_rank_rational(k, r, 8)
    Syy = Syy if Syy is not None else S * S.T + sp.eye(S.rows)
    W2 = symmat("w", S.rows, k)
    grow = call_flow(flow, (sp.zeros(k, S.cols), sp.zeros(S.rows, k), Q, Pbar), S, Syy, rule,
                     lam=lam)[0]
    W1 = G * sp.Matrix(grow)
    dW1, dW2, dQ, _ = call_flow(flow, (W1, W2, Q, Pbar), S, Syy, rule, lam=lam)
    eqs = [*sp.Matrix(dW1), *sp.Matrix(dW2)] + ([*sp.Matrix(dQ)] if rule.learns_Q else [])
    eqs = [e for e in (sp.expand(e) for e in eqs) if e != 0]
    sol = sp.linsolve(eqs, list(W2))
    if sol == sp.EmptySet:
        raise ValueError("the stationarity equations have no solution with W1bar = G dW1(0)")
    (values,) = sol.args
    M = (sp.Matrix(W2.rows, W2.cols, list(values)) * W1).applyfunc(sp.cancel)
    left = M.free_symbols & set(W2)
    if left:
        free = sorted(map(str, left))
        raise ValueError(f"the product W2bar W1bar is not determined (free: {free})")
    return M


def _S(values, rows=m, cols=n):
    return rect_diag(values, rows, cols)


# --------------------------------------------------------------------------- Eq. 6


@register("fp.eq6", "Eq. 6",
          "stationarity of flow <=> Pbar (S - M) = 0 and (S - M) W1bar^T = 0 (Q full rank)")
def check_eq6(flow=None):
    """Eq. 6: for fa, kp, raf, stationarity of ``flow`` <=> ``Pbar (S - M) = 0`` and
    ``(S - M) W1bar^T = 0`` (Q full rank)."""
    flow = flow or default_flow()
    out = []
    for rule in ("fa", "kp", "raf"):
        r = 2
        Q = full_rank_rational(k, r, 1)
        Pbar = full_rank_rational(r, m, 2)
        W1 = symmat("w1", k, n)
        E = symmat("e", m, n)  # the residual S - W2bar W1bar, entries independent
        # Feed Syx = E with W2 = 0 so that flow's residual is E itself.
        dW1, dW2, _, _ = call_flow(flow, (W1, sp.zeros(m, k), Q, Pbar), E, sp.eye(m), rule)
        J_flow = sp.Matrix(list(sp.Matrix(dW1))).jacobian(list(E))
        J_eq6 = sp.Matrix(list(Pbar * E)).jacobian(list(E))
        ranks = (J_flow.rank(), J_eq6.rank(), J_flow.col_join(J_eq6).rank())
        if len(set(ranks)) != 1:
            return Outcome(False, f"{rule}: rank(dW1 eqs), rank(Pbar E eqs), rank(both) = {ranks}")
        out.append(zero_outcome(**{f"{rule}_dW2_minus_E_W1T": sp.Matrix(dW2) - E * W1.T}))
    return first_failure(*out, Outcome(True, "0", "dW1 = 0 has the solution set of Pbar E = 0"))


# ---------------------------------------------------------------- S Pi, general proof


@register("fp.spi.matrix", "Eq. 6, theory §5",
          "W2bar W1bar = S Pi is a fixed point of flow (matrix symbols, any Pbar)")
def check_spi_matrix(flow=None):
    """Eq. 6, theory §5: ``W2bar W1bar = S Pi`` is a fixed point of ``flow``.

    Matrix symbols, any Pbar.
    """
    flow = flow or default_flow()
    r = 2
    Pbar, S, C = sp.MatrixSymbol("Pbar", r, m), sp.MatrixSymbol("S", m, n), sp.MatrixSymbol(
        "C", k, r)
    Q, Syy = sp.MatrixSymbol("Q", k, r), sp.MatrixSymbol("Sigma_yy_bar", m, m)
    M = Pbar @ S
    G = sp.Inverse(M @ M.T)
    Pi = M.T @ G @ M
    W1 = C @ M
    W2 = S @ M.T @ G @ sp.Inverse(C.T @ C) @ C.T
    res = {"W2W1_minus_SPi": rewrite_products(W2 @ W1 - S @ Pi),
           "Pi2_minus_Pi": rewrite_products(Pi @ Pi - Pi),
           "M_I_minus_Pi": rewrite_products(M - M @ Pi)}
    for rule in ("fa", "kp"):
        dW1, dW2, dQ, _ = call_flow(flow, (W1, W2, Q, Pbar), S, Syy, rule, lam=0)
        res.update({f"{rule}_dW1": rewrite_products(dW1), f"{rule}_dW2": rewrite_products(dW2),
                    f"{rule}_dQ": rewrite_products(dQ)})
    return zero_outcome(**res)


@register("fp.spi.explicit", "Eq. 6, theory §5",
          "solving flow = 0 gives W2bar W1bar = S Pi (symbolic Pbar and s; r = 1, 2; d = 2)")
def check_spi_explicit(flow=None, claim=None):
    """Eq. 6, theory §5: solving ``flow = 0`` gives ``W2bar W1bar = S Pi`` (symbolic Pbar, s;
    r = 1, 2; d = 2); ``claim`` replaces the :func:`s_pi` formula."""
    flow, claim = flow or default_flow(), claim or s_pi
    s1, s2 = sp.symbols("s1 s2", positive=True)
    S = _S([s1, s2])
    res = {}
    for rule, r in (("fa", 1), ("kp", 1), ("fa", 2)):
        Pbar = symmat("p", r, m)
        res[f"{rule}_r{r}"] = stationary_product(flow, rule, S, Pbar) - claim(S, Pbar)
    return zero_outcome(**res)


# ------------------------------------------------------ uniqueness and the r < d family


@register("fp.unique", "theory §5 (i), Sec. 3.1",
          "r >= d: the fixed point is W2bar W1bar = S for every Pbar (r = d symbolic, r > d)")
def check_unique(flow=None):
    """theory §5 (i): for r >= d the fixed point is ``W2bar W1bar = S`` for every Pbar."""
    flow = flow or default_flow()
    s1, s2 = sp.symbols("s1 s2", positive=True)
    S = _S([s1, s2])
    res = {
        "fa_r2_symbolic_Pbar": stationary_product(flow, "fa", S, symmat("p", 2, m)) - S,
        "kp_r3_rational_Pbar": stationary_product(flow, "kp", S, full_rank_rational(3, m, 4)) - S,
        "fa_r3_rational_Pbar": stationary_product(flow, "fa", S, full_rank_rational(3, m, 5)) - S,
    }
    return zero_outcome(**res)


def _family_rank(flow, rule, S, r, seed):
    """Exact rank of ``d vec(M) / d vec(Pbar)`` at a rational ``Pbar0``, and ``M(Pbar0)``.

    Column j is ``dM/dh`` at ``h = 0`` for ``Pbar = Pbar0 + h E_j`` (one symbol per solve,
    which keeps the linear solves cheap).
    """
    Pbar0 = full_rank_rational(r, m, seed)
    h = sp.Symbol("h")
    cols = []
    for j in range(r * m):
        Ej = sp.zeros(r, m)
        Ej[j // m, j % m] = 1
        M = stationary_product(flow, rule, S, Pbar0 + h * Ej)
        cols.append(sp.Matrix(list(M.diff(h).subs(h, 0))))
    M0 = stationary_product(flow, rule, S, Pbar0)
    return sp.Matrix.hstack(*cols).rank(), M0


@register("fp.family", "theory §5 (ii), Sec. 3.1",
          "r < d, Pbar fixed: fixed points S Pi(Pbar) form a family of dimension r (d - r) != 0")
def check_family(flow=None):
    """theory §5 (ii): r < d with Pbar fixed gives a family of fixed points ``S Pi(Pbar)`` of
    dimension r (d - r)."""
    flow = flow or default_flow()
    cases = [
        ("fa", 1, _S([sp.Integer(2), sp.Integer(1)]), 2),
        ("kp", 1, _S([sp.Integer(3), sp.Integer(2), sp.Integer(1)]), 3),
    ]
    for rule, r, S, d in cases:
        rank, M0 = _family_rank(flow, rule, S, r, seed=10 + r)
        want = r * (d - r)
        if rank != want:
            return Outcome(False, f"{rule} r={r} d={d}: rank dM/dPbar = {rank}, expected {want}")
        if (M0 - S).is_zero_matrix:
            return Outcome(False, f"{rule} r={r} d={d}: the fixed point equals S (not spurious)")
    return Outcome(True, "0", "rank dM/dPbar = r(d-r): 1 (FA r=1,d=2), 2 (KP r=1,d=3); M != S")


# ------------------------------------------------------------- RAF: top-r modes


def oja_jacobian(flow, P, Syy, at, rule="raf"):
    """Jacobian of ``vec(dPbar)`` (flow's Oja part) with respect to ``vec(Pbar)`` at ``at``."""
    r, mm = P.shape
    dP = call_flow(flow, (sp.zeros(1, 1), sp.zeros(mm, 1), sp.zeros(1, r), P),
                   sp.zeros(mm, 1), Syy, rule)[3]
    J = sp.Matrix(list(sp.Matrix(dP))).jacobian(list(P))
    return J.subs(dict(zip(list(P), list(at))))


def classify_eigenvalues(J):
    """Counts ``(negative, zero, positive, undecided)`` of the eigenvalues of ``J``."""
    counts = [0, 0, 0, 0]
    for ev, mult in J.eigenvals().items():
        ev = sp.factor(sp.expand(ev))
        if ev.is_zero:
            counts[1] += mult
        elif ev.is_negative:
            counts[0] += mult
        elif ev.is_positive:
            counts[2] += mult
        else:
            counts[3] += mult
    return tuple(counts)


@register("fp.raf.topr", "Eq. 8-10, theory §5 (iii), Fig. 2e",
          "RAF: Oja's stable Pbar spans the top-r modes, and then W2bar W1bar = top-r part of S")
def check_raf_topr(flow=None):
    """Eq. 8-10, theory §5 (iii): RAF's Oja-stable Pbar spans the top-r modes, and then
    ``W2bar W1bar`` is the top-r part of S."""
    return check_topr(flow or default_flow(), "raf")


def check_topr(flow, rule):
    """The top-r fixed point of a rule whose ``Pbar`` learns by Oja (RAF, Oja-only): Oja's
    ``Pbar`` at the top-r subspace is stationary and stable (Jacobian), and the forward
    weights grown from small ones stop at the top-r part of ``S``."""
    a, b, c, sig = sp.symbols("a b c sigma", positive=True)
    s = [a + b + c, b + c, c]  # s1 > s2 > s3 > 0
    S = _S(s)
    Syy = S * S.T + sig**2 * sp.eye(m)  # Sigma_yy_bar for large N (theory §5)
    r = 2
    R = cayley(r, 6)
    Pstar = R * sp.eye(m)[:r, :]  # rows: orthonormal basis of span(e1, e2)
    P = symmat("p", r, m)
    dP = call_flow(flow, (sp.zeros(1, n), sp.zeros(m, 1), sp.zeros(1, r), Pstar),
                   sp.zeros(m, n), Syy, rule)[3]
    stat = zero_outcome(dPbar_at_top_r=sp.Matrix(dP))
    neg, zero, pos, und = classify_eigenvalues(oja_jacobian(flow, P, Syy, sp.eye(m)[:r, :],
                                                            rule))
    if (zero, pos, und) != (r * (r - 1) // 2, 0, 0):
        return Outcome(False, f"Oja Jacobian at the top-r subspace: (neg, zero, pos, undecided)"
                       f" = {(neg, zero, pos, und)}, expected zero = {r * (r - 1) // 2}, no pos")
    M = stationary_product(flow, rule, S, Pstar, Syy=Syy)
    top = zero_outcome(M_minus_top_r_S=M - _S(s[:r]))
    return first_failure(stat, top, Outcome(True, "0", "stationary, stable, M = diag(s1, s2, 0)"))


# ------------------------------------------------------------- KP-Q alignment


@register("kp.align.matrix", "Eq. 7, 10, theory §5 (KP-Q)",
          "wd = lam, Pbar fixed: d(Q - W2bar^T Pbar^T)/dt = -lam (Q - W2bar^T Pbar^T)")
def check_kp_align_matrix(flow=None):
    """Eq. 7, 10, theory §5 (KP-Q): with wd = lam and Pbar fixed,
    ``d(Q - W2bar^T Pbar^T)/dt = -lam (Q - W2bar^T Pbar^T)`` (matrix symbols)."""
    flow = flow or default_flow()
    r = 2
    W1, W2 = sp.MatrixSymbol("W1", k, n), sp.MatrixSymbol("W2", m, k)
    Q, P = sp.MatrixSymbol("Q", k, r), sp.MatrixSymbol("Pbar", r, m)
    S, Syy = sp.MatrixSymbol("S", m, n), sp.MatrixSymbol("Sigma_yy_bar", m, m)
    lam = sp.Symbol("lambda", positive=True)
    dW1, dW2, dQ, dP = call_flow(flow, (W1, W2, Q, P), S, Syy, "kp", lam=lam, wd=lam)
    D = Q - W2.T @ P.T
    dD = dQ - dW2.T @ P.T
    return zero_outcome(dD_plus_lam_D=dD + lam * D, dPbar=dP)


@register("kp.align.explicit", "Eq. 7, 10, theory §5 (KP-Q)",
          "same, explicit symbolic matrices (m=3, n=4, k=3, r=2)")
def check_kp_align_explicit(flow=None):
    """Eq. 7, 10, theory §5 (KP-Q): the same alignment identity with explicit symbolic
    matrices (m=3, n=4, k=3, r=2)."""
    flow = flow or default_flow()
    r = 2
    W1, W2, Q, P = symmat("w1", k, n), symmat("w2", m, k), symmat("q", k, r), symmat("p", r, m)
    S, Syy = _S(sp.symbols("s1:4")), symmat("c", m, m, symmetric=True)
    lam = sp.Symbol("lambda", positive=True)
    dW1, dW2, dQ, dP = call_flow(flow, (W1, W2, Q, P), S, Syy, "kp", lam=lam, wd=lam)
    D = Q - W2.T * P.T
    return zero_outcome(dD_plus_lam_D=sp.Matrix(dQ) - sp.Matrix(dW2).T * P.T + lam * D,
                        dPbar=sp.Matrix(dP))
