"""Former home of the deep linear networks; kept as names only.

Linear networks of every depth now share one engine (``lintheory.weights``,
``lintheory.flow``, ``lintheory.dynamics``, ``lintheory.sgd``, ``lintheory.init``,
``lintheory.rules``): pass widths and ranks as sequences for depth ``L > 2``::

    task = make_task(n=20, m=10, d=4, N=1000, seed=0)
    w0 = make_init(task, [40, 40], 2, rng=1)                 # depth 3
    traj = integrate(task, "raf", w0, times=np.linspace(0, 100, 101))
    sgd = run_sgd(task, "raf", w0, times=np.linspace(0, 100, 101), lr=0.01, batch=10)

The names below are aliases of those functions and types, for code written against the
earlier ``lintheory.deep`` API; there is no second implementation.
"""

from ..dynamics import integrate as integrate_deep
from ..dynamics import saxe_modes as saxe_deep
from ..experiments import simulate as simulate_deep
from ..flow import error_covariances, output_error_covariance
from ..init import balanced_init as balanced_deep_init
from ..init import make_init as make_deep_init
from ..init import random_init as random_deep_init
from ..rules import RULES as DEEP_RULES
from ..rules import Rule as DeepRule
from ..rules import get_rule as get_deep_rule
from ..sgd import run_sgd as run_sgd_deep
from ..trajectory import Trajectory as DeepTrajectory
from ..weights import Weights as DeepWeights

__all__ = [
    "integrate_deep", "saxe_deep", "error_covariances", "output_error_covariance",
    "balanced_deep_init", "make_deep_init", "random_deep_init", "DEEP_RULES", "DeepRule",
    "get_deep_rule", "run_sgd_deep", "simulate_deep", "DeepTrajectory", "DeepWeights",
]
