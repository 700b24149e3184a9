"""Figure 4 of the paper on a CPU: error dimensionality shapes retinal receptive fields.

The paper (Section 5, after Lindsey et al. 2019) keeps every layer of a retina + ventral
stream CNN at full width and constrains only the rank of the feedback into the retina
(RAF); low rank should give centre-surround retinal fields, full rank oriented ones. A
feed-forward bottleneck trained with BP gives centre-surround fields (Lindsey et al.);
the same bottleneck trained with dRAF (the dense layer's error sent straight to the
retina, not through the bottleneck) should give oriented ones.

Conditions (``series``): ``BP`` (wide), ``BP bottleneck``, ``RAF`` with rank r into the
retina (every other layer BP), ``dRAF bottleneck`` (the control). Each run
(:func:`retina_run`, one spec of the sweep machinery, resumable) trains the
:mod:`lintheory.nn.retina` model on grayscale CIFAR-10 and returns the fields of the last
retinal layer (:mod:`lintheory.nn.receptive_fields`) and their indices
(:mod:`lintheory.nn.rf_indices`).

CPU size (Lindsey et al.: 32 channels, 9 x 9 kernels, 32 x 32 images, dense 1024, three
ventral layers, 120 epochs): ``channels=8``, ``kernel=7`` (13 x 13 retinal fields, room
for a surround and for a bar), the central 16 x 16 crop (a quarter of the pixels; the
fields are 13 x 13 so the crop still sees whole fields), two ventral layers, dense 64, a
subset of the training images and a few epochs (quick: 5,000 images x 3 epochs, 15 runs,
7.8 minutes on ONE worker; full: 10,000 x 5 epochs, ranks 1, 2, 4, 8, 21 runs). Two
choices make the fields measurable after so little training: the retinal layers start
at 0.1 x their He weights (``retina_init``: a full-size random kernel is not washed out in
a few epochs and its white noise dominated the fields in a first trial) and have no
bias (``retina_bias``: with a bias, 2 of 6 bottleneck runs died). The fields are the mean
gradient over 256 validation images (``rf_images``); the blank-image gradient of Lindsey
et al. is recorded too, but without retinal biases every first-layer unit is off at a
blank image, so those fields are zero. The README states what this size shows.

``figure4_points(cfg)`` lists the runs, ``collect(points, results_dir)`` the figure's
data, ``plot_figure4(data)`` draws it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

RUN = "lintheory.figure4:retina_run"


@dataclasses.dataclass(frozen=True)
class Figure4Config:
    """Every choice behind the figure (see :data:`PRESETS`)."""

    data_dir: str | None = None
    seeds: tuple = (0, 1, 2)
    channels: int = 8
    kernel: int = 7
    crop: int = 16
    ventral: int = 2
    dense: int = 64
    bottleneck: int = 2
    retina_init: float = 0.1           # the retina's initial weights x 0.1 (nn.retina)
    retina_bias: bool = False          # no retinal biases (a bias can kill the bottleneck)
    ranks: tuple = (1, 2, 4, 8)        # RAF ranks into the retina (8 = channels: full)
    n_train: int = 10000
    n_eval: int = 2000
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-3
    lr_decay: float = 0.9
    q_init_scale: float = 0.0
    rf_images: int = 256               # fields: mean gradient over this many val images

    def __post_init__(self):
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        if not self.ranks or min(self.ranks) < 1 or max(self.ranks) > self.channels:
            raise ValueError(f"ranks must be integers in [1, channels={self.channels}], "
                             f"got {self.ranks}")
        if not 1 <= self.bottleneck <= self.channels:
            raise ValueError(f"bottleneck must be in [1, channels={self.channels}], got "
                             f"{self.bottleneck}")
        if not self.kernel <= self.crop <= 32:
            raise ValueError(f"crop must be in [kernel={self.kernel}, 32], got {self.crop}")


PRESETS = {
    "full": Figure4Config(),
    "quick": Figure4Config(ranks=(1, 8), n_train=5000, n_eval=1000, epochs=3),
}


def run_spec(cfg: Figure4Config, *, series: str, seed: int, rank=None) -> dict:
    """The spec of one run of :func:`retina_run` (every option stored)."""
    spec = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("seeds", "ranks")}
    spec.update(kind="retina", series=series, seed=int(seed), rank=rank)
    return spec


def figure4_points(cfg: Figure4Config) -> list[dict]:
    """Every run: ``{"series", "x", "seed", "spec"}`` (``x`` the rank into the retina)."""
    if not cfg.data_dir:
        raise ValueError("figure4 needs data_dir (--data-dir PATH): your CIFAR-10 copy (a "
                         "folder or .zip; see lintheory.nn.cifar10)")
    pts = []
    full = cfg.channels
    for seed in cfg.seeds:
        for series, x, rank in ([("BP", full, None), ("BP bottleneck", cfg.bottleneck, None)]
                                + [("RAF", r, r) for r in cfg.ranks]
                                + [("dRAF bottleneck", cfg.dense, None)]):
            pts.append({"series": series, "x": x, "seed": seed,
                        "spec": run_spec(cfg, series=series, seed=seed, rank=rank)})
    return pts


# --------------------------------------------------------------------------- one run

_DATA: dict = {}


def _data(data_dir: str, crop: int):
    """Grayscale CIFAR-10 cropped to its central ``crop x crop`` (cached per process).

    The test split is put in a fixed random order (rng seed 0, not the training seed):
    a copy stored by class would otherwise give a one-class ``n_eval`` subset.
    """
    key = (str(data_dir), int(crop))
    if key not in _DATA:
        from .nn.data import load_dataset

        d = load_dataset("cifar10", data_dir=data_dir, grayscale=True, shape="image")
        o = (32 - crop) // 2
        sl = (slice(None), slice(None), slice(o, o + crop), slice(o, o + crop))
        order = np.random.default_rng(0).permutation(len(d.y_test))
        _DATA[key] = tuple(np.ascontiguousarray(a[sl]) if a.ndim == 4 else a for a in (
            d.X_train, d.y_train, d.X_val, d.y_val, d.X_test[order], d.y_test[order]))
    return _DATA[key]


def _model(spec: dict, rng):
    from .nn.retina import build_retina_model

    series = spec["series"]
    kw = dict(channels=spec["channels"], kernel=spec["kernel"], ventral=spec["ventral"],
              dense=spec["dense"], retina_init=spec["retina_init"],
              retina_bias=spec["retina_bias"])
    if "bottleneck" in series:
        kw["bottleneck"] = spec["bottleneck"]
    fb = {"q_init_scale": spec["q_init_scale"]}
    if series.startswith("BP"):
        retina = {}
    elif series == "RAF":
        retina = {"retina_rule": "raf", "retina_rank": spec["rank"]}
    elif series == "dRAF bottleneck":
        retina = {"retina_rule": "draf"}
        fb["source"] = "penultimate"
    else:
        raise ValueError(f"unknown series {series!r}")
    return build_retina_model((1, spec["crop"], spec["crop"]), 10, rule="bp", rng=rng,
                              feedback_kwargs=fb, **retina, **kw)


def train_retina(spec: dict, data, *, progress: bool = False):
    """Train the model of ``spec`` on ``data = (X_tr, y_tr, X_va, y_va, X_te, y_te)``
    (the first ``n_train`` training and ``n_eval`` validation/test images).

    Adam (AMSGrad) on the forward and feedback parameters, coupled weight decay,
    exponential lr decay per epoch; all draws from ``spec["seed"]``. Returns ``(model,
    history)`` with per-epoch ``train_loss``, ``val_acc``, ``test_acc``.
    """
    from threadpoolctl import threadpool_limits

    from .errors import DivergenceError
    from .nn import losses, optim
    from .nn.train import evaluate

    X, y, Xv, yv, Xt, yt = data
    n, m = int(spec["n_train"]), int(spec["n_eval"])
    X, y, Xv, yv, Xt, yt = X[:n], y[:n], Xv[:m], yv[:m], Xt[:m], yt[:m]
    init_rng, shuffle_rng = (np.random.default_rng(s)
                             for s in np.random.SeedSequence(spec["seed"]).spawn(2))
    hist = {"train_loss": [], "val_acc": [], "test_acc": []}
    with threadpool_limits(limits=1):
        model = _model(spec, init_rng)
        opts = [optim.Adam(ps, lr=spec["lr"], weight_decay=spec["weight_decay"], amsgrad=True)
                for ps in (model.params(), model.feedback_params()) if ps]
        decays = [optim.ExponentialDecay(o, spec["lr_decay"]) for o in opts]
        eye = np.eye(10, dtype=model.dtype)
        bs = int(spec["batch_size"])
        epochs = range(int(spec["epochs"]))
        if progress:
            from tqdm.auto import tqdm
            epochs = tqdm(epochs, desc=spec["series"], unit="epoch")
        for epoch in epochs:
            perm, total = shuffle_rng.permutation(len(y)), 0.0
            for i in range(0, len(y), bs):
                idx = perm[i:i + bs]
                loss, e_out = losses.softmax_cross_entropy(model.forward(X[idx], train=True),
                                                           y[idx])
                if not np.isfinite(loss):
                    raise DivergenceError(f"retina run diverged at epoch {epoch + 1} "
                                          f"(lr={opts[0].lr:g}); try a smaller lr",
                                          suggestion=opts[0].lr / 4)
                for o in opts:
                    o.zero_grad()
                model.backward(e_out, targets_onehot=eye[y[idx]])
                for o in opts:
                    o.step()
                total += float(loss) * len(idx)
            for d in decays:
                d.step()
            hist["train_loss"].append(total / len(y))
            hist["val_acc"].append(evaluate(model, Xv, yv)[1])
            hist["test_acc"].append(evaluate(model, Xt, yt)[1])
    return model, hist


def _fields_and_indices(layers, input_shape, x0=None):
    from .nn.receptive_fields import receptive_fields
    from .nn.rf_indices import field_indices

    fields = receptive_fields(layers, input_shape, x0=x0)[:, 0]
    silent = np.array([not np.any(f) for f in fields], bool)
    idx = (field_indices(fields[~silent]) if not silent.all()
           else {"orientedness": [], "isotropy": []})
    return fields, silent.tolist(), idx


def retina_run(spec: dict) -> dict:
    """One run of the figure: train, then the fields of the last retinal layer's channels
    at the centre and their indices. JSON-ready.

    ``fields (C_out, S, S)``: the mean gradient over the first ``rf_images`` validation
    images (defined for every channel); ``blank_fields``: the gradient at a blank image
    (Lindsey et al.'s definition; a channel is ``blank_silent`` (all zero) when every
    first-layer unit it reads is off at zero input). Indices of both (silent fields
    left out).
    """
    from .nn.retina import retina_layers

    data = _data(spec["data_dir"], spec["crop"])
    model, hist = train_retina(spec, data)
    layers = retina_layers(model)
    fields, silent, idx = _fields_and_indices(layers, model.input_shape,
                                              data[2][:int(spec["rf_images"])])
    blank, blank_silent, blank_idx = _fields_and_indices(layers, model.input_shape)
    return {**hist, "final": {"val_acc": hist["val_acc"][-1],
                              "test_acc": hist["test_acc"][-1]},
            "fields": fields.tolist(), "silent": silent, **idx,
            "blank_fields": blank.tolist(), "blank_silent": blank_silent,
            "blank_orientedness": blank_idx["orientedness"],
            "blank_isotropy": blank_idx["isotropy"]}


retina_run.preload = ("lintheory.nn.retina", "lintheory.nn.train", "lintheory.nn.data")


# --------------------------------------------------------------------------- figure data

def _stats(values) -> dict:
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    if a.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(a.mean()), "std": float(a.std()), "n": int(a.size)}


def collect(points, results_dir, *, baseline_n: int = 500) -> dict:
    """The figure's data from the result files.

    ``conditions``: one entry per (series, x) with the indices pooled over channels and
    seeds (``orientedness``, ``isotropy``: mean, std, n), the per-seed means, the final
    validation and test accuracy, and seed 0's fields (or the lowest seed that ran);
    ``baseline``: the indices of white-noise fields of the same size (rng seed 0);
    ``fields``: every run's fields for the NPZ. Missing runs are counted, not plotted.
    """
    from .nn.rf_indices import random_baseline
    from .sweep import load_results

    recs = load_results(results_dir, [p["spec"] for p in points])
    groups, missing, size = {}, 0, None
    for p, rec in zip(points, recs):
        if rec is None:
            missing += 1
            continue
        groups.setdefault((p["series"], p["x"]), []).append((p["seed"], rec["result"]))
    conds, arrays = [], {}
    for (series, x), runs in groups.items():
        runs.sort(key=lambda t: t[0])
        entry = {"series": series, "x": x, "seeds": [s for s, _ in runs]}
        for name in ("orientedness", "isotropy", "blank_orientedness", "blank_isotropy"):
            entry[name] = _stats([v for _, r in runs for v in r[name]])
            entry[f"{name}_seed_means"] = [_stats(r[name])["mean"] for _, r in runs]
        entry["blank_silent"] = int(sum(sum(r["blank_silent"]) for _, r in runs))
        for name in ("val_acc", "test_acc"):
            entry[name] = _stats([r["final"][name] for _, r in runs])
        entry["silent"] = int(sum(sum(r["silent"]) for _, r in runs))
        entry["example_fields"] = runs[0][1]["fields"]
        conds.append(entry)
        for s, r in runs:
            f = np.asarray(r["fields"])
            size = f.shape[-1]
            arrays[f"{series.replace(' ', '_')}_x{x}_seed{s}"] = f
            arrays[f"blank_{series.replace(' ', '_')}_x{x}_seed{s}"] = np.asarray(
                r["blank_fields"])
    order = {"BP": 0, "BP bottleneck": 1, "RAF": 2, "dRAF bottleneck": 3}
    conds.sort(key=lambda c: (order.get(c["series"], 9), c["x"]))
    base = (random_baseline(size, n=baseline_n, rng=np.random.default_rng(0))
            if size else None)
    return {"conditions": conds, "baseline": base, "missing_runs": missing,
            "field_size": size, "fields": arrays}


def _label(c) -> str:
    if c["series"] == "RAF":
        return f"RAF, rank {c['x']} into retina"
    if c["series"] == "BP bottleneck":
        return f"BP, bottleneck {c['x']} ch"
    if c["series"] == "dRAF bottleneck":
        return "dRAF to bottleneck (control)"
    return "BP (wide)"


def plot_figure4(data: dict, *, note: str = ""):
    """Montages of each condition's fields (seed 0) and the two indices against the rank
    into the retina; returns a matplotlib Figure."""
    from .plots import BAND, OKABE_ITO, REFERENCE, series_style, style

    conds = data["conditions"]
    n_cols = max(len(c["example_fields"]) for c in conds)
    with style() as Figure:
        fig = Figure(figsize=(0.8 * n_cols + 8.5, max(5.5, 0.9 * len(conds) + 1.2)))
        _draw_figure4(fig, data, conds, n_cols, note, BAND, OKABE_ITO, REFERENCE,
                      series_style)
    return fig


def _draw_figure4(fig, data, conds, n_cols, note, BAND, OKABE_ITO, REFERENCE, series_style):
    outer = fig.add_gridspec(1, 2, width_ratios=(n_cols + 2.5, 5.5), wspace=0.08,
                             left=0.13, right=0.98, top=0.88, bottom=0.1)
    left = outer[0].subgridspec(len(conds), n_cols, wspace=0.08, hspace=0.25)
    right = outer[1].subgridspec(2, 1, hspace=0.35)
    for row, c in enumerate(conds):
        for j, f in enumerate(c["example_fields"]):
            ax = fig.add_subplot(left[row, j])
            f = np.asarray(f)
            v = np.abs(f).max() or 1.0
            ax.imshow(f, cmap="gray", vmin=-v, vmax=v)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(_label(c), rotation=0, ha="right", va="center", fontsize=7)
    raf = [c for c in conds if c["series"] == "RAF"]
    raf_style = series_style(0)
    styles = {"BP": dict(REFERENCE),
              "BP bottleneck": {"color": OKABE_ITO["orange"], "ls": series_style(1)["ls"],
                                "lw": 1.2},
              "dRAF bottleneck": {"color": OKABE_ITO["reddish purple"],
                                  "ls": series_style(3)["ls"], "lw": 1.2}}
    for k, name in enumerate(("orientedness", "isotropy")):
        ax = fig.add_subplot(right[k])
        if raf:
            ax.errorbar([c["x"] for c in raf], [c[name]["mean"] for c in raf],
                        yerr=[c[name]["std"] for c in raf], marker=raf_style["marker"],
                        color=raf_style["color"], capsize=3, label="RAF (rank into retina)")
            for c in raf:
                ax.plot([c["x"]] * len(c[f"{name}_seed_means"]), c[f"{name}_seed_means"],
                        "x", color=raf_style["color"], ms=4, alpha=0.7)
        for c in conds:
            if c["series"] in styles and c[name]["mean"] is not None:
                ax.axhline(c[name]["mean"], label=_label(c), **styles[c["series"]])
        b = data.get("baseline")
        if b:
            m, s = b[name]["mean"], b[name]["std"]
            ax.axhspan(m - s, m + s, label="white-noise fields", **BAND)
        ax.set_xscale("log", base=2)
        xs = sorted({c["x"] for c in raf}) or [1]
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.minorticks_off()
        if k == 1:
            ax.set_xlabel("feedback rank into the retina")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: mean ± std over channels x seeds (x: seed means)", fontsize=7)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=6, loc="best")
    title = "Retinal receptive fields (seed 0; mean gradient over images) vs error dimensionality"
    fig.suptitle(title + (f"\nSizes: {note}" if note else ""), fontsize=10)


def data_note(cfg: Figure4Config) -> str:
    """One line: what data and size the figure shows."""
    return (f"grayscale CIFAR-10, central {cfg.crop}x{cfg.crop}, {cfg.n_train} images, "
            f"{cfg.epochs} epochs, C={cfg.channels}, {cfg.kernel}x{cfg.kernel} kernels, "
            f"{len(cfg.seeds)} seeds (CPU)")
