"""Deliberately broken variants of the ingredients the checks use.

Each is a small wrapper around the real :func:`lintheory.flow.two_layer_flow` (or the real
rotation / fixed-point claim / closed form) with one classic mistake. The tests (and
``lintheory verify --break NAME``) run the *same* check code on them and expect FAILED,
which shows that the checks can fail. Nothing in the package uses them otherwise.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..flow import two_layer_flow as flow
from ..rules import factor_feedback, transport_feedback


def _eye_like(P):
    """Identity of size ``P.shape[1]`` in P's own kind of matrix."""
    m = P.shape[1]
    if isinstance(P, sp.MatrixExpr) and not isinstance(P, sp.MatrixBase):
        return sp.Identity(m)
    if isinstance(P, sp.MatrixBase):
        return sp.eye(m)
    import numpy as np

    I = np.zeros((m, m), dtype=object)
    for i in range(m):
        I[i, i] = 1
    return I


def sign_flip(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """``dW2 = -(E W1^T)``: the output layer climbs the loss instead of descending."""
    dW1, dW2, dQ, dP = flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)
    return dW1, -1 * dW2, dQ, dP


def q_sign_flip(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """``dQ = -W1 E^T P^T - lam Q``: the Kolen-Pollack term with the wrong sign."""
    dW1, dW2, dQ, dP = flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)
    return dW1, dW2, -1 * dQ - 2 * lam * Q, dP


def oja_sign_flip(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """``dP = -P Syy (I - P^T P)``: anti-Hebbian Oja (same fixed points, stability flipped)."""
    dW1, dW2, dQ, dP = flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)
    return dW1, dW2, dQ, -1 * dP


def oja_no_decay(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """``dP = P Syy``: Oja's rule with its normalising term ``- P Syy P^T P`` missing."""
    dW1, dW2, dQ, dP = flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)
    if rule.learns_P:
        dP = dP + p_rate * (P @ Syy @ P.T @ P)
    return dW1, dW2, dQ, dP


def p_reads_targets(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """``dP = (rule's dP) + P Syy``: a Hebbian term on the target covariance added to every
    learning ``P`` (it drives every column of ``Pbar``, learned mode or not)."""
    dW1, dW2, dQ, dP = flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)
    if rule.learns_P:
        dP = dP + p_rate * (P @ Syy)
    return dW1, dW2, dQ, dP


def _no_transpose(W, Q, P, e):
    return W @ e


def _first_row_feedback(W, Q, P, e):
    return Q[:, :1] @ (P[:1, :] @ e)


def missing_transpose(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """BP's hidden error ``W2 E`` instead of ``W2^T E`` (needs ``k = m``)."""
    if rule.feedback is transport_feedback:
        rule = replace(rule, feedback=_no_transpose)
    return flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)


def transport_always(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """Every rule silently uses weight transport ``W2^T`` instead of ``B = Q P``."""
    return flow(W1, W2, Q, P, Syx, Syy, replace(rule, feedback=transport_feedback), lam, wd,
                p_rate)


def drop_feedback_row(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """The feedback keeps only the first row of ``P`` (rank 1 instead of r)."""
    if rule.feedback is factor_feedback:
        rule = replace(rule, feedback=_first_row_feedback)
    return flow(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate)


def wd_sign_flip(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """Weight decay with the wrong sign: ``dW = ... + wd W`` (the weights grow)."""
    return flow(W1, W2, Q, P, Syx, Syy, rule, lam, -1 * wd, p_rate)


def wd_missing(W1, W2, Q, P, Syx, Syy, rule, lam, wd, p_rate):
    """The weight-decay terms ``- wd W1``, ``- wd W2`` dropped."""
    return flow(W1, W2, Q, P, Syx, Syy, rule, lam, 0 * wd, p_rate)


def rotate_q_too(W1, W2, Q, P, U, V):
    """The SVD rotation applied to ``Q`` as well (``U^T Q``; needs ``k = m``)."""
    return W1 @ V, U.T @ W2, U.T @ Q, P @ U


def rotate_missing_transpose(W1, W2, Q, P, U, V):
    """``U W2`` instead of ``U^T W2`` in the rotation (A14)."""
    return W1 @ V, U @ W2, Q, P @ U


def claim_unique(S, Pbar):
    """Claims ``W2bar W1bar = S`` for every ``Pbar`` (false for ``r < d``)."""
    return S


def claim_missing_transpose(S, Pbar):
    """``Pi`` built as ``M (M^T M)^+ M^T`` from ``M = Pbar S``: the column-space projector."""
    M = Pbar * S
    return S * (M * (M.T * M).pinv() * M.T)


def saxe_missing_two(s, a0, t):
    """Saxe et al.'s curve with ``e^{st}`` instead of ``e^{2st}``."""
    E = sp.exp(s * t)
    return s * E / (E - 1 + s / a0)


def deep_sign_flip(*args, **kwargs):
    """The flow (any depth) with the forward-weight updates negated."""
    from ..flow import rule_flow

    dW, dQ, dP = rule_flow(*args, **kwargs)
    return [-a for a in dW], dQ, dP


def deep_drop_mmt(Ws, Qs, Ps, Syx, Syy, rule):
    """Layer-error covariances with the ``M M^T`` term of the output covariance dropped."""
    from ..flow import forward_products, push_covariance

    M = forward_products(Ws)[-1]
    C_out = Syy - Syx @ M.T - M @ Syx.T
    L = len(Ws)
    C = [C_out] * L
    for j in range(L - 2, -1, -1):
        src = C_out if rule.direct else C[j + 1]
        C[j] = push_covariance(rule.feedback, Ws[j + 1], Qs[j], Ps[j], src)
    return C


FLOWS = {
    "sign_flip": sign_flip,
    "q_sign_flip": q_sign_flip,
    "oja_sign_flip": oja_sign_flip,
    "oja_no_decay": oja_no_decay,
    "p_reads_targets": p_reads_targets,
    "missing_transpose": missing_transpose,
    "transport_always": transport_always,
    "drop_feedback_row": drop_feedback_row,
    "wd_sign_flip": wd_sign_flip,
    "wd_missing": wd_missing,
}
ROTATIONS = {"rotate_q_too": rotate_q_too, "rotate_missing_transpose": rotate_missing_transpose}
CLAIMS = {"claim_unique": claim_unique, "claim_missing_transpose": claim_missing_transpose}
CLOSED_FORMS = {"saxe_missing_two": saxe_missing_two}
DEEP_FLOWS = {"deep_sign_flip": deep_sign_flip}
DEEP_COVARIANCES = {"deep_drop_mmt": deep_drop_mmt}


def overrides(name: str) -> dict:
    """Keyword overrides for :meth:`Check.run` that install the broken variant ``name``."""
    tables = (("flow", FLOWS), ("rotate", ROTATIONS), ("claim", CLAIMS),
              ("closed_form", CLOSED_FORMS), ("deep_flow", DEEP_FLOWS),
              ("covariances", DEEP_COVARIANCES))
    for kw, table in tables:
        if name in table:
            return {kw: table[name]}
    names = [name for _, table in tables for name in table]
    raise ValueError(f"broken variant must be one of {', '.join(names)}; got {name!r}")
