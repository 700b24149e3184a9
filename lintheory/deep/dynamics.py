"""Integration of the averaged deep dynamics with ``scipy.integrate.solve_ivp``.

Also the scalar reference of Saxe et al. (2013) for balanced BP: ``da/dt = L a^(2-2/L) (s-a)``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from .._validate import check_choice, check_rates
from ..dynamics import check_times, solve
from .flow import deep_flow, flat_flow
from .rules import DEFAULT_OJA_DRIVE, drive_error_flag, get_deep_rule
from .trajectory import DeepTrajectory
from .weights import DeepWeights


def make_deep_rhs(task, rule, template: DeepWeights, *, lam=0.0, wd=0.0, p_rate=1.0,
                  oja_scale=True, oja_drive=DEFAULT_OJA_DRIVE, engine="numba"):
    """``f(t, y)`` for ``solve_ivp`` on a flat rotated state.

    The rotated frame needs ``U`` in one place: the normaliser of a direct rule's
    output-error covariance is the largest variance of the network's output *units*.

    ``engine="numba"`` uses :func:`lintheory.deep.flow.flat_flow` (compiled), ``"numpy"``
    the plain :func:`deep_flow` (the same code, interpreted).
    """
    rule = get_deep_rule(rule)
    Syx, Syy = np.ascontiguousarray(task.S), np.ascontiguousarray(task.Sigma_yy_bar)
    flags = rule.flags
    lam, wd, p_rate, oja_scale = float(lam), float(wd), float(p_rate), bool(oja_scale)
    drive_error = drive_error_flag(oja_drive)
    U = np.ascontiguousarray(task.U)
    if engine == "numba":
        offs, rows, cols = layout(template)
        L = template.depth

        def rhs(t, y):
            return flat_flow(np.ascontiguousarray(y), offs, rows, cols, L, Syx, Syy, *flags,
                             lam, wd, p_rate, oja_scale, drive_error, U)

        return rhs
    check_choice("engine", engine, ("numba", "numpy"))

    def rhs(t, y):  # noqa: F811 - the interpreted variant
        Ws, Qs, Ps = template.unpack(y)
        dWs, dQs, dPs = deep_flow(Ws, Qs, Ps, Syx, Syy, *flags, lam, wd, p_rate, oja_scale,
                                  drive_error, U)
        return np.concatenate([a.ravel() for a in (*dWs, *dQs, *dPs)])

    return rhs


def layout(template: DeepWeights):
    """``(offs, rows, cols)`` int64 arrays locating each matrix of ``template.pack()``."""
    shapes = [a.shape for a in template.arrays]
    rows = np.array([s[0] for s in shapes], dtype=np.int64)
    cols = np.array([s[1] for s in shapes], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(rows * cols)[:-1]]).astype(np.int64)
    return offs, rows, cols


def check_direct(rule, init: DeepWeights) -> None:
    """A direct rule needs weights whose ``P`` read the output error, and vice versa."""
    if rule.direct != init.direct:
        kind = "direct (P_l reading the output error)" if rule.direct else "layered"
        raise ValueError(f"rule {rule.name} needs {kind} feedback weights; build the init with "
                         f"direct={rule.direct}")


def integrate_deep(
    task,
    rule,
    init: DeepWeights,
    times,
    *,
    lam: float = 0.0,
    wd: float = 0.0,
    p_rate: float = 1.0,
    oja_scale: bool = True,
    oja_drive: str = DEFAULT_OJA_DRIVE,
    solver: str = "RK45",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    progress: bool = False,
    engine: str = "numba",
) -> DeepTrajectory:
    """Integrate the averaged deep dynamics (rotated frame) from ``init``.

    Parameters
    ----------
    task : LinearTask (whitened inputs for the averaged dynamics to be exact)
    rule : str or DeepRule
        ``bp``, ``fa``, ``kp``, ``raf`` (layered) or ``draf``, ``dfa`` (direct).
    init : DeepWeights
        Initial weights (either frame); ``init.direct`` must match the rule.
    times : (T,) array
        Output times, increasing, >= 0 (integration starts at 0).
    lam, wd, p_rate : float
        Q decay, weight decay on every W, Oja time-scale ratio ``eta_P / eta``.
    oja_scale : bool
        Scale the hidden-layer Oja covariances by their largest per-unit variance
        (SPEC §6; see :func:`lintheory.deep.flow.deep_flow`).
    oja_drive : "error" or "targets"
        What the ``P`` of a direct rule (dRAF) learns from: the covariance of the output
        error (default, as the paper's authors and ``lintheory.nn`` do) or ``Sigma_yy``.
    solver, rtol, atol
        Passed to ``solve_ivp``.
    progress : bool
        tqdm bar over ``t``.
    engine : "numba" or "numpy"
        Compiled right-hand side (default) or the interpreted :func:`deep_flow`.

    Raises
    ------
    DivergenceError
        If the weights blow up (the time is in the message).
    """
    rule = get_deep_rule(rule)
    init.check_task(task)
    check_direct(rule, init)
    times = check_times(times)
    lam, wd, p_rate = check_rates(lam, wd, p_rate)
    check_choice("engine", engine, ("numba", "numpy"))
    drive_error_flag(oja_drive)

    w0 = init.rotate(task)
    rhs = make_deep_rhs(task, rule, w0, lam=lam, wd=wd, p_rate=p_rate, oja_scale=oja_scale,
                        oja_drive=oja_drive, engine=engine)

    t_out, y, nfev = solve(rhs, w0.pack(), times, solver=solver, rtol=rtol, atol=atol,
                           progress=progress, desc=f"ODE {rule.name} L={w0.depth}")
    info = {"solver": solver, "rtol": rtol, "atol": atol, "nfev": nfev, "lam": lam,
            "wd": wd, "p_rate": p_rate, "oja_scale": bool(oja_scale), "oja_drive": oja_drive,
            "engine": engine,
            "dims": list(w0.dims),
            "ranks": list(w0.ranks)}
    return stack_states(task, rule, w0, t_out, y.T, "ode", info)


def stack_states(task, rule, template: DeepWeights, times, states, method, info):
    """Build a :class:`DeepTrajectory` from flat rotated states ``(T, size)``."""
    T = len(times)
    states = np.asarray(states)
    Ws, Qs, Ps = template.unpack(states[0])
    L = len(Ws)
    stacks = [np.empty((T,) + a.shape) for a in (*Ws, *Qs, *Ps)]
    for j in range(T):
        for stack, a in zip(stacks, (x for group in template.unpack(states[j]) for x in group)):
            stack[j] = a
    return DeepTrajectory(np.asarray(times, dtype=np.float64), tuple(stacks[:L]),
                          tuple(stacks[L : 2 * L - 1]), tuple(stacks[2 * L - 1 :]),
                          rule=rule.name, method=method, task=task, direct=template.direct,
                          info=info)


def saxe_deep(s: float, a0: float, L: int, times, *, rtol: float = 1e-12,
              atol: float = 1e-14) -> np.ndarray:
    """Reference solution of ``da/dt = L a^(2 - 2/L) (s - a)``, ``a(0) = a0``.

    Un-normalised mode strength of a balanced depth-``L`` network under BP (Saxe et al.
    2013). For ``L = 2`` this is the closed form ``s e^{2st} / (e^{2st} - 1 + s/a0)``;
    otherwise it is integrated with DOP853 at tolerance ``rtol``.
    """
    times = check_times(times)
    if L == 2:
        g = np.exp(2.0 * s * times)
        return s * g / (g - 1.0 + s / a0)
    expo = 2.0 - 2.0 / L
    sol = solve_ivp(lambda t, a: L * np.abs(a) ** expo * (s - a), (0.0, float(times[-1])),
                    [a0], method="DOP853", t_eval=times, rtol=rtol, atol=atol)
    return sol.y[0]
