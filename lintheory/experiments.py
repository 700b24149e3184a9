"""Experiments of the linear theory as pure functions: one run, fixed-point predictions, Figure 2.

Nothing here draws or writes files: :func:`simulate` returns trajectories,
:func:`figure2_data` returns every curve of the paper's Figure 2 as plain arrays and
numbers (drawn by :func:`lintheory.plots.figure2`, written by ``lintheory figure2``).

Fixed-point prediction (SPEC §5)
--------------------------------
With feedback ``Bbar = Q Pbar`` and small initial weights, the averaged dynamics stop at
``W2bar W1bar = S Pi`` with ``Pi`` the orthogonal projector onto the row space of
``Pbar S``. Because ``S`` is diagonal in the rotated frame, the predicted mode strengths
are simply ``a_i = [S Pi]_ii / s_i = Pi_ii``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ._validate import check_array, check_choice, check_float, check_int
from .dynamics import integrate
from .init import make_init
from .rules import get_rule
from .task import make_task

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
    """The fixed point ``W2bar W1bar = S Pi`` of SPEC §5, shape (m, n).

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


# --------------------------------------------------------------------------- Figure 2
@dataclass(frozen=True)
class Panel:
    """One panel of Figure 2: a rule and how its feedback rank is chosen.

    ``rank`` is ``"d"`` (task rank), ``"m"`` (full rank) or ``"low"`` (``r_low < d``);
    ``predict`` is ``"fixed"`` (``S Pi`` from the initial ``Pbar``), ``"oja"`` (``S Pi`` from
    Oja's limit) or ``None``.
    """

    key: str
    rule: str
    rank: str
    label: str
    predict: str | None = None


PANELS = (
    Panel("a", "bp", "d", "BP"),
    Panel("b", "fa", "m", "FA, full rank"),
    Panel("c", "fa", "low", "FA, low rank", "fixed"),
    Panel("d", "kp", "low", "KP-Q, low rank", "fixed"),
    Panel("e", "raf", "d", "RAF, r = d < m", "oja"),
    Panel("f", "raf", "low", "RAF, r < d", "oja"),
)
"""The six panels of Figure 2 (one entry each; the order is the drawing order)."""


@dataclass(frozen=True)
class Figure2Config:
    """Every setting of Figure 2 (defaults give the figure in ``figures/``)."""

    n: int = 20
    k: int = 40
    m: int = 10
    d: int = 4
    r_low: int = 2
    N: int = 2000
    sigma: float = 1.0
    singular_values: tuple | None = None  # None: d, d-1, ..., 1 (paper: 4, 3, 2, 1)
    T: float = 30.0
    points: int = 80
    t_min: float = 0.05
    seed: int = 0
    init_scale: float = 1e-3
    lam: float = 0.0
    sgd: bool = True
    lr: float = 0.01
    batch: object = 50
    sgd_points: int = 20
    solver: str = "RK45"
    rtol: float = 1e-6
    atol: float = 1e-9
    panels: tuple = field(default=tuple(p.key for p in PANELS))

    def validated(self) -> Figure2Config:
        """Check every field; return self. Raises ValueError naming the bad one."""
        check_int("n", self.n, low=1)
        check_int("k (hidden width)", self.k, low=1)
        m = check_int("m", self.m, low=1)
        d = check_int("d (task rank)", self.d, low=1, high=min(self.m, self.n))
        check_int("r_low (low feedback rank)", self.r_low, low=1, high=m)
        if self.r_low >= d:
            raise ValueError(
                f"r_low (low feedback rank) must be < d = {d} for the low-rank panels, "
                f"got {self.r_low}"
            )
        check_float("T (final time)", self.T, low=0.0, low_open=True)
        check_float("t_min", self.t_min, low=0.0, low_open=True)
        if self.t_min >= self.T:
            raise ValueError(f"t_min must be < T = {self.T}, got {self.t_min}")
        check_int("points (output times)", self.points, low=2)
        check_int("sgd_points", self.sgd_points, low=2)
        check_float("init scale", self.init_scale, low=0.0, low_open=True)
        batch = self.settings().batch  # lam, lr, batch, solver, rtol, atol: the shared checks
        if isinstance(batch, int):
            check_int("batch (mini-batch size)", batch, low=1, high=self.N)
        bad = [p for p in self.panels if p not in {q.key for q in PANELS}]
        if bad or not self.panels:
            raise ValueError(
                f"panels must be a non-empty subset of {', '.join(q.key for q in PANELS)}; "
                f"got {self.panels!r}"
            )
        return self

    def settings(self):
        """The engines' :class:`~lintheory.run_settings.RunSettings` (validated)."""
        from .run_settings import RunSettings

        return RunSettings(lam=self.lam, lr=self.lr, batch=self.batch, solver=self.solver,
                           rtol=self.rtol, atol=self.atol)

    def rank(self, panel: Panel) -> int:
        """The feedback rank r of ``panel`` (d, m or ``r_low``)."""
        return {"d": self.d, "m": self.m, "low": self.r_low}[panel.rank]

    @classmethod
    def from_dict(cls, d: dict) -> Figure2Config:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        if d.get("singular_values") is not None:
            d["singular_values"] = tuple(d["singular_values"])
        d["panels"] = tuple(d["panels"])
        return cls(**d)

    def to_dict(self) -> dict:
        """A JSON-ready dict (tuples as lists); inverse of :meth:`from_dict`."""
        out = asdict(self)
        out["singular_values"] = (
            None if self.singular_values is None else list(self.singular_values)
        )
        out["panels"] = list(self.panels)
        return out


def figure2_data(config: Figure2Config | None = None, *, progress: bool = False,
                 workers: int = 1, scheduler: str | None = None) -> dict:
    """Compute every curve of Figure 2 (SPEC §4-5, paper Fig. 2).

    All panels share one task (``seed``) and one draw of the forward weights: the initial
    weights of every panel come from ``default_rng([seed, 1])``, so panels of equal rank
    (FA and KP-Q at ``r_low``) also share ``Q`` and ``Pbar`` and hence the prediction.
    The discrete run of panel j draws its sample order from ``default_rng([seed, 2, j])``.
    Panels are independent: ``workers`` local processes (or a Dask ``scheduler``) compute
    them in parallel with identical numbers (:func:`lintheory.parallel.map_runs`).

    Returns
    -------
    dict
        ``{"config": ..., "task": {...}, "panels": [ {key, rule, r, title, times,
        ode: (T, d), sgd_times, sgd: (T', d) or None, prediction: (d,) or None}, ... ]}``,
        arrays as numpy arrays.

    Raises
    ------
    ValueError, DivergenceError
    """
    from .parallel import map_runs

    cfg = (config or Figure2Config()).validated()
    task = _figure2_task(cfg)
    sgd_times(_figure2_times(cfg), cfg.lr, cfg.sgd_points)  # validate lr before any work
    chosen = [p for p in PANELS if p.key in cfg.panels]
    jobs = [(cfg.to_dict(), j, p.key) for j, p in enumerate(chosen)]
    results = map_runs(_figure2_panel, jobs, workers=workers, scheduler=scheduler,
                       progress=progress, desc="figure 2")
    config = cfg.to_dict()
    config["singular_values"] = task.teacher_singular_values.tolist()
    return {
        "config": config,
        "task": {"singular_values": task.s, "d": task.d, "params": task.params()},
        "panels": results,
    }


def _figure2_task(cfg: Figure2Config):
    return make_task(
        cfg.n, cfg.m, cfg.d, cfg.N, sigma=cfg.sigma, singular_values=cfg.singular_values,
        seed=cfg.seed,
    )


def _figure2_times(cfg: Figure2Config) -> np.ndarray:
    return output_times(cfg.T, cfg.points, log=True, t_min=cfg.t_min)


def _figure2_panel(job) -> dict:
    """One panel of Figure 2 from ``(config dict, panel index j, panel key)`` (picklable)."""
    cfg_dict, j, key = job
    cfg = Figure2Config.from_dict(cfg_dict)
    panel = next(p for p in PANELS if p.key == key)
    task = _figure2_task(cfg)
    times = _figure2_times(cfg)
    st = sgd_times(times, cfg.lr, cfg.sgd_points) if cfg.sgd else None
    r = cfg.rank(panel)
    init = make_init(
        task, cfg.k, r, "random", scale=cfg.init_scale, rng=np.random.default_rng([cfg.seed, 1])
    )
    runs = simulate(task, panel.rule, init, times, method="both" if cfg.sgd else "ode",
                    rng=np.random.default_rng([cfg.seed, 2, j]), times_sgd=st,
                    settings=cfg.settings())
    pred = None
    if panel.predict == "fixed":
        pred = predicted_mode_strengths(task, init.rotate(task).P)
    elif panel.predict == "oja":
        pred = predicted_mode_strengths(task, oja_limit(task, r))
    rule = get_rule(panel.rule)
    ode, sgd = runs["ode"], runs.get("sgd")
    return {
        "key": panel.key, "rule": rule.name, "r": r, "label": panel.label,
        "title": f"({panel.key}) {panel.label}" + ("" if not rule.uses_feedback else f" (r = {r})"),
        "times": ode.times, "ode": ode.mode_strengths,
        "ode_final_leak": float(ode.leak[-1]),
        "sgd_times": None if sgd is None else sgd.times,
        "sgd": None if sgd is None else sgd.mode_strengths,
        "prediction": pred,
        "ode_nfev": ode.info["nfev"],
    }
