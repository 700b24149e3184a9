"""Resumable sweeps of independent runs, on one core, all cores, or a Dask cluster.

A *run* is a small spec (a dict or dataclass of JSON values: rule, sizes, ranks, seed,
data set, optimiser...) and a *run function* named by an importable string
``"package.module:function"`` that maps the spec to a JSON-ready result. Every random
draw of a run must come from its spec's seed, so the same spec gives the same numbers on
every backend.

The result of a spec lives in ``<results_dir>/<key>.json`` where ``key`` is a short hash
of the spec's canonical JSON (:func:`spec_key`); the file holds ``{"key", "spec", "run",
"result", "seconds", "cpu_seconds"}`` (wall-clock and CPU time of the run) and is
written atomically by this process (the *client side*, also
for Dask: workers never touch the results folder, so the cluster needs no shared file
system). Hence:

- a spec that already has a result file is skipped, so an interrupted sweep (Ctrl-C, a
  killed job, a lost cluster) resumes where it stopped, on any backend;
- duplicate specs run once; serial, ``--workers N`` and cluster runs of one sweep are
  interchangeable and can share a folder;
- a run that raises (a diverging learning rate, bad sizes) is recorded in
  ``<key>.failed.json`` with its spec and error, reported at the end, and retried by the
  next sweep; the other runs go on.

The run functions of the engines live with them: :func:`lintheory.linear_run.linear_run`
(linear theory) and :mod:`lintheory.nn.runs` (NN training: ``train_spec``, ``train_run``,
``feedback_dims``, ``layer_ranks``); ``lintheory.sweep`` still exports them under their old
names.

Example::

    report = run_sweep("lintheory.linear_run:linear_run", specs, "results/demo", workers=2)
    print(report.summary())
    records = load_results("results/demo", specs)
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
import traceback
from pathlib import Path

from .io import read_json, write_json
from .parallel import check_workers, imap_unordered
from .specs import (  # noqa: F401  (re-exported: the spec half of the sweep API)
    KEY_LENGTH,
    canonical_spec,
    failed_path,
    grid,
    result_path,
    spec_key,
)

REPORT_NAME = "_sweep.json"


# --------------------------------------------------------------------------- running


def resolve_run(run):
    """The function named ``"package.module:function"`` (a callable is returned as is)."""
    if callable(run):
        return run
    if not isinstance(run, str) or ":" not in run:
        raise ValueError(f"run must be 'package.module:function', got {run!r}")
    module, _, name = run.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"cannot import the run function's module {module!r}: {exc}") from None
    try:
        for part in name.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ValueError(f"module {module!r} has no function {name!r}") from None
    if not callable(obj):
        raise ValueError(f"{run!r} is not callable")
    return obj


def run_name(run) -> str:
    """The importable name ``"module:qualname"`` of a run function (or the string itself)."""
    if isinstance(run, str):
        resolve_run(run)
        return run
    name = f"{run.__module__}:{run.__qualname__}"
    if "<" in name or run.__module__ == "__main__":
        raise ValueError(
            f"run function {name} is not importable by worker processes; define it at "
            "module level in an importable module"
        )
    return name


def execute(job) -> dict:
    """Run one job ``(run, spec)`` and return a picklable record; never raises ``Exception``.

    This is what worker processes and Dask workers execute. The result is converted to
    plain JSON values here, so a run that returns NaN or infinity is a failure.
    """
    run, spec = job
    key = spec_key(spec)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = resolve_run(run)(dict(spec))
        result = json.loads(json.dumps(_result_plain(result), allow_nan=False))
    except Exception as exc:  # noqa: BLE001 - a failing run is reported, not fatal
        return {
            "key": key, "ok": False, "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(), "seconds": time.perf_counter() - t0,
        }
    return {"key": key, "ok": True, "result": result, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0}


def _result_plain(value):
    from .io import _to_builtin

    try:
        return _to_builtin(value)
    except ValueError:
        raise ValueError("the run returned a non-finite number (NaN or infinity)") from None


@dataclasses.dataclass
class Failure:
    """A run that raised: its spec, the one-line error and the traceback."""

    key: str
    spec: dict
    error: str
    traceback: str = ""


@dataclasses.dataclass
class SweepReport:
    """What a call of :func:`run_sweep` did.

    ``total`` unique specs; ``skipped`` already had a result file; ``finished`` ran and
    succeeded now; ``failures`` raised (now, or in an earlier sweep when not retried:
    ``skipped_failed`` of them); ``missing`` never ran (interrupted).
    """

    results_dir: str
    run: str
    total: int
    skipped: int = 0
    finished: int = 0
    failures: list = dataclasses.field(default_factory=list)
    duplicates: int = 0
    skipped_failed: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def executed(self) -> int:
        """Runs started and completed by this call (finished + failed)."""
        return self.finished + len(self.failures) - self.skipped_failed

    @property
    def missing(self) -> int:
        """Runs neither done before nor executed now (interrupted)."""
        return self.total - self.skipped - self.skipped_failed - self.executed

    @property
    def ok(self) -> bool:
        """True when no run failed and none is missing."""
        return not self.failures and self.missing == 0

    def summary(self) -> str:
        """Several lines: counts, then every failure with its spec and error."""
        lines = [
            f"sweep {self.results_dir}: {self.total} runs, {self.skipped} already done, "
            f"{self.finished} finished, {len(self.failures)} failed"
            + (f" ({self.skipped_failed} earlier, not retried)" if self.skipped_failed else "")
            + (f", {self.missing} not run (interrupted)" if self.missing else "")
            + f" ({self.seconds:.1f} s)"
        ]
        for f in self.failures:
            lines.append(f"  FAILED {f.key} {json.dumps(f.spec, sort_keys=True)}")
            lines.append(f"    {f.error}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict, with ``executed`` and ``missing`` added."""
        d = dataclasses.asdict(self)
        d["failures"] = [{"key": f.key, "spec": f.spec, "error": f.error}
                         for f in self.failures]
        d["executed"], d["missing"] = self.executed, self.missing
        return d


def pending_specs(specs, results_dir) -> list[dict]:
    """The unique canonical specs without a result file in ``results_dir``."""
    out, seen = [], set()
    for spec in specs:
        spec = canonical_spec(spec)
        key = spec_key(spec)
        if key in seen:
            continue
        seen.add(key)
        if not (Path(results_dir) / f"{key}.json").exists():
            out.append(spec)
    return out


def run_sweep(
    run,
    specs,
    results_dir,
    *,
    workers: int | None = 1,
    scheduler=None,
    client=None,
    progress: bool = True,
    retry_failed: bool = True,
    desc: str = "sweep",
    write_report: bool = True,
    start_method: str | None = None,
) -> SweepReport:
    """Run every spec that has no result file yet and write one file per finished run.

    Parameters
    ----------
    run : str or callable
        ``"package.module:function"``; the function takes the spec dict and returns a
        JSON-ready result (dict, list or number; NumPy values allowed, NaN refused).
    specs : iterable of dict or dataclass
        JSON-valued specs; duplicates run once.
    results_dir : path
        Folder of ``<key>.json`` result files (created if needed).
    workers, scheduler, client
        Backend, see :func:`lintheory.parallel.imap_unordered`: ``workers=1`` runs here,
        ``workers=N`` in N pinned local processes (``None``/0: all cores), ``scheduler``
        an address of a Dask distributed scheduler, ``client`` a Dask client.
    progress : bool
        One tqdm bar for the whole sweep: finished / total, and failures so far.
    retry_failed : bool
        Re-run specs that failed in an earlier sweep (default); if False they are skipped
        and reported again as failures.
    write_report : bool
        Also write ``<results_dir>/_sweep.json`` with the report.
    start_method : str, optional
        How local worker processes start (see :func:`lintheory.parallel.imap_unordered`);
        the run function's ``preload`` attribute (module names) is imported once by the
        forkserver.

    Returns
    -------
    SweepReport
        Counts and failures; ``KeyboardInterrupt`` is re-raised after the finished runs
        are safely on disk.
    """
    from tqdm.auto import tqdm

    name = run_name(run)
    preload = (name.partition(":")[0], *getattr(resolve_run(name), "preload", ()))
    if scheduler is None and client is None:
        check_workers(workers)  # bad input fails before the results folder is made
    results_dir = Path(results_dir)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create results folder {results_dir}: {exc.strerror}") from None
    t0 = time.perf_counter()

    unique, duplicates = {}, 0
    for spec in specs:
        spec = canonical_spec(spec)
        key = spec_key(spec)
        if key in unique:
            duplicates += 1
        unique[key] = spec
    report = SweepReport(str(results_dir), name, total=len(unique), duplicates=duplicates)

    todo = []
    for key, spec in unique.items():
        if (results_dir / f"{key}.json").exists():
            report.skipped += 1
        elif not retry_failed and (results_dir / f"{key}.failed.json").exists():
            rec = read_json(results_dir / f"{key}.failed.json")
            report.failures.append(Failure(key, spec, rec.get("error", "?"),
                                           rec.get("traceback", "")))
            report.skipped_failed += 1
        else:
            todo.append((key, spec))

    bar = tqdm(total=report.total, initial=report.skipped + len(report.failures), desc=desc,
               unit="run", disable=not progress, dynamic_ncols=True)
    if report.failures:
        bar.set_postfix(failed=len(report.failures))
    jobs = [(name, spec) for _, spec in todo]
    try:
        for i, ok, rec in imap_unordered(execute, jobs, workers=workers, scheduler=scheduler,
                                         client=client, start_method=start_method,
                                         preload=preload):
            key, spec = todo[i]
            if ok and rec["ok"]:
                write_json(results_dir / f"{key}.json", {
                    "key": key, "spec": spec, "run": name, "result": rec["result"],
                    "seconds": rec["seconds"], "cpu_seconds": rec["cpu_seconds"],
                })
                (results_dir / f"{key}.failed.json").unlink(missing_ok=True)
                report.finished += 1
            else:
                if ok:
                    error, tb = rec["error"], rec["traceback"]
                else:  # the backend itself failed (worker died, unpicklable result...)
                    error = f"{type(rec).__name__}: {rec}"
                    if type(rec).__name__ == "BrokenProcessPool":
                        error += (" (a worker process died: out of memory, killed, or a "
                                  "script that starts a sweep without "
                                  "'if __name__ == \"__main__\":')")
                    tb = "".join(traceback.format_exception(type(rec), rec, rec.__traceback__))
                write_json(results_dir / f"{key}.failed.json", {
                    "key": key, "spec": spec, "run": name, "error": error, "traceback": tb,
                })
                report.failures.append(Failure(key, spec, error, tb))
                bar.set_postfix(failed=len(report.failures))
            bar.update(1)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        bar.close()
        report.seconds = time.perf_counter() - t0
        if write_report:
            write_json(results_dir / REPORT_NAME, report.to_dict())
    return report


def load_results(results_dir, specs=None) -> list[dict]:
    """The result records ``{"key", "spec", "run", "result", "seconds"}`` in a folder.

    With ``specs``, return the records of those specs in the same order (``None`` where a
    spec has no result yet); without, every record in the folder, sorted by key.
    """
    results_dir = Path(results_dir)
    if specs is None:
        paths = sorted(p for p in results_dir.glob("*.json")
                       if len(p.stem) == KEY_LENGTH and "." not in p.stem)
        return [read_json(p) for p in paths]
    out = []
    for spec in specs:
        spec = canonical_spec(spec)
        path = results_dir / f"{spec_key(spec)}.json"
        if not path.exists():
            out.append(None)
            continue
        rec = read_json(path)
        if rec.get("spec") != spec:
            raise ValueError(f"result file {path} holds a different spec (hash collision?)")
        out.append(rec)
    return out


# --------------------------------------------------------------------------- run functions

_MOVED = {
    "linear_run": "lintheory.linear_run",
    "train_spec": "lintheory.nn.runs",
    "train_run": "lintheory.nn.runs",
    "feedback_dims": "lintheory.nn.runs",
    "layer_ranks": "lintheory.nn.runs",
}
"""The run functions that lived here, now with their engines. Stored sweep results and
running workers name them ``"lintheory.sweep:NAME"``, so that name still resolves (lazily:
importing the sweep machinery does not import the NN engine) to the same function."""


def __getattr__(name):
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MOVED])
