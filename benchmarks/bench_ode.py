"""Benchmark: the ODE right-hand side and ``lintheory figure2`` end to end.

Measures, in one run, side by side:

1. the right-hand side alone: numba ``flat_flow`` vs the same ``flow`` in plain NumPy
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
    """µs per call of the right-hand side on Figure 2's sizes (RAF, rank 2), both engines."""
    from lintheory import make_init, make_task
    from lintheory.dynamics import make_rhs

    task = make_task(20, 10, 4, 2000, seed=0)
    w = make_init(task, 40, 2, "random", scale=1e-3, rng=np.random.default_rng(1)).rotate(task)
    y = w.pack()
    out = {}
    for name, n in (("numba", calls), ("numpy", calls // 4)):
        rhs = make_rhs(task, "raf", w, engine=name)
        rhs(0.0, y)
        t = time.perf_counter()
        for _ in range(n):
            rhs(0.0, y)
        out[name] = (time.perf_counter() - t) / n * 1e6
    return out


def _figure2_odes(engine):
    """The six ODE solves of Figure 2 (default settings) with one right-hand-side engine."""
    from lintheory.dynamics import integrate
    from lintheory.figure2 import PANELS, Figure2Config, _figure2_task, _figure2_times
    from lintheory.init import make_init

    cfg = Figure2Config(sgd=False)
    task, times = _figure2_task(cfg), _figure2_times(cfg)
    out = []
    for p in PANELS:
        w0 = make_init(task, cfg.k, cfg.rank(p), scale=cfg.init_scale,
                       rng=np.random.default_rng([cfg.seed, 1]))
        out.append(integrate(task, p.rule, w0, times, rtol=cfg.rtol, atol=cfg.atol,
                             engine=engine))
    return out


def ode_part(repeats):
    """Figure 2's six ODE solves with the numba and the NumPy right-hand side."""
    import lintheory.dynamics as dyn

    rows = {}
    original = dyn.make_rhs
    for name in ("numba", "numpy"):
        wall, cpu, runs = timed(lambda name=name: _figure2_odes(name), repeats)
        spent = [0.0]
        calls = [0]

        def counting_make_rhs(*a, _spent=spent, _calls=calls, **kw):
            inner = original(*a, **kw)

            def rhs(t, y):
                t0 = time.perf_counter()
                r = inner(t, y)
                _spent[0] += time.perf_counter() - t0
                _calls[0] += 1
                return r

            return rhs

        dyn.make_rhs = counting_make_rhs  # one more run to measure the share inside the rhs
        try:
            w = time.perf_counter()
            _figure2_odes(name)
            total = time.perf_counter() - w
        finally:
            dyn.make_rhs = original
        rows[name] = {
            "wall_s": wall, "cpu_s": cpu, "nfev": sum(r.info["nfev"] for r in runs),
            "rhs_share": spent[0] / total, "rhs_calls": calls[0],
            "final_a": [r.mode_strengths[-1].tolist() for r in runs],
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
    from lintheory.figure2 import Figure2Config, figure2_data
    from lintheory.figure2 import plot_figure2 as figure2

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
    print(f"  numba flat_flow  {rhs['numba']:8.2f} µs/call")
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
