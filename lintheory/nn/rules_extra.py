"""The later version's rules and the field's baselines (issue 12), in the matrix view of
:mod:`lintheory.nn.feedback` (``hm (N, D_in)``, ``em (N, D_out)``, ``Wm (D_out, D_in)``,
``Q (D_in, r)``, ``P (r, D_out)``; grads are ``-Delta / eta``):

==========  =========================  ==================================================
rule        input error ``dm``         feedback update
==========  =========================  ==================================================
oja         ``em (Q P)^T``             Oja on P (as RAF's P); Q fixed at its start
sign        ``em sign(Wm)``            none (no factors; reads the signs of W)
mirror      ``em Q^T`` (B = Q, P = I)  KP ``Delta Q = h e^T - lam_Q Q`` (= ``kp``)
factorised  ``em (Q P)^T``             ``Delta Q = (dW)^T P^T``, ``Delta P = Q^T (dW)^T``
==========  =========================  ==================================================

All four work in Linear and Conv2d layers (and the ViT's Linear projections): they only
use the matrix view, in which a convolution is ``hm = cols``, ``Wm (C_out, k*k*C_in)``.
"""

from __future__ import annotations

import numpy as np

from .feedback import Feedback


class OjaOnly(Feedback):
    """Oja-only: ``B = Q P`` with P learned by Oja's rule on the error it reads (exactly
    RAF's P: the layer's errors, or the one-hot targets at the output layer) and Q fixed
    at its random initial value.

    At full rank (``rank=None`` or ``rank = D_out``) an Oja-learned P is the identity
    (see :mod:`lintheory.nn.feedback`), so the rule is then FA with ``B = Q``.
    """

    name = "oja"
    p_rule = "oja"


class Sign(Feedback):
    """Sign-symmetry feedback (Liao, Leibo & Poggio 2016): the input error is
    ``sign(W)^T e``, i.e. ``dm = em sign(Wm)`` ``(N, D_out) -> (N, D_in)``.

    No learned factors (nothing is stored; ``rank`` must be None). It reads the signs of
    the forward weights, so it is a partial weight transport. In a Conv2d layer the sign
    of the kernel is taken in the matrix view (the backward convolution uses the flipped
    signed kernel).
    """

    name = "sign"

    def setup(self, layer_name, d_in, d_src, rank, w_std, rng, dtype) -> None:
        """No Q, P: refuses a rank (``ValueError``)."""
        if rank is not None:
            raise ValueError(f"rule sign has no feedback factors, so no rank (layer "
                             f"{layer_name!r}); give rank None for it")
        self.rank = None

    def matrix(self, Wm=None):
        """``B = sign(Wm)^T (D_in, D_out)``."""
        if Wm is None:
            raise ValueError("rule sign needs the layer's weight: matrix(Wm)")
        return np.sign(Wm).T

    def input_error(self, em, Wm):
        """``dm = em sign(Wm)``: (N, D_out) -> (N, D_in)."""
        return em @ np.sign(Wm)

    def backward(self, hm, em, Wm, oja_signal):
        """The input error ``em sign(Wm)``; there is nothing to learn."""
        return em @ np.sign(Wm)


class Mirror(Feedback):
    """Weight mirror / Kolen-Pollack at full rank (Akrout et al. 2019): ``B = Q`` with
    ``P = I`` and ``Delta Q = h e^T - lam_Q Q``, the transpose of the forward update
    ``Delta W = e h^T``.

    This is the existing ``kp`` rule at full rank (``rank=None``), which already stores
    no P and learns Q by exactly this update; ``mirror`` is that rule under its field
    name, with full rank as its only allowed rank (``None``, or ``D_out``, which is
    taken as ``None``). ``Q - W^T`` changes by ``-(lam_Q Q - lam_W W^T)`` per step
    only: with the same weight decay on W and Q (``--weight-decay``, which applies to Q
    too unless ``--feedback-weight-decay`` says otherwise) B converges to ``W^T``;
    without decay (the digits recipe) ``Q - W^T`` keeps its initial value. For a
    rank-r channel with fixed P use ``kp``.
    """

    name = "mirror"
    q_rule = "kp"

    def setup(self, layer_name, d_in, d_src, rank, w_std, rng, dtype) -> None:
        """As :meth:`Feedback.setup` at ``rank=None``; another rank is a ``ValueError``."""
        if rank is not None and rank != d_src:
            raise ValueError(f"rule mirror is Kolen-Pollack at full rank: rank of layer "
                             f"{layer_name!r} must be None or {d_src}, got {rank!r} (use kp "
                             "for a rank-r channel)")
        super().setup(layer_name, d_in, d_src, None, w_std, rng, dtype)


class Factorised(Feedback):
    """Factorised local rule: Q and P follow the factorised gradient of the forward
    weights' own update.

    Per sample the forward weight moves by ``Delta W = eta e h^T`` ``(D_out, D_in)``
    (from the error the layer receives). The feedback ``B = Q P`` should follow
    ``W^T``, i.e. ascend ``<Q P, G>`` with ``G = (Delta W)^T / eta = h e^T``; by the
    chain rule through the factorisation the gradients of ``<Q P, G>`` are ``G P^T`` and
    ``Q^T G``, which with a decay give

        ``Delta Q = eta (h (P e)^T - lam_Q Q)``   [``(dW)^T P^T``: the KP-like rule of Q]
        ``Delta P = eta ((Q^T h) e^T - lam_P P)`` [``Q^T (dW)^T``]

    (batch sums over the rows of ``hm``, ``em``; ``lam`` = ``q_decay``, ``p_decay``).
    It is the normative rule with the residual ``W^T - Q P`` replaced by its per-step
    increment ``(Delta W)^T`` (so no weight transport: h, e, Q and P only), and among the
    authors' forms the "Hebbian" Q of the later version (Q learns from ``h (P e)^T``)
    carried over to P; the authors' exact code for P was not available, so this P form
    is our choice. Both factors change, so ``Delta B = G P^T P + Q Q^T G`` (to first
    order): unlike ``mirror``, ``Q P = W^T`` is not preserved by a step.
    """

    name = "factorised"
    q_rule = "kp"
    p_rule = "factorised"

    def backward(self, hm, em, Wm, oja_signal):
        """``dm = em (Q P)^T``; fills ``Q.grad = -(hm^T em) P^T + lam_Q Q`` and
        ``P.grad = -Q^T (hm^T em) + lam_P P`` (both from the current Q, P)."""
        h, Q, P = self.hyper, self.Q, self.P
        pe = em @ P.value.T                                  # (N, r)
        dm = pe @ Q.value.T                                  # (N, D_in)
        hq = hm @ Q.value                                    # (N, r): Q^T h per sample
        Q.grad[...] = -(hm.T @ pe) + h["q_decay"] * Q.value
        P.grad[...] = -(hq.T @ em) + h["p_decay"] * P.value
        self._clip()
        return dm


EXTRA_RULES = (OjaOnly, Sign, Mirror, Factorised)
