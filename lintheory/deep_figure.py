"""The deep-network figure: mode strength over time for depths 2, 3, 4 and five rules.

:func:`deep_figure_data` runs the experiment (ODE lines and SGD markers per panel) and
returns a JSON-ready dict; :func:`plot_deep` draws it (no pyplot, Agg-safe). Goes beyond
the paper, which does not simulate deep linear networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

COLUMNS = (
    ("bp", "BP", "full"),
    ("raf", "RAF r = d", "d"),
    ("raf", "RAF r < d", "low"),
    ("fa", "FA r < d", "low"),
    ("draf", "dRAF r = d", "d"),
)
"""Panel columns: (rule, title, rank): ``full`` (unused by BP), ``d`` or ``low``."""


@dataclass(frozen=True)
class DeepFigureConfig:
    """Settings of ``lintheory figure-deep``.

    ``lr = 0.001``: RAF at depth 4 has Jacobian eigenvalues of a few hundred (the aligned
    feedback chain amplifies the hidden-layer errors), and SGD at ``lr = 0.01`` diverges;
    at ``lr = 0.002`` dRAF's weakest mode at depth 3 takes off early in SGD (largest
    SGD-ODE gap 0.36; 0.09 at 0.001, 0.03 at 0.0005, batch 20).
    """

    n: int = 20
    m: int = 10
    d: int = 4
    N: int = 1000
    sigma: float = 1.0
    width: int = 40
    depths: tuple = (2, 3, 4)
    low_rank: int = 2
    product_init: float = 1e-3
    lam: float = 0.1
    oja_drive: str = "error"
    T: float = 80.0
    ode_points: int = 121
    sgd_points: int = 12
    lr: float = 0.001
    batch: int = 20
    seed: int = 0


LINEAR_FRACTION = 1 / 400
"""Output times are linear on ``[0, T * LINEAR_FRACTION]`` and geometric above; the plot's
time axis is linear and logarithmic there too."""


def _times(T, count):
    """``0`` and ``count - 1`` geometric times from ``T / 400`` to ``T`` (SGD outputs)."""
    return np.concatenate([[0.0], np.geomspace(T * LINEAR_FRACTION, T, count - 1)])


def _ode_times(T, count, linear=8):
    """The ODE's output times: ``linear`` evenly spaced times on ``[0, T / 400)`` (so the
    plot's linear stretch shows the early rise), then :func:`_times`' geometric ones."""
    return np.concatenate([np.linspace(0.0, T * LINEAR_FRACTION, linear + 1)[:-1],
                           _times(T, count)[1:]])


def deep_figure_data(cfg: DeepFigureConfig = DeepFigureConfig(), *, progress=False,
                     sgd=True, workers: int = 1, scheduler: str | None = None) -> dict:
    """Run every panel: ODE (RK45) and mini-batch SGD from the same initial weights.

    Per depth ``L`` every layer gets init scale ``product_init ** (1/L)``, so the
    end-to-end map starts at the same size ~``product_init`` for every depth (random,
    unrotated, seeded). ``lam`` is the Q decay of KP-like rules (RAF, dRAF). Panels are
    independent and seeded by ``(seed, L, r)``: ``workers`` local processes (or a Dask
    ``scheduler``) give identical numbers (:func:`lintheory.parallel.map_runs`).
    Each panel records ``sgd_ode_gap``: the largest ``|a_i^SGD - a_i^ODE|`` over modes and
    SGD times, with the ODE evaluated at the SGD times. ``oja_drive`` is dRAF's Oja drive.
    """
    from .parallel import map_runs

    task = _deep_task(cfg)
    jobs = [(asdict(cfg), L, c, bool(sgd)) for L in cfg.depths for c in range(len(COLUMNS))]
    panels = map_runs(_deep_panel, jobs, workers=workers, scheduler=scheduler,
                      progress=progress, desc="figure-deep")
    return {"config": asdict(cfg), "task": {"singular_values": task.s[: cfg.d], "d": cfg.d,
                                            "params": task.params()},
            "panels": panels}


def _deep_task(cfg: DeepFigureConfig):
    from .task import make_task

    return make_task(cfg.n, cfg.m, cfg.d, cfg.N, sigma=cfg.sigma, seed=cfg.seed)


def _deep_panel(job) -> dict:
    """One panel from ``(config dict, depth L, column index, sgd)`` (picklable)."""
    from .dynamics import integrate
    from .init import make_init
    from .rules import get_rule
    from .sgd import run_sgd

    cfg_dict, L, col, sgd = job
    cfg = DeepFigureConfig(**{**cfg_dict, "depths": tuple(cfg_dict["depths"])})
    name, title, rk = COLUMNS[col]
    task = _deep_task(cfg)
    t_ode = _ode_times(cfg.T, cfg.ode_points)
    rule = get_rule(name)
    r = {"full": cfg.d, "d": cfg.d, "low": cfg.low_rank}[rk]
    w0 = make_init(task, [cfg.width] * (L - 1), r, scale=cfg.product_init ** (1.0 / L),
                        rng=np.random.default_rng([cfg.seed, L, r]), direct=rule.direct)
    t_sgd = np.unique(np.round(_times(cfg.T, cfg.sgd_points)[1:] / cfg.lr)) * cfg.lr
    t_all = np.unique(np.concatenate([t_ode, t_sgd])) if sgd else t_ode
    ode_all = integrate(task, rule, w0, t_all, lam=cfg.lam, oja_drive=cfg.oja_drive)
    on_ode = np.searchsorted(t_all, t_ode)
    panel = {"title": f"L = {L}: {title}" + (f" ({r})" if rk != "full" else ""),
             "depth": L, "rule": name, "rank": None if rk == "full" else r,
             "times": t_ode, "ode": ode_all.mode_strengths[on_ode],
             "ode_nfev": ode_all.info["nfev"]}
    if sgd:
        run = run_sgd(task, rule, w0, t_sgd, lr=cfg.lr, batch=cfg.batch, lam=cfg.lam,
                           oja_drive=cfg.oja_drive, rng=np.random.default_rng([cfg.seed, L, 7]))
        panel["sgd_times"] = run.times
        panel["sgd"] = run.mode_strengths
        # SGD-ODE gap: the ODE evaluated at the SGD times themselves (no interpolation)
        near = np.abs(t_all[:, None] - run.times[None, :]).argmin(axis=0)
        a_ode = ode_all.mode_strengths[near]
        panel["sgd_ode_gap"] = float(np.max(np.abs(run.mode_strengths - a_ode)))
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in panel.items()}


def plot_deep(data: dict):
    """Grid: one row per depth, one column per rule; ODE lines, SGD markers.

    The time axis is linear from ``t = 0`` to the first positive output time and
    logarithmic above (symlog), so every curve starts at ``t = 0`` with the small initial
    weights (on a plain log axis the deep RAF panels, which learn their first modes
    before ``T / 400``, would look pre-trained). The caption line states the sizes.
    """
    from .plots import caption, label_mode_axes, mode_handles, mode_panel, sizes_text, style

    panels = data["panels"]
    depths = sorted({p["depth"] for p in panels})
    ncols = len(panels) // len(depths)
    s = np.asarray(data["task"]["singular_values"], dtype=float)
    d = int(data["task"]["d"])
    times = np.asarray(panels[0]["times"], dtype=float)
    cfg = data.get("config", {})
    t1 = float(cfg.get("T", times[-1])) * LINEAR_FRACTION
    with style() as Figure:
        fig = Figure(figsize=(3.0 * ncols, 2.4 * len(depths) + 1.1))
        axes = fig.subplots(len(depths), ncols, sharex=True, sharey=True, squeeze=False)
        for ax, p in zip(axes.flat, panels):
            mode_panel(ax, p, d, title_size="medium", linear_below=t1)
        label_mode_axes(axes)
        ticks = [0.0] + [10.0 ** e for e in range(0, 6) if t1 < 10.0 ** e <= times[-1]]
        axes[0, 0].set_xticks(ticks, [f"{v:g}" for v in ticks])  # shared by every panel
        sgd = None
        if any(p.get("sgd") is not None for p in panels):
            sgd = f"SGD (batch {cfg.get('batch')}, lr {cfg.get('lr')})"
        handles = mode_handles(s, d, sgd_label=sgd)
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
        height = fig.get_figheight()
        sizes = sizes_text([("n", cfg.get("n")), ("m", cfg.get("m")), ("d", cfg.get("d")),
                            ("N", cfg.get("N")), ("width", cfg.get("width")),
                            ("low rank", cfg.get("low_rank")),
                            ("end-to-end init", cfg.get("product_init")),
                            ("Q decay", cfg.get("lam")), ("T", cfg.get("T")),
                            ("seed", cfg.get("seed"))])
        caption(fig, f"Sizes: {sizes}. Time axis linear on [0, {t1:g}], logarithmic above.",
                y=1 - 0.06 / height)
        fig.subplots_adjust(left=0.06, right=0.99, top=1 - 0.55 / height,
                            bottom=1.0 / height, hspace=0.35, wspace=0.08)
    return fig
