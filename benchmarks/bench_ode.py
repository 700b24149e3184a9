"""Benchmark: the ODE right-hand side and ``lintheory figure2`` end to end.

Measures, in one run, side by side:

1. the right-hand side alone: numba ``flow_jit`` vs the same ``flow`` in plain NumPy
   (µs per call, on Figure 2's sizes);
2. the ODE part of Figure 2 (six ``solve_ivp`` solves, default settings) with the numba
   right-hand side vs the NumPy one, and the share of the solve spent inside the
   right-hand side (the rest is SciPy's stepping overhead);
3. ``lintheory figure2`` phases in process (ODE, SGD, drawing, saving PNG and PDF);
4. ``python -m lintheory figure2 --quiet`` end to end as a fresh process: cold (empty
   ``NUMBA_CACHE_DIR``, so every kernel compiles) and warm (same cache, run again), wall
   and CPU seconds.

Prints a table and writes ``benchmarks/results/bench_ode.json``. The machine may be shared:
CPU seconds are reported beside wall seconds, and the load average at the start.

    python benchmarks/bench_ode.py [--repeats 3] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def timed(fn, repeats):
    """Best wall and CPU seconds over ``repeats`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def bench_rhs(calls=20000):
    from lintheory import make_init, make_task
    from lintheory.flow import flow, flow_jit

    task = make_task(20, 10, 4, 2000, seed=0)
    w = make_init(task, 40, 2, "random", scale=1e-3, rng=np.random.default_rng(1)).rotate(task)
    args = (w.W1, w.W2, w.Q, w.P, np.ascontiguousarray(task.S), task.Sigma_yy_bar,
            False, True, True, 0.0, 0.0, 1.0)
    flow_jit(*args)
    out = {}
    for name, fn, n in (("numba", flow_jit, calls), ("numpy", flow, calls // 4)):
        t = time.perf_counter()
        for _ in range(n):
            fn(*args)
        out[name] = (time.perf_counter() - t) / n * 1e6
    return out


def ode_part(repeats):
    """Figure 2's six ODE solves with the numba and the NumPy right-hand side."""
    import lintheory.dynamics as dyn
    from lintheory.experiments import Figure2Config, figure2_data
    from lintheory.flow import flow, flow_jit

    cfg = Figure2Config(sgd=False)
    rows = {}
    for name, fn in (("numba", flow_jit), ("numpy", flow)):
        spent = [0.0]
        calls = [0]

        def counting(*a, _fn=fn, _spent=spent, _calls=calls):
            t = time.perf_counter()
            r = _fn(*a)
            _spent[0] += time.perf_counter() - t
            _calls[0] += 1
            return r

        dyn.flow_jit = fn
        try:
            wall, cpu, data = timed(lambda: figure2_data(cfg), repeats)
            dyn.flow_jit = counting  # one more solve to measure the share inside the rhs
            spent[0] = 0.0
            calls[0] = 0
            w = time.perf_counter()
            figure2_data(cfg)
            total = time.perf_counter() - w
        finally:
            dyn.flow_jit = flow_jit
        rows[name] = {
            "wall_s": wall, "cpu_s": cpu, "nfev": sum(p["ode_nfev"] for p in data["panels"]),
            "rhs_share": spent[0] / total, "rhs_calls": calls[0],
            "final_a": [np.asarray(p["ode"][-1]).tolist() for p in data["panels"]],
        }
    a0, a1 = np.array(rows["numba"]["final_a"]), np.array(rows["numpy"]["final_a"])
    rows["max_abs_diff_final_a"] = float(np.abs(a0 - a1).max())
    rows["speedup"] = rows["numpy"]["wall_s"] / rows["numba"]["wall_s"]
    return rows


def phases(repeats):
    """In-process phases of ``lintheory figure2`` (warm caches)."""
    import matplotlib

    matplotlib.use("Agg")
    from lintheory.commands.figure2 import save_exact
    from lintheory.experiments import Figure2Config, figure2_data
    from lintheory.plots import figure2

    out = {}
    out["ode"] = timed(lambda: figure2_data(Figure2Config(sgd=False)), repeats)[:2]
    w, c, data = timed(lambda: figure2_data(Figure2Config()), repeats)
    out["ode+sgd"] = (w, c)
    out["draw"] = timed(lambda: figure2(data), repeats)[:2]
    fig = figure2(data)
    with tempfile.TemporaryDirectory() as tmp:
        out["save png"] = timed(lambda: save_exact(fig, Path(tmp) / "f", ("png",)), repeats)[:2]
        out["save pdf"] = timed(lambda: save_exact(fig, Path(tmp) / "f", ("pdf",)), repeats)[:2]
    return {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in out.items()}


def cli_run(cache_dir, out_dir):
    """Run ``python -m lintheory figure2 --quiet`` once; wall and CPU (children) seconds."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "MPLBACKEND": "Agg"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "lintheory", "figure2", "--quiet", "--out-dir", str(out_dir)],
        env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"lintheory figure2 failed: {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def end_to_end(repeats, skip_cold):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba-cache"
        figs = Path(tmp) / "figs"
        first = cli_run(cache, figs)
        if not skip_cold:
            out["cold (fresh NUMBA_CACHE_DIR)"] = first
        warm = [cli_run(cache, figs) for _ in range(repeats)]
        out["warm (best)"] = min(warm, key=lambda r: r["wall_s"])
        out["warm (median wall)"] = {
            "wall_s": float(np.median([r["wall_s"] for r in warm])),
            "cpu_s": float(np.median([r["cpu_s"] for r in warm])),
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true", help="do not report the cold run")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_ode.json")
    args = ap.parse_args(argv)

    import lintheory
    from lintheory.io import write_json

    load = os.getloadavg()[0]
    rhs = bench_rhs()
    ode = ode_part(args.repeats)
    ph = phases(args.repeats)
    e2e = end_to_end(args.repeats, args.skip_cold)

    print(f"lintheory {lintheory.__version__}, {os.cpu_count()} cores, load average {load:.2f}")
    print("\nright-hand side alone (Figure 2 sizes n=20, k=40, m=10, r=2, RAF)")
    print(f"  numba flow_jit   {rhs['numba']:8.2f} µs/call")
    ratio = rhs["numpy"] / rhs["numba"]
    print(f"  NumPy flow       {rhs['numpy']:8.2f} µs/call   ratio {ratio:.1f}x")
    print("\nODE part of Figure 2 (6 solves, RK45, rtol 1e-6)")
    print(f"  {'rhs':8s} {'wall s':>8s} {'cpu s':>8s} {'nfev':>7s} {'in rhs':>7s}")
    for name in ("numba", "numpy"):
        r = ode[name]
        print(f"  {name:8s} {r['wall_s']:8.3f} {r['cpu_s']:8.3f} {r['nfev']:7d} "
              f"{100 * r['rhs_share']:6.0f}%")
    print(f"  speed-up numba / NumPy: {ode['speedup']:.2f}x; final a_i differ by "
          f"{ode['max_abs_diff_final_a']:.1e}")
    print("\nlintheory figure2 phases in process (warm)")
    for k, v in ph.items():
        print(f"  {k:10s} wall {v['wall_s']:6.3f} s   cpu {v['cpu_s']:6.3f} s")
    print("\npython -m lintheory figure2 --quiet (fresh process)")
    for k, v in e2e.items():
        print(f"  {k:30s} wall {v['wall_s']:6.2f} s   cpu {v['cpu_s']:6.2f} s")

    write_json(args.out, {
        "lintheory_version": lintheory.__version__, "python": platform.python_version(),
        "cores": os.cpu_count(), "load_average_start": load, "rhs_us_per_call": rhs,
        "ode_part": ode, "phases": ph, "end_to_end": e2e,
    })
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
