"""Symbolic (SymPy) verification of the linear theory's derivations (theory §3-5, Appendix A).

Importing this package registers every check in :data:`CHECKS`; ``lintheory verify``
runs them. Each check calls the very function the ODE integrator compiles,
:func:`lintheory.flow.flow`, on SymPy matrices, so the derivations in ``derivations/``
and the simulated equations cannot drift apart.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers the checks)
    averaging,
    deep_checks,
    fixed_points,
    later_rules,
    oja_saxe,
    rotation,
)
from .checks import CHECKS, Check, CheckResult, register, run_checks, select
from .common import Outcome

__all__ = ["CHECKS", "Check", "CheckResult", "Outcome", "register", "run_checks", "select"]
