"""Feedback rules: how a weight layer sends its error to its input (theory §6).

Every weight layer is seen through a matrix view: ``hm (N, D_in)`` input rows (a Linear
layer's inputs, or a convolution's im2col patches), ``em (N, D_out)`` the errors at its
output, ``Wm (D_out, D_in)``. A rule maps ``em`` to the input error ``dm (N, D_in)`` and,
if it learns, fills the ``grad`` of its own ``Q (D_in, r)`` and ``P (r, D_out)`` with the
update written as a pseudo-gradient ``grad = -Delta / eta``:

=========  ==============================  =====================================
rule       input error ``dm``              feedback update
=========  ==============================  =====================================
bp         ``em Wm``  (``W^T e``)           -
fa         ``em (Q P)^T``, fixed random     -
kp         ``em (Q P)^T``                   ``Delta Q = h (P e)^T - lam_Q Q``, P fixed
raf        ``em (Q P)^T``                   KP on Q; Oja ``Delta P = s P C (I - P^T P)``
normative  ``em (Q P)^T``                   gradient of ``|Q P - W^T|^2 / 2`` (transport)
draf       ``e_s (Q P)^T`` (direct)         KP on Q with the source error, Oja on ``e_s``
dfa        ``e_s (Q P)^T``, fixed random    -
=========  ==============================  =====================================

and, in :mod:`lintheory.nn.rules_extra` (issue 12): ``oja`` (Oja on P, Q fixed), ``sign``
(``sign(W)^T e``), ``mirror`` (``kp`` at full rank, Kolen-Pollack) and ``factorised``
(``Delta Q = (dW)^T P^T``, ``Delta P = Q^T (dW)^T``).

``C`` is the error covariance, centred over the batch and divided by the largest
per-unit standard deviation plus ``cov_eps``; at the output layer it is the covariance of
the one-hot targets instead. With ``rank=None`` the channel is unconstrained
(``r = D_out``); a fixed unconstrained ``P`` is the identity and is not stored, and so
is an Oja-learned ``P`` as wide as its source (``r = D_src``): Oja's update of an
orthonormal square ``P`` is zero, so RAF at full rank is KP with ``B = Q``.

``oja_drive`` (direct rules only; layered rules ignore it): ``"error"`` (default, as the
paper's authors do) drives Oja by the source error ``e_s`` that ``P`` projects;
``"targets"`` by the one-hot targets (needs ``source="output"``), the covariance the deep
linear derivation's alternative uses (derivations/deep_linear.md).

``q_init_scale`` multiplies the random initial ``Q`` (default 1; 0 starts ``Q`` at zero, so
a learned ``Q`` is built only from the KP updates ``h (P e)^T``: without decay the random
initial component of ``Q`` never goes away, theory §5).

A rule is a small class with three switches (``q_rule``, ``p_rule``, ``direct``); adding a
rule is one subclass and one registry entry.
"""

from __future__ import annotations

import numpy as np

from .._validate import MAX_RATE
from .base import Param


def centred_scaled(E: np.ndarray, eps: float, centre: bool = True, scale: bool = True):
    """Rows of ``E (N, D)`` centred over N and divided by ``max_j std_j + eps``."""
    Ec = E - E.mean(axis=0, keepdims=True) if centre else E
    if scale:
        Ec = Ec / (Ec.std(axis=0).max() + eps)
    return Ec


def oja_delta(P: np.ndarray, Ec: np.ndarray) -> np.ndarray:
    """Oja's subspace update ``P C (I - P^T P)`` with ``C = Ec^T Ec / N``, in O(N D r).

    With ``Y = Ec P^T (N, r)`` the update is ``(Y^T Ec - (Y^T Y) P) / N``; the product
    ``(Y^T Y) P`` costs ``r^2 (N + D)`` and the factored ``Y^T (Y P)`` costs ``2 N r D``,
    and the cheaper order is taken.
    """
    Y = Ec @ P.T                                  # (N, r)
    n, r = Y.shape
    if r * (n + P.shape[1]) <= 2 * n * P.shape[1]:
        return (Y.T @ Ec - (Y.T @ Y) @ P) / n
    return (Y.T @ (Ec - Y @ P)) / n


class Feedback:
    """Base of every rule. Subclasses set the switches; instances hold Q and P."""

    name = "base"
    q_rule: str | None = None        # None (fixed), "kp", "normative"
    p_rule: str | None = None        # None (fixed), "oja", "normative", "factorised"
    direct = False
    transport = False                # True for bp: the error uses W itself
    HYPER = {
        "q_decay": 0.0, "p_decay": 0.0, "p_lr_scale": 1.0, "centre": True, "scale": True,
        "cov_eps": 1e-8, "clip": None, "source": "output", "q_init_scale": 1.0,
        "oja_drive": "error",
    }
    OJA_DRIVES = ("error", "targets")
    """Values of ``oja_drive`` (direct rules: what Oja's covariance is taken of), the same
    name, values and default as ``lintheory.deep`` (``integrate_deep(..., oja_drive=)``)."""

    def __init__(self, **hyper):
        unknown = set(hyper) - set(self.HYPER)
        if unknown:
            raise ValueError(
                f"unknown feedback hyperparameter(s) {sorted(unknown)}; allowed: "
                f"{', '.join(self.HYPER)}"
            )
        h = {**self.HYPER, **hyper}
        if h["source"] not in ("output", "penultimate"):
            raise ValueError(f"source must be 'output' or 'penultimate', got {h['source']!r}")
        if h["oja_drive"] not in self.OJA_DRIVES:
            raise ValueError(f"oja_drive must be 'error' or 'targets', got {h['oja_drive']!r}")
        if h["oja_drive"] == "targets" and h["source"] != "output":
            raise ValueError("oja_drive='targets' needs source='output' (the targets live in "
                             "the output space that P projects from)")
        number = (int, float, np.integer, np.floating)
        for key in ("q_decay", "p_decay", "p_lr_scale", "cov_eps", "q_init_scale"):
            if (not isinstance(h[key], number) or not np.isfinite(h[key]) or h[key] < 0
                    or h[key] > MAX_RATE):  # larger ones overflow float32/64 updates
                raise ValueError(f"{key} must be a number in [0, {MAX_RATE:g}], got "
                                 f"{h[key]!r}")
        for key in ("centre", "scale"):
            if not isinstance(h[key], (bool, np.bool_)):
                raise ValueError(f"{key} must be True or False, got {h[key]!r}")
        if h["clip"] is not None and not (isinstance(h["clip"], number) and h["clip"] > 0):
            raise ValueError(f"clip must be None or > 0, got {h['clip']!r}")
        self.hyper = h
        self.Q: Param | None = None
        self.P: Param | None = None
        self.rank: int | None = None

    # ------------------------------------------------------------------ setup
    @property
    def learns(self) -> bool:
        """True when Q or P has an update rule."""
        return self.q_rule is not None or self.p_rule is not None

    def setup(self, layer_name: str, d_in: int, d_src: int, rank, w_std: float,
              rng: np.random.Generator, dtype) -> None:
        """Create Q ``(d_in, r)`` and P ``(r, d_src)``; ``d_src`` is the dimension P
        projects from (the layer's output width, or the source's for direct rules)."""
        if self.transport:
            return
        if rank is None:
            r = d_src
        else:
            if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
                raise ValueError(f"rank of layer {layer_name!r} must be an int, got {rank!r}")
            r = int(rank)
            if not 1 <= r <= d_src:
                raise ValueError(
                    f"rank of layer {layer_name!r} must be in [1, {d_src}] (the dimension "
                    f"its feedback projects from), got {r}"
                )
        self.rank = r
        kind = "feedback"
        if (rank is None and self.p_rule is None) or (r == d_src and self.p_rule == "oja"):
            # unconstrained and fixed: P = identity, B = Q. Unconstrained Oja: from any
            # orthonormal square P the update P C (I - P^T P) vanishes, so P never moves and
            # B = Q P is Q rotated once; P = I is that rule at no cost (and no P is stored).
            q = rng.normal(0.0, w_std, size=(d_in, d_src)).astype(dtype)
        else:
            g = rng.normal(size=(d_src, r))
            p = np.linalg.qr(g)[0].T                # orthonormal rows
            self.P = Param(np.ascontiguousarray(p, dtype=dtype), f"{layer_name}.fb.P", kind)
            q = rng.normal(0.0, w_std * np.sqrt(d_src / r), size=(d_in, r)).astype(dtype)
        q *= self.hyper["q_init_scale"]             # 0: Q is built only from h (P e)^T
        self.Q = Param(q, f"{layer_name}.fb.Q", kind)

    def params(self) -> list[Param]:
        """The learned feedback parameters (fixed ones are not handed to optimisers)."""
        out = []
        if self.q_rule is not None and self.Q is not None:
            out.append(self.Q)
        if self.p_rule is not None and self.P is not None:
            out.append(self.P)
        return out

    def matrix(self, Wm: np.ndarray | None = None) -> np.ndarray:
        """The effective feedback matrix ``B (D_in, D_src)`` (``W^T`` for bp)."""
        if self.transport:
            return Wm.T
        return self.Q.value if self.P is None else self.Q.value @ self.P.value

    # ------------------------------------------------------------------ pass
    def input_error(self, em: np.ndarray, Wm: np.ndarray) -> np.ndarray:
        """``dm = em B^T``: (N, D_src) -> (N, D_in)."""
        if self.transport:
            return em @ Wm
        if self.P is None:
            return em @ self.Q.value.T
        return (em @ self.P.value.T) @ self.Q.value.T

    def backward(self, hm: np.ndarray, em: np.ndarray, Wm: np.ndarray,
                 oja_signal: np.ndarray | None) -> np.ndarray:
        """Return the input error and fill Q/P grads. ``oja_signal (N, D_src)`` drives
        Oja (the layer's errors, or the one-hot targets at the output layer)."""
        if self.transport:
            return em @ Wm
        pe = em if self.P is None else em @ self.P.value.T         # (N, r), shared
        dm = pe @ self.Q.value.T
        if self.learns:
            self._update(hm, pe, Wm, em if oja_signal is None else oja_signal)
        return dm

    def _update(self, hm, pe, Wm, sig) -> None:
        """Fill the grads; ``pe = e P^T (N, r)`` is the error inside the channel."""
        h = self.hyper
        Q, P = self.Q, self.P
        if self.q_rule == "kp":
            Q.grad[...] = -(hm.T @ pe) + h["q_decay"] * Q.value
        if self.p_rule == "oja" and P is not None:
            Ec = centred_scaled(sig, h["cov_eps"], h["centre"], h["scale"])
            P.grad[...] = -h["p_lr_scale"] * oja_delta(P.value, Ec) + h["p_decay"] * P.value
        if self.q_rule == "normative" or self.p_rule == "normative":
            R = Q.value @ P.value - Wm.T                            # (D_in, D_out)
            if self.q_rule == "normative":
                Q.grad[...] = R @ P.value.T + h["q_decay"] * Q.value
            if self.p_rule == "normative":
                P.grad[...] = Q.value.T @ R + h["p_decay"] * P.value
        self._clip()

    def _clip(self) -> None:
        """Scale each learned factor's grad to norm at most ``clip`` (when set)."""
        c = self.hyper["clip"]
        if c is not None:
            for p in self.params():
                n = np.linalg.norm(p.grad)
                if n > c:
                    p.grad *= c / n

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank})"


class BP(Feedback):
    """Backpropagation: the input error is ``W^T e``."""

    name = "bp"
    transport = True


class FA(Feedback):
    """Feedback alignment: fixed random ``B = Q P`` (full ``B`` when rank is None)."""

    name = "fa"


class KP(Feedback):
    """Kolen-Pollack-like Q with fixed P (P = I when unconstrained: classic KP)."""

    name = "kp"
    q_rule = "kp"


class RAF(Feedback):
    """Restricted adaptive feedback: Q by the KP-like rule, P by Oja (theory §6)."""

    name = "raf"
    q_rule = "kp"
    p_rule = "oja"


class Normative(Feedback):
    """Q, P descend ``|Q P - W^T|_F^2 / 2`` (needs weight transport; a baseline)."""

    name = "normative"
    q_rule = "normative"
    p_rule = "normative"


class DRAF(Feedback):
    """Direct RAF: ``e_in = Q P e_s`` with e_s the output (or penultimate) error."""

    name = "draf"
    q_rule = "kp"
    p_rule = "oja"
    direct = True


class DFA(Feedback):
    """Direct feedback alignment (Nøkland 2016): fixed random ``B e_s``."""

    name = "dfa"
    direct = True


from .rules_extra import EXTRA_RULES  # noqa: E402 (they subclass Feedback)

FEEDBACK_RULES: dict[str, type[Feedback]] = {
    cls.name: cls for cls in (BP, FA, KP, RAF, DRAF, DFA, Normative) + EXTRA_RULES
}


def make_feedback(rule, **hyper) -> Feedback:
    """Return a fresh rule instance from a name (or a Feedback subclass)."""
    if isinstance(rule, type) and issubclass(rule, Feedback):
        return rule(**hyper)
    key = str(rule).lower()
    if key not in FEEDBACK_RULES:
        raise ValueError(f"rule must be one of {', '.join(FEEDBACK_RULES)}; got {rule!r}")
    return FEEDBACK_RULES[key](**hyper)
