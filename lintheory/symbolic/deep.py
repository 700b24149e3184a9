"""SymPy checks of the averaged dynamics at any depth, for every registered rule.

The per-sample rules (:mod:`lintheory.batch`'s per-sample updates, each made of the rule's
own functions ``feedback``, ``q_update``, ``p_update``) are applied to a finite data set
whose inputs are exactly whitened (``X = 2 O`` with ``O`` an exact rational orthogonal
4 x 4 matrix, so ``(1/N) X X^T = I``), with every weight and target entry an independent
symbol (or the weights at a generic rational point), and averaged over the samples. The
checks compare the averages, entry by entry after expansion, with

* :func:`lintheory.flow.error_covariances` - the covariance of the error arriving at each
  layer (output: ``Syy - Syx M^T - M Syx^T + M M^T``, deeper layers pushed back through
  the feedback);
* :func:`lintheory.flow.rule_flow` (``oja_scale=False``: the raw covariance; the scaling
  is a positive scalar factor applied afterwards) - every ``dW``, ``dQ``, ``dP``, with
  symbolic decays ``lambda`` (on ``Q``) and ``wd`` (on every ``W``), and for direct rules
  both Oja drives (``oja_drive="error"``: ``e_L``; ``"targets"``: ``y``);
* at depth 2, the paper's two-layer equations (Eqs. 5, 9, 10) written out independently
  (:func:`check_depth2`).

What is checked is the engine's averaging (the closed forms of ``E``, ``H``, the error
covariances) for whatever functions a rule brings, so a rule added to
:data:`lintheory.rules.RULES` is checked without editing this module.
Run them with ``python -m lintheory.symbolic.deep`` (prints one line per check).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..flow import error_covariances, rule_flow
from ..rules import RULES, get_rule
from .averaging import PAPER_RULES
from .common import cayley

N_IN = 4  # inputs: X = 2 O (4 x 4), N = 4 samples, (1/N) X X^T = I exactly


def _sym(name, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def symbolic_network(widths=(2, 2), m=2, ranks=1, direct=False, weights="symbols"):
    """Symbolic ``Ws, Qs, Ps``, targets ``Y`` (m x N) and exact whitened inputs ``X``.

    ``weights="rational"`` puts random small rationals in the weights instead of symbols
    (targets stay symbols): the identities are polynomial in the weights, so this checks
    them at one generic point (Schwartz-Zippel) at a fraction of the cost.
    """
    dims = (N_IN,) + tuple(widths) + (m,)
    L = len(dims) - 1
    ranks = [ranks] * (L - 1) if isinstance(ranks, int) else list(ranks)
    rng = np.random.default_rng(7)
    if weights == "symbols":
        def mat(name, r, c):
            return _sym(name, r, c)
    else:  # nonzero entries +-1/4 ... +-7/4, so no factor vanishes by accident
        def mat(name, r, c):
            v = rng.integers(1, 8, size=(r, c)) * rng.choice([-1, 1], size=(r, c))
            return sp.Matrix(r, c, lambda i, j: sp.Rational(int(v[i, j]), 4))
    Ws = [mat(f"w{i + 1}", dims[i + 1], dims[i]) for i in range(L)]
    Qs = [mat(f"q{j + 2}", dims[j + 1], ranks[j]) for j in range(L - 1)]
    Ps = [mat(f"p{j + 2}", ranks[j], dims[-1] if direct else dims[j + 2])
          for j in range(L - 1)]
    X = 2 * cayley(N_IN, 11)
    Y = _sym("y", m, X.shape[1])
    return Ws, Qs, Ps, X, Y


def sample_errors(Ws, Qs, Ps, x, y, rule):
    """Per-sample activities ``h_i`` (input of ``Ws[i]``) and errors ``e_i`` of ``rule``."""
    L = len(Ws)
    h = [x]
    for W in Ws:
        h.append(W @ h[-1])
    e = [None] * L
    e[L - 1] = y - h[L]
    for j in range(L - 2, -1, -1):
        src = e[L - 1] if rule.direct else e[j + 1]
        e[j] = rule.feedback(Ws[j + 1], Qs[j], Ps[j], src)
    return h, e


def averaged_sample_rules(Ws, Qs, Ps, X, Y, rule, lam, p_rate, wd=0, oja_drive="error"):
    """Average over the samples of the per-sample updates and error outer products.

    Per sample: ``dW_i = e_i h_i^T - wd W_i``, ``dQ_j = q_update(W, Q_j, P_j, h_{j+1},
    src_j, lam)`` and ``dP_j = p_rate p_update(W, Q_j, P_j, c c^T, h_{j+1}, src_j)`` with
    ``c`` the error
    pathway ``j`` reads when ``rule.drives_error(j, L, oja_drive)``, else ``y``. Returns
    ``(dW, dQ, dP, C)``: lists of averaged matrices (``C_i`` = mean of ``e_i e_i^T``).
    """
    rule = get_rule(rule)
    L, N = len(Ws), X.shape[1]
    dW = [sp.zeros(*W.shape) for W in Ws]
    dQ = [sp.zeros(*Q.shape) for Q in Qs]
    dP = [sp.zeros(*P.shape) for P in Ps]
    C = [sp.zeros(W.shape[0], W.shape[0]) for W in Ws]
    for mu in range(N):
        x, y = X[:, mu], Y[:, mu]
        h, e = sample_errors(Ws, Qs, Ps, x, y, rule)
        for i in range(L):
            dW[i] += e[i] * h[i].T - wd * Ws[i]
            C[i] += e[i] * e[i].T
        for j in range(L - 1):
            src = e[L - 1] if rule.direct else e[j + 1]
            dQ[j] += sp.Matrix(rule.q_update(Ws[j + 1], Qs[j], Ps[j], h[j + 1], src, lam))
            c = src if rule.drives_error(j, L, oja_drive) else y
            dP[j] += p_rate * sp.Matrix(rule.p_update(Ws[j + 1], Qs[j], Ps[j], c * c.T,
                                                      h[j + 1], src))
    scale = sp.Rational(1, N)
    return ([a * scale for a in dW], [a * scale for a in dQ], [a * scale for a in dP],
            [a * scale for a in C])


def _zero(M) -> bool:
    return all(sp.expand(v) == 0 for v in M)


def check_deep(rule, widths=(2, 2), m=2, ranks=1, weights="symbols", *, flow=None,
               covariances=None, oja_drive="error") -> dict:
    """Compare averaged per-sample rules with the closed forms; ``{name: bool}``.

    ``flow`` and ``covariances`` default to :func:`lintheory.flow.rule_flow` and
    :func:`lintheory.flow.error_covariances` (the integrator's own code); pass a broken
    variant to see the check fail. The Q decay ``lambda``, the weight decay ``wd`` and
    ``p_rate`` are symbols, so the decay terms of every update are checked too.
    ``oja_drive`` (direct rules): ``"error"`` or ``"targets"``. ``widths=(k,)`` checks
    depth 2.
    """
    flow = flow or rule_flow
    covariances = covariances or error_covariances
    rule = get_rule(rule)
    Ws, Qs, Ps, X, Y = symbolic_network(widths, m, ranks, rule.direct, weights)
    N = X.shape[1]
    lam, wd, p_rate = sp.symbols("lambda wd p_rate", real=True)
    Sxx, Syx, Syy = X * X.T / N, Y * X.T / N, Y * Y.T / N
    out = {"whitened": _zero(Sxx - sp.eye(N_IN))}
    dW, dQ, dP, C = averaged_sample_rules(Ws, Qs, Ps, X, Y, rule, lam, p_rate, wd, oja_drive)
    C_closed = covariances(Ws, Qs, Ps, Syx, Syy, rule)
    fW, fQ, fP = flow(Ws, Qs, Ps, Syx, Syy, rule, lam=lam, wd=wd, p_rate=p_rate,
                      oja_scale=False, oja_drive=oja_drive)
    L = len(Ws)
    for i in range(L):
        out[f"C_{i + 1}"] = _zero(C[i] - C_closed[i])
        out[f"dW_{i + 1}"] = _zero(dW[i] - fW[i])
    for j in range(L - 1):
        out[f"dQ_{j + 2}"] = _zero(dQ[j] - sp.Matrix(fQ[j]))
        out[f"dP_{j + 2}"] = _zero(dP[j] - sp.Matrix(fP[j]))
    return out


def paper_two_layer(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """The paper's two-layer ODE (Eqs. 5, 9, 10; A8, A34-A36), written out here from its
    table :data:`lintheory.symbolic.averaging.PAPER_RULES` (not from the rule objects)."""
    transport, learns_Q, learns_P = PAPER_RULES[rule]
    E = Syx - W2 * W1
    dW1 = (W2.T if transport else Q * P) * E - wd * W1
    dW2 = E * W1.T - wd * W2
    dQ = W1 * E.T * P.T - lam * Q if learns_Q else sp.zeros(*Q.shape)
    dP = p_rate * P * Syy * (sp.eye(P.shape[1]) - P.T * P) if learns_P else sp.zeros(*P.shape)
    return dW1, dW2, dQ, dP


def check_depth2(rule, *, flow=None) -> bool:
    """At depth 2, the engine's flow (``flow``, default :func:`rule_flow`) with the rule's
    functions equals the paper's equations (:func:`paper_two_layer`), symbol by symbol."""
    flow = flow or rule_flow
    r = get_rule(rule)
    Ws, Qs, Ps, X, Y = symbolic_network((3,), 2, 2)
    Syx, Syy = _sym("sxy", 2, N_IN), _sym("syy", 2, 2)
    Syy = (Syy + Syy.T) / 2
    lam, wd, pr = sp.symbols("lambda wd p_rate", real=True)
    a = paper_two_layer(Ws[0], Ws[1], Qs[0], Ps[0], Syx, Syy, r.name, lam, wd, pr)
    b = flow(Ws, Qs, Ps, Syx, Syy, r, lam=lam, wd=wd, p_rate=pr, oja_scale=False)
    got = (b[0][0], b[0][1], sp.Matrix(b[1][0]), sp.Matrix(b[2][0]))
    return all(_zero(x - y) for x, y in zip(a, got))


def main() -> int:  # pragma: no cover - exercised through the tests
    """Run :func:`check_deep` (L = 3, every registered rule) and :func:`check_depth2`;
    0 if all pass."""
    ok = True
    cases = [(name, "error") for name in RULES]
    cases += [(name, "targets") for name, r in RULES.items() if r.direct and r.learns_P]
    for rule, drive in cases:
        res = check_deep(rule, oja_drive=drive)  # every weight a symbol (raf: ~1 min)
        ok &= all(res.values())
        label = rule if not get_rule(rule).direct else f"{rule}/{drive}"
        print(f"L=3 {label:13s}",
              " ".join(f"{k}:{'ok' if v else 'FAIL'}" for k, v in res.items()))
    for rule in PAPER_RULES:
        good = check_depth2(rule)
        ok &= good
        print(f"L=2 {rule:5s} flow == paper Eqs. 5, 9, 10: {'ok' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
