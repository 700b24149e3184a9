"""Deep linear networks (depth L >= 2) trained by BP, FA, KP-Q, RAF, dRAF and DFA.

Goes beyond the paper, which derives the deep rules (SPEC §6, Eq. 11) but does not
simulate deep linear networks. The derivation is in ``derivations/deep_linear.md``.

    task = make_task(n=20, m=10, d=4, N=1000, seed=0)
    w0 = make_deep_init(task, widths=[40, 40], ranks=2, rng=1)
    traj = integrate_deep(task, "raf", w0, times=np.linspace(0, 100, 101))
    sgd = run_sgd_deep(task, "raf", w0, times=np.linspace(0, 100, 101), lr=0.01, batch=10)
    traj.mode_strengths        # (T, d)
"""

from .dynamics import integrate_deep, saxe_deep
from .flow import deep_flow, layer_error_covariances, output_error_covariance
from .init import balanced_deep_init, make_deep_init, random_deep_init
from .rules import DEEP_RULES, DeepRule, get_deep_rule
from .sgd import run_sgd_deep
from .simulate import simulate_deep
from .trajectory import DeepTrajectory
from .weights import DeepWeights

__all__ = [
    "integrate_deep", "saxe_deep", "deep_flow", "layer_error_covariances",
    "output_error_covariance", "balanced_deep_init", "make_deep_init", "random_deep_init",
    "DEEP_RULES", "DeepRule", "get_deep_rule", "run_sgd_deep",
    "simulate_deep", "DeepTrajectory", "DeepWeights",
]
