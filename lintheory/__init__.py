"""lintheory: learning with low-dimensional error feedback (Hanut & Kadmon, arXiv 2502.20580).

The public API of the linear theory (one engine for every depth)::

    task = make_task(n=20, m=10, d=4, N=1000, seed=0)
    w0 = make_init(task, k=40, r=2, kind="random", rng=np.random.default_rng(1))
    traj = integrate(task, "raf", w0, times=np.linspace(0, 200, 101))
    traj.mode_strengths        # (T, d)
    sgd = run_sgd(task, "raf", w0, times=np.linspace(0, 200, 101), lr=0.01, batch=50)
    deep = make_init(task, [40, 40], [4, 2], rng=1)        # depth 3: widths, ranks

Rules are objects in a registry (``lintheory.rules.RULES``; add one with
``lintheory.rules.register``). Sub-packages: ``lintheory.symbolic`` (SymPy checks of the
derivations), ``lintheory.nn`` (the NumPy engine for nonlinear networks),
``lintheory.sweep`` (resumable, parallel sweeps).
"""

__version__ = "0.1.0"

from .dynamics import integrate
from .errors import DivergenceError
from .experiments import simulate
from .figure2 import figure2_data
from .init import balanced_init, make_init, random_init
from .loaders import load_run
from .rules import RULES, Rule, get_rule, register
from .sgd import run_sgd
from .task import LinearTask, make_task
from .trajectory import Trajectory
from .weights import Weights

__all__ = [
    "__version__", "integrate", "simulate", "load_run", "figure2_data", "DivergenceError",
    "balanced_init", "make_init", "random_init", "RULES", "Rule", "get_rule", "register",
    "run_sgd",
    "LinearTask", "make_task", "Trajectory", "Weights",
]
