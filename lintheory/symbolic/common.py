"""Shared helpers of the symbolic checks: symbol matrices, exact orthogonal matrices,
zero tests and the product rewriting used on matrix-symbol expressions.

Two levels of checking are used throughout (see ``derivations/README.md``):

* **matrix symbols** (``sympy.MatrixSymbol``): general identities, valid for all sizes;
  identities such as ``U^T U = I`` or ``X X^T = N I`` are applied by
  :func:`rewrite_products`, which replaces adjacent factors in every product term;
* **explicit matrices** (``sympy.Matrix`` of independent symbols, small sizes such as
  m=3, n=4, k=3, r=2): every entry is expanded and must vanish identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions.inverse import Inverse
from sympy.matrices.expressions.matadd import MatAdd
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.matrices.expressions.matmul import MatMul
from sympy.matrices.expressions.matpow import MatPow

from ..flow import two_layer_flow as _flow
from ..rules import get_rule

# Sizes of the explicit checks (m outputs, n inputs, k hidden, r feedback rank).
SIZES = {"m": 3, "n": 4, "k": 3, "r": 2}


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: pass/fail and the (non-zero) residual as text."""

    ok: bool
    residual: str = "0"
    detail: str = ""


def symmat(name: str, rows: int, cols: int, *, symmetric: bool = False, **assumptions):
    """``rows x cols`` ``sympy.Matrix`` of independent symbols ``name_ij`` (1-based)."""

    def entry(i, j):
        if symmetric and j < i:
            i, j = j, i
        return sp.Symbol(f"{name}_{i + 1}{j + 1}", **assumptions)

    return sp.Matrix(rows, cols, entry)


def rational_matrix(rows: int, cols: int, seed: int, low: int = -3, high: int = 3) -> sp.Matrix:
    """Exact matrix of small integers drawn with ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    vals = rng.integers(low, high + 1, size=(rows, cols))
    return sp.Matrix(rows, cols, [sp.Integer(int(v)) for v in vals.ravel()])


def full_rank_rational(rows: int, cols: int, seed: int) -> sp.Matrix:
    """Like :func:`rational_matrix`, redrawn until it has full rank ``min(rows, cols)``."""
    for s in range(seed, seed + 1000):
        A = rational_matrix(rows, cols, s)
        if A.rank() == min(rows, cols):
            return A
    raise RuntimeError("no full-rank matrix found")  # pragma: no cover


def cayley(size: int, seed: int) -> sp.Matrix:
    """An exact rational orthogonal matrix ``(I - A)(I + A)^{-1}``, ``A`` skew-symmetric.

    ``A`` has small random integer entries (``numpy.random.default_rng(seed)``), so the
    result is a generic rotation with rational entries: ``O^T O = I`` holds exactly.
    """
    L = rational_matrix(size, size, seed, -2, 2)
    A = (L - L.T) / 2
    eye = sp.eye(size)
    O = (eye - A) * (eye + A).inv()
    assert (O.T * O - eye).is_zero_matrix
    return O


def rect_diag(values, rows: int, cols: int) -> sp.Matrix:
    """``rows x cols`` matrix with ``values`` on the leading diagonal (the ``S`` of theory §2)."""
    S = sp.zeros(rows, cols)
    for i, v in enumerate(values):
        S[i, i] = v
    return S


def call_flow(flow, state, Syx, Syy, rule, *, lam=0, wd=0, p_rate=1):
    """``flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)`` for a rule (name or Rule)."""
    W1, W2, Q, P = state
    return tuple(flow(W1, W2, Q, P, Syx, Syy, get_rule(rule), lam, wd, p_rate))


def default_flow():
    """The flow the ODE integrator compiles, at depth 2 (:func:`lintheory.flow.two_layer_flow`,
    i.e. :func:`lintheory.flow.flow` with the rule's own functions)."""
    return _flow


# ------------------------------------------------------ explicit polynomial matrices


class Explicit:
    """Explicit matrices of independent symbols, as NumPy object arrays of exact polynomials.

    Entries are elements of one SymPy polynomial ring over the rationals
    (``sympy.ring(..., QQ)``), so every product is expanded exactly as it is formed;
    :func:`lintheory.flow.flow` runs on these arrays unchanged (it only uses ``@``, ``.T``,
    ``+``, ``-`` and scalar ``*``) and is much faster than on ``sympy.Matrix``.

    Parameters
    ----------
    matrices : dict name -> (rows, cols)
        Each becomes a matrix of independent symbols ``name_ij`` (1-based).
    scalars : sequence of str
        Scalar symbols (returned as 0-d object arrays so ``lam * Q`` broadcasts).
    symmetric : sequence of str
        Names among ``matrices`` whose matrix is symmetric (``name_ij = name_ji``).
    """

    def __init__(self, matrices: dict, scalars=(), symmetric=()):
        names, slots = [], {}
        for name, (rows, cols) in matrices.items():
            idx = {}
            for i in range(rows):
                for j in range(cols):
                    a, b = (j, i) if name in symmetric and j < i else (i, j)
                    key = f"{name}_{a + 1}{b + 1}"
                    if key not in names:
                        names.append(key)
                    idx[i, j] = key
            slots[name] = (rows, cols, idx)
        names += list(scalars)
        self.ring, *gens = sp.ring(names, sp.QQ)
        by = dict(zip(names, gens))
        self._mats = {}
        for name, (rows, cols, idx) in slots.items():
            A = np.empty((rows, cols), dtype=object)
            for (i, j), key in idx.items():
                A[i, j] = by[key]
            self._mats[name] = A
        for name in scalars:
            self._mats[name] = np.asarray(by[name], dtype=object)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._mats[name]

    def const(self, M) -> np.ndarray:
        """An exact constant matrix (``sympy.Matrix`` of rationals) as ring elements."""
        M = sp.Matrix(M)
        A = np.empty(M.shape, dtype=object)
        for i in range(M.rows):
            for j in range(M.cols):
                A[i, j] = self.ring(M[i, j])
        return A

    def eye(self, size: int) -> np.ndarray:
        """The ``(size, size)`` identity as ring elements."""
        return self.const(sp.eye(size))


def _is_poly_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


# --------------------------------------------------------------------------- zero tests


def _scalar_residual(e):
    """Exact normal form of a scalar: 0 iff ``e`` vanishes identically.

    Polynomials are expanded in the sparse polynomial ring (much faster than
    ``sympy.expand``); rational functions are brought over one denominator first.
    """
    e = sp.sympify(e)
    syms = sorted(e.free_symbols, key=str)
    if not syms:
        return sp.nsimplify(sp.simplify(e))
    try:
        p = sp.Poly(e, *syms)
    except sp.PolynomialError:
        try:
            num, den = sp.fraction(sp.together(e))
            p = sp.Poly(num, *syms)
        except sp.PolynomialError:  # transcendental (exp, log): plain cancellation
            return sp.cancel(sp.together(e))
        return 0 if p.is_zero else sp.cancel(p.as_expr() / den)
    return 0 if p.is_zero else p.as_expr()


def _explicit_residual(M) -> sp.Matrix:
    return sp.Matrix(M).applyfunc(_scalar_residual)


def residual_text(expr, limit: int = 300) -> str:
    """Short printable form of a residual."""
    text = str(expr)
    return text if len(text) <= limit else text[:limit] + " ..."


def is_zero(expr) -> tuple[bool, object]:
    """Exact zero test. Returns ``(is_zero, simplified residual)``.

    Explicit matrices and scalars are expanded and cancelled entry by entry; matrix
    expressions are expanded (zero means ``ZeroMatrix`` or ``0``).
    """
    if _is_poly_array(expr):
        A = np.atleast_2d(expr)
        for idx, e in np.ndenumerate(A):
            if e != 0:  # report the first non-zero entry only (the rest can be huge)
                val = e.as_expr() if hasattr(e, "as_expr") else sp.sympify(e)
                return False, f"entry {tuple(int(i) + 1 for i in idx)} = {val}"
        return True, 0
    if isinstance(expr, MatrixExpr) and not isinstance(expr, sp.MatrixBase):
        e = sp.expand(expr)
        ok = e == 0 or e.is_ZeroMatrix or isinstance(e, sp.ZeroMatrix)
        return bool(ok), e
    if isinstance(expr, sp.MatrixBase):
        R = _explicit_residual(expr)
        return R.is_zero_matrix is True, R
    e = _scalar_residual(expr)
    return e == 0, e


def zero_outcome(**residuals) -> Outcome:
    """Pass when every named residual is exactly zero; else report the first non-zero one."""
    for name, expr in residuals.items():
        ok, R = is_zero(expr)
        if not ok:
            return Outcome(False, f"{name}: {residual_text(R)}")
    return Outcome(True, "0", f"{len(residuals)} residual(s) identically zero")


def first_failure(*outcomes: Outcome) -> Outcome:
    """Combine outcomes: the first failure, or a pass joining the details."""
    for o in outcomes:
        if not o.ok:
            return o
    return Outcome(True, "0", "; ".join(o.detail for o in outcomes if o.detail))


# ------------------------------------------------------------ matrix-symbol rewriting


def _terms(expr):
    return list(expr.args) if isinstance(expr, MatAdd) else [expr]


def _flat(f):
    """Factors of ``f`` with integer powers written out (``A**2 -> A, A``)."""
    if isinstance(f, MatPow) and f.exp.is_Integer and f.exp > 0:
        return [g for _ in range(int(f.exp)) for g in _flat(f.base)]
    if isinstance(f, MatMul):
        return [g for a in f.args if isinstance(a, MatrixExpr) for g in _flat(a)]
    return [f]


def _factors(term):
    if isinstance(term, MatPow):
        return sp.Integer(1), _flat(term)
    coeff, mats = term.as_coeff_matrices()
    return coeff, [g for f in mats for g in _flat(f)]


def _seq(G):
    return list(G.args) if isinstance(G, MatMul) else [G]


def rewrite_products(expr, rules: dict | None = None, *, cancel_inverses: bool = True):
    """Rewrite adjacent factors in every product of an expanded matrix expression.

    ``rules`` maps a pair ``(A, B)`` to ``(c, R)``: the factors ``A B`` are replaced by
    ``c R`` (``R = None`` for an identity, which is dropped). With ``cancel_inverses``,
    a factor ``G^{-1}`` next to the factors of ``G`` (``G G^{-1}`` or ``G^{-1} G``) is
    removed. Repeats until nothing changes; returns the expanded result.
    """
    rules = rules or {}
    expr = sp.expand(expr)
    if expr == 0 or isinstance(expr, sp.ZeroMatrix):
        return expr
    shape = expr.shape
    out = []
    for term in _terms(expr):
        coeff, mats = _factors(term)
        changed = True
        while changed:
            changed = False
            for i in range(len(mats) - 1):
                key = (mats[i], mats[i + 1])
                if key in rules:
                    c, R = rules[key]
                    coeff = coeff * c
                    mats = mats[:i] + ([R] if R is not None else []) + mats[i + 2 :]
                    changed = True
                    break
            if changed or not cancel_inverses:
                continue
            for i, f in enumerate(mats):
                if isinstance(f, Inverse):
                    g = _seq(f.arg)
                    if mats[max(0, i - len(g)) : i] == g:
                        mats = mats[: i - len(g)] + mats[i + 1 :]
                        changed = True
                        break
                    if mats[i + 1 : i + 1 + len(g)] == g:
                        mats = mats[:i] + mats[i + 1 + len(g) :]
                        changed = True
                        break
        if mats:
            out.append(coeff * MatMul(*mats).doit())
        else:
            out.append(coeff * sp.Identity(shape[0]))
    result = MatAdd(*out).doit() if len(out) > 1 else out[0]
    return sp.expand(result)
