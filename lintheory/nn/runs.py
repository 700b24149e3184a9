"""Sweep run functions of the NN engine: one training spec -> one training history.

A spec is ``{"kind": "train"}`` plus every :class:`~lintheory.nn.train.TrainConfig`
option (:func:`train_spec`); :func:`train_run` trains it. In a sweep the run function is
named ``"lintheory.nn.runs:train_run"``; the old name ``"lintheory.sweep:train_run"``
resolves to the same function. :func:`feedback_dims` and :func:`layer_ranks` build the
per-layer ranks of a rank sweep.
"""

from __future__ import annotations

import dataclasses


def train_spec(**options) -> dict:
    """The spec of one training run: ``{"kind": "train"}`` plus every TrainConfig option.

    All options are stored (defaults included), so a later change of a default gives new
    keys instead of silently reusing old results. Invalid options raise ValueError here,
    before any run starts.
    """
    from .train import TrainConfig

    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"unknown training option(s) {unknown}; see lintheory train --help")
    return {"kind": "train", **TrainConfig(**options).to_dict()}


def _config_from_spec(spec: dict):
    from .train import TrainConfig

    return TrainConfig.from_dict({k: v for k, v in spec.items() if k != "kind"})


def feedback_dims(spec: dict) -> list[int]:
    """Largest rank of each feedback layer of a train spec's model (its full, unconstrained rank).

    One entry per feedback layer in forward order (``Model.feedback_layers``): the
    dimension its ``P`` projects from (the layer's output width, the number of classes for
    the output layer, or the source's width for direct rules).
    """
    import numpy as np

    from .data import load_dataset
    from .train import build_from_config

    cfg = _config_from_spec(spec).replace(rank=None)
    data = load_dataset(cfg.dataset, classes=cfg.classes,
                        shape="flat" if cfg.model == "mlp" else "image", seed=cfg.data_seed,
                        val_fraction=cfg.val_fraction, data_dir=cfg.data_dir,
                        grayscale=cfg.grayscale)
    model = build_from_config(cfg, data, np.random.default_rng(0))
    dims = []
    for layer in model.feedback_layers:
        fb = getattr(layer, "feedback", None)
        rank = getattr(fb, "rank", None)
        dims.append(int(rank) if rank is not None else int(layer.Wm.shape[0]))
    return dims


def layer_ranks(dims, rank: int, layer: int | None = None) -> list[int]:
    """Per-layer ranks: ``rank`` in feedback layer ``layer`` (0-based; None: every layer),
    the full dimension elsewhere; never above a layer's dimension.

    >>> layer_ranks([256, 256, 10], 4, layer=1)
    [256, 4, 10]
    >>> layer_ranks([256, 256, 10], 32)
    [32, 32, 10]
    """
    if layer is not None and not 0 <= layer < len(dims):
        raise ValueError(f"layer must be in [0, {len(dims) - 1}] (a feedback layer), got {layer}")
    return [min(int(rank), d) if layer is None or i == layer else int(d)
            for i, d in enumerate(dims)]


def train_run(spec: dict) -> dict:
    """One NN training run for a :func:`train_spec`: :func:`lintheory.nn.train.train`'s history.

    Wall-clock timings are removed from the result (the sweep records each run's seconds
    beside it), so the result depends on the spec alone and is identical on every backend.
    """
    from .train import train

    hist = train(_config_from_spec(spec))
    for name in ("seconds", "seconds_total", "config", "key"):
        hist.pop(name, None)
    return hist


train_run.preload = (
    "lintheory.nn.train", "lintheory.nn.data", "sklearn.model_selection", "sklearn.datasets",
)
