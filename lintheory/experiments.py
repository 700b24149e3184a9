"""Experiments of the linear theory as pure functions: one run and fixed-point predictions.

Nothing here draws or writes files: :func:`simulate` returns trajectories. The paper's
Figure 2 (config, data, drawing) is :mod:`lintheory.figure2`.

Fixed-point prediction (theory §5)
----------------------------------
With feedback ``Bbar = Q Pbar`` and small initial weights, the averaged dynamics stop at
``W2bar W1bar = S Pi`` with ``Pi`` the orthogonal projector onto the row space of
``Pbar S``. Because ``S`` is diagonal in the rotated frame, the predicted mode strengths
are simply ``a_i = [S Pi]_ii / s_i = Pi_ii``.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_array, check_choice, check_float, check_int
from .dynamics import integrate
from .rules import get_rule

METHODS = ("ode", "sgd", "both")


# --------------------------------------------------------------------------- predictions
def rowspace_projector(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthogonal projector onto the row space of ``A`` (p x n), shape (n, n).

    The rank is the number of singular values above ``rtol * s_max``.
    """
    A = check_array("A", A)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix, got shape {A.shape}")
    _, s, vt = np.linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((A.shape[1], A.shape[1]))
    rank = int(np.sum(s > rtol * s[0]))
    Vr = vt[:rank].T
    return Vr @ Vr.T


def spurious_fixed_point(S: np.ndarray, Pbar: np.ndarray) -> np.ndarray:
    """The fixed point ``W2bar W1bar = S Pi`` of theory §5, shape (m, n).

    Parameters
    ----------
    S : (m, n)
        Rotated task matrix (rectangular diagonal singular values of ``Sigma_yx``).
    Pbar : (r, m)
        Rotated feedback projection ``P U`` (fixed for FA / KP-Q).
    """
    S = check_array("S", S)
    Pbar = check_array("Pbar", Pbar)
    if Pbar.ndim != 2 or Pbar.shape[1] != S.shape[0]:
        raise ValueError(f"Pbar must be r x m with m = {S.shape[0]}, got shape {Pbar.shape}")
    return S @ rowspace_projector(Pbar @ S)


def predicted_mode_strengths(task, Pbar: np.ndarray) -> np.ndarray:
    """``a_i`` at the fixed point ``S Pi`` set by ``Pbar`` (rotated), shape (d,)."""
    M = spurious_fixed_point(task.S, Pbar)
    idx = np.arange(task.d)
    return M[idx, idx] / task.s[: task.d]


def oja_limit(task, r: int) -> np.ndarray:
    """Rows: the top-r eigenvectors of ``Sigma_yy_bar`` (Oja's stable fixed point), (r, m).

    Any rotation of these rows within their span is also a fixed point; ``S Pi`` does not
    depend on which one.
    """
    r = check_int("rank r", r, low=1, high=task.m)
    _, evecs = np.linalg.eigh(task.Sigma_yy_bar)
    return evecs[:, ::-1][:, :r].T.copy()


# --------------------------------------------------------------------------- one run
def output_times(T: float, points: int, *, log: bool = False, t_min: float | None = None):
    """``points`` output times ending at ``T``: linear from 0, or geometric from ``t_min``.

    ``t_min`` defaults to ``T / 2000`` for geometric spacing.
    """
    T = check_float("T (final time)", T, low=0.0, low_open=True)
    points = check_int("points (output times)", points, low=2)
    if not log:
        return np.linspace(0.0, T, points)
    t_min = T / 2000 if t_min is None else check_float("t_min", t_min, low=0.0, low_open=True)
    if t_min >= T:
        raise ValueError(f"t_min must be < T = {T}, got {t_min}")
    return np.geomspace(t_min, T, points)


def sgd_times(times, lr: float, max_points: int | None = None) -> np.ndarray:
    """Output times snapped to whole steps ``t = lr * round(t / lr)``, duplicates removed.

    Optionally thinned to at most ``max_points`` (log-uniformly when the times are).
    """
    lr = check_float("lr (learning rate)", lr, low=0.0, low_open=True)
    times = np.asarray(times, dtype=np.float64)
    if max_points is not None and times.size > max_points:
        keep = np.unique(np.linspace(0, times.size - 1, max_points).round().astype(int))
        times = times[keep]
    from .preflight import check_steps

    check_steps(float(times[-1]), lr)  # before the cast to int64 can overflow
    steps = np.unique(np.rint(times / lr).astype(np.int64))
    if steps[-1] == 0:
        raise ValueError(
            f"lr (learning rate) = {lr:g} is larger than twice the last output time "
            f"{times[-1]:g}: the discrete run would take no step (t = lr * steps); "
            "use a smaller lr or a larger T"
        )
    return steps * lr


def simulate(
    task,
    rule,
    init,
    times,
    *,
    method: str = "ode",
    lr: float = 0.01,
    batch="full",
    lam: float = 0.0,
    wd: float = 0.0,
    p_rate: float = 1.0,
    oja_scale: bool = True,
    oja_drive: str = "error",
    rng=None,
    solver: str = "RK45",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    times_sgd=None,
    progress: bool = False,
    settings=None,
) -> dict:
    """Run the averaged ODE, discrete SGD, or both, from the same initial weights.

    Any depth: the ODE of :mod:`lintheory.flow` (Eqs. 5, 9, 10 at depth 2, via
    :func:`~lintheory.dynamics.integrate`) and the discrete rules of :mod:`lintheory.batch`
    (via :func:`~lintheory.sgd.run_sgd`) from the same :class:`~lintheory.weights.Weights`.

    Parameters
    ----------
    task : LinearTask
    rule : str or Rule
    init : Weights
    times : (T,) array
        Output times of the ODE (and of SGD, snapped to whole steps ``t = lr * steps``,
        unless ``times_sgd`` is given).
    method : "ode", "sgd" or "both"
    lr, batch, rng
        Discrete run: learning rate, ``"full"``/``"online"``/int, sample-order generator.
    lam, wd, p_rate
        Q decay, weight decay, Oja rate ratio (both engines).
    oja_scale, oja_drive
        Normalised Oja covariances, and what a direct rule's ``P`` learns from
        (``"error"`` or ``"targets"``; :func:`~lintheory.dynamics.integrate`).
    solver, rtol, atol
        ODE solver settings (``scipy.integrate.solve_ivp``).
    settings : RunSettings or None
        All of the above at once, validated (:class:`lintheory.run_settings.RunSettings`);
        when given, the keyword arguments it holds are ignored. Otherwise they are validated
        here, once, and both engines take the result without checking again.

    Returns
    -------
    dict
        ``{"ode": Trajectory, "sgd": Trajectory}`` (only the keys that were run).

    Raises
    ------
    ValueError
        Bad arguments; DivergenceError when a run blows up (nothing is returned).
    """
    from .run_settings import RunSettings

    rule = get_rule(rule)
    check_choice("method", method, METHODS)
    if settings is None:
        settings = RunSettings(lam=lam, wd=wd, p_rate=p_rate, oja_scale=oja_scale,
                               oja_drive=oja_drive, solver=solver, rtol=rtol, atol=atol,
                               lr=lr, batch=batch)
    out = {}
    if method in ("ode", "both"):
        out["ode"] = integrate(task, rule, init, times, progress=progress, settings=settings)
    if method in ("sgd", "both"):
        from .sgd import run_sgd

        st = sgd_times(times, settings.lr) if times_sgd is None else times_sgd
        out["sgd"] = run_sgd(task, rule, init, st, rng=rng, progress=progress,
                             settings=settings)
    return out


def __getattr__(name):
    """Figure 2's config and data function now live in :mod:`lintheory.figure2`."""
    if name in ("Panel", "PANELS", "Figure2Config", "figure2_data", "_figure2_task",
                "_figure2_times", "_figure2_panel"):
        from . import figure2

        return getattr(figure2, name)
    raise AttributeError(f"module 'lintheory.experiments' has no attribute {name!r}")
