"""Benchmark: one sweep of 8 short training runs, serially and with 2 worker processes.

    python benchmarks/bench_sweep.py [--runs 8] [--epochs 20] [--workers 2]

Every sweep starts from an empty results folder and uses the same specs (RAF digits
MLPs, 4 x 256, ranks 2 and 10, seeds 0..3); the wall-clock times include starting the
worker processes. Three variants, parallel ones first (so that no worker inherits data
this process loaded): ``--workers 2`` with the forkserver (a fresh server process imports
NumPy, scikit-learn and lintheory once, about 2 s), ``--workers 2`` with the default start
method (``lintheory.parallel.default_start_method``: fork when this process has one thread,
as in the CLI), and serial. Also the seconds to start two workers and get two trivial
results with each method. Prints the times and speed-ups, checks that every sweep wrote
identical numbers, and writes benchmarks/results/bench_sweep.json.
Goal on a 2-core machine: a speed-up of at least 1.8. The load average of the machine is
printed too, and the share of a core each run got (CPU time / wall time): other processes
competing for the cores lower the speed-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from lintheory.io import write_json
from lintheory.nn.runs import train_spec
from lintheory.parallel import default_start_method, default_workers
from lintheory.sweep import load_results, run_sweep

HERE = Path(__file__).resolve().parent


def make_specs(runs: int, epochs: int) -> list[dict]:
    ranks = (2, 10)
    return [train_spec(rule="raf", rank=ranks[i % 2], hidden=256, depth=4, epochs=epochs,
                       seed=i // 2) for i in range(runs)]


def _nothing(_):
    return os.getpid()


def startup_seconds(workers: int) -> dict:
    """Seconds to start ``workers`` workers and get one trivial result from each, per start
    method, with the train run's preload list (a new forkserver each time: in a child)."""
    import subprocess
    import sys

    out = {}
    for method in ("fork", "forkserver", "spawn"):
        code = ("import time, lintheory.sweep as s; from lintheory.parallel import "
                "imap_unordered; import bench_sweep as b; t=time.perf_counter(); "
                f"list(imap_unordered(b._nothing, range({workers}), workers={workers}, "
                f"start_method={method!r}, preload=('lintheory.sweep', "
                "*s.resolve_run('lintheory.nn.runs:train_run').preload))); "
                "print(time.perf_counter()-t)")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=HERE, check=True)
        out[method] = float(res.stdout.split()[-1])
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(HERE / "results" / "bench_sweep.json"))
    args = p.parse_args(argv)

    specs = make_specs(args.runs, args.epochs)
    method_used = default_start_method()
    load_before = os.getloadavg()
    times, inside, share = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        # Parallel variants first: a forked worker would otherwise inherit the digits data
        # the serial sweep loaded here, an advantage a CLI sweep does not have.
        variants = ((f"workers_{args.workers}_forkserver", args.workers, "forkserver"),
                    (f"workers_{args.workers}", args.workers, None),
                    ("serial", 1, None))
        for label, workers, method in variants:
            t0 = time.perf_counter()
            rep = run_sweep("lintheory.nn.runs:train_run", specs, Path(tmp) / label,
                            workers=workers, progress=False, start_method=method)
            times[label] = time.perf_counter() - t0
            if rep.failures or rep.finished != len(specs):
                raise SystemExit(rep.summary())
            recs = load_results(Path(tmp) / label)
            inside[label] = sum(r["seconds"] for r in recs) / len(recs)
            share[label] = sum(r["cpu_seconds"] for r in recs) / sum(r["seconds"] for r in recs)
            print(f"{label:>20}: {times[label]:7.2f} s for {len(specs)} runs (a run takes "
                  f"{inside[label]:.2f} s, during which it gets {share[label]:.0%} of a core)")
        a = [r["result"] for r in load_results(Path(tmp) / "serial", specs)]
        identical = all(
            a == [r["result"] for r in load_results(Path(tmp) / label, specs)]
            for label, _, _ in variants[:-1])
    startup = startup_seconds(args.workers)
    speedup = times["serial"] / times[f"workers_{args.workers}"]
    speedup_fs = times["serial"] / times[f"workers_{args.workers}_forkserver"]
    print(f"   speed-up: {speedup:.2f}x with {args.workers} workers (default start method: "
          f"{method_used}), {speedup_fs:.2f}x (forkserver); goal >= 1.8 on 2 cores; "
          f"identical numbers: {identical}")
    print("   starting the workers: " + ", ".join(f"{m} {t:.2f} s" for m, t in startup.items()))
    load_after = os.getloadavg()
    print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"on {default_workers()} cores")
    if max(share.values()) < 0.9:
        print("note: runs got less than 90% of a core: other processes compete for the "
              "cores, so the speed-up measures the machine's load, not the sweep engine")
    out = {
        "runs": len(specs), "epochs": args.epochs, "workers": args.workers,
        "seconds": times, "speedup": speedup, "speedup_forkserver": speedup_fs,
        "default_start_method": method_used, "worker_startup_seconds": startup,
        "identical_numbers": identical,
        "seconds_per_run": inside, "cpu_share_per_run": share,
        "load_average_before": load_before, "load_average_after": load_after,
        "cores": default_workers(), "machine": platform.machine(),
        "python": platform.python_version(),
        "specs": "RAF digits MLP 4x256, ranks 2/10, seeds 0..3, Adam, batch 32",
    }
    write_json(args.out, out)
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
