"""Integration of the averaged dynamics (SPEC §4) with ``scipy.integrate.solve_ivp``."""

from __future__ import annotations

import numpy as np

from ._validate import check_array, check_choice, check_float, check_rates
from .errors import DivergenceError
from .flow import flow_jit
from .rules import get_rule
from .trajectory import Trajectory
from .weights import Weights

FRAMES = ("rotated", "unrotated")
BLOWUP = 1e6  # |weights|_max above which a run is declared divergent


def check_times(times) -> np.ndarray:
    """Output times: finite, non-negative, strictly increasing, at least one."""
    times = check_array("times", times).ravel()
    if times.size == 0:
        raise ValueError("times must hold at least one output time")
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be >= 0 and strictly increasing")
    return times


SOLVERS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


def solve(rhs, y0, times, *, solver="RK45", rtol=1e-7, atol=1e-9, progress=False,
          desc="ODE"):
    """``solve_ivp`` from ``t = 0`` with output at ``times``, a blow-up stop and a bar.

    Shared by the two-layer and the deep integrators. Returns ``(t, y, nfev)`` with ``y``
    of shape (state, T). Raises :class:`DivergenceError` (naming the time) when the state
    becomes non-finite or exceeds ``BLOWUP`` in magnitude, ``RuntimeError`` if SciPy fails.
    """
    from scipy.integrate import solve_ivp  # lazy: keeps `import lintheory` light

    if isinstance(solver, str):  # solve_ivp's methods (a class is passed through)
        check_choice("solver", solver, SOLVERS)
    rtol = check_float("rtol", rtol, low=0.0, low_open=True)
    atol = check_float("atol", atol, low=0.0, low_open=True)

    def blowup(t, y):
        return BLOWUP - np.max(np.abs(y))

    blowup.terminal = True
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=float(times[-1]), desc=desc, leave=False,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| t = {n:.3g}/{total:.3g}")
        inner = rhs

        def rhs(t, y):  # noqa: F811 - wraps the plain rhs with a progress update
            if t > bar.n:
                bar.update(t - bar.n)
            return inner(t, y)

    try:
        sol = solve_ivp(rhs, (0.0, float(times[-1])), y0, method=solver, t_eval=times,
                        rtol=rtol, atol=atol, events=blowup)
    finally:
        if bar is not None:
            bar.close()
    if sol.status == 1 or not np.all(np.isfinite(sol.y)):
        t_bad = sol.t_events[0][0] if sol.t_events and len(sol.t_events[0]) else sol.t[-1]
        raise DivergenceError(
            f"{desc} diverged at t = {t_bad:.4g}: the dynamics blow up "
            "(check lam, wd and the init scale)", time=float(t_bad),
        )
    if sol.status != 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.t.copy(), sol.y, int(sol.nfev)


def make_rhs(task, rule, template: Weights, *, lam=0.0, wd=0.0, p_rate=1.0, frame="rotated"):
    """Return ``f(t, y)`` for ``solve_ivp``: :func:`lintheory.flow.flow_jit` on a flat state."""
    rule = get_rule(rule)
    if frame == "rotated":
        Syx, Syy = np.ascontiguousarray(task.S), np.ascontiguousarray(task.Sigma_yy_bar)
    else:
        Syx, Syy = task.Sigma_yx, task.Sigma_yy
    transport, learns_Q, learns_P = rule.flags
    lam, wd, p_rate = float(lam), float(wd), float(p_rate)

    def rhs(t, y):
        W1, W2, Q, P = template.unpack(y)
        parts = flow_jit(W1, W2, Q, P, Syx, Syy, transport, learns_Q, learns_P, lam, wd, p_rate)
        return np.concatenate([p.ravel() for p in parts])

    return rhs


def integrate(
    task,
    rule,
    init: Weights,
    times,
    *,
    lam: float = 0.0,
    wd: float = 0.0,
    p_rate: float = 1.0,
    frame: str = "rotated",
    solver: str = "RK45",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    progress: bool = False,
) -> Trajectory:
    """Integrate the averaged dynamics from ``init`` and return the rotated trajectory.

    Parameters
    ----------
    task : LinearTask
    rule : str or Rule
        ``"bp"``, ``"fa"``, ``"kp"`` or ``"raf"``.
    init : Weights
        Initial weights (either frame; rotated as needed).
    times : (T,) array
        Output times, increasing, starting at or after 0 (integration starts at 0).
    lam, wd, p_rate : float
        Q decay, weight decay on W1/W2, and the Oja time-scale ratio ``eta_P / eta``.
    frame : "rotated" or "unrotated"
        Integrate Eqs. 5, 9, 10 (rotated) or A8/A34-A36 (unrotated, then rotated for
        storage); the two agree to solver tolerance.
    solver, rtol, atol
        Passed to ``scipy.integrate.solve_ivp`` (``"RK45"``, ``"DOP853"``, ``"LSODA"``...).
    progress : bool
        Show a tqdm bar over ``t``.

    Raises
    ------
    DivergenceError
        If the weights blow up (the time is in the message).
    """
    rule = get_rule(rule)
    init.check_task(task)
    times = check_times(times)
    lam, wd, p_rate = check_rates(lam, wd, p_rate)
    if frame not in FRAMES:
        raise ValueError(f"frame must be one of {', '.join(FRAMES)}; got {frame!r}")

    w0 = init.rotate(task) if frame == "rotated" else init.unrotate(task)
    rhs = make_rhs(task, rule, w0, lam=lam, wd=wd, p_rate=p_rate, frame=frame)

    t_out, y, nfev = solve(rhs, w0.pack(), times, solver=solver, rtol=rtol, atol=atol,
                           progress=progress, desc=f"ODE {rule.name}")

    T = len(t_out)
    stacks = [np.empty((T,) + a.shape) for a in (w0.W1, w0.W2, w0.Q, w0.P)]
    for j in range(T):
        ws = Weights(*w0.unpack(y[:, j]), rotated=(frame == "rotated")).rotate(task)
        for stack, a in zip(stacks, (ws.W1, ws.W2, ws.Q, ws.P)):
            stack[j] = a
    info = {"solver": solver, "rtol": rtol, "atol": atol, "frame": frame, "nfev": nfev,
            "lam": lam, "wd": wd, "p_rate": p_rate}
    return Trajectory(t_out, *stacks, rule=rule.name, method="ode", task=task, info=info)
