"""Float32 against float64 in the NumPy engine, for every rule (issue 14, item 6), one run.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_dtype.py [--epochs 8]
        [--seeds 0,1,2] [--out benchmarks/results/bench_dtype.json] [--quick]

Model: the digits MLP of ``lintheory train`` (4 x 256 ReLU, Adam with AMSGrad, lr 1e-3,
batch 32), each rule with the rank given in ``CASES`` (``raf`` at rank 10 as in the
report of issue 14), plus BP at lr 1e-2 (the report's second case). Three measurements:

1. ``one_step``: from identical weights (the float32 values, copied exactly into the
   float64 model) and an identical batch (float32 values), one forward and backward pass
   in each dtype. For every parameter (forward W, b and the rule's Q, P pseudo-gradients)
   the norm-wise relative error ``|g32 - g64| / |g64|`` against the float64 computation,
   and the same for the first Adam step ``Delta value`` (Adam divides by ``sqrt(v) + 1e-8``,
   so an entry whose gradient is near 1e-8 moves by a rounding-sensitive fraction of lr);
   ``grad_rel_max_legacy_loss``: the gradient error with the softmax output error of
   the engine before this benchmark (``1 - exp(log p_y)``, see ``lintheory.nn.losses``).
   Taken at the initial weights and at the weights after training (the float64 run's,
   rounded to float32), where the rules' updates are differences of nearly equal terms
   (Oja near its fixed point, normative ``Q P - W^T`` near 0) and ``p_y`` is near 1.
2. ``train``: ``lintheory.nn.train`` in float32 and in float64 (the user-facing path:
   float32 data and weights are the float64 ones rounded), per-epoch training loss and
   final test accuracy; and a *control*: the float64 run on inputs rounded to float32 (an
   input change of at most 2^-24 relative, everything else in float64). When the control
   differs from the float64 run as much as the float32 run does, the difference is the
   trajectory's sensitivity to any rounding-size change, not a float32 defect.
3. ``lockstep`` (first seed): the float32 and float64 models stepped on the same batches
   from identical weights, and two float64 controls: initial weights multiplied by
   ``1 + 2^-24 z`` (z standard normal, ``float64_perturbed``), and every weight and
   factor multiplied by a fresh ``1 + 2^-24 z`` after every step (``float64_noisy``: a
   rounding-size change per step, as float32 storage makes). Per run: the largest
   relative weight difference from float64 per epoch, the first step at which any ReLU
   mask differs (a pre-activation within rounding of 0 changes sign) and the difference
   just before it.

Writes ``benchmarks/results/bench_dtype.json`` atomically. 13 minutes (792 s) on one BLAS
thread of the shared 2-core machine (``--quick``: 2 epochs, seed 0, about 2 minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from lintheory.io import write_json
from lintheory.nn import losses
from lintheory.nn.data import load_dataset
from lintheory.nn.train import TrainConfig, _batches, _make_optimizer, build_from_config, train

#: (label, rule, rank, extra TrainConfig options). Ranks: 10 for the layered rules (a P
#: of 10 rows at the 256-wide hidden layers; the 10-wide output layer's P is the identity),
#: 5 for the direct rules (their P projects from the 10 outputs, so rank 10 would be the
#: identity and Oja would never run).
CASES = (
    ("bp", "bp", None, {}),
    ("bp_lr1e-2", "bp", None, {"lr": 1e-2}),
    ("fa", "fa", 10, {}),
    ("kp", "kp", 10, {}),
    ("raf", "raf", 10, {}),
    ("oja", "oja", 10, {}),
    ("normative", "normative", 10, {}),
    ("factorised", "factorised", 10, {}),
    ("draf", "draf", 5, {}),
    ("dfa", "dfa", 5, {}),
    ("sign", "sign", None, {}),
    ("mirror", "mirror", None, {}),
)
EPS32 = float(np.finfo(np.float32).eps)     # 2^-23 = 1.19e-7
UNIT_ROUNDOFF32 = EPS32 / 2                 # 2^-24


def make_model(cfg: TrainConfig, data, dtype: str, state=None):
    """The model, optimisers and shuffle stream ``train`` would make for ``cfg`` in
    ``dtype``; ``state`` (a state dict) replaces the initial weights (cast to ``dtype``)."""
    c = cfg.replace(dtype=dtype)
    init_rng, shuffle_rng, dropout_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(c.seed).spawn(3))
    model = build_from_config(c, data, init_rng)
    model.rng = dropout_rng
    if state is not None:
        model.load_state_dict({k: np.asarray(v).astype(dtype) for k, v in state.items()})
    opts = [_make_optimizer(c.optimizer, model.params(), lr=c.lr, momentum=c.momentum,
                            weight_decay=c.weight_decay, amsgrad=c.amsgrad, betas=c.betas)]
    if model.feedback_params():
        opts.append(_make_optimizer(
            c.feedback_optimizer or c.optimizer, model.feedback_params(),
            lr=c.lr if c.feedback_lr is None else c.feedback_lr, momentum=c.momentum,
            weight_decay=(c.weight_decay if c.feedback_weight_decay is None
                          else c.feedback_weight_decay),
            amsgrad=c.amsgrad, betas=c.betas))
    return model, opts, shuffle_rng


def forward_backward(model, xb, yb):
    """One training-mode forward and backward pass; returns the loss."""
    logits = model.forward(xb, train=True)
    loss, e = losses.softmax_cross_entropy(logits, yb)
    model.zero_grad()
    model.backward(e, targets_onehot=np.eye(model.n_classes, dtype=model.dtype)[yb])
    return loss


def legacy_softmax_cross_entropy(logits, y_int):
    """The engine's loss before this benchmark's fix (``e_y = 1 - exp(log p_y)``, which
    cancels in float32 when ``p_y`` is near 1), kept here to show the before/after."""
    B, C = logits.shape
    t = losses.one_hot(y_int, C, logits.dtype)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(t * logp).sum() / B), ((t - np.exp(logp)) / B).astype(logits.dtype)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    nb = float(np.linalg.norm(b))
    d = float(np.linalg.norm(a - b))
    return d / nb if nb > 0 else (0.0 if d == 0 else math.inf)


def one_step(cfg: TrainConfig, data, state32=None) -> dict:
    """Relative errors of one step's gradients and Adam updates, float32 vs float64, from
    identical weights (``state32``, or the initial ones) and the first 32 training rows."""
    m32, o32, _ = make_model(cfg, data, "float32", state32)
    m64, o64, _ = make_model(cfg, data, "float64", m32.state_dict())
    xb = data.X_train[:cfg.batch_size].astype(np.float32)
    yb = data.y_train[:cfg.batch_size]
    l32 = forward_backward(m32, xb, yb)
    l64 = forward_backward(m64, xb.astype(np.float64), yb)
    p32 = {p.name: p for p in m32.params() + m32.feedback_params()}
    p64 = {p.name: p for p in m64.params() + m64.feedback_params()}
    grad = {k: _rel(p32[k].grad, p64[k].grad) for k in p64}
    g64 = {k: p.grad.copy() for k, p in p64.items()}
    # the same pass with the output error of the previous loss (before the fix)
    _, e_old = legacy_softmax_cross_entropy(m32.forward(xb, train=True), yb)
    m32.zero_grad()
    m32.backward(e_old, targets_onehot=np.eye(m32.n_classes, dtype=np.float32)[yb])
    grad_legacy = max(_rel(p32[k].grad, g64[k]) for k in p64)
    forward_backward(m32, xb, yb)                      # restore the current grads
    before32 = {k: p.value.copy() for k, p in p32.items()}
    before64 = {k: p.value.copy() for k, p in p64.items()}
    for o in o32 + o64:
        o.step()
    upd = {k: _rel(p32[k].value - before32[k], p64[k].value - before64[k]) for k in p64}
    fb = [k for k in p64 if ".fb." in k]
    worst = max(grad, key=grad.get)
    return {
        "loss_rel": abs(l32 - l64) / abs(l64),
        "grad_rel_max": grad[worst], "grad_rel_argmax": worst,
        "grad_rel_feedback_max": max((grad[k] for k in fb), default=None),
        "grad_rel_max_legacy_loss": grad_legacy,
        "adam_step_rel_max": max(upd.values()),
        "adam_step_rel_argmax": max(upd, key=upd.get),
        "grad_rel": grad, "adam_step_rel": upd,
    }


def _masks(cache):
    """The ReLU masks (bool arrays) in a model's forward cache, in order."""
    out = []

    def walk(c):
        if isinstance(c, np.ndarray) and c.dtype == bool:
            out.append(c)
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
    walk(cache)
    return out


def _state_rel(ma, mb) -> float:
    a, b = ma._state_arrays(), mb._state_arrays()
    return max(_rel(a[k], b[k]) for k in b)


def lockstep(cfg: TrainConfig, data, epochs: int) -> dict:
    """float32 and a perturbed float64 model against float64, on the same batches."""
    m32, o32, shuffle = make_model(cfg, data, "float32")
    st = m32.state_dict()
    m64, o64, _ = make_model(cfg, data, "float64", st)
    z = np.random.default_rng(12345)
    pert = {k: v.astype(np.float64) * (1 + UNIT_ROUNDOFF32 * z.standard_normal(v.shape))
            for k, v in st.items()}
    mp, op, _ = make_model(cfg, data, "float64", pert)
    mn, on, _ = make_model(cfg, data, "float64", st)
    noisy = list(mn._state_arrays().values())
    X32 = data.X_train.astype(np.float32)
    y = data.y_train
    runs = {"float32": (m32, o32), "float64_perturbed": (mp, op), "float64_noisy": (mn, on)}
    res = {k: {"first_mask_flip_step": None, "rel_before_first_flip": None,
               "rel_per_epoch": []} for k in runs}
    step = 0
    for _ in range(epochs):
        for idx in _batches(len(y), cfg.batch_size, shuffle):
            step += 1
            xb32, yb = X32[idx], y[idx]
            rel_before = {k: _state_rel(m, m64) for k, (m, _) in runs.items()
                          if res[k]["first_mask_flip_step"] is None}
            forward_backward(m64, xb32.astype(np.float64), yb)
            ref_masks = _masks(m64.cache)
            for k, (m, opts) in runs.items():
                forward_backward(m, xb32.astype(m.dtype), yb)
                r = res[k]
                if r["first_mask_flip_step"] is None and any(
                        np.any(a != b) for a, b in zip(_masks(m.cache), ref_masks)):
                    r["first_mask_flip_step"] = step
                    r["rel_before_first_flip"] = rel_before[k]
                for o in opts:
                    o.step()
            for v in noisy:                 # a rounding-size change after every step
                v *= 1 + UNIT_ROUNDOFF32 * z.standard_normal(v.shape)
            for o in o64:
                o.step()
        for k, (m, _) in runs.items():
            res[k]["rel_per_epoch"].append(_state_rel(m, m64))
    res["steps"] = step
    return res


def train_case(cfg: TrainConfig, data64, data32) -> dict:
    """float32, float64 and the float64-on-rounded-inputs control through ``train``."""
    rounded = dataclasses.replace(
        data64, **{f: getattr(data32, f).astype(np.float64)
                   for f in ("X_train", "X_val", "X_test")})
    out = {}
    for name, dt, data in (("float32", "float32", data32), ("float64", "float64", data64),
                           ("control", "float64", rounded)):
        t0 = time.perf_counter()
        hist, model = train(cfg.replace(dtype=dt), data=data, return_model=True)
        out[name] = {"train_loss": hist["train_loss"], "test_acc": hist["test_acc"],
                     "seconds": time.perf_counter() - t0}
        if name == "float64":
            out["trained_state"] = {k: v.astype(np.float32)
                                    for k, v in model.state_dict().items()}
    ref = np.array(out["float64"]["train_loss"])
    for name in ("float32", "control"):
        d = np.abs(np.array(out[name]["train_loss"]) - ref)
        out[name]["loss_absdiff"] = d.tolist()
        out[name]["loss_absdiff_epoch1"] = float(d[0])
        out[name]["loss_absdiff_end"] = float(d[-1])
        out[name]["loss_absdiff_max"] = float(d.max())
        out[name]["test_acc_end"] = out[name]["test_acc"][-1]
    out["float64"]["test_acc_end"] = out["float64"]["test_acc"][-1]
    return out


def _summary_line(label, seeds, per_seed):
    def col(f):
        return max(f(per_seed[s]) for s in seeds)
    return (f"{label:12s} grad {col(lambda r: r['one_step_init']['grad_rel_max']):.1e} "
            f"(trained {col(lambda r: r['one_step_trained']['grad_rel_max']):.1e}, old loss "
            f"{col(lambda r: r['one_step_trained']['grad_rel_max_legacy_loss']):.1e})  "
            f"adam {col(lambda r: r['one_step_init']['adam_step_rel_max']):.1e}  "
            f"|dL| ep1 {col(lambda r: r['train']['float32']['loss_absdiff_epoch1']):.1e} "
            f"end {col(lambda r: r['train']['float32']['loss_absdiff_end']):.1e} "
            f"(control {col(lambda r: r['train']['control']['loss_absdiff_end']):.1e})  acc "
            + " ".join(f"{per_seed[s]['train']['float32']['test_acc_end']:.3f}/"
                       f"{per_seed[s]['train']['float64']['test_acc_end']:.3f}" for s in seeds))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8, help="epochs per run (default 8)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    ap.add_argument("--rules", default=None,
                    help="comma-separated case labels (default: all of CASES)")
    ap.add_argument("--quick", action="store_true", help="2 epochs, seed 0")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results/bench_dtype.json"))
    args = ap.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    cases = [c for c in CASES if args.rules is None or c[0] in args.rules.split(",")]
    data64 = load_dataset("digits", dtype=np.float64)
    data32 = load_dataset("digits", dtype=np.float32)
    t_start = time.perf_counter()
    results = {}
    with threadpool_limits(limits=1):
        for label, rule, rank, extra in cases:
            per_seed = {}
            for seed in seeds:
                cfg = TrainConfig(rule=rule, rank=rank, epochs=epochs, seed=seed, **extra)
                r = {"one_step_init": one_step(cfg, data64)}
                tr = train_case(cfg, data64, data32)
                r["one_step_trained"] = one_step(cfg, data64, tr.pop("trained_state"))
                r["train"] = tr
                if seed == seeds[0]:
                    r["lockstep"] = lockstep(cfg, data64, epochs)
                per_seed[seed] = r
            results[label] = {"rule": rule, "rank": rank, "options": extra,
                              "seeds": {str(s): v for s, v in per_seed.items()}}
            print(_summary_line(label, seeds, per_seed), flush=True)
            ls = per_seed[seeds[0]]["lockstep"]
            print(f"{'':12s} lockstep seed {seeds[0]}: first ReLU flip at step "
                  f"{ls['float32']['first_mask_flip_step']} (float32), "
                  f"{ls['float64_perturbed']['first_mask_flip_step']} (perturbed float64), "
                  f"{ls['float64_noisy']['first_mask_flip_step']} (noisy float64) of "
                  f"{ls['steps']}; rel weight diff end "
                  + " / ".join(f"{ls[k]['rel_per_epoch'][-1]:.1e}" for k in
                               ("float32", "float64_perturbed", "float64_noisy")), flush=True)
    out = {
        "benchmark": "bench_dtype",
        "description": __doc__.split("\n\n")[0],
        "model": "digits MLP 4 x 256 ReLU, Adam (AMSGrad) lr 1e-3 unless stated, batch 32",
        "epochs": epochs, "seeds": seeds, "eps_float32": EPS32,
        "unit_roundoff_float32": UNIT_ROUNDOFF32,
        "cases": results,
        "wall_seconds": time.perf_counter() - t_start,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.processor() or platform.machine()},
    }
    write_json(args.out, out)
    print(f"wrote {args.out} ({out['wall_seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
