"""Figure 3 of the paper on a CPU: test accuracy against feedback rank.

This reproduces the *qualitative* content of the paper's Fig. 3 with the NumPy engine on
scikit-learn's 8x8 digits (default) or MNIST-1D -- small data sets that ship with the
installed packages, trained on a CPU -- NOT on CIFAR-10/100 as in the paper.

Panels (RAF = restricted adaptive feedback, rank r = dimension of the error channel):

(a) MLP, one feedback layer constrained to rank r at a time (the others at full rank);
(b) MLP, every layer constrained to rank r, against a narrower BP network whose hidden
    width is r (the same bottleneck in the forward pass instead of the feedback);
(c) class subsets (the first c classes): the rank needed to match BP grows with c;
(d) dRAF (direct feedback from the output error) against RAF and BP;
(e) CNN with ranks at fractions of each block's width (the output layer at full rank);
(f) ViT with every weight matrix's feedback at rank r.

Every point is the mean and standard deviation over seeds of the final-epoch test
accuracy (no choice is made on the test set); BP is the dashed line with its band. Each
run is one spec of :func:`lintheory.nn.runs.train_spec`, run by :func:`lintheory.sweep.run_sweep`,
so the figure's sweep resumes after an interruption and can run on a Dask cluster.

``figure3_points(config)`` lists the runs, ``collect(points, results_dir)`` turns result
files into panel data, ``plot_figure3(data)`` draws it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .nn.runs import feedback_dims, layer_ranks, train_spec

PANELS = "abcdef"
TITLES = {
    "a": "(a) MLP: one layer constrained",
    "b": "(b) MLP: all layers constrained",
    "c": "(c) class subsets",
    "d": "(d) dRAF (direct feedback)",
    "e": "(e) CNN: rank = fraction of width",
    "f": "(f) ViT: all weights constrained",
}
DATA_NOTE = {
    "digits": "scikit-learn 8x8 digits (1,797 images) on CPU, not CIFAR",
    "mnist1d": "MNIST-1D (5,000 sequences) on CPU, not CIFAR",
    "cifar10": "CIFAR-10, {depth} x {hidden} MLP with BatchNorm, {epochs} epochs on CPU "
               "(the paper: 160 on GPU)",
}


@dataclasses.dataclass(frozen=True)
class Figure3Config:
    """Every choice behind the figure (see :data:`PRESETS` for ``quick`` and ``full``)."""

    dataset: str = "digits"
    data_dir: str | None = None          # cifar10: the user's copy (see nn.cifar10)
    seeds: tuple = (0, 1, 2)
    epochs: int = 30
    lr: float = 3e-3
    feedback_lr: float = 1e-2
    batch_size: int = 32
    # MLP (panels a-d)
    hidden: int = 128
    depth: int = 3
    ranks: tuple = (1, 2, 4, 8, 16, 32)
    layer_ranks: tuple | None = None     # panel a's ranks (None: ``ranks``)
    batchnorm: bool = False              # BatchNorm1d after each hidden MLP layer
    classes: tuple = (2, 5, 10)
    class_ranks: tuple = (1, 2, 4, 8, 16)
    draf_ranks: tuple = (1, 2, 4, 10)
    # CNN and ViT (panels e, f): the recipe found on the validation split (README): the
    # same weight decay on the forward weights and on Q (Kolen-Pollack alignment, theory §5),
    # Q started small, exponential lr decay, one learning rate for weights and feedback.
    net_weight_decay: float = 1e-3
    net_lr_decay: float = 0.97
    # CNN (panel e)
    cnn_channels: tuple = (32, 32, 64)  # the engine's default CNN, where the recipe was chosen
    cnn_hidden: int = 128
    cnn_fractions: tuple = (0.125, 0.25, 0.5, 1.0)
    cnn_epochs: int = 30
    cnn_lr: float = 1e-3
    cnn_q_init_scale: float = 0.0
    # ViT (panel f)
    vit_dim: int = 32
    vit_depth: int = 1
    vit_heads: int = 4
    vit_ranks: tuple = (1, 2, 4, 10, 32)
    vit_epochs: int = 50
    vit_q_init_scale: float = 0.3
    panels: str = PANELS

    def __post_init__(self):
        bad = set(self.panels) - set(PANELS)
        if bad or not self.panels:
            raise ValueError(f"panels must be letters from {PANELS!r}, got {self.panels!r}")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        if self.dataset != "cifar10" and self.data_dir is not None:
            raise ValueError(f"data_dir is an option of dataset 'cifar10' only, not of "
                             f"{self.dataset!r}")
        optional = () if self.layer_ranks is None else ("layer_ranks",)
        for name in ("ranks", "class_ranks", "draf_ranks", "vit_ranks", *optional):
            if not getattr(self, name) or min(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be integers >= 1, got {getattr(self, name)}")
        if not all(0 < f <= 1 for f in self.cnn_fractions):
            raise ValueError(f"cnn_fractions must be in (0, 1], got {self.cnn_fractions}")


PRESETS = {
    "full": Figure3Config(),
    "quick": Figure3Config(
        seeds=(0, 1), epochs=12, ranks=(1, 2, 4, 16), classes=(2, 10),
        class_ranks=(1, 2, 4, 8), draf_ranks=(1, 2, 10), cnn_fractions=(0.125, 0.25, 1.0),
        cnn_epochs=8, vit_ranks=(1, 4, 10), vit_epochs=10,
    ),
}


#: CIFAR-10 (``lintheory figure3 --dataset cifar10 --data-dir PATH``): the 4 x 512 MLP
#: with the recipe chosen on the validation split (BatchNorm, Adam lr 1e-3, batch 32;
#: nn.recipes), panels a-d: 84 runs, 82.6 minutes with 2 workers on 2 cores (README);
#: ``quick``: 20 runs, 7.0 minutes. The CNN panel (e) does not fit (7-10 min an epoch).
_CIFAR_FULL = Figure3Config(
    dataset="cifar10", seeds=(0, 1, 2), epochs=4, lr=1e-3, feedback_lr=None,
    hidden=512, depth=4, batchnorm=True, ranks=(1, 2, 4, 10, 32), layer_ranks=(1,),
    classes=(2, 5, 10), class_ranks=(1, 2, 5, 10), draf_ranks=(1, 10), panels="abcd",
)
CIFAR_PRESETS = {
    "full": _CIFAR_FULL,
    "quick": dataclasses.replace(
        _CIFAR_FULL, seeds=(0, 1), epochs=1, ranks=(1, 10), classes=(2, 10),
        class_ranks=(1, 2), draf_ranks=(1,), panels="abd",
    ),
}


def presets(dataset: str) -> dict:
    """The ``full`` and ``quick`` configs for ``dataset`` (CIFAR-10's need ``data_dir``:
    ``dataclasses.replace(presets("cifar10")["full"], data_dir=PATH)``)."""
    return CIFAR_PRESETS if dataset == "cifar10" else {
        k: dataclasses.replace(v, dataset=dataset) for k, v in PRESETS.items()}


def data_note(cfg: Figure3Config) -> str:
    """The figure's one-line statement of what data and training it shows."""
    return DATA_NOTE[cfg.dataset].format(epochs=cfg.epochs, depth=cfg.depth, hidden=cfg.hidden)


def _common(cfg: Figure3Config) -> dict:
    out = dict(dataset=cfg.dataset, lr=cfg.lr, feedback_lr=cfg.feedback_lr,
               batch_size=cfg.batch_size)
    if cfg.data_dir is not None:
        out["data_dir"] = cfg.data_dir
    return out


def _mlp(cfg, **kw) -> dict:
    out = dict(_common(cfg), model="mlp", hidden=cfg.hidden, depth=cfg.depth,
               epochs=cfg.epochs, **kw)
    if cfg.batchnorm:
        out["model_kwargs"] = {"batchnorm": True}
    return out


def _net_recipe(cfg, q_init_scale, kw) -> dict:
    """Options shared by the CNN and ViT runs; ``q_init_scale`` only where Q exists."""
    out = dict(_common(cfg), feedback_lr=None, weight_decay=cfg.net_weight_decay,
               lr_decay=cfg.net_lr_decay)
    if kw.get("rule", "bp") != "bp":
        out["feedback_kwargs"] = {"q_init_scale": q_init_scale}
    return out


def _cnn(cfg, **kw) -> dict:
    return dict(_net_recipe(cfg, cfg.cnn_q_init_scale, kw), model="cnn", lr=cfg.cnn_lr,
                hidden=cfg.cnn_hidden, epochs=cfg.cnn_epochs,
                model_kwargs={"channels": list(cfg.cnn_channels)}, **kw)


def _vit(cfg, **kw) -> dict:
    return dict(_net_recipe(cfg, cfg.vit_q_init_scale, kw), model="vit", hidden=cfg.vit_dim,
                depth=cfg.vit_depth, epochs=cfg.vit_epochs,
                model_kwargs={"heads": cfg.vit_heads}, **kw)


def figure3_points(cfg: Figure3Config) -> list[dict]:
    """Every run of the figure: ``{"panel", "series", "x", "seed", "spec"}`` (specs repeat
    across panels where runs are shared, e.g. BP; the sweep runs each once)."""
    if cfg.dataset == "cifar10" and not cfg.data_dir:
        raise ValueError("dataset 'cifar10' needs data_dir (--data-dir PATH): a folder "
                         "holding cifar-10-batches-py/, cifar-10-batches-bin/, train/ + test/ "
                         "image folders, or a .zip of them")
    pts = []

    def add(panel, series, x, options):
        for seed in cfg.seeds:
            pts.append({"panel": panel, "series": series, "x": x, "seed": seed,
                        "spec": train_spec(**options, seed=seed)})

    if set(cfg.panels) & set("abd"):
        bp = _mlp(cfg, rule="bp")
        dims = feedback_dims(train_spec(**_mlp(cfg, rule="raf")))
    if "a" in cfg.panels:
        add("a", "BP", None, bp)
        for layer, dim in enumerate(dims):
            name = f"layer {layer + 1} of {len(dims)}" + (" (output)" if layer == len(dims) - 1
                                                          else f" ({dim} units)")
            for r in sorted({min(r, dim) for r in cfg.layer_ranks or cfg.ranks}):
                add("a", name, r, _mlp(cfg, rule="raf", rank=layer_ranks(dims, r, layer)))
    if "b" in cfg.panels:
        add("b", "BP", None, bp)
        for r in cfg.ranks:
            add("b", f"RAF, rank r in all layers (width {cfg.hidden})", r,
                _mlp(cfg, rule="raf", rank=layer_ranks(dims, r)))
            add("b", "BP, narrow network (width r)", r, dict(bp, hidden=r))
    if "c" in cfg.panels:
        for c in cfg.classes:
            cls = None if c >= 10 else c
            add("c", f"BP {c} classes", None, _mlp(cfg, rule="bp", classes=cls))
            cdims = feedback_dims(train_spec(**_mlp(cfg, rule="raf", classes=cls)))
            for r in sorted({min(r, max(cdims)) for r in cfg.class_ranks}):
                add("c", f"{c} classes", r,
                    _mlp(cfg, rule="raf", classes=cls, rank=layer_ranks(cdims, r)))
    if "d" in cfg.panels:
        add("d", "BP", None, bp)
        ddims = feedback_dims(train_spec(**_mlp(cfg, rule="draf")))
        for r in cfg.draf_ranks:
            add("d", "dRAF", min(r, min(ddims)), _mlp(cfg, rule="draf",
                                                      rank=layer_ranks(ddims, r)))
            add("d", "RAF", r, _mlp(cfg, rule="raf", rank=layer_ranks(dims, r)))
    if "e" in cfg.panels:
        add("e", "BP", None, _cnn(cfg, rule="bp"))
        edims = feedback_dims(train_spec(**_cnn(cfg, rule="raf")))
        for f in cfg.cnn_fractions:
            ranks = [max(1, round(f * d)) for d in edims[:-1]] + [edims[-1]]
            add("e", "RAF", f, _cnn(cfg, rule="raf", rank=ranks))
    if "f" in cfg.panels:
        add("f", "BP", None, _vit(cfg, rule="bp"))
        vdims = feedback_dims(train_spec(**_vit(cfg, rule="raf")))
        for r in cfg.vit_ranks:
            add("f", "RAF", r, _vit(cfg, rule="raf", rank=layer_ranks(vdims, r)))
    return pts


def _stats(values) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std()), "n": int(a.size),
            "values": a.tolist()}


def collect(points, results_dir, *, metric: str = "test_acc") -> dict:
    """Panel data from the result files: ``{panel: {"bp": stats, "series": {name: [{x,
    mean, std, n, values}]}}}`` with the final-epoch ``metric`` of each run.

    Runs without a result (failed or not yet run) are left out and counted in
    ``missing``; a point with no finished seed is dropped, so nothing is NaN.
    """
    from .sweep import load_results

    recs = load_results(results_dir, [p["spec"] for p in points])
    groups, missing = {}, 0
    for p, rec in zip(points, recs):
        if rec is None:
            missing += 1
            continue
        value = rec["result"]["final"][metric]
        if value is None or not math.isfinite(value):
            missing += 1
            continue
        groups.setdefault((p["panel"], p["series"], p["x"]), []).append(value)
    panels = {}
    for (panel, series, x), vals in groups.items():
        d = panels.setdefault(panel, {"title": TITLES[panel], "bp": {}, "series": {}})
        if x is None:
            d["bp"][series] = _stats(vals)
        else:
            d["series"].setdefault(series, []).append({"x": x, **_stats(vals)})
    for d in panels.values():
        for pts in d["series"].values():
            pts.sort(key=lambda q: q["x"])
    if "c" in panels:
        panels["c"]["minimal_rank"] = minimal_ranks(panels["c"])
    return {"metric": metric, "panels": panels, "missing_runs": missing}


def minimal_ranks(panel_c: dict, tolerance: float = 0.02) -> dict:
    """For each class count, the smallest rank whose mean accuracy is within ``tolerance``
    of BP's on the same classes (None if no rank gets there)."""
    out = {}
    for series, pts in panel_c["series"].items():
        c = series.split()[0]
        bp = panel_c["bp"].get(f"BP {c} classes")
        if bp is None:
            continue
        ok = [q["x"] for q in pts if q["mean"] >= bp["mean"] - tolerance]
        out[c] = min(ok) if ok else None
    return out


MIN_SPAN = 20.0
"""Every panel's accuracy axis spans at least this many percentage points, so a gap of a
point or two never fills a panel (the panels' ranges are comparable)."""


def _sizes_line(cfg: dict, panels) -> str:
    """The caption's sizes: the MLP (panels a-d), the CNN (e), the ViT (f), the seeds."""
    if not cfg:
        return ""
    parts = []
    if set(panels) & set("abcd"):
        parts.append(f"MLP {cfg.get('depth')} x {cfg.get('hidden')}"
                     + (" + BatchNorm" if cfg.get("batchnorm") else "")
                     + f", {cfg.get('epochs')} epochs, batch {cfg.get('batch_size')}")
    if "e" in panels:
        ch = ",".join(str(c) for c in cfg.get("cnn_channels", ()))
        parts.append(f"CNN channels {ch}, dense {cfg.get('cnn_hidden')}, "
                     f"{cfg.get('cnn_epochs')} epochs")
    if "f" in panels:
        parts.append(f"ViT dim {cfg.get('vit_dim')}, depth {cfg.get('vit_depth')}, "
                     f"{cfg.get('vit_heads')} heads, {cfg.get('vit_epochs')} epochs")
    seeds = cfg.get("seeds")
    if seeds:
        parts.append(f"{len(seeds)} seeds")
    return "Sizes: " + "; ".join(parts)


def _ylim(ax, values) -> None:
    """Accuracy axis (in %): the data with a margin, at least :data:`MIN_SPAN` wide."""
    lo, hi = float(np.min(values)), float(np.max(values))
    top = min(100.0, hi + 0.08 * max(hi - lo, MIN_SPAN))
    bottom = min(lo - 0.05 * max(hi - lo, MIN_SPAN), top - MIN_SPAN)
    ax.set_ylim(max(0.0, bottom), top)


def plot_figure3(data: dict, *, note: str = ""):
    """Draw the panels of :func:`collect`'s data (or of the command's JSON, whose
    ``config`` gives the sizes of the caption); returns a matplotlib Figure.

    Accuracy is drawn in % (as in the README); every panel's axis spans at least
    :data:`MIN_SPAN` points. Points: mean +- std over seeds (error bars), one
    :func:`lintheory.plots.series_style` per series; BP is the black dashed line with a
    grey band (mean +- std); in (c) each class count has its own BP line (thin, dashed,
    its series' colour and open marker) and a ring marks the smallest rank within 2
    points of that BP.
    """
    from matplotlib.lines import Line2D

    from .plots import BAND, REFERENCE, caption, series_style, style

    panels = [p for p in PANELS if p in data["panels"]]
    ncols = min(3, len(panels)) or 1
    nrows = max(1, math.ceil(len(panels) / ncols))
    with style() as Figure:
        fig = Figure(figsize=(4.6 * ncols, 3.6 * nrows + 1.0))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.ravel()[len(panels):]:
            ax.axis("off")
        for ax, key in zip(axes.ravel(), panels):
            _panel3(ax, key, data["panels"][key], Line2D, BAND, REFERENCE, series_style)
        title = "Accuracy against feedback rank (RAF)"
        if note:
            title += f" -- {note}"
        n_seeds = len(data.get("config", {}).get("seeds", ())) or "the"
        explain = (f"Points: mean ± std over {n_seeds} seeds of the final-epoch test "
                   "accuracy. Black dashed line and grey band: BP, mean ± std. (c): BP on "
                   "the same classes (thin dashed, open markers); ring: the smallest rank "
                   f"within 2 points of that BP. Each y-axis spans at least {MIN_SPAN:g} "
                   "points.")
        lines = [title, _sizes_line(data.get("config", {}), panels), explain]
        height = fig.get_figheight()
        caption(fig, "\n".join(x for x in lines if x), y=1 - 0.05 / height, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.8 / height))
    return fig


def _panel3(ax, key, d, Line2D, BAND, REFERENCE, series_style) -> None:
    shown = []
    styles = {}
    for i, (name, pts) in enumerate(d["series"].items()):
        st = series_style(i)
        styles[name.split()[0]] = st
        y = [100 * q["mean"] for q in pts]
        ax.errorbar([q["x"] for q in pts], y, yerr=[100 * q["std"] for q in pts],
                    marker=st["marker"], ls=st["ls"], ms=4, capsize=3, color=st["color"],
                    label=name)
        shown += [100 * (q["mean"] + sgn * q["std"]) for q in pts for sgn in (-1, 1)]
    xs = sorted({q["x"] for pts in d["series"].values() for q in pts}) or [1]
    for name, s in d["bp"].items():
        m, sd = 100 * s["mean"], 100 * s["std"]
        shown += [m - sd, m + sd]
        if key == "c":
            st = styles.get(name.split()[1])
            if st is None:
                continue
            ax.plot(xs, [m] * len(xs), color=st["color"], ls=REFERENCE["ls"], lw=1.0,
                    marker=st["marker"], mfc="none", ms=4, zorder=4)
            ax.axhspan(m - sd, m + sd, color=st["color"], alpha=0.12, lw=0)
        else:
            ax.axhline(m, label=name, **REFERENCE)
            ax.axhspan(m - sd, m + sd, **BAND)
    if key == "c":
        ax.plot([], [], color="k", ls=REFERENCE["ls"], lw=1.0, marker="o", mfc="none", ms=4,
                label="BP (same classes)")
        series = list(d["series"].items())
        for c, r in d.get("minimal_rank", {}).items():
            hit = [(i, q) for i, (name, pts) in enumerate(series) if name.split()[0] == c
                   for q in pts if q["x"] == r]
            for i, q in hit:
                st = series_style(i)
                ax.plot([r], [100 * q["mean"]], ls="none", marker=st["marker"], ms=12,
                        mfc="none", mew=1.0, color=st["color"], zorder=5)
        ax.plot([], [], ls="none", marker="o", ms=9, mfc="none", color="k",
                label="smallest rank within 2 points")
    ax.set_xscale("log", base=2)
    if key == "e":
        ax.set_xlabel("feedback rank / layer width")
        ax.set_xticks(xs, [f"1/{round(1 / v)}" if v < 1 else "1" for v in xs])
    else:
        ax.set_xlabel("feedback rank r")
        ax.set_xticks(xs, [str(v) for v in xs])
    ax.minorticks_off()
    if shown:
        _ylim(ax, shown)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(d["title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
