"""Interactive figures for the classroom notebooks (``notebooks/``): sliders that re-solve
the ODE of theory §4 and redraw.

Two layers, as everywhere in the package:

- pure functions that compute what is drawn: :func:`spectrum` (the teacher task's
  singular values, theory §2) and :func:`mode_curves` (mode strengths ``a_i(t)`` of one
  rule, rank, initial scale and final time ``T``, with the theory's predictions: Saxe's
  closed form §4.5, the fixed point ``S Pi`` §5.2, RAF's top-``r`` modes §5.5);
- explorers that own a matplotlib figure and an ``update(**values)`` method that calls
  the pure function and moves the lines (:class:`SpectrumExplorer`,
  :class:`ModeExplorer`); their ``widgets()`` method builds ipywidgets sliders whose
  callback is ``update``.

ipywidgets and IPython are imported only inside ``widgets()`` (``pip install -e
".[classroom]"``), so the package never needs them. Figures are built without pyplot
(:func:`lintheory.plots.style`); a notebook shows them with ``display(explorer.fig)``
or, with widgets, through ``ipywidgets.interactive_output``, under the notebook's own
(inline) backend. The sizes are small (``n = 20, k = 40, m = 10, d = 4``, theory §5.7) so
that one re-solve takes a fraction of a second to about a second (RAF, ``T = 200``).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_choice, check_float, check_int
from .dynamics import integrate, saxe_modes
from .experiments import oja_limit, predicted_mode_strengths, spurious_fixed_point
from .init import make_init
from .task import make_task

RULES = ("bp", "fa", "kp", "raf")
"""Rules the sliders offer (theory §3): backprop, feedback alignment, KP-Q and RAF."""

TASK = {"n": 20, "m": 10, "d": 4, "N": 1000, "sigma": 1.0, "seed": 0}
"""The classroom task (theory §5.7's sizes): ``make_task(**TASK)``."""

K = 40
"""Hidden width ``k`` of the classroom network."""

SOLVER = {"solver": "DOP853", "rtol": 1e-6, "atol": 1e-9, "engine": "numpy"}
"""ODE settings of the sliders. DOP853 is the quickest of SciPy's solvers here (the RAF
system is stability-limited, so a looser tolerance is not faster); the interpreted
right-hand side (``engine="numpy"``) is as fast as the compiled one at these sizes and
needs no numba compilation, which costs seconds per rule on a fresh kernel."""

INIT_SCALES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
"""Positions of the initial-scale slider."""

TIMES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 400.0)
"""Positions of the final-time slider ``T``."""

def _mode_style(i: int) -> dict:
    """Colour and dash pattern of mode ``i`` (:func:`lintheory.plots.mode_style`): modes
    differ in both, so they stay apart in greyscale."""
    from . import plots

    st = plots.mode_style(i)
    return {"color": st["color"], "ls": st["ls"]}


# ----------------------------------------------------------------------------- pure maths
def spectrum(N: int = 1000, sigma: float = 1.0, *, seed: int = 0, n: int = 20, m: int = 10,
             d: int = 4) -> dict:
    """Singular values of the empirical ``Sigma_yx`` of a teacher task (theory §2).

    Parameters
    ----------
    N : int
        Number of samples.
    sigma : float
        Output noise standard deviation.
    seed : int
        Seed of the task (:func:`lintheory.make_task`).
    n, m, d : int
        Input dimension, output dimension and task rank.

    Returns
    -------
    dict
        ``s`` (min(m, n),): singular values of ``Sigma_yx``, descending; ``teacher`` (d,):
        those of the teacher map ``A``; ``noise_edge`` (float): ``sigma (sqrt(m) +
        sqrt(n)) / sqrt(N)``, the size of the largest singular value of a pure-noise
        ``Sigma_yx`` (an ``m x n`` matrix of entries with variance ``sigma^2 / N``);
        ``task``: the :class:`~lintheory.task.LinearTask`.
    """
    task = make_task(n=n, m=m, d=d, N=N, sigma=sigma, seed=seed)
    return {
        "s": task.s,
        "teacher": np.asarray(task.teacher_singular_values, dtype=float),
        "noise_edge": float(sigma * (np.sqrt(m) + np.sqrt(n)) / np.sqrt(N)),
        "task": task,
    }


def curve_times(T: float, points: int = 80, *, log: bool = True) -> np.ndarray:
    """Output times ``(points,)`` ending at ``T``: geometric from ``T / 2000`` (``log``) or
    linear from 0."""
    T = check_float("T (final time)", T, low=0.0, low_open=True)
    points = check_int("points (output times)", points, low=2)
    return np.geomspace(T / 2000, T, points) if log else np.linspace(0.0, T, points)


def mode_curves(task, rule: str = "raf", rank: int = 2, init_scale: float = 0.01,
                T: float = 100.0, *, k: int = K, init: str = "random", seed: int = 1,
                points: int = 80, log_time: bool = True, lam: float = 0.0) -> dict:
    """Mode strengths of one ODE run from small initial weights and what theory predicts.

    Parameters
    ----------
    task : LinearTask
        The teacher task (``make_task(**TASK)`` in the notebooks).
    rule : {"bp", "fa", "kp", "raf"}
        Learning rule (theory §3).
    rank : int
        Feedback rank ``r`` (``1 <= r <= m``; BP ignores it).
    init_scale : float
        Scale of the initial weights (:func:`lintheory.make_init`; ``W2 W1 ~ scale^2``).
    T : float
        Final time.
    k : int
        Hidden width.
    init : {"random", "balanced"}
        Small random weights, or balanced mode-aligned ones (Saxe's setting, theory §4.5).
    seed : int
        Seed of the initial weights (the same ``Q``, ``P`` draw for every rule).
    points : int
        Number of output times.
    log_time : bool
        Geometric output times from ``T / 2000`` (else linear from 0).
    lam : float
        Decay of ``Q`` (KP-Q and RAF).

    Returns
    -------
    dict
        ``times`` (P,); ``a`` (P, d): mode strengths ``a_i(t)``; ``prediction`` (d,) or
        None: the fixed point's ``a_i`` (``S Pi`` of the initial ``Pbar`` for FA and KP-Q,
        theory §5.2; the top-``r`` modes for RAF, §5.5; all ones for BP); ``closed_form``
        (P, d) or None: Saxe's ``a_i(t)`` for BP from balanced weights (§4.5);
        ``distance`` (P,) or None: ``|W2bar W1bar - S Pi|_F / |S Pi|_F`` to the predicted
        fixed point; ``overlap`` (P,) or None: ``|Pbar_o E_r|_F^2 / r``, how much of the
        top-``r`` output modes the feedback channel spans (1 when ``row(Pbar)`` is that
        subspace; ``Pbar_o`` has orthonormal rows spanning ``row(Pbar)``, ``E_r`` holds
        the top-``r`` eigenvectors of ``Sigma_yy_bar``); ``trajectory``: the
        :class:`~lintheory.trajectory.Trajectory`.
    """
    check_choice("rule", rule, RULES)
    rank = check_int("rank r", rank, low=1, high=task.m)
    init_scale = check_float("init scale", init_scale, low=0.0, low_open=True)
    check_choice("init", init, ("random", "balanced"))
    times = curve_times(T, points, log=log_time)
    w0 = make_init(task, k, rank, init, scale=init_scale, rng=np.random.default_rng(seed))
    traj = integrate(task, rule, w0, times, lam=lam, **SOLVER)
    d = task.d
    out = {"times": traj.times, "a": traj.mode_strengths, "prediction": None,
           "closed_form": None, "distance": None, "overlap": None, "trajectory": traj}
    if rule == "bp":
        out["prediction"] = np.ones(d)
        if init == "balanced":
            s = task.s[:d]
            out["closed_form"] = np.stack(
                [saxe_modes(s[i], init_scale**2, 2, traj.times) / s[i] for i in range(d)],
                axis=1)
        return out
    top = oja_limit(task, rank)  # (r, m) rows: top-r eigenvectors of Sigma_yy_bar
    Pbar_fixed = top if rule == "raf" else traj.P[0]
    out["prediction"] = predicted_mode_strengths(task, Pbar_fixed)
    target = spurious_fixed_point(task.S, Pbar_fixed)
    out["distance"] = (np.linalg.norm(traj.M - target, axis=(1, 2))
                       / np.linalg.norm(target))
    overlap = np.empty(len(traj.times))
    for j, P in enumerate(traj.P):
        q, _ = np.linalg.qr(P.T)  # (m, r): orthonormal basis of row(Pbar)
        overlap[j] = np.sum((top @ q) ** 2) / rank
    out["overlap"] = overlap
    return out


# ----------------------------------------------------------------------------- explorers
def _options(choices, value: float) -> list:
    """Slider positions: ``choices`` with ``value`` added if it is not among them."""
    return sorted(set(choices) | {value})


class _Explorer:
    """Shared widget plumbing: subclasses define ``fig``, ``update(**values)`` and
    ``_sliders(names)`` (a dict of ipywidgets by setting name)."""

    def widgets(self, controls=None):
        """Sliders (ipywidgets) whose callback calls :meth:`update` and shows the figure.

        Parameters
        ----------
        controls : sequence of str, optional
            Which settings get a slider (default: every one this explorer has).

        Returns
        -------
        ipywidgets.VBox
            The sliders above an output area holding the figure. Each slider only
            re-solves when released (``continuous_update=False``). The slider objects are
            also in ``self.controls`` by name.
        """
        import ipywidgets as widgets
        from IPython.display import display

        self.controls = self._sliders(controls)

        def show(**values):
            self.update(**values)
            display(self.fig)

        out = widgets.interactive_output(show, self.controls)
        return widgets.VBox([widgets.HBox(list(self.controls.values())), out])


class SpectrumExplorer(_Explorer):
    """Bar chart of the singular values of ``Sigma_yx`` (theory §2) with sliders for the
    number of samples ``N`` and the noise ``sigma``.

    Attributes
    ----------
    fig : matplotlib.figure.Figure
    values : dict
        Current ``N``, ``sigma``.
    data : dict
        The last :func:`spectrum` result.
    """

    def __init__(self, N: int = 1000, sigma: float = 1.0, *, seed: int = 0):
        from . import plots

        self.seed = seed
        self.values = {"N": N, "sigma": sigma}
        m, n = TASK["m"], TASK["n"]
        x = np.arange(1, min(m, n) + 1)
        with plots.style() as Figure:
            self.fig = Figure(figsize=(6.4, 3.6), layout="constrained")
            ax = self.ax = self.fig.add_subplot()
            self.bars = ax.bar(x, np.zeros(x.size), color=plots.mode_color(0),
                               label=r"singular values of $\Sigma_{yx}$")
            (self.teacher,) = ax.plot(x[: TASK["d"]], np.zeros(TASK["d"]), ls="none",
                                      marker="_", ms=22, mew=2.5,
                                      color=plots.OKABE_ITO["black"],
                                      label=r"teacher $s_i$ (singular values of $A$)")
            self.edge = ax.axhline(0.0, color=plots.GREYS["dark grey"], ls=(0, (3, 2)), lw=1.2,
                                   label=r"noise scale $\sigma(\sqrt{m}+\sqrt{n})/\sqrt{N}$")
            ax.set_xticks(x)
            ax.set_xlabel("index i")
            ax.set_ylabel("singular value")
            ax.legend(frameon=False, loc="upper right")
        self.update()

    def update(self, **values) -> dict:
        """Recompute :func:`spectrum` with the given ``N`` / ``sigma`` and redraw.

        Returns the :func:`spectrum` dict.
        """
        self.values.update(values)
        self.data = spectrum(int(self.values["N"]), float(self.values["sigma"]),
                             seed=self.seed)
        for bar, h in zip(self.bars, self.data["s"]):
            bar.set_height(h)
        self.teacher.set_ydata(self.data["teacher"])
        self.edge.set_ydata([self.data["noise_edge"]] * 2)
        self.ax.set_ylim(0, 1.15 * max(self.data["s"].max(), self.data["teacher"].max()))
        self.ax.set_title(f"N = {self.values['N']}, sigma = {self.values['sigma']:g}",
                          loc="left")
        return self.data

    def _sliders(self, names):
        import ipywidgets as widgets

        names = ("N", "sigma") if names is None else tuple(names)
        unknown = set(names) - {"N", "sigma"}
        if unknown:
            raise ValueError(f"controls must be among N, sigma; got {sorted(unknown)}")
        all_ = {
            "N": widgets.IntSlider(value=self.values["N"], min=20, max=5000, step=20,
                                   description="N", continuous_update=False),
            "sigma": widgets.FloatSlider(value=self.values["sigma"], min=0.0, max=3.0,
                                         step=0.1, description="sigma",
                                         continuous_update=False),
        }
        return {k: all_[k] for k in names}


class ModeExplorer(_Explorer):
    """Mode strengths ``a_i(t)`` of one rule, re-solved by :meth:`update` (theory §4.4).

    The left panel shows the ODE's ``a_i(t)`` (thick, one colour and dash pattern per
    mode), the predicted fixed point (thin black dashed) and, for BP from balanced
    weights, Saxe's closed form (black dots); the legend is on the right. With ``second``
    a right panel shows the distance to the predicted fixed point (``"distance"``) or the
    overlap of the feedback channel with the top-``r`` output modes (``"overlap"``).

    Parameters
    ----------
    rule, rank, init_scale, T
        Initial settings (see :func:`mode_curves`).
    init : {"random", "balanced"}
    log_time : bool
        Logarithmic time axis (geometric output times); linear otherwise.
    second : {None, "distance", "overlap"}
    seed : int
        Seed of the initial weights.

    Attributes
    ----------
    fig : matplotlib.figure.Figure
    values : dict
        Current ``rule``, ``rank``, ``init_scale``, ``T``.
    data : dict
        The last :func:`mode_curves` result.
    lines : list of d Line2D
        The ``a_i(t)`` curves (``lines[i].get_ydata()`` is ``data["a"][:, i]``).
    """

    def __init__(self, rule: str = "raf", rank: int = 2, init_scale: float = 0.01,
                 T: float = 100.0, *, init: str = "random", log_time: bool = True,
                 second: str | None = None, seed: int = 1):
        from . import plots

        check_choice("second", second, (None, "distance", "overlap"))
        self.task = make_task(**TASK)
        self.init, self.log_time, self.second, self.seed = init, log_time, second, seed
        self.values = {"rule": rule, "rank": rank, "init_scale": init_scale, "T": T}
        d = self.task.d
        s = self.task.s[:d]
        with plots.style() as Figure:
            self.fig = Figure(figsize=(11.5 if second else 7.4, 3.8), layout="constrained")
            axes = self.fig.subplots(1, 2 if second else 1, squeeze=False)[0]
            ax = self.ax = axes[0]
            self.lines, self.preds, self.closed = [], [], []
            for i in range(d):
                self.lines.append(ax.plot([], [], lw=2.2, **_mode_style(i),
                                          label=f"mode {i + 1} (s = {s[i]:.2f})")[0])
            for i in range(d):
                self.preds.append(ax.plot([], [], **plots.REFERENCE,
                                          label="predicted fixed point"
                                          if i == 0 else None)[0])
            for i in range(d):
                self.closed.append(ax.plot([], [], color=plots.OKABE_ITO["black"],
                                           ls=(0, (1, 2)), lw=1.4,
                                           zorder=5, label="Saxe closed form"
                                           if i == 0 and init == "balanced" else None)[0])
            self.fig.legend(loc="outside right upper", frameon=False, fontsize=8)
            ax.set_ylim(-0.05, 1.12)
            ax.set_xlabel("time t")
            ax.set_ylabel(r"mode strength $a_i(t)$")
            ax.grid(alpha=0.25, lw=0.5)
            if log_time:
                ax.set_xscale("log")
            self.ax2 = self.line2 = None
            if second:
                self.ax2 = axes[1]
                (self.line2,) = self.ax2.plot([], [], color=plots.OKABE_ITO["black"], lw=2.0)
                self.ax2.set_xlabel("time t")
                self.ax2.grid(alpha=0.25, lw=0.5)
                if log_time:
                    self.ax2.set_xscale("log")
                if second == "distance":
                    self.ax2.set_yscale("log")
                    self.ax2.set_ylabel(r"$|\bar W_2\bar W_1 - S\Pi|_F\ /\ |S\Pi|_F$")
                else:
                    self.ax2.set_ylim(-0.05, 1.05)
                    self.ax2.set_ylabel(r"overlap of row($\bar P$) with top-$r$ modes")
        self.update()

    def update(self, **values) -> dict:
        """Re-solve the ODE with the given settings (any of ``rule``, ``rank``,
        ``init_scale``, ``T``; the others keep their values) and move the lines.

        Returns the :func:`mode_curves` dict.
        """
        unknown = set(values) - set(self.values)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; "
                             f"allowed: {', '.join(self.values)}")
        self.values.update(values)
        v = self.values
        data = self.data = mode_curves(self.task, v["rule"], int(v["rank"]),
                                       float(v["init_scale"]), float(v["T"]),
                                       init=self.init, seed=self.seed,
                                       log_time=self.log_time)
        t = data["times"]
        span = [t[0], t[-1]]
        for i, line in enumerate(self.lines):
            line.set_data(t, data["a"][:, i])
            pred = data["prediction"]
            self.preds[i].set_data(span, [pred[i]] * 2 if pred is not None else [np.nan] * 2)
            cf = data["closed_form"]
            self.closed[i].set_data(t, cf[:, i] if cf is not None else np.full(t.size, np.nan))
        self.ax.set_xlim(*span)
        rank = "" if v["rule"] == "bp" else f", r = {int(v['rank'])}"
        self.ax.set_title(f"{v['rule'].upper()}{rank}, init scale {float(v['init_scale']):g},"
                          f" T = {float(v['T']):g}", loc="left")
        if self.second:
            y = data[self.second]
            if y is None:  # BP has no feedback channel
                y = np.full(t.size, np.nan)
            self.line2.set_data(t, y)
            self.ax2.set_xlim(*span)
            if self.second == "distance" and np.isfinite(y).any():
                lo = max(np.nanmin(y), 1e-8)
                self.ax2.set_ylim(lo / 2, 2 * np.nanmax(y))
        return data

    def _sliders(self, names):
        import ipywidgets as widgets

        names = tuple(self.values) if names is None else tuple(names)
        v = self.values
        all_ = {
            "rule": widgets.Dropdown(options=list(RULES), value=v["rule"],
                                     description="rule"),
            "rank": widgets.IntSlider(value=int(v["rank"]), min=1, max=self.task.m,
                                      description="rank r", continuous_update=False),
            "init_scale": widgets.SelectionSlider(
                options=_options(INIT_SCALES, float(v["init_scale"])),
                value=float(v["init_scale"]), description="init scale",
                continuous_update=False),
            "T": widgets.SelectionSlider(options=_options(TIMES, float(v["T"])),
                                         value=float(v["T"]), description="T",
                                         continuous_update=False),
        }
        unknown = set(names) - set(all_)
        if unknown:
            raise ValueError(f"controls must be among {', '.join(all_)}; got {sorted(unknown)}")
        return {k: all_[k] for k in names}
