"""The paper's Figure 2: its config, its data function and its plot function.

:class:`Figure2Config` holds every setting (defaults: the figure in ``figures/``),
:func:`figure2_data` computes every curve as plain arrays and numbers (ODE lines, SGD
markers, fixed-point predictions; nothing drawn or written) and :func:`plot_figure2` draws
them (no pyplot). ``lintheory figure2`` writes the PNG, PDF and JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ._validate import check_float, check_int
from .experiments import (
    oja_limit,
    output_times,
    predicted_mode_strengths,
    sgd_times,
    simulate,
)
from .init import make_init
from .plots import label_mode_axes, mode_panel, style
from .rules import get_rule
from .task import make_task


@dataclass(frozen=True)
class Panel:
    """One panel of Figure 2: a rule and how its feedback rank is chosen.

    ``rank`` is ``"d"`` (task rank), ``"m"`` (full rank) or ``"low"`` (``r_low < d``);
    ``predict`` is ``"fixed"`` (``S Pi`` from the initial ``Pbar``), ``"oja"`` (``S Pi`` from
    Oja's limit), ``"final"`` (``S Pi`` from the ODE's final ``Pbar``) or ``None``.
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
    rules: tuple | None = None

    def panel_list(self) -> tuple:
        """The panels drawn: Figure 2's six (those in ``panels``), or with ``rules`` two per
        rule (``r = d`` and ``r_low``; one for a rule without feedback factors), each with
        the prediction its rule declares (``Rule.predicts``)."""
        if self.rules is None:
            return tuple(p for p in PANELS if p.key in self.panels)
        out = []
        for name in self.rules:
            rule = get_rule(name)
            pred = {"initial_p": "fixed", "top_r": "oja", "final_p": "final"}.get(rule.predicts)
            ranks = (("d", "r = d"), ("low", "r < d")) if rule.uses_feedback else (("d", ""),)
            for rank, text in ranks:
                key = chr(ord("a") + len(out))
                label = rule.label + (f", {text}" if text else "")
                out.append(Panel(key, rule.name, rank, label, pred))
        return tuple(out)

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
        if self.rules is not None:
            if not self.rules:
                raise ValueError("rules must name at least one registered rule")
            for name in self.rules:
                get_rule(name)
            return self
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
        if d.get("rules") is not None:
            d["rules"] = tuple(d["rules"])
        return cls(**d)

    def to_dict(self) -> dict:
        """A JSON-ready dict (tuples as lists); inverse of :meth:`from_dict`."""
        out = asdict(self)
        out["singular_values"] = (
            None if self.singular_values is None else list(self.singular_values)
        )
        out["panels"] = list(self.panels)
        if self.rules is None:
            del out["rules"]  # Figure 2 itself: the same JSON as before rules= existed
        else:
            out["rules"] = list(self.rules)
        return out


def figure2_data(config: Figure2Config | None = None, *, progress: bool = False,
                 workers: int = 1, scheduler: str | None = None) -> dict:
    """Compute every curve of Figure 2 (theory §4-5, paper Fig. 2).

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
    chosen = cfg.panel_list()
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
    panel = next(p for p in cfg.panel_list() if p.key == key)
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
    if panel.predict == "final":  # S Pi of the P the ODE ends with (theory §6.2)
        pred = predicted_mode_strengths(task, ode.weights(-1).rotate(task).P)
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


def plot_figure2(data: dict, *, ncols: int = 3):
    """Draw Figure 2: mode strengths ``a_i(t)`` per panel (ODE lines, SGD markers).

    Parameters
    ----------
    data : dict
        As returned by :func:`figure2_data` (arrays or lists):
        ``panels`` (each with ``title``, ``times``, ``ode`` (T, d), optional ``sgd_times``,
        ``sgd`` (T', d) and ``prediction`` (d,)), ``task.singular_values`` and ``config``
        (the sizes, stated in the caption line).
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Log time axis; one colour, line style and marker per mode
        (:func:`lintheory.plots.mode_style`); black dashed lines (drawn above the curves)
        are the fixed-point prediction ``a_i = [S Pi]_ii / s_i`` of theory §5 in the
        panels that have one, which the legend names.
    """
    from .plots import caption, mode_handles, panel_range

    panels = data["panels"]
    s = np.asarray(data["task"]["singular_values"], dtype=float)
    d = int(data["task"]["d"])
    nrows = -(-len(panels) // ncols)
    ncols = min(ncols, len(panels))
    legend_rows = 2 if ncols >= 3 else 4  # a narrow figure stacks its legend higher
    with style() as Figure:
        fig = Figure(figsize=(3.6 * ncols, 2.7 * nrows + 0.9 + 0.2 * (legend_rows - 2)))
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        for ax, p in zip(axes.flat, panels):
            mode_panel(ax, p, d)
        label_mode_axes(axes)

        cfg = data.get("config", {})
        sgd_label = "SGD"
        if "batch" in cfg and "lr" in cfg:
            sgd_label = f"SGD (batch {cfg['batch']}, lr {cfg['lr']:g})"
        with_pred = [p["key"] for p in panels if p.get("prediction") is not None]
        ref = None
        if with_pred:
            ref = r"predicted fixed point $S\,\Pi$, panels " + panel_range(with_pred)
        handles = mode_handles(s, d, sgd_label=sgd_label, reference_label=ref)
        fig.legend(handles=handles, loc="lower center",
                   ncol=-(-len(handles) // legend_rows), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
        height = fig.get_figheight()
        caption(fig, _sizes_line(cfg), y=1 - 0.06 / height)
        fig.subplots_adjust(left=0.07 if ncols >= 3 else 0.1, right=0.99,
                            top=1 - 0.6 / height,
                            bottom=(0.8 + 0.2 * legend_rows) / height, hspace=0.32,
                            wspace=0.08)
    return fig


def _sizes_line(cfg: dict) -> str:
    """The caption line: task and network sizes of a Figure 2 config dict."""
    from .plots import sizes_text

    text = sizes_text([("n", cfg.get("n")), ("k", cfg.get("k")), ("m", cfg.get("m")),
                       ("d", cfg.get("d")), ("N", cfg.get("N")),
                       ("r_low", cfg.get("r_low")), ("noise sigma", cfg.get("sigma")),
                       ("init scale", cfg.get("init_scale")), ("seed", cfg.get("seed"))])
    return "Sizes: " + text if text else ""
