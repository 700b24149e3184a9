"""The paper's computational claim: RAF's input error is cheaper than BP's, in one run.

    python benchmarks/bench_raf_backward.py [--width 2048] [--rank 10] [--batch 128] [--threads 1]

A Linear layer of width ``D`` (``W`` is D x D). Input error: BP computes ``e W``
(``2 B D^2`` FLOPs); RAF computes ``(e P^T) Q^T`` (``4 B D r`` FLOPs). Also timed: RAF's
input error plus its local feedback updates (KP-like ``Delta Q``, Oja ``Delta P`` with the
centred, scaled covariance), which BP does not need. Goal (issue 4): RAF input error at
least 2x faster than BP's at D = 2048, r = 10. Times are medians over repeats.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from lintheory.nn.feedback import make_feedback


def median_time(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--rank", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    D, r, B = args.width, args.rank, args.batch
    rng = np.random.default_rng(0)
    W = (rng.normal(size=(D, D)) / np.sqrt(D)).astype(np.float32)
    h = rng.normal(size=(B, D)).astype(np.float32)
    e = (rng.normal(size=(B, D)) / B).astype(np.float32)
    bp, raf = make_feedback("bp"), make_feedback("raf")
    raf.setup("fc", D, D, r, float(1 / np.sqrt(D)), rng, np.float32)
    rows = [
        ("bp input error  e W", 2 * B * D * D, lambda: bp.input_error(e, W)),
        ("raf input error (e P^T) Q^T", 4 * B * D * r, lambda: raf.input_error(e, W)),
        ("raf input error + Q, P updates", 10 * B * D * r
         + 2 * B * r * r + 2 * r * r * D, lambda: raf.backward(h, e, W, None)),
    ]
    print(f"Linear layer D={D}, rank r={r}, batch B={B}, float32, threads={args.threads}, "
          f"median of {args.repeats}")
    print(f"{'computation':32s} {'MFLOP':>10s} {'time ms':>9s} {'GFLOP/s':>8s} "
          f"{'speed-up vs bp':>15s}")
    with threadpool_limits(limits=args.threads):
        times = [median_time(f, args.repeats) for _, _, f in rows]
    for (name, flops, _), t in zip(rows, times):
        print(f"{name:32s} {flops / 1e6:10.2f} {t * 1e3:9.3f} {flops / t / 1e9:8.2f} "
              f"{times[0] / t:15.1f}x")
    ok = times[0] / times[1] >= 2.0
    print(f"goal (raf input error >= 2x faster than bp): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
