"""Learning rules of the linear theory as data (SPEC §3).

A rule is a small immutable record of three switches read by every engine (the ODE
right-hand side, the numba SGD kernels, the NumPy reference):

* ``transport`` - the hidden layer's error is ``W2^T e`` (weight transport, BP) instead of
  ``B e = Q P e``;
* ``learns_Q`` - ``Q`` follows the Kolen-Pollack-like rule ``dQ = h (P e)^T - lam Q``;
* ``learns_P`` - ``P`` follows Oja's subspace rule ``dP = eta_P P y y^T (I - P^T P)``.

A fixed random full-rank ``B`` is the case ``r = m`` of ``B = Q P`` with both fixed, so
FA and low-rank FA are one rule. Adding a rule means adding one entry to ``RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One learning rule of the linear theory (a row of the SPEC §3 table).

    ``transport``: hidden error ``W2^T e`` (BP) instead of ``Q P e``; ``learns_Q``: KP-Q
    ``dQ = h (P e)^T - lam Q`` (Eq. 7); ``learns_P``: Oja ``dP = P y y^T (I - P^T P)`` (Eq. 8).
    """

    name: str
    transport: bool
    learns_Q: bool
    learns_P: bool
    summary: str

    @property
    def uses_feedback(self) -> bool:
        """True when the hidden error goes through ``B = Q P``."""
        return not self.transport

    @property
    def flags(self) -> tuple[bool, bool, bool]:
        """``(transport, learns_Q, learns_P)``, the form the compiled kernels take."""
        return self.transport, self.learns_Q, self.learns_P


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("bp", True, False, False, "backpropagation: B = W2^T"),
        Rule("fa", False, False, False, "feedback alignment: B = Q P fixed random (rank r)"),
        Rule("kp", False, True, False, "KP-Q: Q learns by the Kolen-Pollack-like rule, P fixed"),
        Rule("raf", False, True, True, "restricted adaptive feedback: Q by KP-Q, P by Oja"),
    )
}


def get_rule(rule) -> Rule:
    """Return the :class:`Rule` named ``rule`` (or ``rule`` itself if already a Rule).

    Names are the keys of :data:`RULES` (bp, fa, kp, raf; SPEC §3), case-insensitive.
    """
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[str(rule).lower()]
    except KeyError:
        raise ValueError(
            f"rule must be one of {', '.join(RULES)}; got {rule!r}"
        ) from None
