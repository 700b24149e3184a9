"""One entry point for deep runs: the averaged ODE, discrete SGD, or both."""

from __future__ import annotations

from .._validate import check_choice, check_float
from .dynamics import integrate_deep
from .rules import DEFAULT_OJA_DRIVE, drive_error_flag, get_deep_rule
from .sgd import run_sgd_deep

METHODS = ("ode", "sgd", "both")


def simulate_deep(task, rule, init, times, *, method="ode", lr=0.01, batch="full", lam=0.0,
                  wd=0.0, p_rate=1.0, oja_scale=True, oja_drive=DEFAULT_OJA_DRIVE, rng=None,
                  solver="RK45", rtol=1e-7, atol=1e-9, times_sgd=None,
                  progress=False) -> dict:
    """Run a deep linear network with the ODE, SGD or both from the same ``init``.

    Mirrors :func:`lintheory.experiments.simulate`: SGD output times are ``times`` snapped
    to whole steps (``t = lr * steps``; duplicates dropped) unless ``times_sgd`` is given.
    ``oja_drive`` (``"error"``, default, or ``"targets"``): what a direct rule's ``P``
    learns from (:func:`lintheory.deep.integrate_deep`).

    Returns
    -------
    dict
        ``{"ode": DeepTrajectory, "sgd": DeepTrajectory}`` (only the keys that were run).
    """
    import numpy as np

    rule = get_deep_rule(rule)
    check_choice("method", method, METHODS)
    lr = check_float("lr (learning rate)", lr, low=0.0, low_open=True)
    drive_error_flag(oja_drive)
    out = {}
    if method in ("ode", "both"):
        out["ode"] = integrate_deep(task, rule, init, times, lam=lam, wd=wd, p_rate=p_rate,
                                    oja_scale=oja_scale, oja_drive=oja_drive, solver=solver,
                                    rtol=rtol, atol=atol, progress=progress)
    if method in ("sgd", "both"):
        if times_sgd is None:
            steps = np.unique(np.rint(np.asarray(times, dtype=float) / lr).astype(np.int64))
            times_sgd = steps * lr
        out["sgd"] = run_sgd_deep(task, rule, init, times_sgd, lr=lr, batch=batch, lam=lam,
                                  wd=wd, p_rate=p_rate, oja_scale=oja_scale,
                                  oja_drive=oja_drive, rng=rng, progress=progress)
    return out
