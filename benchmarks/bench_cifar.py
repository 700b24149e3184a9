"""Seconds per epoch of the CIFAR-10 MLP (4 x 512 ReLU) for BP and RAF, against torch, in one run.

    python benchmarks/bench_cifar.py [--data-dir ../shared/data/cifar10-jpeg.zip]
                                     [--steps 0] [--repeats 3] [--batchnorm]

One epoch = 45,000 training images (the CIFAR-10 training split less the 5,000-image
validation split) in shuffled mini-batches of 32: forward, softmax cross-entropy, backward,
Adam (AMSGrad) step. One BLAS thread for NumPy (threadpoolctl) and one torch thread. Rows:
the engine's BP, RAF at rank 10 in every layer, RAF unconstrained, and the same MLP in
torch (BP, autograd) when torch is installed ("skipped" otherwise). Printed: the median
epoch time over ``--repeats`` epochs, and each rule's time as a ratio to the engine's BP
and to torch's (issue goals: every rule <= 1.2x the engine's BP; the engine's BP <= torch).

``--steps N`` times only the first N steps of each epoch and scales the time up to the
whole epoch (for a quick look; 0, the default, times whole epochs). Without ``--data-dir``
(or when it is missing) standard-normal data of the same shape is used: the time of a step
does not depend on the values. The JSON goes to ``benchmarks/results/bench_cifar.json``.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from lintheory.io import write_json
from lintheory.nn import build_model, losses, optimisers

N_TRAIN, BATCH, D = 45_000, 32, 3072
ROOT = Path(__file__).resolve().parent


def load(data_dir):
    """(X float32 (45000, 3072), y int64, source description)."""
    if data_dir and Path(data_dir).exists():
        from lintheory.nn.data import load_dataset

        d = load_dataset("cifar10", data_dir=data_dir)
        return d.X_train, d.y_train, f"CIFAR-10 from {data_dir}"
    rng = np.random.default_rng(0)
    return (rng.standard_normal((N_TRAIN, D), dtype=np.float32),
            rng.integers(0, 10, N_TRAIN), "standard-normal data of CIFAR-10's shape")


def numpy_epochs(X, y, *, rule, rank, repeats, steps, batchnorm):
    model = build_model("mlp", (D,), 10, rule=rule, rank=rank, hidden=512, depth=4,
                        rng=np.random.default_rng(0), batchnorm=batchnorm)
    params = model.params()
    opts = [optimisers.Adam(params, lr=1e-3, amsgrad=True)]
    if model.feedback_params():
        opts.append(optimisers.Adam(model.feedback_params(), lr=1e-3, amsgrad=True))
    eye = np.eye(10, dtype=np.float32)
    order = np.random.default_rng(1)
    out = []
    for _ in range(repeats):
        idx = order.permutation(len(y))
        n_steps = math.ceil(len(y) / BATCH)
        todo = n_steps if steps <= 0 else min(steps, n_steps)
        t0 = time.perf_counter()
        for s in range(todo):
            j = idx[s * BATCH:(s + 1) * BATCH]
            _, e = losses.softmax_cross_entropy(model.forward(X[j], train=True), y[j])
            for o in opts:
                o.zero_grad()
            model.backward(e, targets_onehot=eye[y[j]])
            for o in opts:
                o.step()
        out.append((time.perf_counter() - t0) * n_steps / todo)
    return out


def torch_epochs(X, y, *, repeats, steps, batchnorm):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers, d = [], D
    for _ in range(4):
        layers += [nn.Linear(d, 512)] + ([nn.BatchNorm1d(512)] if batchnorm else [])
        layers.append(nn.ReLU())
        d = 512
    model = nn.Sequential(*layers, nn.Linear(d, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, dtype=np.int64))
    lossf = nn.CrossEntropyLoss()
    order = np.random.default_rng(1)
    out = []
    for _ in range(repeats):
        idx = torch.from_numpy(order.permutation(len(y)))
        n_steps = math.ceil(len(y) / BATCH)
        todo = n_steps if steps <= 0 else min(steps, n_steps)
        t0 = time.perf_counter()
        for s in range(todo):
            j = idx[s * BATCH:(s + 1) * BATCH]
            loss = lossf(model(Xt[j]), yt[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        out.append((time.perf_counter() - t0) * n_steps / todo)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(ROOT.parents[1] / "shared" / "data"
                                              / "cifar10-jpeg.zip"),
                    help="CIFAR-10 copy (default: the shared zip beside the repository)")
    ap.add_argument("--steps", type=int, default=0,
                    help="time only the first N steps of each epoch (default 0: all)")
    ap.add_argument("--repeats", type=int, default=3, help="epochs timed per row (default 3)")
    ap.add_argument("--batchnorm", action="store_true",
                    help="BatchNorm1d after each hidden layer (the CIFAR-10 recipe)")
    ap.add_argument("--out", default=str(ROOT / "results" / "bench_cifar.json"))
    args = ap.parse_args(argv)
    X, y, source = load(args.data_dir)
    kw = dict(repeats=args.repeats, steps=args.steps, batchnorm=args.batchnorm)
    rows = {}
    with threadpool_limits(limits=1):
        for name, rule, rank in (("engine BP", "bp", None), ("engine RAF r=10", "raf", 10),
                                 ("engine RAF unconstrained", "raf", None)):
            rows[name] = numpy_epochs(X, y, rule=rule, rank=rank, **kw)
    try:
        import torch

        rows["torch BP"] = torch_epochs(X, y, **kw)
        tv = torch.__version__
    except ImportError:
        tv = None
    med = {k: float(np.median(v)) for k, v in rows.items()}
    bp, tt = med["engine BP"], med.get("torch BP")
    print(f"{source}; {N_TRAIN} images/epoch, batch {BATCH}, 1 thread, batchnorm "
          f"{args.batchnorm}, median of {args.repeats} epochs"
          + (f" (first {args.steps} steps, scaled)" if args.steps > 0 else ""))
    print(f"{'row':26s} {'s/epoch':>9s} {'/ engine BP':>12s} {'/ torch BP':>11s}")
    for k, v in med.items():
        vs_t = f"{v / tt:11.2f}" if tt else "    skipped"
        print(f"{k:26s} {v:9.2f} {v / bp:12.2f} {vs_t}")
    if tt is None:
        print(f"{'torch BP':26s}   skipped (torch is not installed)")
    write_json(args.out, {
        "benchmark": "bench_cifar", "source": source, "batchnorm": args.batchnorm,
        "steps": args.steps, "repeats": args.repeats, "numpy": np.__version__,
        "torch": tv, "python": sys.version.split()[0], "machine": platform.machine(),
        "seconds_per_epoch": rows, "median": med,
        "ratio_to_engine_bp": {k: v / bp for k, v in med.items()},
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
