"""Throughput of RAF SGD at depth 2: fused kernels vs the general kernel vs NumPy vs torch.

The driver (:func:`lintheory.sgd.run_sgd`) runs the fused two-layer kernels at depth 2 and
the general kernel (:mod:`lintheory.batch`, every rule and depth) otherwise; this benchmark
measures both on the same samples (online and mini-batch 50), which is why the fused ones
are kept.

    python benchmarks/bench_sgd.py [--quick]

Same data, initial weights and sample order for every implementation, at two sizes
(n, k, m, r) = (20, 40, 10, 3) and (100, 200, 50, 5), on ONE core (numba and BLAS limited
to one thread). Prints a table and the speed ratios, and saves the numbers to
``benchmarks/results/bench_sgd.json``.

Flop count per sample (RAF, lam = wd = 0), multiply-add = 2 flops:
    h = W1 x 2kn, yhat = W2 h 2mk, e m, Pe 2rm, Q(Pe) 2kr,
    dW2 = e h^T 2mk, dW1 = a x^T 2kn, dQ = h (Pe)^T 2kr,
    dP = (Py)(y - P^T P y)^T: Py 2rm, P^T(Py) 2rm, update 2rm
    total = 4kn + 4mk + 4kr + 8rm + m

The first-call compile time is measured in a subprocess with NUMBA_CACHE_DIR pointing at a
fresh temporary folder (cold), then again with the same folder (warm: loading the cache).

Rates (samples/s, GFLOP/s) are computed from process CPU time, so that other jobs on a
shared machine do not distort them; the wall-clock rate is printed alongside.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from lintheory import RULES, kernels, make_init, make_task  # noqa: E402
from lintheory.io import write_json  # noqa: E402
from lintheory.sgd import _General, run_sgd  # noqa: E402

SIZES = [(20, 40, 10, 3), (100, 200, 50, 5)]
OUT = Path(__file__).resolve().parent / "results" / "bench_sgd.json"
LR = 1e-3
RAF = (False, True, True)  # transport, learns_Q, learns_P


def flops_per_sample(n, k, m, r) -> int:
    return 4 * k * n + 4 * m * k + 4 * k * r + 8 * r * m + m


def torch_loop():
    """Return a per-sample torch loop with the reference's signature, or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)

    def online_steps(W1, W2, Q, P, X, Y, idx, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
        t = [torch.from_numpy(a) for a in (W1, W2, Q, P, X, Y)]  # shares memory: in place
        W1t, W2t, Qt, Pt, Xt, Yt = t
        with torch.no_grad():
            for i in idx.tolist():
                x, y = Xt[i], Yt[i]
                h = W1t @ x
                e = y - W2t @ h
                pe = Pt @ e
                a = W2t.T @ e if transport else Qt @ pe
                if learns_P:
                    py = Pt @ y
                    z = y - Pt.T @ py
                W2t.mul_(1 - eta * wd).addr_(e, h, alpha=eta)
                W1t.mul_(1 - eta * wd).addr_(a, x, alpha=eta)
                if learns_Q:
                    Qt.mul_(1 - eta * lam).addr_(h, pe, alpha=eta)
                if learns_P:
                    Pt.addr_(py, z, alpha=eta_P)

    return online_steps


def general_loop(compiled: bool, B: int = 1):
    """The general kernel (numba or interpreted) with the fused kernels' signature."""
    from lintheory import Weights

    def steps(W1, W2, Q, P, X, Y, idx, transport, learns_Q, learns_P, eta, lam, wd, eta_P):
        w = Weights.two_layer(W1, W2, Q, P)
        st = _General(w, X, Y, B, False, RULES["raf"], eta, lam, wd, eta_P, True, "error",
                      compiled)
        st.advance(len(idx) // B, idx)
        for a, b in zip((W1, W2, Q, P), st.state(w).arrays):
            a[...] = b

    return steps


def minibatch(fn_B):
    fn, B = fn_B

    def steps(W1, W2, Q, P, X, Y, idx, *args):
        fn(W1, W2, Q, P, X, Y, idx, B, *args)

    return steps


def time_loop(fn, W0, X, Y, idx, repeats):
    """Best (CPU, wall) seconds over ``repeats`` runs of ``fn`` on fresh copies of ``W0``,
    and the final weights."""
    cpu = wall = np.inf
    for _ in range(repeats):
        W = [a.copy() for a in W0]
        c0, t0 = time.process_time(), time.perf_counter()
        fn(*W, X, Y, idx, *RAF, LR, 0.0, 0.0, LR)
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - t0)
    return (cpu, wall), W


COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from lintheory import kernels
t1 = time.perf_counter()
rng = np.random.default_rng(0)
W = [rng.standard_normal(s) for s in [(4, 3), (2, 4), (4, 1), (1, 2)]]
X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
args = (False, True, True, 0.01, 0.0, 0.0, 0.01)
kernels.online_steps(*W, X, Y, np.arange(4), *args)
t2 = time.perf_counter()
kernels.minibatch_steps(*W, X, Y, np.arange(4), 2, *args)
t3 = time.perf_counter()
kernels.full_steps(*W, X, Y, 2, *args)
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def compile_times() -> dict:
    """Import and first-call times of the kernels (online first), cold cache then warm cache."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            res = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env,
                                 capture_output=True, text=True, check=True)
            imp, online, mini, full = map(float, res.stdout.split())
            out[label] = {"import_s": imp, "first_call_s": online,
                          "minibatch_first_call_s": mini, "full_first_call_s": full}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (noisier)")
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        blas_limit = "threadpoolctl(1)"
    except ImportError:
        blas_limit = "env vars only"
    torch_fn = torch_loop()

    print("first call = compile (cold: fresh NUMBA_CACHE_DIR) or cache load (warm), subprocess:")
    comp = compile_times()
    for label, v in comp.items():
        print(f"  {label:5s} import {v['import_s']:6.2f} s   online {v['first_call_s']:6.2f} s"
              f"   (mini-batch {v['minibatch_first_call_s']:6.2f} s,"
              f" full {v['full_first_call_s']:6.2f} s)")

    results = []
    for n, k, m, r in SIZES:
        task = make_task(n=n, m=m, d=min(4, r + 1), N=2000, seed=0)
        w0 = make_init(task, k=k, r=r, scale=0.1, rng=np.random.default_rng(1))
        W0 = [np.array(a) for a in (w0.W1, w0.W2, w0.Q, w0.P)]
        X, Y = task.X, task.Y
        fl = flops_per_sample(n, k, m, r)
        n_fast = int(scale * (400_000 if n < 50 else 60_000))
        n_slow = int(scale * 10_000)
        idx = np.random.default_rng(2).integers(0, task.N, n_fast).astype(np.int64)
        kernels.online_steps(*[a.copy() for a in W0], X, Y, idx[:2], *RAF, LR, 0.0, 0.0, LR)

        rows = {}
        t, Wn = time_loop(kernels.online_steps, W0, X, Y, idx, 3)
        rows["numba"] = {"samples": n_fast, "cpu_s": t[0], "wall_s": t[1]}
        general_loop(True)(*[a.copy() for a in W0], X, Y, idx[:2], *RAF, LR, 0.0, 0.0, LR)
        t, Wg = time_loop(general_loop(True), W0, X, Y, idx[: n_fast // 4], 3)
        rows["general numba"] = {"samples": n_fast // 4, "cpu_s": t[0], "wall_s": t[1]}
        t, Wr = time_loop(general_loop(False), W0, X, Y, idx[:n_slow], 1)
        rows["numpy"] = {"samples": n_slow, "cpu_s": t[0], "wall_s": t[1]}
        t, _ = time_loop(minibatch((kernels.minibatch_steps, 50)), W0, X, Y, idx, 3)
        rows["numba batch 50"] = {"samples": n_fast, "cpu_s": t[0], "wall_s": t[1]}
        t, _ = time_loop(general_loop(True, 50), W0, X, Y, idx, 3)
        rows["general batch 50"] = {"samples": n_fast, "cpu_s": t[0], "wall_s": t[1]}
        _, Wc = time_loop(kernels.online_steps, W0, X, Y, idx[:n_slow], 1)
        agree = max(float(np.max(np.abs(a - b))) for a, b in zip(Wr, Wc))
        if torch_fn is not None:
            t, Wt = time_loop(torch_fn, W0, X, Y, idx[:n_slow], 1)
            rows["torch"] = {"samples": n_slow, "cpu_s": t[0], "wall_s": t[1]}
            rows["torch"]["max_diff_vs_numba"] = max(
                float(np.max(np.abs(a - b))) for a, b in zip(Wt, Wc))
        # end to end through the driver (sample order, chunks, divergence checks)
        T = n_fast * LR
        c0, t0 = time.process_time(), time.perf_counter()
        run_sgd(task, "raf", w0, [T], lr=LR, batch="online", rng=3)
        rows["numba run_sgd"] = {"samples": n_fast, "cpu_s": time.process_time() - c0,
                                 "wall_s": time.perf_counter() - t0}
        for v in rows.values():
            v["samples_per_s"] = v["samples"] / v["cpu_s"]
            v["gflops"] = v["samples_per_s"] * fl / 1e9
            v["samples_per_s_wall"] = v["samples"] / v["wall_s"]
        res = {
            "n": n, "k": k, "m": m, "r": r, "flops_per_sample": fl, "rows": rows,
            "numba_vs_numpy_max_diff": agree,
            "ratio_numba_over_numpy": (rows["numba"]["samples_per_s"]
                                       / rows["numpy"]["samples_per_s"]),
            "ratio_fused_over_general_online": (rows["numba"]["samples_per_s"]
                                                / rows["general numba"]["samples_per_s"]),
            "ratio_fused_over_general_batch50": (rows["numba batch 50"]["samples_per_s"]
                                                 / rows["general batch 50"]["samples_per_s"]),
        }
        if "torch" in rows:
            res["ratio_numba_over_torch"] = (rows["numba"]["samples_per_s"]
                                             / rows["torch"]["samples_per_s"])
        results.append(res)

        print(f"\nonline RAF SGD, (n, k, m, r) = ({n}, {k}, {m}, {r}), "
              f"{fl} flop/sample, one core")
        print(f"  {'engine':14s} {'samples':>9s} {'cpu s':>8s} {'wall s':>8s} "
              f"{'samples/s':>11s} {'GFLOP/s':>8s} {'samples/s(wall)':>16s}")
        for name, v in rows.items():
            print(f"  {name:14s} {v['samples']:9d} {v['cpu_s']:8.3f} {v['wall_s']:8.3f} "
                  f"{v['samples_per_s']:11.0f} {v['gflops']:8.2f} {v['samples_per_s_wall']:16.0f}")
        if torch_fn is None:
            print("  torch: skipped (not installed)")
        print(f"  numba / numpy = {res['ratio_numba_over_numpy']:.1f}x"
              + (f", numba / torch = {res['ratio_numba_over_torch']:.1f}x" if "torch" in rows
                 else "")
              + f"; max |numba - numpy| after {n_slow} samples = {agree:.1e}")
        print(f"  fused / general kernel: online {res['ratio_fused_over_general_online']:.1f}x,"
              f" batch 50 {res['ratio_fused_over_general_batch50']:.1f}x")

    data = {
        "benchmark": "RAF SGD throughput at depth 2: fused kernels (lintheory.kernels) vs the "
                     "general kernel (lintheory.batch), online and batch 50",
        "flop_count": "4kn + 4mk + 4kr + 8rm + m per sample (lam = wd = 0)",
        "timing": "best of repeats; samples/s and GFLOP/s from process CPU time (the machine "
                  "is shared), wall-clock rate alongside",
        "threads": {"numba": os.environ["NUMBA_NUM_THREADS"], "blas": blas_limit},
        "torch": "installed" if torch_fn is not None else "skipped (not installed)",
        "machine": {"python": platform.python_version(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "loadavg_1min": os.getloadavg()[0],
                    "numpy": np.__version__, "numba": __import__("numba").__version__},
        "compile": comp,
        "sizes": results,
        "quick": bool(args.quick),
    }
    write_json(OUT, data)
    print(f"\nload average (1 min) {os.getloadavg()[0]:.2f}; wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
