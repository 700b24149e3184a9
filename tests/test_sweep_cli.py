"""`lintheory sweep`: killed midway and resumed, NN training grids, failing runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lintheory.cli import main
from lintheory.linear_run import linear_run
from lintheory.nn.runs import layer_ranks, train_spec
from lintheory.sweep import load_results, result_key, run_sweep

TESTS = Path(__file__).resolve().parent


def slow_run(spec):
    """A linear run that takes half a second and counts its calls in $SWEEP_COUNTER."""
    with open(os.environ["SWEEP_COUNTER"], "a") as f:
        f.write(f"{spec['seed']}\n")
    time.sleep(0.5)
    return linear_run({k: v for k, v in spec.items()})


def _wait_for_files(folder: Path, n: int, proc, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        done = [p for p in folder.glob("*.json") if len(p.stem) == 16]
        if len(done) >= n or proc.poll() is not None:
            return done
        time.sleep(0.05)
    raise AssertionError("the sweep did not produce results in time")


@pytest.mark.slow
def test_killed_sweep_reruns_only_the_missing_runs(tmp_path):
    specs = [dict(kind="linear", rule="raf", r=2, seed=s, n=8, k=16, m=5, d=3, N=100, T=20.0)
             for s in range(10)]
    spec_file = tmp_path / "specs.jsonl"
    spec_file.write_text("".join(json.dumps(s) + "\n" for s in specs))
    results = tmp_path / "results"
    counter = tmp_path / "calls.txt"
    env = {**os.environ, "SWEEP_COUNTER": str(counter),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "lintheory", "sweep", "--specs", str(spec_file),
           "--run", "test_sweep_cli:slow_run", "--results", str(results), "--quiet"]
    proc = subprocess.Popen(cmd + ["--workers", "2"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_files(results, 3, proc)
    finally:  # SIGKILL the sweep and its worker processes: no clean-up code runs
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done = {p.name for p in results.glob("*.json") if len(p.stem) == 16}
    assert 3 <= len(done) < 10, "the sweep should have been killed midway"
    for name in done:  # every file left behind is complete (atomic writes)
        json.loads((results / name).read_text())["result"]
    counter.write_text("")

    out = subprocess.run(cmd + ["--workers", "1"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    calls = counter.read_text().split()
    assert len(calls) == 10 - len(done)  # only the missing runs were executed
    assert f"10 runs, {len(done)} already done, {10 - len(done)} finished, 0 failed" in out.stdout
    recs = load_results(results, specs)
    assert all(r is not None for r in recs)
    assert sorted(int(c) for c in calls) == sorted(
        s["seed"] for s in specs
        if f"{result_key(s, 'test_sweep_cli:slow_run')}.json" not in done)


def test_layer_ranks():
    assert layer_ranks([256, 256, 10], 4, layer=1) == [256, 4, 10]
    assert layer_ranks([256, 256, 10], 32) == [32, 32, 10]
    with pytest.raises(ValueError, match="layer"):
        layer_ranks([256, 10], 4, layer=2)


def test_train_sweep_over_rules_and_single_constrained_layers(tmp_path, capsys):
    args = ["sweep", "--kind", "train", "--rules", "bp,raf", "--ranks", "2", "--layers", "1,2",
            "--hidden", "16", "--depth", "2", "--epochs", "2", "--lr", "0.01", "--seeds", "0",
            "--results", str(tmp_path), "--workers", "1", "--quiet"]
    assert main(args) == 0
    recs = load_results(tmp_path)
    ranks = sorted((r["spec"]["rule"], json.dumps(r["spec"]["rank"])) for r in recs)
    # depth 2: feedback layers fc2 (16 wide) and fc3 (the 10 classes)
    assert ranks == [("bp", "null"), ("raf", "[16, 2]"), ("raf", "[2, 10]")]
    for r in recs:
        final = r["result"]["final"]["test_acc"]
        assert 0.3 < final <= 1.0  # two epochs learn well above chance (0.1) on 10 classes
        assert "seconds" not in r["result"]  # timings live beside the result, not in it
    assert main(args) == 0  # resume: nothing to do
    assert "3 runs, 3 already done, 0 finished" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that diverges
def test_diverging_training_run_is_reported_and_others_finish(tmp_path):
    ok = train_spec(rule="raf", rank=2, hidden=16, depth=1, epochs=1, optimizer="sgd", lr=0.05)
    bad = train_spec(rule="raf", rank=2, hidden=16, depth=1, epochs=1, optimizer="sgd", lr=1e3)
    rep = run_sweep("lintheory.nn.runs:train_run", [bad, ok], tmp_path, workers=1, progress=False)
    assert rep.finished == 1 and len(rep.failures) == 1
    assert rep.failures[0].spec == bad and "DivergenceError" in rep.failures[0].error
    assert "smaller learning rate" in rep.summary()
    assert load_results(tmp_path, [ok])[0]["result"]["final"]["test_acc"] > 0.1
