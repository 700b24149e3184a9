"""A k x k convolution layer, forward + backward: the engine against torch (CPU), one run.

    python benchmarks/bench_conv.py [--threads 1] [--repeats 5] [--out PATH.json]

Layer: ``Conv2d(C, C, k, padding k // 2)`` on ``(64, C, 32, 32)`` inputs (the retina
model's ventral layers on 32 x 32 grayscale CIFAR-10), k = 5, 7, 9, C = 16, 32. One step =
forward, then backward of a fixed output error (the input error and the weight and bias
gradients; the engine's layer with BP feedback). Both engines run with the same thread
count (threadpoolctl / ``torch.set_num_threads``); the median of ``--repeats`` steps after
one warm-up step is printed with the ratio engine / torch (issue 11's goal: <= 1.5 at
k = 9). Without torch the torch column prints "skipped".

Memory: the peak of NumPy's allocations (tracemalloc) during one step of each layer, and
during one training step (forward + backward) of the full-size retina model of Lindsey et
al. (32 channels, 9 x 9, 32 x 32, three ventral layers, dense 1024) at batch 32 and 64;
issue 11's goal: under 1 GB.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from lintheory.nn import losses
from lintheory.nn.base import BackwardContext, ForwardContext
from lintheory.nn.conv import Conv2d
from lintheory.nn.feedback import make_feedback
from lintheory.nn.retina import build_retina_model

KERNELS = (5, 7, 9)
CHANNELS = (16, 32)
BATCH, SIZE = 64, 32


def engine_layer(C, k):
    layer = Conv2d(C, C, k, padding=k // 2, rng=np.random.default_rng(0))
    layer.feedback = make_feedback("bp")
    return layer


def engine_step(layer, x, e):
    y, cache = layer.forward(x, ForwardContext(True))
    ctx = BackwardContext(np.zeros((x.shape[0], 1), x.dtype))
    return layer.backward(e, cache, ctx)


def torch_step(conv, x, e):
    x = x.detach().requires_grad_(True)
    conv.zero_grad(set_to_none=True)
    y = conv(x)
    y.backward(e)
    return x.grad


def timed(fn, repeats):
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def peak_mb(fn) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


def full_model_peak(batch) -> float:
    """Peak MB of one forward + backward of the full-size retina model (BP)."""
    rng = np.random.default_rng(0)
    model = build_retina_model((1, 32, 32), 10, channels=32, kernel=9, ventral=3,
                               dense=1024, rng=rng)
    X = rng.normal(size=(batch, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        _, e = losses.softmax_cross_entropy(model.forward(X, train=True), y)
        model.backward(e)

    step()
    return peak_mb(step)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "bench_conv.json"))
    args = ap.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rows = []
    rng = np.random.default_rng(1)
    print(f"{'k':>2} {'C':>3}  {'engine s':>9}  {'torch s':>9}  {'ratio':>6}  {'peak MB':>8}")
    with threadpool_limits(limits=args.threads):
        for k in KERNELS:
            for C in CHANNELS:
                x = rng.normal(size=(BATCH, C, SIZE, SIZE)).astype(np.float32)
                e = rng.normal(size=(BATCH, C, SIZE, SIZE)).astype(np.float32)
                layer = engine_layer(C, k)
                step = functools.partial(engine_step, layer, x, e)
                t_eng = timed(step, args.repeats)
                mem = peak_mb(step)
                t_torch = None
                if torch is not None:
                    conv = torch.nn.Conv2d(C, C, k, padding=k // 2)
                    xt, et = torch.from_numpy(x), torch.from_numpy(e)
                    t_torch = timed(functools.partial(torch_step, conv, xt, et), args.repeats)
                ratio = None if t_torch is None else t_eng / t_torch
                rows.append({"kernel": k, "channels": C, "engine_s": t_eng,
                             "torch_s": t_torch, "ratio": ratio, "peak_mb": mem})
                ts = "skipped" if t_torch is None else f"{t_torch:9.4f}"
                rs = "-" if ratio is None else f"{ratio:6.2f}"
                print(f"{k:>2} {C:>3}  {t_eng:9.4f}  {ts:>9}  {rs:>6}  {mem:8.1f}", flush=True)
        full = {b: full_model_peak(b) for b in (32, 64)}
    for b, mb in full.items():
        print(f"full-size retina model (32 ch, 9x9, 32x32, dense 1024), batch {b}: "
              f"peak {mb:.0f} MB of NumPy allocations per training step")
    out = {"benchmark": "bench_conv", "threads": args.threads, "repeats": args.repeats,
           "batch": BATCH, "size": SIZE, "numpy": np.__version__,
           "torch": None if torch is None else torch.__version__,
           "python": platform.python_version(), "machine": platform.machine(),
           "layers": rows, "full_model_peak_mb": {str(b): v for b, v in full.items()}}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=1)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
