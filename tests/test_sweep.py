"""The sweep engine: spec keys, resume, failures, and identical numbers on every backend."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from lintheory.linear_run import linear_run
from lintheory.parallel import imap_unordered, thread_report
from lintheory.sweep import (
    grid,
    load_results,
    pending_specs,
    resolve_run,
    result_key,
    run_sweep,
    spec_key,
)

RUN = "lintheory.linear_run:linear_run"
OLD_RUN = "lintheory.sweep:linear_run"  # the name stored by sweeps before the move
SMALL = dict(kind="linear", n=8, k=16, m=5, d=3, N=100, T=30.0)


def small_specs(seeds=(0, 1), rules=("fa", "raf"), ranks=(1, 2)):
    return grid(**SMALL, rule=list(rules), r=list(ranks), seed=list(seeds))


# --- run functions used by the tests (module level, so they are importable by name) ----


INTERRUPT_AT = {"seed": 3}


def interrupting_run(spec):
    """linear_run, but Ctrl-C arrives when the run with seed ``INTERRUPT_AT["seed"]`` starts."""
    if spec["seed"] == INTERRUPT_AT["seed"]:
        raise KeyboardInterrupt
    return linear_run(spec)


def nan_run(spec):
    return {"x": float("nan")}


# --- specs and keys ---------------------------------------------------------------------


def test_spec_key_is_sha256_of_sorted_compact_json():
    spec = {"rule": "raf", "r": 2, "seed": 0, "lr": 0.001, "rank": [4, 10]}
    text = '{"lr":0.001,"r":2,"rank":[4,10],"rule":"raf","seed":0}'
    assert spec_key(spec) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert spec_key(dict(reversed(list(spec.items())))) == spec_key(spec)
    assert spec_key({**spec, "rank": (4, 10)}) == spec_key(spec)  # tuples are lists
    assert spec_key({**spec, "r": 2.0}) != spec_key(spec)  # 2 and 2.0 differ


def test_spec_validation_names_the_field():
    with pytest.raises(ValueError, match="spec.lr"):
        spec_key({"lr": float("nan")})
    with pytest.raises(ValueError, match="spec.x"):
        spec_key({"x": object()})
    with pytest.raises(ValueError, match="dict or a dataclass"):
        spec_key([1, 2])


def test_grid_is_the_cartesian_product():
    specs = grid(a=[1, 2, 3], b=["x", "y"], c=0)
    assert len(specs) == 6
    assert specs[0] == {"a": 1, "b": "x", "c": 0} and specs[-1] == {"a": 3, "b": "y", "c": 0}
    assert len({spec_key(s) for s in specs}) == 6


def test_moved_run_functions_keep_their_old_names():
    """Stored results and running workers name the run functions ``lintheory.sweep:NAME``."""
    import lintheory.linear_run
    import lintheory.nn.runs
    import lintheory.sweep

    for name, module in [("linear_run", lintheory.linear_run),
                         *[(n, lintheory.nn.runs) for n in ("train_spec", "train_run",
                                                            "feedback_dims", "layer_ranks")]]:
        assert getattr(lintheory.sweep, name) is getattr(module, name)
        assert resolve_run(f"lintheory.sweep:{name}") is getattr(module, name)
    assert lintheory.sweep.linear_run.preload == ("lintheory.dynamics",)
    assert "lintheory.nn.train" in lintheory.sweep.train_run.preload
    with pytest.raises(AttributeError):
        lintheory.sweep.no_such_run  # noqa: B018


def test_old_run_name_gives_the_same_result_files(tmp_path):
    specs = small_specs(seeds=(0,), rules=("raf",), ranks=(1,))
    run_sweep(OLD_RUN, specs, tmp_path / "old", workers=1, progress=False)
    run_sweep(RUN, specs, tmp_path / "new", workers=1, progress=False)
    old, new = load_results(tmp_path / "old", specs)[0], load_results(tmp_path / "new", specs)[0]
    assert old["result"] == new["result"] and old["run"] == OLD_RUN


def test_run_name_must_be_importable():
    with pytest.raises(ValueError, match="package.module:function"):
        run_sweep("linear_run", [{}], "unused", progress=False)
    with pytest.raises(ValueError, match="no function"):
        run_sweep("lintheory.sweep:nope", [{}], "unused", progress=False)


# --- resume, deduplication, failures ----------------------------------------------------


def test_serial_sweep_writes_one_file_per_spec_and_matches_direct_calls(tmp_path):
    specs = small_specs()
    rep = run_sweep(RUN, specs + specs[:2], tmp_path, workers=1, progress=False)
    assert (rep.total, rep.duplicates, rep.finished, rep.skipped) == (8, 2, 8, 0)
    assert rep.ok and not rep.failures
    files = sorted(p.name for p in tmp_path.glob("*.json") if not p.name.startswith("_"))
    assert files == sorted(f"{result_key(s, RUN)}.json" for s in specs)
    for spec, rec in zip(specs, load_results(tmp_path, specs)):
        direct = json.loads(json.dumps(linear_run(spec), default=lambda a: a.tolist()))
        assert rec["spec"] == spec and rec["result"] == direct
        assert rec["run"] == RUN
    # FA with rank 1 < d cannot learn every mode: the run really is the ODE
    fa1 = load_results(tmp_path, [specs[0]])[0]["result"]
    assert specs[0]["rule"] == "fa" and specs[0]["r"] == 1 and min(fa1["a"]) < 0.5


def test_interrupted_sweep_resumes_with_only_the_missing_runs(tmp_path, monkeypatch):
    specs = grid(**SMALL, rule="raf", r=2, seed=list(range(6)))
    interrupting = f"{__name__}:interrupting_run"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(interrupting, specs, tmp_path, workers=1, progress=False)
    done = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")
            if not p.name.startswith("_")}
    assert len(done) == 3  # seeds 0, 1, 2 finished before the interrupt
    assert len(pending_specs(specs, tmp_path, interrupting)) == 3
    assert len(pending_specs(specs, tmp_path, RUN)) == 6  # another run function: not done
    assert json.loads((tmp_path / "_sweep.json").read_text())["interrupted"] is True
    monkeypatch.setitem(INTERRUPT_AT, "seed", None)
    rep = run_sweep(interrupting, specs, tmp_path, workers=1, progress=False)
    assert (rep.skipped, rep.finished, rep.executed) == (3, 3, 3)
    for name, mtime in done.items():  # finished runs were not redone
        assert (tmp_path / name).stat().st_mtime_ns == mtime
    fresh = run_sweep(RUN, specs, tmp_path / "fresh", workers=1, progress=False)
    assert fresh.finished == 6
    assert ([r["result"] for r in load_results(tmp_path, specs)]
            == [r["result"] for r in load_results(tmp_path / "fresh", specs)])
    assert load_results(tmp_path, specs, run=RUN) == [None] * 6


def test_failures_are_reported_and_the_others_finish(tmp_path):
    good = small_specs(seeds=(0,), ranks=(2,))
    bad = {**good[0], "d": 7}  # task rank above m = 5
    rep = run_sweep(RUN, [good[0], bad, good[1]], tmp_path, workers=1, progress=False)
    assert rep.finished == 2 and len(rep.failures) == 1 and not rep.ok
    f = rep.failures[0]
    assert f.spec == bad and "ValueError" in f.error and "d" in f.error
    assert f.key in rep.summary() and f.error in rep.summary()
    assert (tmp_path / f"{result_key(bad, RUN)}.failed.json").exists()
    assert not (tmp_path / f"{result_key(bad, RUN)}.json").exists()
    again = run_sweep(RUN, [good[0], bad, good[1]], tmp_path, workers=1, progress=False)
    assert again.skipped == 2 and again.executed == 1 and len(again.failures) == 1
    kept = run_sweep(RUN, [good[0], bad, good[1]], tmp_path, workers=1, progress=False,
                     retry_failed=False)
    assert kept.executed == 0 and len(kept.failures) == 1


def test_non_finite_results_are_failures(tmp_path):
    rep = run_sweep(f"{__name__}:nan_run", [{"seed": 0}], tmp_path, workers=1, progress=False)
    assert rep.finished == 0 and "non-finite" in rep.failures[0].error


def test_load_results_refuses_a_file_with_another_spec(tmp_path):
    spec = small_specs()[0]
    run_sweep(RUN, [spec], tmp_path, workers=1, progress=False)
    path = tmp_path / f"{result_key(spec, RUN)}.json"
    rec = json.loads(path.read_text())
    rec["spec"]["seed"] = 99
    path.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="different spec"):
        load_results(tmp_path, [spec])


# --- backends ---------------------------------------------------------------------------


def test_worker_processes_are_pinned_to_one_thread():
    reports = [v for _, ok, v in imap_unordered(thread_report, range(2), workers=2) if ok]
    assert len(reports) == 2 and all(r["pid"] != os.getpid() for r in reports)
    for r in reports:
        assert r["env"]["OMP_NUM_THREADS"] == "1" and r["env"]["NUMBA_NUM_THREADS"] == "1"
        assert r["pools"] and all(n == 1 for n in r["pools"].values())


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    specs = small_specs()
    serial = run_sweep(RUN, specs, tmp_path / "serial", workers=1, progress=False)
    local = run_sweep(RUN, specs, tmp_path / "local", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster:
        dask = run_sweep(RUN, specs, tmp_path / "dask", scheduler=cluster.scheduler_address,
                         progress=False)
        with distributed.Client(cluster) as client:  # resume on the cluster: nothing to do
            again = run_sweep(RUN, specs, tmp_path / "local", client=client, progress=False)
    assert serial.finished == local.finished == dask.finished == len(specs)
    assert again.skipped == len(specs) and again.executed == 0
    ref = [r["result"] for r in load_results(tmp_path / "serial", specs)]
    for name in ("local", "dask"):
        assert [r["result"] for r in load_results(tmp_path / name, specs)] == ref
    names = {name: sorted(p.name for p in (tmp_path / name).glob("*.json"))
             for name in ("serial", "local", "dask")}
    assert names["serial"] == names["local"] == names["dask"]


def test_map_runs_keeps_order_and_raises_the_first_error():
    from lintheory.parallel import map_runs

    specs = small_specs(seeds=(0,), rules=("raf",))
    out = map_runs(linear_run, specs, workers=1)
    assert [o["r"] for o in out] == [s["r"] for s in specs]
    assert out[1]["a"].tolist() == linear_run(specs[1])["a"].tolist()
    with pytest.raises(ValueError, match="d must be"):
        map_runs(linear_run, [specs[0], {**specs[0], "d": 9}], workers=1)
