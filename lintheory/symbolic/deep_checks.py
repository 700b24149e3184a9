"""Checks of the averaged dynamics at any depth, one set per registered rule.

They run the code of :mod:`lintheory.symbolic.deep` on the integrator's own
:func:`lintheory.flow.rule_flow` and :func:`lintheory.flow.error_covariances`, for every
rule in :data:`lintheory.rules.RULES` (a rule registered later, even in a user's script,
gets its checks the next time checks are listed: :func:`sync_rule_checks`):

* ``deep.avg.RULE`` - at depth 3, the per-sample rules averaged over an exactly whitened
  symbolic data set equal the flow (forward weights, ``Q_l``, ``P_l``), and the
  covariance of the error reaching each layer equals its closed form
  ``C_out = Sigma_yy - Sigma_yx M^T - M Sigma_yx^T + M M^T`` pushed back through the
  feedback. Weights sit at a generic exact rational point (the identities are
  polynomial in them), targets and the decays ``lambda`` (Q) and ``wd`` (every W) are
  symbols. Direct rules whose ``P`` learns get a second check, ``deep.avg.RULE_targets``,
  with the target covariance as Oja's drive (the default is the output error).
* ``deep.avg2.RULE`` - the same at depth 2 (the paper's network).
* ``deep.depth2.RULE`` - for the paper's four rules, the flow at depth 2 equals the
  paper's Eqs. 5, 9, 10 written out independently, entry by entry with symbolic weights.
"""

from __future__ import annotations

from .checks import CHECKS, register
from .common import Outcome

DEPTH2_RULES = ("bp", "fa", "kp", "raf")


def _outcome(results: dict) -> Outcome:
    bad = [name for name, ok in results.items() if not ok]
    if not bad:
        return Outcome(True)
    return Outcome(False, "non-zero: " + ", ".join(bad))


def _avg_check(rule: str, oja_drive: str = "error", widths=(2, 2)):
    def check(deep_flow=None, covariances=None):
        from . import deep as dsym  # here, so that ``python -m lintheory.symbolic.deep`` runs clean

        return _outcome(dsym.check_deep(rule, widths=widths, weights="rational",
                                        flow=deep_flow, covariances=covariances,
                                        oja_drive=oja_drive))

    return check


def _depth2_check(rule: str):
    def check(deep_flow=None):
        from . import deep as dsym

        ok = dsym.check_depth2(rule, flow=deep_flow)
        return Outcome(ok, "0" if ok else "flow(L=2) - paper Eqs. 5, 9, 10 != 0")

    return check


def sync_rule_checks() -> None:
    """Register the averaging checks of every rule in the registry that has none yet."""
    from ..rules import RULES

    for name, rule in RULES.items():
        if f"deep.avg.{name}" in CHECKS:
            continue
        eqs = rule.equations or "Eq. 11"
        deep_eqs = eqs if "Eq. 11" in eqs else f"{eqs}; Eq. 11"
        register(f"deep.avg.{name}", deep_eqs,
                 f"{rule.label} at depth 3: averaged per-sample rules = flow; layer-error "
                 "covariances = closed form")(_avg_check(name))
        register(f"deep.avg2.{name}", eqs,
                 f"{rule.label} at depth 2: averaged per-sample rules = flow")(
            _avg_check(name, widths=(3,)))
        if rule.direct and rule.learns_P:
            register(f"deep.avg.{name}_targets", deep_eqs,
                     f"{rule.label} (oja_drive=targets) at depth 3: averaged per-sample "
                     "rules = flow")(_avg_check(name, "targets"))


sync_rule_checks()
for _rule in DEPTH2_RULES:
    register(f"deep.depth2.{_rule}", "Eq. 5, 9, 10, 11",
             f"{_rule.upper()}: the flow at depth 2 = the paper's two-layer equations")(
        _depth2_check(_rule))
