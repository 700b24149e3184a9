"""Resumable sweeps of independent runs, on one core, all cores, or a Dask cluster.

A *run* is a small spec (a dict or dataclass of JSON values: rule, sizes, ranks, seed,
data set, optimiser...) and a *run function* named by an importable string
``"package.module:function"`` that maps the spec to a JSON-ready result. Every random
draw of a run must come from its spec's seed, so the same spec gives the same numbers on
every backend.

The result of a spec lives in ``<results_dir>/<key>.json`` where ``key`` is a short hash
of the spec's canonical JSON together with the run function (:func:`result_key`; sweeps
written before the run was part of the key used :func:`spec_key` alone, and those files
are still found); the file holds ``{"key", "spec", "run", "result", "seconds",
"cpu_seconds"}`` (wall-clock and CPU time of the run) and is written atomically by this
process (the *client side*, also for Dask: workers never touch the results folder, so the
cluster needs no shared file system). Hence:

- a spec with a verified result (the file parses and holds this spec and this run
  function, :func:`check_record`) is skipped, so an interrupted sweep (Ctrl-C, SIGTERM,
  a killed job, a lost cluster) resumes where it stopped, on any backend; a broken file
  (empty, truncated, a folder, another spec or run) is set aside as ``<name>.bad`` with
  one line on stderr and its run redone;
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
from .parallel import check_workers, imap_unordered, quiet_monitor
from .results import (  # noqa: F401  (re-exported: the result-record half of the API)
    _read_record,
    _record_paths,
    _safe_id,
    check_record,
    find_result,
    load_results,
    records_table,
    resolve_run,
    result_key,
    run_id,
    run_name,
    set_aside,
)
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


def execute(job) -> dict:
    """Run one job ``(run, spec)`` and return a picklable record; never raises ``Exception``.

    This is what worker processes and Dask workers execute. The result is converted to
    plain JSON values here, so a run that returns NaN or infinity is a failure.
    """
    run, spec = job
    key = result_key(spec, run)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = resolve_run(run)(dict(spec))
        result = json.loads(json.dumps(_result_plain(result), allow_nan=False))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported, not fatal
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SystemExit):
            error = f"SystemExit: the run function called sys.exit({exc.code!r})"
        return {
            "key": key, "ok": False, "error": error,
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
    set_aside: list = dataclasses.field(default_factory=list)

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
            + (f", {len(self.set_aside)} broken result files set aside"
               if self.set_aside else "")
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


def pending_specs(specs, results_dir, run) -> list[dict]:
    """The unique canonical specs without a verified result of ``run`` in ``results_dir``
    (see :func:`check_record`; nothing is moved or written)."""
    out, seen = [], set()
    for spec in specs:
        spec = canonical_spec(spec)
        key = spec_key(spec)
        if key in seen:
            continue
        seen.add(key)
        if find_result(results_dir, spec, run)[0] is None:
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
    """Run every spec that has no verified result yet and write one file per finished run.

    A result file counts as done only if it parses and holds this spec and this run
    function (:func:`check_record`); an empty, truncated or otherwise broken file (or a
    folder) at a result's name is set aside (:func:`set_aside`, one line on stderr) and
    the run redone.

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
        How local worker processes start (see :func:`lintheory.parallel.imap_unordered`:
        fork when safe, else forkserver); the run function's ``preload`` attribute
        (module names) is imported once by the forkserver.

    Returns
    -------
    SweepReport
        Counts and failures; ``KeyboardInterrupt`` is re-raised after the finished runs
        are safely on disk.
    """
    name = run_name(run)
    preload = (name.partition(":")[0], *getattr(resolve_run(name), "preload", ()))
    if scheduler is None and client is None:
        check_workers(workers)  # bad input fails before the results folder is made
    results_dir = Path(results_dir)
    own_client = None
    if client is None and scheduler is not None:  # an unreachable scheduler: nothing made
        from .parallel import connect

        client = own_client = connect(scheduler)
    try:
        return _sweep(name, preload, specs, results_dir, workers, client, progress,
                      retry_failed, desc, write_report, start_method)
    finally:
        if own_client is not None:
            own_client.close()


def _sweep(name, preload, specs, results_dir, workers, client, progress, retry_failed, desc,
           write_report, start_method) -> SweepReport:
    from tqdm.auto import tqdm

    scheduler = None
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create results folder {results_dir}: {exc.strerror}") from None
    t0 = time.perf_counter()

    unique, duplicates = {}, 0
    for spec in specs:
        spec = canonical_spec(spec)
        key = result_key(spec, name)
        if key in unique:
            duplicates += 1
        unique[key] = spec
    report = SweepReport(str(results_dir), name, total=len(unique), duplicates=duplicates)

    todo = []
    for key, spec in unique.items():
        found, broken = find_result(results_dir, spec, name)
        for path, why in broken:
            report.set_aside.append(str(set_aside(path, why)))
        failed = results_dir / f"{key}.failed.json"
        if found is not None:
            report.skipped += 1
        elif not retry_failed and failed.is_file():
            try:
                rec = read_json(failed)
            except ValueError:
                todo.append((key, spec))
                continue
            report.failures.append(Failure(key, spec, rec.get("error", "?"),
                                           rec.get("traceback", "")))
            report.skipped_failed += 1
        else:
            todo.append((key, spec))

    with quiet_monitor():  # no monitor thread: the workers can be forked from here
        bar = tqdm(total=report.total, initial=report.skipped + len(report.failures),
                   desc=desc, unit="run", disable=not progress, dynamic_ncols=True)
    if report.failures:
        bar.set_postfix(failed=len(report.failures))
    jobs = [(name, spec) for _, spec in todo]
    results = imap_unordered(execute, jobs, workers=workers, scheduler=scheduler,
                             client=client, start_method=start_method, preload=preload)
    try:
        for i, ok, rec in results:
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
                    tb = "".join(traceback.format_exception(type(rec), rec, rec.__traceback__))
                write_json(results_dir / f"{key}.failed.json", {
                    "key": key, "spec": spec, "run": name, "error": error, "traceback": tb,
                })
                report.failures.append(Failure(key, spec, error, tb))
                bar.set_postfix(failed=len(report.failures))
            bar.update(1)
    except KeyboardInterrupt:  # Ctrl-C, and SIGTERM / SIGHUP under the CLI
        report.interrupted = True
        raise
    finally:
        results.close()  # stops the worker processes now, not when garbage-collected
        bar.close()
        report.seconds = time.perf_counter() - t0
        if write_report:
            write_json(results_dir / REPORT_NAME, report.to_dict())
    return report


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
