"""The sweep run function of the linear theory: one spec -> the averaged ODEs' end point.

Named ``"lintheory.linear_run:linear_run"`` in a sweep (``lintheory sweep --kind linear``);
the old name ``"lintheory.sweep:linear_run"`` resolves to the same function.
"""

from __future__ import annotations

RUN_FIELDS = frozenset({"kind", "rule", "r", "seed", "n", "k", "m", "d", "N", "sigma", "T",
                         "init_scale", "init", "lam", "wd", "p_rate", "task_seed"})


def linear_run(spec: dict) -> dict:
    """One run of the linear theory: integrate the averaged ODEs for a spec.

    Spec fields (defaults in brackets): ``rule`` (bp, fa, kp, raf), ``r`` (feedback rank),
    ``seed`` (task and init draws), ``n`` [20], ``k`` [40], ``m`` [10], ``d`` [4],
    ``N`` [1000], ``sigma`` [1.0], ``T`` [200.0], ``init_scale`` [1e-3], ``init``
    ["random"], ``lam`` [0.0], ``wd`` [0.0], ``p_rate`` [1.0], ``task_seed`` [``seed``].

    Returns the final mode strengths ``a`` (d,), off-diagonal ``leak``, ``loss``, and the
    rule, rank and seed.
    """
    import numpy as np

    from .dynamics import integrate
    from .init import make_init
    from .run_settings import RunSettings
    from .task import make_task

    unknown = set(spec) - RUN_FIELDS
    if unknown:
        raise ValueError(f"unknown linear-run spec fields: {', '.join(sorted(unknown))}")
    from .preflight import check_linear_spec

    check_linear_spec(spec)  # integers are integers ("r": 1.7 is an error), ranges, memory
    seed = int(spec.get("seed", 0))
    task = make_task(
        int(spec.get("n", 20)), int(spec.get("m", 10)), int(spec.get("d", 4)),
        int(spec.get("N", 1000)), sigma=float(spec.get("sigma", 1.0)),
        seed=int(spec.get("task_seed", seed)),
    )
    rng = np.random.default_rng([seed, 1])
    w0 = make_init(task, int(spec.get("k", 40)), int(spec["r"]), spec.get("init", "random"),
                   scale=float(spec.get("init_scale", 1e-3)), rng=rng)
    settings = RunSettings(lam=spec.get("lam", 0.0), wd=spec.get("wd", 0.0),
                           p_rate=spec.get("p_rate", 1.0))  # the checks every linear run uses
    traj = integrate(task, spec["rule"], w0, np.array([0.0, float(spec.get("T", 200.0))]),
                     settings=settings)
    return {
        "a": traj.mode_strengths[-1], "leak": float(traj.leak[-1]),
        "loss": float(traj.loss[-1]), "rule": spec["rule"], "r": int(spec["r"]), "seed": seed,
    }


linear_run.preload = ("lintheory.dynamics",)
