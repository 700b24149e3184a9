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

Example::

    report = run_sweep("lintheory.sweep:linear_run", specs, "results/demo", workers=2)
    print(report.summary())
    records = load_results("results/demo", specs)
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
import time
import traceback
from pathlib import Path

from .io import read_json, write_json
from .parallel import check_workers, imap_unordered

KEY_LENGTH = 16  # hex digits of sha256 kept in a key (64 bits)
REPORT_NAME = "_sweep.json"


# --------------------------------------------------------------------------- specs


def _plain(value, where: str):
    """``value`` as plain JSON types (finite floats only), or ValueError naming ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"spec field {where} must be a finite number, got {value}")
        return float(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar
        return _plain(value.item(), where)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"spec keys must be strings, got {k!r} in {where}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    raise ValueError(
        f"spec field {where} must be a JSON value (number, string, bool, None, list), "
        f"got {type(value).__name__}"
    )


def canonical_spec(spec) -> dict:
    """The spec as a dict of plain JSON values (a dataclass is converted with ``asdict``)."""
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        spec = dataclasses.asdict(spec)
    if not isinstance(spec, dict):
        raise ValueError(f"a spec must be a dict or a dataclass, got {type(spec).__name__}")
    return _plain(spec, "spec")


def spec_key(spec) -> str:
    """Short stable hash of a spec: sha256 of its canonical JSON (sorted keys), 16 hex digits.

    ``1`` and ``1.0`` are different specs; key order does not matter.
    """
    text = json.dumps(canonical_spec(spec), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def result_path(results_dir, spec) -> Path:
    """``<results_dir>/<key>.json``."""
    return Path(results_dir) / f"{spec_key(spec)}.json"


def failed_path(results_dir, spec) -> Path:
    """``<results_dir>/<key>.failed.json``."""
    return Path(results_dir) / f"{spec_key(spec)}.failed.json"


def grid(**axes) -> list[dict]:
    """Cartesian product of the given axes, as a list of specs (last axis varies fastest).

    ``grid(rule=["fa", "raf"], rank=[1, 2], seed=0)`` gives four specs; a scalar is an
    axis of length one.
    """
    specs = [{}]
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        specs = [{**s, name: v} for s in specs for v in values]
    return specs


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


# --------------------------------------------------------------------------- runs


def linear_run(spec: dict) -> dict:
    """One run of the linear theory: integrate the averaged ODEs (SPEC §4) for a spec.

    Spec fields (defaults in brackets): ``rule`` (bp, fa, kp, raf), ``r`` (feedback rank),
    ``seed`` (task and init draws), ``n`` [20], ``k`` [40], ``m`` [10], ``d`` [4],
    ``N`` [1000], ``sigma`` [1.0], ``T`` [200.0], ``init_scale`` [1e-3], ``init``
    ["random"], ``lam`` [0.0], ``wd`` [0.0], ``p_rate`` [1.0], ``task_seed`` [``seed``].

    Returns the final mode strengths ``a`` (d,), off-diagonal ``leak``, ``loss``, and the
    rule, rank and seed.
    """
    import numpy as np

    from .dynamics import integrate
    from .init import make_init
    from .task import make_task

    allowed = {"kind", "rule", "r", "seed", "n", "k", "m", "d", "N", "sigma", "T",
               "init_scale", "init", "lam", "wd", "p_rate", "task_seed"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown linear-run spec fields: {', '.join(sorted(unknown))}")
    seed = int(spec.get("seed", 0))
    task = make_task(
        int(spec.get("n", 20)), int(spec.get("m", 10)), int(spec.get("d", 4)),
        int(spec.get("N", 1000)), sigma=float(spec.get("sigma", 1.0)),
        seed=int(spec.get("task_seed", seed)),
    )
    rng = np.random.default_rng([seed, 1])
    w0 = make_init(task, int(spec.get("k", 40)), int(spec["r"]), spec.get("init", "random"),
                   scale=float(spec.get("init_scale", 1e-3)), rng=rng)
    traj = integrate(task, spec["rule"], w0, np.array([0.0, float(spec.get("T", 200.0))]),
                     lam=float(spec.get("lam", 0.0)), wd=float(spec.get("wd", 0.0)),
                     p_rate=float(spec.get("p_rate", 1.0)))
    return {
        "a": traj.mode_strengths[-1], "leak": float(traj.leak[-1]),
        "loss": float(traj.loss[-1]), "rule": spec["rule"], "r": int(spec["r"]), "seed": seed,
    }


# --------------------------------------------------------------------------- NN training runs


def train_spec(**options) -> dict:
    """The spec of one training run: ``{"kind": "train"}`` plus every TrainConfig option.

    All options are stored (defaults included), so a later change of a default gives new
    keys instead of silently reusing old results. Invalid options raise ValueError here,
    before any run starts.
    """
    import dataclasses

    from .nn.train import TrainConfig

    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"unknown training option(s) {unknown}; see lintheory train --help")
    return {"kind": "train", **TrainConfig(**options).to_dict()}


def _config_from_spec(spec: dict):
    from .nn.train import TrainConfig

    return TrainConfig.from_dict({k: v for k, v in spec.items() if k != "kind"})


def feedback_dims(spec: dict) -> list[int]:
    """Largest rank of each feedback layer of a train spec's model (its full, unconstrained rank).

    One entry per feedback layer in forward order (``Model.feedback_layers``): the
    dimension its ``P`` projects from (the layer's output width, the number of classes for
    the output layer, or the source's width for direct rules).
    """
    import numpy as np

    from .nn.data import load_dataset
    from .nn.train import build_from_config

    cfg = _config_from_spec(spec).replace(rank=None)
    data = load_dataset(cfg.dataset, classes=cfg.classes,
                        shape="flat" if cfg.model == "mlp" else "image", seed=cfg.data_seed,
                        val_fraction=cfg.val_fraction, data_dir=cfg.data_dir,
                        grayscale=cfg.grayscale)
    model = build_from_config(cfg, data, np.random.default_rng(0))
    dims = []
    for layer in model.feedback_layers:
        fb = getattr(layer, "feedback", None)
        rank = getattr(fb, "rank", None)
        dims.append(int(rank) if rank is not None else int(layer.Wm.shape[0]))
    return dims


def layer_ranks(dims, rank: int, layer: int | None = None) -> list[int]:
    """Per-layer ranks: ``rank`` in feedback layer ``layer`` (0-based; None: every layer),
    the full dimension elsewhere; never above a layer's dimension.

    >>> layer_ranks([256, 256, 10], 4, layer=1)
    [256, 4, 10]
    >>> layer_ranks([256, 256, 10], 32)
    [32, 32, 10]
    """
    if layer is not None and not 0 <= layer < len(dims):
        raise ValueError(f"layer must be in [0, {len(dims) - 1}] (a feedback layer), got {layer}")
    return [min(int(rank), d) if layer is None or i == layer else int(d)
            for i, d in enumerate(dims)]


def train_run(spec: dict) -> dict:
    """One NN training run for a :func:`train_spec`: :func:`lintheory.nn.train.train`'s history.

    Wall-clock timings are removed from the result (the sweep records each run's seconds
    beside it), so the result depends on the spec alone and is identical on every backend.
    """
    from .nn.train import train

    hist = train(_config_from_spec(spec))
    for name in ("seconds", "seconds_total", "config", "key"):
        hist.pop(name, None)
    return hist


linear_run.preload = ("lintheory.dynamics",)
train_run.preload = (
    "lintheory.nn.train", "lintheory.nn.data", "sklearn.model_selection", "sklearn.datasets",
)
