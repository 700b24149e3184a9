"""What the later version's rules learn at r < d (theory §6.2; derivations/08).

* **Oja-only** (``oja``): ``Q`` fixed, ``Pbar`` by Oja. Oja's stable ``Pbar`` spans the top
  r modes, and the forward weights then stop at the top-r part of ``S`` (as RAF).
* **Normative** (``normative``): for fixed ``W2bar``, ``(Q, Pbar)`` descend
  ``|Q Pbar - W2bar^T|^2 / 2``; ``Q Pbar`` = a rank-r truncation of the SVD of ``W2bar^T`` is
  stationary, the *best* one is stable and any other is a saddle (Baldi & Hornik 1989),
  shown here from the Jacobian of the flow's own ``(dQ, dPbar)``.
* **Factorised** (``factorised``): with ``lam = wd = 0`` the flow conserves
  ``Q^T Q - Pbar Pbar^T`` and ``W1bar W1bar^T - Q Q^T`` exactly; and the column of ``Pbar``
  of a mode that has not been learned (``W1bar e_i = 0``, ``e_i^T W2bar = 0``) does not move,
  so ``Pbar`` keeps its random initial entries there and the network stops at the FA-type
  fixed point ``S Pi`` of its *final* ``Pbar``, not exactly at the top r modes.

Every check calls :func:`lintheory.flow.flow` (through the checks' ``flow``), so the broken
variants of :mod:`lintheory.symbolic.mutants` reach them.
"""

from __future__ import annotations

import sympy as sp

from .checks import register
from .common import Outcome, call_flow, default_flow, first_failure, symmat, zero_outcome
from .fixed_points import check_topr


@register("fp.oja.topr", "later version, Oja-only; theory §6.2",
          "Oja-only: Oja's stable Pbar spans the top-r modes, then W2bar W1bar = top-r of S")
def check_oja_topr(flow=None):
    """Oja-only (``Q`` fixed): the same top-r fixed point as RAF (theory §6.2)."""
    return check_topr(flow or default_flow(), "oja")


def _factor_jacobian(flow, W2, Q, P, rule="normative"):
    """Jacobian of ``(vec dQ, vec dPbar)`` in ``(vec Q, vec Pbar)`` at ``(Q, Pbar)``, for a
    fixed ``W2bar`` (``W1bar = 0``, so only the feedback factors move)."""
    k, r = Q.shape
    m = P.shape[1]
    qs, ps = symmat("q", k, r), symmat("p", r, m)
    _, _, dQ, dP = call_flow(flow, (sp.zeros(k, 1), W2, qs, ps), sp.zeros(m, 1),
                             sp.eye(m), rule)
    F = sp.Matrix([*sp.Matrix(dQ), *sp.Matrix(dP)])
    J = F.jacobian([*qs, *ps])
    at = dict(zip([*qs, *ps], [*Q, *P]))
    return F.subs(at), J.subs(at)


@register("fp.normative.best", "later version, normative rule; theory §6.2",
          "normative: Q Pbar = best rank-1 part of W2bar^T is stable, another rank-1 part a "
          "saddle (Jacobian of dQ, dPbar; W2bar^T = diag(3, 2, 1))")
def check_normative_best(flow=None):
    """Normative (theory §6.2): with ``W2bar^T = diag(3, 2, 1)`` and ``r = 1``, both
    ``Q Pbar = 3 e1 e1^T`` (best) and ``2 e2 e2^T`` are stationary; the Jacobian of the
    flow's ``(dQ, dPbar)`` has no positive eigenvalue at the first (one zero: the rescaling
    ``Q c, Pbar / c``) and a positive one at the second."""
    flow = flow or default_flow()
    W2 = sp.diag(3, 2, 1)  # W2bar (m x k = 3 x 3); its transpose is the target of Q Pbar
    e = sp.eye(3)
    out = []
    for i, want_stable in ((0, True), (1, False)):
        s = sp.sqrt(W2[i, i])
        F, J = _factor_jacobian(flow, W2, s * e[:, i], s * e[i, :])
        stat = zero_outcome(**{f"dQ_dPbar_at_mode_{i + 1}": F})
        if not stat.ok:
            return stat
        evs = J.eigenvals()
        pos = sum(mult for ev, mult in evs.items() if sp.simplify(ev).is_positive)
        zero = sum(mult for ev, mult in evs.items() if sp.simplify(ev).is_zero)
        if want_stable and (pos, zero) != (0, 1):
            return Outcome(False, f"at the best rank-1 part: {pos} positive, {zero} zero "
                           "eigenvalue(s); expected 0 and 1")
        if not want_stable and pos == 0:
            return Outcome(False, "at the second rank-1 part: no positive eigenvalue (it "
                           "should be a saddle)")
        out.append(Outcome(True, "0", f"mode {i + 1}: {pos} positive, {zero} zero"))
    return first_failure(*out)


@register("fp.factorised.invariants", "later version, factorised rule; theory §6.2",
          "factorised, lam = wd = 0: d(Q^T Q - Pbar Pbar^T)/dt = 0 and "
          "d(W1bar W1bar^T - Q Q^T)/dt = 0 (explicit symbolic matrices)")
def check_factorised_invariants(flow=None, rule="factorised"):
    """Factorised (theory §6.2): two exact conservation laws of the averaged flow at
    ``lam = wd = 0`` (k = 3, n = 3, m = 3, r = 2, general ``Sigma_yy_bar``)."""
    flow = flow or default_flow()
    k, n, m, r = 3, 3, 3, 2
    W1, W2, Q, P = symmat("w", k, n), symmat("v", m, k), symmat("q", k, r), symmat("p", r, m)
    S, Syy = symmat("s", m, n), symmat("c", m, m, symmetric=True)
    dW1, _, dQ, dP = (sp.Matrix(x) for x in call_flow(flow, (W1, W2, Q, P), S, Syy, rule))
    return zero_outcome(
        d_QtQ_minus_PPt=(dQ.T * Q + Q.T * dQ - dP * P.T - P * dP.T).applyfunc(sp.expand),
        d_W1W1t_minus_QQt=(dW1 * W1.T + W1 * dW1.T - dQ * Q.T - Q * dQ.T).applyfunc(sp.expand),
    )


@register("fp.factorised.frozen", "later version, factorised rule; theory §6.2",
          "factorised: the column of Pbar of an unlearned mode i (W1bar e_i = 0, "
          "e_i^T W2bar = 0) does not move: dPbar e_i = 0")
def check_factorised_frozen(flow=None, rule="factorised"):
    """Factorised (theory §6.2): ``dPbar e_3 = 0`` when mode 3 is unlearned (rotated frame,
    ``S = diag(s1, s2, s3)``, general ``Q``, ``Pbar``, ``Sigma_yy_bar``)."""
    flow = flow or default_flow()
    k, m, r = 3, 3, 2
    W1, W2 = symmat("w", k, m), symmat("v", m, k)
    W1[:, 2] = sp.zeros(k, 1)   # the hidden layer does not see input mode 3
    W2[2, :] = sp.zeros(1, k)   # nor does output mode 3 read the hidden layer
    Q, P = symmat("q", k, r), symmat("p", r, m)
    S = sp.diag(*sp.symbols("s1:4", positive=True))
    Syy = symmat("c", m, m, symmetric=True)
    dP = sp.Matrix(call_flow(flow, (W1, W2, Q, P), S, Syy, rule)[3])
    return zero_outcome(dPbar_e3=dP[:, 2].applyfunc(sp.expand))
