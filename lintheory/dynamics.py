"""Integration of the averaged dynamics of linear networks of any depth with SciPy.

:func:`integrate` solves the ODE of :mod:`lintheory.flow` (paper Eqs. 5, 9, 10 at depth 2,
Eq. 11 deeper) with ``scipy.integrate.solve_ivp``, in the rotated frame when the rule
allows it (``Rule.rotatable``), else unrotated; trajectories are stored rotated.
Also the scalar reference of Saxe et al. (2013) for balanced BP:
``da/dt = L a^(2-2/L) (s-a)`` (:func:`saxe_modes`).
"""

from __future__ import annotations

import numpy as np

from . import weights as _weights
from ._validate import check_array, check_choice
from .errors import DivergenceError
from .flow import flat_flow, flow
from .rules import DEFAULT_OJA_DRIVE, get_rule
from .run_settings import SOLVERS, RunSettings  # noqa: F401 (SOLVERS: re-exported)
from .shutdown import raise_pending
from .trajectory import Trajectory, stack_states
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




def solve(rhs, y0, times, *, solver="RK45", rtol=1e-7, atol=1e-9, progress=False,
          desc="ODE"):
    """``solve_ivp`` from ``t = 0`` with output at ``times``, a blow-up stop and a bar.

    ``solver``, ``rtol``, ``atol`` are taken as validated (:class:`RunSettings`).

    Returns ``(t, y, nfev)`` with ``y``
    of shape (state, T). Raises :class:`DivergenceError` (naming the time) when the state
    becomes non-finite or exceeds ``BLOWUP`` in magnitude, :class:`SolverError` (a
    ``RuntimeError`` naming the run and what to change) if SciPy gives up.
    """
    from scipy.integrate import solve_ivp  # lazy: keeps `import lintheory` light

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

    from .preflight import max_work

    work = max_work()
    budget = int(work / max(np.size(y0), 1000))  # evaluations: a stiff run stops here
    counted, reached = rhs, [0, 0.0]

    def rhs(t, y):  # noqa: F811 - counts the evaluations against the budget
        raise_pending()  # Ctrl-C / SIGTERM that arrived inside the compiled call's set-up
        reached[0] += 1
        reached[1] = max(reached[1], t)
        if reached[0] > budget:
            raise _OverBudget
        return counted(t, y)

    try:
        sol = solve_ivp(rhs, (0.0, float(times[-1])), y0, method=solver, t_eval=times,
                        rtol=rtol, atol=atol, events=blowup)
    except _OverBudget:
        from .errors import SolverError

        raise SolverError(
            f"{desc}: the {solver} solver stopped after {budget} right-hand-side evaluations "
            f"at t = {reached[1]:.4g} of {float(times[-1]):g} (at most {work:.0e} "
            f"evaluations x {np.size(y0)} weights, LINTHEORY_MAX_WORK): the dynamics became "
            "too stiff; try an implicit solver (simulate --solver LSODA, BDF or Radau), a Q "
            "decay (--lam), a smaller depth (--depth, --depths) or a smaller --T",
            time=reached[1]) from None
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
        from .errors import SolverError

        t_end = float(sol.t[-1]) if sol.t.size else 0.0
        raise SolverError(
            f"{desc}: the {solver} solver stopped at t = {t_end:.4g} of {float(times[-1]):g} "
            f"({sol.message.rstrip('.')}): the dynamics are too stiff or too fast for it; "
            "try an implicit solver (simulate --solver LSODA, BDF or Radau), a smaller depth "
            "(--depth, --depths) or init scale, or a Q decay (--lam)", time=t_end)
    return sol.t.copy(), sol.y, int(sol.nfev)


ENGINES = ("numba", "numpy")


class _OverBudget(Exception):
    """Raised inside the right-hand side when a solve exceeds its evaluation budget."""


def check_task_data(task, names=("Sigma_yx", "Sigma_yy", "U")) -> None:
    """The task's arrays an engine reads must be finite (a user-built task may not be)."""
    for name in names:
        a = np.asarray(getattr(task, name))
        if not np.all(np.isfinite(a)):
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise ValueError(f"task.{name} holds {bad} NaN or infinite value(s) of {a.size}: "
                             "the task data must be finite (check the inputs X and targets "
                             "Y the task was built from); a smaller learning rate cannot "
                             "help")


def preflight_ode(task, rule, init: Weights, times, settings: RunSettings) -> None:
    """Before integrating: finite task data, weights below the blow-up threshold, room
    for the trajectory and a ``T x rate`` the solver can integrate
    (:mod:`lintheory.preflight`)."""
    from .preflight import (
        check_initial_weights,
        check_memory,
        check_stiffness,
        fastest_rate,
        linear_memory,
    )

    check_task_data(task)
    check_memory(linear_memory(n=task.n, m=task.m, N=0, widths=init.widths,
                               ranks=init.ranks, direct=init.direct,
                               points=len(times), parts=("params", "points")),
                 "the ODE run")
    check_initial_weights(init, BLOWUP)
    rate, what = fastest_rate(task, rule, init, settings)
    check_stiffness(float(times[-1]), rate, what, settings.solver,
                    params=sum(a.size for a in init.arrays),
                    size=f"depth {init.depth}, widths (--k, --widths, --depth)")


def check_direct(rule, init: Weights) -> None:
    """A direct rule needs weights whose ``P`` read the output error, and vice versa (at
    depth 2 the one pathway reads the output error either way)."""
    if rule.direct != init.direct and init.depth > 2:
        kind = "direct (P_l reading the output error)" if rule.direct else "layered"
        raise ValueError(f"rule {rule.name} needs {kind} feedback weights; build the init with "
                         f"direct={rule.direct}")


def check_frame(rule, frame):
    """``frame`` (None: rotated when the rule allows it) validated against the rule."""
    if frame is None:
        return "rotated" if rule.rotatable else "unrotated"
    check_choice("frame", frame, FRAMES)
    if frame == "rotated" and not rule.rotatable:
        raise ValueError(f"frame must be 'unrotated' for rule {rule.name}: it does not "
                         "commute with the SVD rotation (Rule.rotatable is False)")
    return frame


def make_rhs(task, rule, template: Weights, *, lam=0.0, wd=0.0, p_rate=1.0, oja_scale=True,
             oja_drive=DEFAULT_OJA_DRIVE, engine="numba"):
    """``f(t, y)`` for ``solve_ivp`` on the flat state of ``template`` (in its frame).

    ``engine="numba"`` calls :func:`lintheory.flow.flat_flow` (compiled, the rule's compiled
    functions as arguments), ``"numpy"`` the interpreted :func:`lintheory.flow.flow` (the
    same code). Rotated weights use ``(S, Sigma_yy_bar)`` and need ``U`` in one place: the
    normaliser of a direct rule's output-error covariance (variances of the output units).
    """
    rule = get_rule(rule)
    if template.rotated:
        Syx, Syy = np.ascontiguousarray(task.S), np.ascontiguousarray(task.Sigma_yy_bar)
        U = np.ascontiguousarray(task.U)
    else:
        Syx, Syy = np.ascontiguousarray(task.Sigma_yx), np.ascontiguousarray(task.Sigma_yy)
        U = np.eye(task.m)
    L = template.depth
    drive = np.array([rule.drives_error(j, L, oja_drive) for j in range(L - 1)], dtype=bool)
    lam, wd, p_rate, oja_scale = float(lam), float(wd), float(p_rate), bool(oja_scale)
    if engine == "numba":
        offs, rows, cols = template.layout()
        fns = rule.jitted()

        def rhs(t, y):
            return flat_flow(np.ascontiguousarray(y), offs, rows, cols, L, Syx, Syy, *fns,
                             rule.direct, drive, lam, wd, p_rate, oja_scale, U)

        return rhs
    check_choice("engine", engine, ENGINES)

    def rhs(t, y):  # noqa: F811 - the interpreted variant
        Ws, Qs, Ps = template.unpack(y)
        dWs, dQs, dPs = flow(Ws, Qs, Ps, Syx, Syy, rule.feedback, rule.q_update,
                             rule.p_update, rule.direct, drive, lam, wd, p_rate, oja_scale,
                             U if template.rotated else None)
        return np.concatenate([a.ravel() for a in (*dWs, *dQs, *dPs)])

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
    oja_scale: bool = True,
    oja_drive: str = DEFAULT_OJA_DRIVE,
    frame: str | None = None,
    solver: str = "RK45",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    progress: bool = False,
    engine: str = "numba",
    settings: RunSettings | None = None,
) -> Trajectory:
    """Integrate the averaged dynamics from ``init`` and return the rotated trajectory.

    Parameters
    ----------
    task : LinearTask (whitened inputs for the averaged dynamics to be exact)
    rule : str or Rule
        A name in :data:`lintheory.rules.RULES` (``bp``, ``fa``, ``kp``, ``raf``; deep
        networks also ``draf``, ``dfa``) or a :class:`~lintheory.rules.Rule`.
    init : Weights
        Initial weights of any depth (either frame); ``init.direct`` must match the rule.
    times : (T,) array
        Output times, increasing, >= 0 (integration starts at 0).
    lam, wd, p_rate : float
        Q decay, weight decay on every W, Oja time-scale ratio ``eta_P / eta``.
    oja_scale : bool
        Scale every error-driven Oja covariance by its largest per-unit variance
        (see :func:`lintheory.flow.flow`); target-driven ``P`` use ``Sigma_yy`` as is.
    oja_drive : "error" or "targets"
        What the ``P`` of a direct rule (dRAF) learns from: the covariance of the output
        error (default, as the paper's authors and ``lintheory.nn`` do) or ``Sigma_yy``.
    frame : "rotated", "unrotated" or None
        Integrate in the SVD frame (Eqs. 5, 9, 10) or unrotated (A8, A34-A36; then rotated
        for storage); the two agree to solver tolerance. None: rotated when the rule
        commutes with the rotation (``Rule.rotatable``), else unrotated.
    solver, rtol, atol
        Passed to ``scipy.integrate.solve_ivp`` (``"RK45"``, ``"DOP853"``, ``"LSODA"``...).
    progress : bool
        Show a tqdm bar over ``t``.
    engine : "numba" or "numpy"
        Compiled right-hand side (default) or the interpreted :func:`lintheory.flow.flow`.
    settings : RunSettings or None
        Validated settings (:class:`lintheory.run_settings.RunSettings`); when given they
        replace ``lam, wd, p_rate, oja_scale, oja_drive, solver, rtol, atol`` and are not
        checked again.

    Raises
    ------
    DivergenceError
        If the weights blow up (the time is in the message).
    """
    rule = get_rule(rule)
    if not isinstance(init, _weights.Weights):
        raise ValueError(f"init must be a lintheory.Weights, got {type(init).__name__}")
    init.check_task(task)
    check_direct(rule, init)
    times = check_times(times)
    check_choice("engine", engine, ENGINES)
    if settings is None:
        settings = RunSettings(lam=lam, wd=wd, p_rate=p_rate, oja_scale=oja_scale,
                               oja_drive=oja_drive, solver=solver, rtol=rtol, atol=atol)
    s = settings
    lam, wd, p_rate = s.rates
    frame = check_frame(rule, frame)
    preflight_ode(task, rule, init, times, s)

    # the rotation is looked up on this module's Weights at call time, so ``lintheory verify``
    # (``rot.integrator``) checks the very function the integrator uses
    rotate = Weights.rotate
    w0 = rotate(init, task) if frame == "rotated" else Weights.unrotate(init, task)
    rhs = make_rhs(task, rule, w0, lam=lam, wd=wd, p_rate=p_rate, oja_scale=s.oja_scale,
                   oja_drive=s.oja_drive, engine=engine)
    desc = f"ODE {rule.name}" + ("" if w0.depth == 2 else f" L={w0.depth}")
    t_out, y, nfev = solve(rhs, w0.pack(), times, solver=s.solver, rtol=s.rtol, atol=s.atol,
                           progress=progress, desc=desc)
    states = y.T
    if frame != "rotated":
        states = np.array([rotate(w0.replace(s), task).pack() for s in states])
    info = {"solver": s.solver, "rtol": s.rtol, "atol": s.atol, "frame": frame, "nfev": nfev,
            "lam": lam, "wd": wd, "p_rate": p_rate, "oja_scale": s.oja_scale,
            "oja_drive": s.oja_drive, "engine": engine, "dims": list(w0.dims),
            "ranks": list(w0.ranks)}
    return stack_states(task, rule.name, rotate(w0, task), t_out, states, "ode", info)


def saxe_modes(s: float, a0: float, L: int, times, *, rtol: float = 1e-12,
               atol: float = 1e-14) -> np.ndarray:
    """Reference solution of ``da/dt = L a^(2 - 2/L) (s - a)``, ``a(0) = a0``.

    Un-normalised mode strength of a balanced depth-``L`` network under BP (Saxe et al.
    2013). For ``L = 2`` this is the closed form ``s e^{2st} / (e^{2st} - 1 + s/a0)``;
    otherwise it is integrated with DOP853 at tolerance ``rtol``.
    """
    from scipy.integrate import solve_ivp

    times = check_times(times)
    if L == 2:
        g = np.exp(2.0 * s * times)
        return s * g / (g - 1.0 + s / a0)
    expo = 2.0 - 2.0 / L
    sol = solve_ivp(lambda t, a: L * np.abs(a) ** expo * (s - a), (0.0, float(times[-1])),
                    [a0], method="DOP853", t_eval=times, rtol=rtol, atol=atol)
    return sol.y[0]
