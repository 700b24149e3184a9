"""Checks of the deep linear dynamics (SPEC §6, Eq. 11; ``derivations/deep_linear.md``).

They run the code of :mod:`lintheory.symbolic.deep` on the integrator's own
:func:`lintheory.deep.flow.deep_flow` and
:func:`lintheory.deep.flow.layer_error_covariances`:

* ``deep.avg.RULE`` - at depth 3, the per-sample rules averaged over an exactly whitened
  symbolic data set equal ``deep_flow`` (forward weights, ``Q_l``, ``P_l``), and the
  covariance of the error reaching each layer equals its closed form
  ``C_out = Sigma_yy - Sigma_yx M^T - M Sigma_yx^T + M M^T`` pushed back through the
  feedback. Weights sit at a generic exact rational point (the identities are
  polynomial in them), targets and the decays ``lambda`` (Q) and ``wd`` (every W) are
  symbols. ``deep.avg.draf`` uses dRAF's default Oja drive (the output error,
  ``oja_drive="error"``), ``deep.avg.draf_targets`` the target covariance.
* ``deep.depth2.RULE`` - at depth 2, ``deep_flow`` is the two-layer
  :func:`lintheory.flow.flow`, entry by entry with symbolic weights.
"""

from __future__ import annotations

from .checks import register
from .common import Outcome

AVG_RULES = ("bp", "fa", "kp", "raf", "draf", "dfa")
AVG_VARIANTS = {"draf_targets": ("draf", "targets")}
"""Extra averaging checks: name -> (rule, oja_drive)."""
DEPTH2_RULES = ("bp", "fa", "kp", "raf")


def _outcome(results: dict) -> Outcome:
    bad = [name for name, ok in results.items() if not ok]
    if not bad:
        return Outcome(True)
    return Outcome(False, "non-zero: " + ", ".join(bad))


def _avg_check(rule: str, oja_drive: str = "error"):
    def check(deep_flow=None, covariances=None):
        from . import deep as dsym  # here, so that ``python -m lintheory.symbolic.deep`` runs clean

        return _outcome(dsym.check_deep(rule, weights="rational", flow=deep_flow,
                                        covariances=covariances, oja_drive=oja_drive))

    return check


def _depth2_check(rule: str):
    def check(deep_flow=None):
        from . import deep as dsym

        ok = dsym.check_depth2(rule, flow=deep_flow)
        return Outcome(ok, "0" if ok else "deep_flow(L=2) - flow != 0")

    return check


for _rule in AVG_RULES:
    register(f"deep.avg.{_rule}", "Eq. 11, SPEC §6",
             f"{_rule.upper()} at depth 3: averaged per-sample rules = deep_flow; layer-error "
             "covariances = closed form")(_avg_check(_rule))
for _name, (_rule, _drive) in AVG_VARIANTS.items():
    register(f"deep.avg.{_name}", "Eq. 11, SPEC §6",
             f"{_rule.upper()} (oja_drive={_drive}) at depth 3: averaged per-sample rules = "
             "deep_flow")(_avg_check(_rule, _drive))
for _rule in DEPTH2_RULES:
    register(f"deep.depth2.{_rule}", "Eq. 5, 9, 10, 11",
             f"{_rule.upper()}: deep_flow at depth 2 = the two-layer flow")(_depth2_check(_rule))
