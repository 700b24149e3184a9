"""The training loop of the NumPy engine: one :class:`TrainConfig` -> one history dict.

::

    cfg = TrainConfig(model="mlp", rule="raf", rank=10, epochs=30, seed=1)
    hist = train(cfg)                 # per-epoch losses/accuracies + final feedback report
    hist["test_acc"][-1]
    hist, model = train(cfg, return_model=True)   # ... and the trained Model

``train`` is pure apart from the progress bar: every random draw comes from
``np.random.default_rng(seed)`` split into independent streams (weights and feedback
initialisation, mini-batch shuffling, dropout), the data split is fixed, so the same
config gives the same numbers. A non-finite loss stops the run with
:class:`~lintheory.errors.DivergenceError` naming the epoch and step and suggesting a
smaller learning rate.

The config (:mod:`lintheory.nn.config`) is JSON-serialisable and has a stable content
hash, so a sweep can store one result file per config.

Training follows theory §6: forward, softmax cross-entropy, ``e_out = -dL/dlogits``
(``onehot - softmax`` per example, averaged over the batch by the loss), the model's
backward pass sends the error through each layer's feedback (``W^T`` for BP, ``Q P``
for RAF) and fills the gradients of the forward weights and the pseudo-gradients of
``Q`` and ``P``; two optimisers (forward weights, feedback factors) take a step.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import DivergenceError

# the config lives in its own module; re-exported here, where users have always found it
from .config import DTYPES, MODELS, OPTIMIZERS, TrainConfig  # noqa: F401


def _make_optimizer(name, params, *, lr, momentum, weight_decay, amsgrad, betas):
    from . import optim

    if name == "adam":
        return optim.Adam(params, lr=lr, betas=betas, eps=1e-8, weight_decay=weight_decay,
                          amsgrad=amsgrad)
    return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _batches(n, batch_size, rng):
    perm = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield perm[i:i + batch_size]


def evaluate(model, X, y, *, batch_size=512) -> tuple[float, float]:
    """Mean softmax cross-entropy and accuracy of ``model`` on ``(X, y)`` (eval mode).

    Returns ``(nan, nan)`` for an empty set.
    """
    from . import losses

    n = len(y)
    if n == 0:
        return float("nan"), float("nan")
    total_loss, correct = 0.0, 0
    for i in range(0, n, batch_size):
        xb, yb = X[i:i + batch_size], y[i:i + batch_size]
        logits = model.forward(xb, train=False)
        loss, _ = losses.softmax_cross_entropy(logits, yb)
        total_loss += float(loss) * len(yb)
        correct += int(np.sum(np.argmax(logits, axis=1) == yb))
    return total_loss / n, correct / n


def build_from_config(config: TrainConfig, data, rng):
    """The model ``config`` describes, for ``data`` (a :class:`~.data.Dataset`)."""
    from . import build_model

    kwargs = dict(config.model_kwargs)
    if config.hidden is not None:
        kwargs["hidden"] = config.hidden
    if config.depth is not None:
        kwargs["depth"] = config.depth
    rank = list(config.rank) if isinstance(config.rank, tuple) else config.rank
    return build_model(
        config.model, data.input_shape, data.n_classes, rule=config.rule, rank=rank,
        rng=rng, dtype=np.dtype(config.dtype), feedback_kwargs=dict(config.feedback_kwargs),
        **kwargs,
    )


def _jsonable_report(report):
    """Feedback report entries with non-finite floats replaced by None."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, np.ndarray):
            return clean(v.tolist())
        if isinstance(v, (np.floating, float)):
            v = float(v)
            return v if math.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v
    return clean(report)


def train(config: TrainConfig | None = None, *, progress: bool = False, data=None,
          return_model: bool = False):
    """Train the model ``config`` describes and return its history (and the model).

    Parameters
    ----------
    config : TrainConfig (default: ``TrainConfig()``, the digits MLP with BP).
    progress : show a tqdm bar over epochs with the loss and accuracies.
    data : optional pre-loaded :class:`~.data.Dataset` (must match the config's data
        options; used by tests and sweeps to avoid reloading).
    return_model : return ``(history, model)`` instead of the history alone; the model
        is the trained :class:`~.models.Model` (``model.state_dict()``,
        :func:`lintheory.nn.checkpoint.save_model`), evaluated as it was for the last
        entries of the history.

    Returns
    -------
    history, or ``(history, model)`` with ``return_model``. The history is a
    dict with ``config`` (dict), ``key``, ``data`` (sizes), ``epoch`` (1..E), per-epoch
    lists ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, ``test_loss``,
    ``test_acc`` (evaluated after each epoch in eval mode on the whole split -- the
    training split on its first ``train_eval_max`` examples, which the shuffle makes a
    fixed random sample; validation entries are None when ``val_fraction`` is 0),
    ``lr`` per epoch, ``feedback`` (the model's final per-layer feedback report),
    ``seconds`` and ``n_params``.

    Raises
    ------
    DivergenceError
        when the training loss becomes NaN or infinite.

    Notes
    -----
    Training runs with one BLAS thread. These matrices are small: more threads were up to
    6x slower on a busy 2-core machine, and the thread count changes the order of
    floating-point sums, so the same seed would not give the same numbers everywhere.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        hist, model = _train(config, progress=progress, data=data)
    return (hist, model) if return_model else hist


def _train(config, *, progress, data):
    from . import losses
    from .data import load_dataset

    config = TrainConfig() if config is None else config
    if data is None:
        shape = "flat" if config.model == "mlp" else "image"
        data = load_dataset(
            config.dataset, classes=config.classes, shape=shape, seed=config.data_seed,
            val_fraction=config.val_fraction, dtype=np.dtype(config.dtype),
            data_dir=config.data_dir, grayscale=config.grayscale,
        )
    ss = np.random.SeedSequence(config.seed)
    init_rng, shuffle_rng, dropout_rng = (np.random.default_rng(s) for s in ss.spawn(3))

    model = build_from_config(config, data, init_rng)
    model.rng = dropout_rng  # init is done; later draws (dropout) use their own stream
    params = list(model.params())
    fb_params = list(model.feedback_params())
    opt = _make_optimizer(
        config.optimizer, params, lr=config.lr, momentum=config.momentum,
        weight_decay=config.weight_decay, amsgrad=config.amsgrad, betas=config.betas,
    )
    optimizers = [opt]
    fb_opt = None
    if fb_params:
        fb_opt = _make_optimizer(
            config.feedback_optimizer or config.optimizer, fb_params,
            lr=config.lr if config.feedback_lr is None else config.feedback_lr,
            momentum=config.momentum,
            weight_decay=(config.weight_decay if config.feedback_weight_decay is None
                          else config.feedback_weight_decay),
            amsgrad=config.amsgrad, betas=config.betas,
        )
        optimizers.append(fb_opt)
    schedulers = []
    if config.lr_decay != 1.0:
        from . import optim

        schedulers = [optim.ExponentialDecay(o, config.lr_decay) for o in optimizers]

    n_classes = data.n_classes
    eye = np.eye(n_classes, dtype=np.dtype(config.dtype))
    X, y = data.X_train, data.y_train
    hist = {k: [] for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                            "test_loss", "test_acc", "lr", "seconds", "angle_deg")}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, desc=f"{config.model} {config.rule_label}",
                   unit="epoch", leave=True)
    t0 = time.perf_counter()
    step = 0
    steps_per_epoch = math.ceil(len(y) / config.batch_size)
    try:
        for epoch in range(1, config.epochs + 1):
            for idx in _batches(len(y), config.batch_size, shuffle_rng):
                step += 1
                xb, yb = X[idx], y[idx]
                with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                    logits = model.forward(xb, train=True)
                    loss, e_out = losses.softmax_cross_entropy(logits, yb)
                if not np.isfinite(loss) or not np.all(np.isfinite(logits)):
                    raise DivergenceError(
                        f"training diverged: the loss became {float(loss)} at epoch {epoch}, "
                        f"step {step} ({(step - 1) % steps_per_epoch + 1} of {steps_per_epoch} "
                        f"in the epoch) with lr={opt.lr:g}; try a smaller learning rate, "
                        f"e.g. --lr {opt.lr / 4:g}",
                        step=step, suggestion=opt.lr / 4,
                    )
                for o in optimizers:
                    o.zero_grad()
                model.backward(e_out, targets_onehot=eye[yb])
                for o in optimizers:
                    o.step()
            hist["lr"].append(float(opt.lr))
            for s in schedulers:
                s.step()
            n_ev = len(y) if config.train_eval_max is None else config.train_eval_max
            tr = evaluate(model, X[:n_ev], y[:n_ev], batch_size=config.eval_batch_size)
            va = evaluate(model, data.X_val, data.y_val, batch_size=config.eval_batch_size)
            te = evaluate(model, data.X_test, data.y_test, batch_size=config.eval_batch_size)
            bad = [p.name for p in params + fb_params if not np.all(np.isfinite(p.value))]
            if bad:
                raise DivergenceError(
                    f"training diverged: parameters {', '.join(bad[:4])} became non-finite "
                    f"in epoch {epoch} (step {step}) with lr={hist['lr'][-1]:g}; try a smaller "
                    f"learning rate (e.g. --lr {hist['lr'][-1] / 4:g}) or feedback decay",
                    step=step, suggestion=hist["lr"][-1] / 4,
                )
            if not np.isfinite(tr[0]):
                raise DivergenceError(
                    f"training diverged: the training loss is {tr[0]} after epoch {epoch} "
                    f"(step {step}) with lr={hist['lr'][-1]:g}; try a smaller learning rate, "
                    f"e.g. --lr {hist['lr'][-1] / 4:g}",
                    step=step, suggestion=hist["lr"][-1] / 4,
                )
            hist["epoch"].append(epoch)
            for split, (ls, acc) in (("train", tr), ("val", va), ("test", te)):
                hist[f"{split}_loss"].append(None if math.isnan(ls) else float(ls))
                hist[f"{split}_acc"].append(None if math.isnan(acc) else float(acc))
            hist["seconds"].append(time.perf_counter() - t0)
            hist["angle_deg"].append(
                [_finite_or_none(r["angle_deg"]) for r in model.feedback_report()])
            if bar is not None:
                post = {"loss": f"{tr[0]:.3f}", "train": f"{tr[1]:.3f}"}
                if va[1] == va[1]:
                    post["val"] = f"{va[1]:.3f}"
                post["test"] = f"{te[1]:.3f}"
                bar.set_postfix(post)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    feedback = _final_feedback(model, data, config)
    hist_out = {
        "config": config.to_dict(),
        "key": config.key(),
        "data": data.summary(),
        **hist,
        "final": {
            "train_acc": hist["train_acc"][-1],
            "val_acc": hist["val_acc"][-1],
            "test_acc": hist["test_acc"][-1],
            "test_loss": hist["test_loss"][-1],
        },
        "feedback": feedback,
        "seconds_total": time.perf_counter() - t0,
        "n_params": int(sum(p.value.size for p in params)),
        "n_feedback_params": int(sum(p.value.size for p in fb_params)),
    }
    return hist_out, model


def _finite_or_none(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _final_feedback(model, data, config, n_max: int = 1024):
    """The model's per-layer feedback report after training (JSON-ready).

    The errors each layer receives are collected by one forward (eval mode) and backward
    pass over the first ``n_max`` training examples (no parameter is updated), so the
    report includes the overlap of each ``P`` with the top principal directions of the
    errors arriving at its layer.
    """
    from . import losses

    X, y = data.X_train[:n_max], data.y_train[:n_max]
    logits = model.forward(X, train=False)
    _, e_out = losses.softmax_cross_entropy(logits, y)
    eye = np.eye(data.n_classes, dtype=logits.dtype)
    model.backward(e_out * len(y), targets_onehot=eye[y])  # per-example errors
    report = model.feedback_report(errors=model.errors)
    model.zero_grad()
    return _jsonable_report(report)
