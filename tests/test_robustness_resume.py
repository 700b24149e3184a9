"""Resume that verifies (issue 14, item 1): a result file counts as done only if it parses
and holds its spec and run function; anything else is set aside, named, and re-run.

Every case runs the real CLI (``python -m lintheory sweep``) in a subprocess.
"""

from __future__ import annotations

import json

from robustness_helpers import assert_no_process_left, run_cli, snapshot  # noqa: F401

from lintheory.sweep import load_results, result_key, run_sweep, spec_key

SQUARE, CUBE = "robustness_helpers:square", "robustness_helpers:cube"
LINEAR = "lintheory.linear_run:linear_run"


def _specs_file(tmp_path, xs=(1, 2, 3, 4, 5)):
    path = tmp_path / "specs.jsonl"
    path.write_text("".join(json.dumps({"x": x}) + "\n" for x in xs))
    return path, [{"x": x} for x in xs]


def _sweep(tmp_path, run, *extra):
    specs_file, _ = _specs_file(tmp_path)
    return run_cli("sweep", "--specs", specs_file, "--run", run, "--results",
                   tmp_path / "res", "--quiet", "--workers", "1", *extra)


def test_broken_results_are_set_aside_and_rerun(tmp_path):
    """Empty, truncated, a folder, a record naming another run function: each is moved
    to <name>.bad with one line on stderr naming it, and re-run; the good one is kept."""
    first = _sweep(tmp_path, SQUARE)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    _, specs = _specs_file(tmp_path)
    res = tmp_path / "res"
    paths = [res / f"{result_key(s, SQUARE)}.json" for s in specs]
    good = paths[4].read_bytes()
    paths[0].write_text("")                                      # empty
    paths[1].write_bytes(paths[1].read_bytes()[:40])             # truncated
    paths[2].unlink()
    paths[2].mkdir()                                             # a folder in its place
    rec = json.loads(paths[3].read_text())
    paths[3].write_text(json.dumps({**rec, "run": CUBE}))        # lies about its run
    again = _sweep(tmp_path, SQUARE)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 4  # one line per file set aside, naming it
    whys = ("empty", "not JSON", "a directory", "another run function")
    for path, why in zip(paths, whys):
        (line,) = [ln for ln in lines if str(path) in ln]
        assert why in line and f"{path.name}.bad" in line
        assert (res / f"{path.name}.bad").exists()
    assert "5 runs, 1 already done, 4 finished, 0 failed" in again.stdout
    assert paths[4].read_bytes() == good  # the good one was not redone
    for spec, rec in zip(specs, load_results(res, specs, run=SQUARE)):
        assert rec["result"] == {"x": spec["x"], "y": spec["x"] ** 2}
    third = _sweep(tmp_path, SQUARE)  # now everything verifies: nothing to do, no message
    assert third.returncode == 0 and third.stderr == ""
    assert "5 already done, 0 finished" in third.stdout


def test_the_run_function_is_part_of_the_key(tmp_path):
    _, specs = _specs_file(tmp_path)
    assert _sweep(tmp_path, SQUARE).returncode == 0
    other = _sweep(tmp_path, CUBE)
    assert other.returncode == 0, other.stderr
    assert "5 runs, 0 already done, 5 finished" in other.stdout  # not skipped
    res = tmp_path / "res"
    assert [r["result"]["y"] for r in load_results(res, specs, run=SQUARE)] == \
        [1, 4, 9, 16, 25]
    assert [r["result"]["y"] for r in load_results(res, specs, run=CUBE)] == \
        [1, 8, 27, 64, 125]
    assert _sweep(tmp_path, CUBE, "--dry-run").stdout.strip().endswith(
        "5 already done, 0 to run")


def test_dry_run_verifies_but_moves_nothing(tmp_path):
    assert _sweep(tmp_path, SQUARE).returncode == 0
    _, specs = _specs_file(tmp_path)
    (tmp_path / "res" / f"{result_key(specs[0], SQUARE)}.json").write_text("{")
    before = snapshot(tmp_path / "res")
    dry = _sweep(tmp_path, SQUARE, "--dry-run")
    assert dry.returncode == 0 and "4 already done, 1 to run" in dry.stdout
    assert snapshot(tmp_path / "res") == before


def test_results_of_sweeps_before_the_run_was_in_the_key_are_still_used(tmp_path):
    """Folders written with the spec-only key (``spec_key(spec).json``) resume without
    redoing runs, when the record names the same function; another function's legacy
    file is neither used nor moved."""
    spec = {"x": 3}
    rep = run_sweep(SQUARE, [spec], tmp_path, workers=1, progress=False)
    new = tmp_path / f"{result_key(spec, SQUARE)}.json"
    old = tmp_path / f"{spec_key(spec)}.json"
    rec = json.loads(new.read_text())
    old.write_text(json.dumps({**rec, "key": spec_key(spec)}))
    new.unlink()
    again = run_sweep(SQUARE, [spec], tmp_path, workers=1, progress=False)
    assert rep.finished == 1 and again.skipped == 1 and again.executed == 0
    assert not new.exists()
    assert load_results(tmp_path, [spec], run=SQUARE)[0]["result"] == {"x": 3, "y": 9}
    assert load_results(tmp_path, [spec])[0]["result"] == {"x": 3, "y": 9}  # no run=: the one
    cube = run_sweep(CUBE, [spec], tmp_path, workers=1, progress=False)
    assert cube.finished == 1 and old.exists()  # not CUBE's: run, and the file left alone
    assert load_results(tmp_path, [spec], run=CUBE)[0]["result"]["y"] == 27
    # an alias of a run function (its old name) is the same function: the same key
    assert result_key(spec, "lintheory.sweep:linear_run") == result_key(spec, LINEAR)
    assert result_key(spec, LINEAR) != result_key(spec, SQUARE) != spec_key(spec)
