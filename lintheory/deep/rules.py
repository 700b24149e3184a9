"""Learning rules of deep linear networks as data (SPEC §6, paper Eq. 11).

A :class:`DeepRule` adds one switch to the two-layer :class:`lintheory.rules.Rule`:

* ``direct`` - every hidden layer receives its error straight from the *output* error
  through its own ``Q P`` (dRAF, DFA) instead of from the layer above (layered FA/KP/RAF).

The four two-layer rules are taken from :data:`lintheory.rules.RULES` unchanged (with
``direct=False``); ``draf`` and ``dfa`` are the deep-only entries. Every engine (the
averaged flow, the numba SGD kernels) reads the switches in :attr:`DeepRule.flags`, so a
new rule is one more entry in :data:`DEEP_RULES`.

Oja's covariance for ``P`` (``learns_P``): the output layer's ``P`` of a layered rule uses
the target covariance ``Sigma_yy``, exactly as the two-layer theory does; a ``P`` that
projects a hidden layer's error uses the covariance of the error arriving at that layer;
the ``P`` of a direct rule (dRAF) learns from what :data:`OJA_DRIVES` names, chosen by the
option ``oja_drive`` (the same name, values and default as the NumPy engine's
``lintheory.nn.feedback.Feedback.HYPER["oja_drive"]``): ``"error"`` (default, as the
paper's authors do) the covariance of the source error ``e_L``, ``"targets"`` the target
covariance ``Sigma_yy`` (derivations/deep_linear.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validate import check_choice
from ..rules import RULES

OJA_DRIVES = ("error", "targets")
"""Values of ``oja_drive``: what a direct rule's ``P`` learns from (Oja's covariance)."""
DEFAULT_OJA_DRIVE = "error"
"""The default, as in the paper's authors' code and in ``lintheory.nn``."""


def drive_error_flag(oja_drive) -> bool:
    """Validate ``oja_drive`` (``"error"`` or ``"targets"``); ``True`` for ``"error"``."""
    return check_choice("oja_drive", oja_drive, OJA_DRIVES) == "error"


@dataclass(frozen=True)
class DeepRule:
    """One learning rule of the deep linear network."""

    name: str
    transport: bool
    learns_Q: bool
    learns_P: bool
    direct: bool
    summary: str

    @property
    def flags(self) -> tuple[bool, bool, bool, bool]:
        """``(transport, learns_Q, learns_P, direct)``, the form the kernels take."""
        return self.transport, self.learns_Q, self.learns_P, self.direct


def _layered(name: str) -> DeepRule:
    r = RULES[name]
    return DeepRule(r.name, r.transport, r.learns_Q, r.learns_P, False,
                    r.summary.replace("B = ", "B_l = ").replace("W2^T", "W_l^T"))


DEEP_RULES: dict[str, DeepRule] = {
    r.name: r
    for r in (
        *(_layered(name) for name in RULES),
        DeepRule("draf", False, True, True, True,
                 "direct RAF: hidden layer l gets Q_l P_l e_L from the output error; "
                 "Q_l by the KP-like rule, P_l by Oja on the output error (oja_drive='error', "
                 "default) or on Sigma_yy (oja_drive='targets')"),
        DeepRule("dfa", False, False, False, True,
                 "direct feedback alignment: hidden layer l gets Q_l P_l e_L, Q_l, P_l fixed"),
    )
}


def get_deep_rule(rule) -> DeepRule:
    """Return the :class:`DeepRule` named ``rule`` (a two-layer ``Rule`` is converted)."""
    if isinstance(rule, DeepRule):
        return rule
    name = getattr(rule, "name", rule)
    try:
        return DEEP_RULES[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"rule must be one of {', '.join(DEEP_RULES)}; got {rule!r}"
        ) from None
