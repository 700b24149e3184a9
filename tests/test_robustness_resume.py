"""Resume that verifies (issue 14, item 1): a result file counts as done only if it parses
and holds its spec and run function; anything else is set aside, named, and re-run.

Every case runs the real CLI (``python -m lintheory sweep``) in a subprocess.
"""

from __future__ import annotations

import json

from robustness_helpers import assert_no_process_left, run_cli, snapshot  # noqa: F401

from lintheory.linear_run import linear_run
from lintheory.sweep import load_results, result_key, run_sweep, spec_key

SQUARE, CUBE = "robustness_helpers:square", "robustness_helpers:cube"
LINEAR = "lintheory.linear_run:linear_run"


def _specs_file(tmp_path, xs=(1, 2, 3, 4)):
    path = tmp_path / "specs.jsonl"
    path.write_text("".join(json.dumps({"x": x}) + "\n" for x in xs))
    return path, [{"x": x} for x in xs]


def _sweep(tmp_path, run, *extra):
    specs_file, _ = _specs_file(tmp_path)
    return run_cli("sweep", "--specs", specs_file, "--run", run, "--results",
                   tmp_path / "res", "--quiet", "--workers", "1", *extra)


def test_empty_truncated_and_directory_results_are_set_aside_and_rerun(tmp_path):
    first = _sweep(tmp_path, SQUARE)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    _, specs = _specs_file(tmp_path)
    res = tmp_path / "res"
    paths = [res / f"{result_key(s, SQUARE)}.json" for s in specs]
    good = paths[3].read_bytes()
    paths[0].write_text("")                                      # empty
    paths[1].write_bytes(paths[1].read_bytes()[:40])             # truncated
    paths[2].unlink()
    paths[2].mkdir()                                             # a folder in its place
    again = _sweep(tmp_path, SQUARE)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 3  # one line per file set aside, naming it
    for path, why in zip(paths, ("empty", "not JSON", "a directory")):
        (line,) = [ln for ln in lines if str(path) in ln]
        assert why in line and f"{path.name}.bad" in line
        assert (res / f"{path.name}.bad").exists()
    assert "4 runs, 1 already done, 3 finished, 0 failed" in again.stdout
    assert paths[3].read_bytes() == good  # the good one was not redone
    for spec, rec in zip(specs, load_results(res, specs, run=SQUARE)):
        assert rec["result"] == {"x": spec["x"], "y": spec["x"] ** 2}
    third = _sweep(tmp_path, SQUARE)  # now everything verifies: nothing to do, no message
    assert third.returncode == 0 and third.stderr == ""
    assert "4 already done, 0 finished" in third.stdout


def test_the_run_function_is_part_of_the_key(tmp_path):
    _, specs = _specs_file(tmp_path)
    assert _sweep(tmp_path, SQUARE).returncode == 0
    other = _sweep(tmp_path, CUBE)
    assert other.returncode == 0, other.stderr
    assert "4 runs, 0 already done, 4 finished" in other.stdout  # not skipped
    res = tmp_path / "res"
    assert [r["result"]["y"] for r in load_results(res, specs, run=SQUARE)] == [1, 4, 9, 16]
    assert [r["result"]["y"] for r in load_results(res, specs, run=CUBE)] == [1, 8, 27, 64]
    assert _sweep(tmp_path, CUBE, "--dry-run").stdout.strip().endswith("4 already done, 0 to run")


def test_a_result_with_another_spec_or_run_in_the_file_is_not_done(tmp_path):
    _, specs = _specs_file(tmp_path)
    assert _sweep(tmp_path, SQUARE).returncode == 0
    res = tmp_path / "res"
    path = res / f"{result_key(specs[0], SQUARE)}.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "run": CUBE}))  # a file that lies about its run
    again = _sweep(tmp_path, SQUARE)
    assert again.returncode == 0
    (line,) = again.stderr.strip().splitlines()
    assert str(path) in line and "another run function" in line
    assert load_results(res, specs[:1], run=SQUARE)[0]["result"]["y"] == 1


def test_dry_run_verifies_but_moves_nothing(tmp_path):
    assert _sweep(tmp_path, SQUARE).returncode == 0
    _, specs = _specs_file(tmp_path)
    (tmp_path / "res" / f"{result_key(specs[0], SQUARE)}.json").write_text("{")
    before = snapshot(tmp_path / "res")
    dry = _sweep(tmp_path, SQUARE, "--dry-run")
    assert dry.returncode == 0 and "3 already done, 1 to run" in dry.stdout
    assert snapshot(tmp_path / "res") == before


def test_results_of_sweeps_before_the_run_was_in_the_key_are_still_used(tmp_path):
    """Folders written with the spec-only key (``spec_key(spec).json``) resume without
    redoing runs, when the record names the same function (old or new name)."""
    spec = dict(kind="linear", rule="raf", r=2, seed=0, n=8, k=16, m=5, d=3, N=100, T=20.0)
    rep = run_sweep(LINEAR, [spec], tmp_path, workers=1, progress=False)
    new = tmp_path / f"{result_key(spec, LINEAR)}.json"
    old = tmp_path / f"{spec_key(spec)}.json"
    rec = json.loads(new.read_text())
    old.write_text(json.dumps({**rec, "key": spec_key(spec), "run": "lintheory.sweep:linear_run"}))
    new.unlink()
    again = run_sweep(LINEAR, [spec], tmp_path, workers=1, progress=False)
    assert rep.finished == 1 and again.skipped == 1 and again.executed == 0
    assert not new.exists()
    got = load_results(tmp_path, [spec], run=LINEAR)[0]["result"]
    assert got["a"] == linear_run(spec)["a"].tolist()
    assert load_results(tmp_path, [spec])[0]["result"] == got  # without run=: the one there
    other = run_sweep(SQUARE.replace("square", "cube"), [{"x": 2}], tmp_path / "x",
                      workers=1, progress=False)
    assert other.finished == 1
